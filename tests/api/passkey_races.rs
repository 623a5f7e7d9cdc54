//! Passkeys changed at once for one account: deletions and additions racing each other
//! on SQLite (the test database unless one is given) are each answered as if alone,
//! never a 5xx, and leave the account a way to sign in.

use entity::passkeys;
use futures_util::future::join_all;
use poem::http::Method;

use crate::passkeys::{Device, app, register};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_passkey_deletes_and_adds_for_one_account_are_never_a_5xx() {
    let app = app().await;
    let (id, bearer) = app.active_user("racer@example.com").await;
    for round in 0..3 {
        let mut ids = vec![];
        for _ in 0..6 {
            let reply = register(&app, &mut Device::new(), &id, &bearer, None).await;
            reply.assert_success(201, "Passkey added successfully.");
            ids.push(reply.data()["id"].as_str().unwrap().to_string());
        }
        let deletes = ids.iter().map(|passkey_id| {
            let path = format!("/users/{id}/passkeys/{passkey_id}");
            let (app, bearer) = (&app, &bearer);
            async move { app.call(Method::DELETE, &path, Some(bearer), None).await }
        });
        let adds = (0..3).map(|_| {
            let (app, id, bearer) = (&app, &id, &bearer);
            async move { register(app, &mut Device::new(), id, bearer, None).await }
        });
        let (deleted, added) = futures_util::join!(join_all(deletes), join_all(adds));
        for reply in &deleted {
            assert_eq!(reply.status, 204, "round {round}: a deletion alone would succeed: {}", reply.body);
        }
        let mut kept = 0;
        for reply in &added {
            // Options started later replace earlier ones: a superseded registration is the
            // 4xx it is alone, never a failure of the server.
            assert!(reply.status < 500, "round {round}: {} {}", reply.status, reply.body);
            kept += u64::from(reply.status == 201);
        }
        assert_eq!(app.count(passkeys::Entity).await, kept, "round {round}");
        for passkey in app.get(&format!("/users/{id}/passkeys"), Some(&bearer)).await.data().as_array().unwrap() {
            let path = format!("/users/{id}/passkeys/{}", passkey["id"].as_str().unwrap());
            assert_eq!(app.call(Method::DELETE, &path, Some(&bearer), None).await.status, 204);
        }
    }
}
