//! Rate, Buy and Portal against the Stripe double, which records what it was sent.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::json;

use crate::support::{
    stripe::{CLIENT_URL, SECRET_KEY},
    *,
};

const RATE_MESSAGE: &str = "Credits rate fetched successfully. Upper limit and lower limit are in fiat. Rate is in \
                            credits per dollar. Any amount beyond the limits will not be credited.";

#[tokio::test]
async fn rate_lists_the_bands_without_stripe_and_before_activation() {
    let app = TestApp::with_env(&[(
        "CREDIT_RATES",
        r#"[{"lower_limit":5,"upper_limit":100,"rate":100},{"lower_limit":100.01,"upper_limit":1000,"rate":120.5,"stripe_price_id":"price_123"}]"#,
    )])
    .await;
    let (_, bearer) = app.register("rate@example.com").await;
    let reply = app.get("/stripe/rate", Some(&bearer)).await;
    reply.assert_success(200, RATE_MESSAGE);
    assert_eq!(
        reply.data(),
        &json!([
            {"lower_limit": 5.0, "upper_limit": 100.0, "rate": 100.0, "stripe_price_id": null},
            {"lower_limit": 100.01, "upper_limit": 1000.0, "rate": 120.5, "stripe_price_id": "price_123"},
        ])
    );
    app.get("/stripe/rate", None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

/// The Stripe customer stored for the user (the one Stripe made on the first Buy or Portal).
async fn customer_of(app: &TestApp, user_id: &str) -> String {
    let user = entity::users::Entity::find_by_id(user_id).one(&app.state.db).await.unwrap().expect("the user");
    user.stripe_customer_id.expect("a Stripe customer")
}

#[tokio::test]
async fn buy_sends_the_exact_checkout_and_reuses_the_customer() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("buyer@example.com").await;

    let reply = app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 5, "return_path": "/billing"}))).await;
    reply.assert_success(201, "Checkout session created successfully.");
    let url = reply.data()["url"].as_str().unwrap().to_string();
    let session_id = url.strip_prefix(&format!("{}/checkout/", stripe::PAGES)).expect("Stripe's checkout link");
    assert!(stripe.sessions.get(session_id).is_some(), "the session Stripe made");
    assert_eq!(
        reply.data(),
        &json!({"url": url, "value_in_credits": 500.0, "value_in_fiat": 5.0, "return_path": "/billing"})
    );
    let customer_id = customer_of(&app, &user_id).await;

    let requests = stripe.requests();
    assert_eq!(requests.len(), 2, "a customer, then the session");
    let customer = &requests[0];
    assert_eq!(customer.path, "/v1/customers");
    assert_eq!(
        customer.fields(),
        [("email", "buyer@example.com"), ("name", "Ada Lovelace"), ("metadata[user_id]", user_id.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    );
    let checkout = &requests[1];
    assert_eq!(checkout.path, "/v1/checkout/sessions");
    let expected: std::collections::BTreeMap<String, String> = [
        ("mode", "payment"),
        ("customer", customer_id.as_str()),
        ("client_reference_id", user_id.as_str()),
        ("metadata[user_id]", user_id.as_str()),
        ("metadata[credits]", "500"),
        ("payment_intent_data[metadata][user_id]", user_id.as_str()),
        ("success_url", &format!("{CLIENT_URL}/billing?stripe_status=success")),
        ("cancel_url", &format!("{CLIENT_URL}/billing?stripe_status=cancel")),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][price_data][product_data][name]", "500 Clara credits"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(checkout.fields(), expected);
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {SECRET_KEY}").as_str()));
        assert!(request.header("content-type").unwrap().starts_with("application/x-www-form-urlencoded"));
        assert!(request.header("idempotency-key").is_some_and(|k| k.len() > 20));
    }
    assert_ne!(requests[0].header("idempotency-key"), requests[1].header("idempotency-key"));

    // A second purchase and the portal reuse the stored customer.
    let reply = app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 12.5, "return_path": "/b?tab=1"}))).await;
    reply.assert_success(201, "Checkout session created successfully.");
    assert_eq!(reply.data()["value_in_credits"], 1250.0);
    assert_eq!(reply.data()["value_in_fiat"], 12.5);
    let portal = app.post("/stripe/portal", Some(&bearer), None).await;
    portal.assert_success(201, "Customer portal session created successfully.");
    let return_url =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("return_url", CLIENT_URL).finish();
    assert_eq!(portal.data(), &json!({"url": format!("{}/portal/{customer_id}?{return_url}", stripe::PAGES)}));

    assert_eq!(stripe.requests_to("/v1/customers").len(), 1, "customer created once");
    let second = &stripe.requests_to("/v1/checkout/sessions")[1];
    assert_eq!(second.field("customer"), Some(customer_id.as_str()));
    assert_eq!(second.field("line_items[0][price_data][unit_amount]"), Some("1250"));
    assert_eq!(second.field("success_url"), Some(format!("{CLIENT_URL}/b?tab=1&stripe_status=success").as_str()));
    let portal_request = &stripe.requests_to("/v1/billing_portal/sessions")[0];
    assert_eq!(
        portal_request.fields(),
        [("customer", customer_id.as_str()), ("return_url", CLIENT_URL)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    );
    // Buying alone credits nothing: only the webhook does.
    assert_eq!(app.balance(&user_id).await, 0);
    assert!(app.transactions_of(&user_id).await.is_empty());
}

#[tokio::test]
async fn portal_first_makes_the_customer_that_buy_then_uses() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("portal@example.com").await;
    app.post("/stripe/portal", Some(&bearer), None)
        .await
        .assert_success(201, "Customer portal session created successfully.");
    app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 10, "return_path": ""})))
        .await
        .assert_success(201, "Checkout session created successfully.");
    assert_eq!(stripe.requests_to("/v1/customers").len(), 1);
    let checkout = &stripe.requests_to("/v1/checkout/sessions")[0];
    assert_eq!(checkout.field("customer"), Some(customer_of(&app, &user_id).await.as_str()));
    assert_eq!(checkout.field("cancel_url"), Some(format!("{CLIENT_URL}?stripe_status=cancel").as_str()));
}

#[tokio::test]
async fn a_band_with_a_price_sells_whole_dollars_of_it() {
    let (app, stripe) = TestApp::with_stripe(&[(
        "CREDIT_RATES",
        r#"[{"lower_limit":5,"upper_limit":100,"rate":110,"stripe_price_id":"price_dollar"}]"#,
    )])
    .await;
    let (_, bearer) = app.active_user("price@example.com").await;
    let reply = app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 7, "return_path": "/"}))).await;
    reply.assert_success(201, "Checkout session created successfully.");
    assert_eq!(reply.data()["value_in_credits"], 770.0);
    let checkout = &stripe.requests_to("/v1/checkout/sessions")[0];
    assert_eq!(checkout.field("line_items[0][price]"), Some("price_dollar"));
    assert_eq!(checkout.field("line_items[0][quantity]"), Some("7"));
    assert_eq!(checkout.field("line_items[0][price_data][unit_amount]"), None);
    assert_eq!(checkout.field("metadata[credits]"), Some("770"));
    app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 7.5, "return_path": "/"}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
}

#[tokio::test]
async fn amounts_outside_every_band_are_404_and_reach_nobody() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (_, bearer) = app.active_user("band@example.com").await;
    for amount in [json!(4.99), json!(10000.01), json!(0), json!(50000)] {
        app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": amount, "return_path": ""}))).await.assert_error(
            404,
            "rate_not_found",
            "No credits rate found for the given amount.",
        );
    }
    assert!(stripe.requests().is_empty());
}

#[tokio::test]
async fn bad_buy_bodies_are_400_and_reach_nobody() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("badbuy@example.com").await;
    let before = app.snapshot().await;
    for body in [
        json!({"amount": "5", "return_path": ""}),
        json!({"amount": -5, "return_path": ""}),
        json!({"amount": 5.001, "return_path": ""}),
        json!({"amount": 1e300, "return_path": ""}),
        json!({"amount": null, "return_path": ""}),
        json!({"amount": true, "return_path": ""}),
        json!({"amount": 5}),
        json!({"return_path": ""}),
        json!({"amount": 5, "return_path": 7}),
        json!({"amount": 5, "return_path": "https://evil.example"}),
        json!({"amount": 5, "return_path": "//evil.example"}),
        json!({"amount": 5, "return_path": "billing"}),
        json!({"amount": 5, "return_path": "/a b"}),
        json!({"amount": 5, "return_path": format!("/{}", "a".repeat(2048))}),
        json!({"amount": 5, "return_path": "", "extra": 1}),
        json!([5]),
    ] {
        app.post("/stripe/buy", Some(&bearer), Some(body.clone())).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    app.post("/stripe/buy", Some(&bearer), None).await.assert_error(400, "empty_body", MSG_EMPTY);
    assert!(stripe.requests().is_empty());
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 0);
}

#[tokio::test]
async fn buy_and_portal_need_an_active_account_and_a_token() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (_, bearer) = app.register("inactive@example.com").await;
    let body = json!({"amount": 5, "return_path": ""});
    app.post("/stripe/buy", Some(&bearer), Some(body.clone())).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.post("/stripe/portal", Some(&bearer), None).await.assert_error(401, "account_not_active", MSG_NOT_ACTIVE);
    app.post("/stripe/buy", None, Some(body.clone())).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.post("/stripe/portal", Some("Bearer nonsense"), None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert!(stripe.requests().is_empty());
}

#[tokio::test]
async fn stripe_failures_are_502_and_change_nothing() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("fail@example.com").await;
    let body = json!({"amount": 5, "return_path": ""});
    let cases = [
        (
            Fault::body(402, json!({"error": {"type": "card_error", "code": "card_declined", "message": "Declined."}})),
            "The payment provider refused the request (card_declined). Nothing was charged; please try again later.",
        ),
        (
            Fault::body(500, json!({"error": {"type": "api_error", "message": "Boom."}})),
            "The payment provider refused the request (api_error). Nothing was charged; please try again later.",
        ),
        (
            Fault::body(503, json!("not the usual error body")),
            "The payment provider refused the request (api_error). Nothing was charged; please try again later.",
        ),
        (
            Fault::Stall(Duration::from_secs(3)),
            "The payment provider did not answer in time. Nothing was charged; please try again later.",
        ),
    ];
    for (behaviour, message) in cases {
        stripe.set(behaviour);
        let before = app.snapshot().await;
        app.post("/stripe/buy", Some(&bearer), Some(body.clone())).await.assert_error(
            502,
            "payment_provider_error",
            message,
        );
        app.post("/stripe/portal", Some(&bearer), None).await.assert_error(502, "payment_provider_error", message);
        assert_eq!(app.snapshot().await, before);
        let user = entity::users::Entity::find_by_id(user_id.as_str()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(user.stripe_customer_id, None, "no customer remembered from a failed create");
        assert_eq!(user.credits, 0);
    }
    // Stripe recovers: the next call works.
    stripe.set(Fault::None);
    app.post("/stripe/buy", Some(&bearer), Some(body))
        .await
        .assert_success(201, "Checkout session created successfully.");
}

#[tokio::test]
async fn buy_and_portal_name_the_variables_when_stripe_is_not_configured() {
    let app = TestApp::new().await;
    let (_, bearer) = app.active_user("nostripe@example.com").await;
    let message = "This feature is not configured on the server. Set STRIPE_SECRET_KEY and CLIENT_URL to enable it.";
    app.post("/stripe/buy", Some(&bearer), Some(json!({"amount": 5, "return_path": ""}))).await.assert_error(
        503,
        "not_configured",
        message,
    );
    app.post("/stripe/portal", Some(&bearer), None).await.assert_error(503, "not_configured", message);
    app.get("/stripe/rate", Some(&bearer)).await.assert_success(200, RATE_MESSAGE);
}
