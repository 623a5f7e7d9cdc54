//! The Stripe webhook: signature checks, exactly-once crediting, and what is ignored.

use serde_json::{Value, json};

use crate::support::{
    stripe::{WEBHOOK_SECRET, checkout_completed, now_secs, signature},
    *,
};

const CREDITED: &str = "Webhook event processed successfully.";
const DUPLICATE: &str = "Webhook event was already processed.";
const IGNORED: &str = "Webhook event ignored.";

#[tokio::test]
async fn a_paid_checkout_credits_once_on_both_paths() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("paid@example.com").await;
    let event = checkout_completed("cs_test_paid", &user_id, "500", 500);

    let reply = app.signed_webhook(&event).await;
    reply.assert_success(200, CREDITED);
    assert_eq!(reply.data(), &json!({"event_id": event["id"], "outcome": "credited"}));
    assert_eq!(app.balance(&user_id).await, 50_000);

    // Stripe retries, and the alias path gets the same event: nothing more.
    app.signed_webhook(&event).await.assert_success(200, DUPLICATE);
    let payload = serde_json::to_vec(&event).unwrap();
    let header = signature(WEBHOOK_SECRET, now_secs(), &payload);
    let reply = app.webhook("/stripe/settle", &payload, Some(&header)).await;
    reply.assert_success(200, DUPLICATE);
    assert_eq!(reply.data()["outcome"], "duplicate");
    // A later async-payment event for the same session credits nothing either.
    let mut late = event.clone();
    late["type"] = json!("checkout.session.async_payment_succeeded");
    app.signed_webhook(&late).await.assert_success(200, DUPLICATE);

    assert_eq!(app.balance(&user_id).await, 50_000);
    let rows = app.transactions_of(&user_id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, "CREDIT");
    assert_eq!(rows[0].description, "User bought 500 credits for $5.");
    assert_eq!(rows[0].value_in_credits, 50_000);
    assert_eq!(rows[0].value_in_fiat, 500);
    assert_eq!(rows[0].stripe_session_id.as_deref(), Some("cs_test_paid"));

    let list = app.get(&format!("/users/{user_id}/transactions"), Some(&bearer)).await;
    list.assert_success(200, "Transactions fetched successfully.");
    assert_eq!(list.data()[0]["description"], "User bought 500 credits for $5.");
    assert_eq!(list.data()[0]["value_in_credits"], 500.0);
    assert_eq!(list.data()[0]["value_in_fiat"], 5.0);
    assert_eq!(list.data()[0]["type"], "CREDIT");
}

#[tokio::test]
async fn twenty_concurrent_deliveries_credit_once() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, _) = app.active_user("race@example.com").await;
    let event = checkout_completed("cs_test_race", &user_id, "1250.5", 1250);
    let started = std::time::Instant::now();
    let replies = futures_util::future::join_all((0..20).map(|_| app.signed_webhook(&event))).await;
    eprintln!("20 concurrent deliveries of one event: {:?}", started.elapsed());
    let mut outcomes: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.body);
            r.data()["outcome"].as_str().unwrap().to_string()
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes.iter().filter(|o| *o == "credited").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "duplicate").count(), 19, "{outcomes:?}");
    assert_eq!(app.balance(&user_id).await, 125_050);
    let rows = app.transactions_of(&user_id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].description, "User bought 1250.5 credits for $12.50.");
    app.assert_ledger_balances(&rows, 125_050);
}

#[tokio::test]
async fn bad_deliveries_are_400_and_change_nothing() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, _) = app.active_user("forged@example.com").await;
    let event = checkout_completed("cs_test_forged", &user_id, "500", 500);
    let payload = serde_json::to_vec(&event).unwrap();
    let now = now_secs();
    let before = app.snapshot().await;

    let bad_signature = "invalid_signature";
    let cases: Vec<(Vec<u8>, Option<String>, &str)> = vec![
        // Signed with another secret.
        (payload.clone(), Some(signature("whsec_other", now, &payload)), bad_signature),
        // Six minutes old, and six minutes ahead.
        (payload.clone(), Some(signature(WEBHOOK_SECRET, now - 360, &payload)), bad_signature),
        (payload.clone(), Some(signature(WEBHOOK_SECRET, now + 360, &payload)), bad_signature),
        // A valid signature of other bytes.
        (payload.clone(), Some(signature(WEBHOOK_SECRET, now, b"{}")), bad_signature),
        // Malformed headers.
        (payload.clone(), Some("garbage".into()), bad_signature),
        (payload.clone(), Some(format!("t={now}")), bad_signature),
        (payload.clone(), Some(format!("t=soon,v1={}", "0".repeat(64))), bad_signature),
        (payload.clone(), Some(String::new()), bad_signature),
        // Correctly signed bodies that are not Stripe events.
        (b"not json".to_vec(), Some(signature(WEBHOOK_SECRET, now, b"not json")), "invalid_event"),
        (b"{}".to_vec(), Some(signature(WEBHOOK_SECRET, now, b"{}")), "invalid_event"),
        (b"[]".to_vec(), Some(signature(WEBHOOK_SECRET, now, b"[]")), "invalid_event"),
    ];
    for (body, header, code) in cases {
        let reply = app.webhook("/stripe/webhook", &body, header.as_deref()).await;
        assert_eq!(reply.status, 400, "{header:?}: {}", reply.body);
        assert_eq!(reply.body["code"], code, "{header:?}: {}", reply.body);
        assert_eq!(reply.body["status"], "error");
    }
    // No header at all.
    app.webhook("/stripe/webhook", &payload, None).await.assert_error(400, "invalid_parameters", MSG_INVALID);

    // A checkout event whose session is not shaped like one.
    let mut broken = event.clone();
    broken["data"]["object"] = json!({"id": 7});
    let reply = app.signed_webhook(&broken).await;
    reply.assert_error(400, "invalid_event", "The request body is not a Stripe event.");
    let mut broken = event.clone();
    broken["data"]["object"]["metadata"]["credits"] = json!("a lot");
    app.signed_webhook(&broken).await.assert_error(400, "invalid_event", "The request body is not a Stripe event.");

    // A user that does not exist.
    let ghost = checkout_completed("cs_test_ghost", "user_00000000000000000000000000000000", "500", 500);
    app.signed_webhook(&ghost).await.assert_error(
        404,
        "user_not_found",
        "User with the given identifier does not exist.",
    );

    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 0);
    // The genuine event still works afterwards.
    app.signed_webhook(&event).await.assert_success(200, CREDITED);
}

#[tokio::test]
async fn other_events_are_acknowledged_and_ignored() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, _) = app.active_user("ignored@example.com").await;
    let before = app.snapshot().await;
    let mut unpaid = checkout_completed("cs_test_unpaid", &user_id, "500", 500);
    unpaid["data"]["object"]["payment_status"] = json!("unpaid");
    let mut foreign = checkout_completed("cs_test_foreign", &user_id, "500", 500);
    foreign["data"]["object"]["metadata"] = json!({});
    let other: Value = json!({
        "id": "evt_other", "object": "event", "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    });
    for event in [unpaid, foreign, other] {
        let reply = app.signed_webhook(&event).await;
        reply.assert_success(200, IGNORED);
        assert_eq!(reply.data()["outcome"], "ignored");
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 0);
}

#[tokio::test]
async fn without_a_webhook_secret_deliveries_are_refused_with_503() {
    let app = TestApp::new().await;
    let (user_id, _) = app.active_user("nosecret@example.com").await;
    let event = checkout_completed("cs_test_nosecret", &user_id, "500", 500);
    app.signed_webhook(&event).await.assert_error(
        503,
        "not_configured",
        "This feature is not configured on the server. Set STRIPE_WEBHOOK_SECRET to enable it.",
    );
    assert_eq!(app.balance(&user_id).await, 0);
}
