//! Transactions: paging, ordering, access.

use crate::support::*;

async fn user_with_transactions(app: &TestApp, email: &str, count: i64) -> (String, String) {
    let (user_id, bearer) = app.active_user(email).await;
    for i in 1..=count {
        app.give_credits(&user_id, i * 100).await;
    }
    (user_id, bearer)
}

fn credits_of(reply: &Reply) -> Vec<f64> {
    reply.data().as_array().unwrap().iter().map(|t| t["value_in_credits"].as_f64().unwrap()).collect()
}

#[tokio::test]
async fn pages_are_newest_first_with_the_total() {
    let app = TestApp::new().await;
    let (user_id, bearer) = user_with_transactions(&app, "pages@example.com", 25).await;
    let path = format!("/users/{user_id}/transactions");

    let first = app.get(&path, Some(&bearer)).await;
    first.assert_success(200, "Transactions fetched successfully.");
    assert_eq!(first.total_count(), 25);
    assert_eq!(credits_of(&first), (6..=25).rev().map(|i| i as f64).collect::<Vec<_>>(), "default 20, newest first");

    let last = app.get(&format!("{path}?limit=5&offset=20"), Some(&bearer)).await;
    assert_eq!(credits_of(&last), vec![5.0, 4.0, 3.0, 2.0, 1.0]);
    assert_eq!(last.total_count(), 25);
    let middle = app.get(&format!("{path}?limit=3&offset=1"), Some(&bearer)).await;
    assert_eq!(credits_of(&middle), vec![24.0, 23.0, 22.0]);
    let past_the_end = app.get(&format!("{path}?offset=25"), Some(&bearer)).await;
    assert_eq!(past_the_end.data(), &serde_json::json!([]));
    assert_eq!(past_the_end.total_count(), 25);
    let everything = app.get(&format!("{path}?limit=100&offset=0"), Some(&bearer)).await;
    assert_eq!(credits_of(&everything).len(), 25);
    let huge_offset = app.get(&format!("{path}?offset=9007199254740991"), Some(&bearer)).await;
    assert_eq!(huge_offset.data(), &serde_json::json!([]));

    let one = &first.data()[0];
    assert!(one["id"].as_str().unwrap().starts_with("transaction_"));
    assert_eq!(one["user_id"], user_id.as_str());
    assert_eq!(one["type"], "CREDIT");
    assert!(one["created_at"].as_str().unwrap().ends_with(" GMT"));
}

#[tokio::test]
async fn bad_paging_is_400() {
    let app = TestApp::new().await;
    let (user_id, bearer) = user_with_transactions(&app, "paging@example.com", 1).await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "offset=-1",
        "offset=abc",
        "offset=9007199254740992",
        "offset=1e3",
    ] {
        app.get(&format!("/users/{user_id}/transactions?{query}"), Some(&bearer)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
}

#[tokio::test]
async fn one_transaction_and_who_may_see_it() {
    let app = TestApp::new().await;
    let (user_id, bearer) = user_with_transactions(&app, "mine@example.com", 1).await;
    let (other_id, other_bearer) = user_with_transactions(&app, "theirs@example.com", 1).await;
    let mine = app.transactions_of(&user_id).await.remove(0);
    let theirs = app.transactions_of(&other_id).await.remove(0);

    let reply = app.get(&format!("/users/{user_id}/transactions/{}", mine.id), Some(&bearer)).await;
    reply.assert_success(200, "Transaction fetched successfully.");
    assert_eq!(reply.data()["id"], mine.id.as_str());
    assert_eq!(reply.data()["description"], "Test credit.");
    assert_eq!(reply.data()["value_in_credits"], 1.0);
    assert_eq!(reply.data()["value_in_fiat"], 0.01);

    let not_found = "Transaction with the given identifier does not exist.";
    app.get(&format!("/users/{user_id}/transactions/{}", theirs.id), Some(&bearer)).await.assert_error(
        404,
        "transaction_not_found",
        not_found,
    );
    app.get(&format!("/users/{user_id}/transactions/transaction_00000000000000000000000000000000"), Some(&bearer))
        .await
        .assert_error(404, "transaction_not_found", not_found);
    app.get(&format!("/users/{other_id}/transactions/{}", theirs.id), Some(&bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.get(&format!("/users/{other_id}/transactions"), Some(&bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.get("/users/user_00000000000000000000000000000000/transactions", Some(&other_bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.get(&format!("/users/{user_id}/transactions"), None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);

    let (inactive_id, inactive_bearer) = app.register("inactive@example.com").await;
    app.get(&format!("/users/{inactive_id}/transactions"), Some(&inactive_bearer)).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
}
