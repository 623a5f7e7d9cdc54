//! Parsers under fire: arbitrary `Authorization` headers, webhook signatures and
//! multipart bodies never panic the server and never get a 5xx.

use poem::http::Method;
use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};

use crate::support::{provider::PNG, stripe::now_secs, *};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

#[track_caller]
fn assert_enveloped_4xx(reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert!((400..500).contains(&reply.status), "status {}: {}", reply.status, reply.body);
    prop_assert_eq!(&reply.body["status"], "error");
    prop_assert!(reply.body["code"].is_string());
    Ok(())
}

/// Header values a client can actually send: visible ASCII and spaces.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,120}",
        "(Bearer|bearer|Basic|basic) [ -~]{0,120}",
        "Bearer clara_(user|api)_[A-Za-z0-9._-]{0,200}",
    ]
}

#[test]
fn arbitrary_authorization_headers_are_refused_in_the_envelope() {
    let rt = runtime();
    // The app's pools expect a runtime around them, to the end (drops included).
    let _context = rt.enter();
    let app = rt.block_on(TestApp::with_env(&[("PUBLIC_API_KEYS", "public-key-1"), ("ADMIN_API_KEY", ADMIN_KEY)]));
    let (user_id, _) = rt.block_on(async {
        let reply = app
            .post(
                "/auth/register",
                Some("public-key-1"),
                Some(serde_json::json!({"first_name": "ada", "email": "prop@example.com", "password": PASSWORD})),
            )
            .await;
        (reply.data()["id"].as_str().unwrap().to_string(), ())
    });
    runner(96)
        .run(&header_value(), |header| {
            rt.block_on(async {
                for (method, path) in [
                    (Method::GET, format!("/api/v1/users/{user_id}")),
                    (Method::POST, "/api/v1/auth/session".to_string()),
                    (Method::GET, "/api/v1/users".to_string()),
                    (Method::POST, format!("/api/v1/users/{user_id}/2fa/totp")),
                ] {
                    let reply = app.raw(method, &path, &[("Authorization", &header)], None).await;
                    assert_enveloped_4xx(&reply)?;
                }
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn arbitrary_webhook_signatures_and_bodies_are_400() {
    let rt = runtime();
    // The app's pools expect a runtime around them, to the end (drops included).
    let _context = rt.enter();
    let (app, _stripe) = rt.block_on(TestApp::with_stripe(&[]));
    let strategy = (
        prop_oneof!["[ -~]{0,160}", "t=[0-9]{1,12},v1=[0-9a-f]{0,64}(,v1=[0-9a-f]{64})?"],
        prop::collection::vec(any::<u8>(), 0..400),
    );
    runner(96)
        .run(&strategy, |(signature, body)| {
            rt.block_on(async {
                let reply = app.webhook("/stripe/webhook", &body, Some(&signature)).await;
                assert_enveloped_4xx(&reply)?;
                Ok(())
            })
        })
        .unwrap();
    // A correctly signed but arbitrary body is a 4xx too, never a 5xx.
    runner(64)
        .run(&prop::collection::vec(any::<u8>(), 0..400), |body| {
            rt.block_on(async {
                let signature =
                    crate::support::stripe::signature(crate::support::stripe::WEBHOOK_SECRET, now_secs(), &body);
                let reply = app.webhook("/stripe/webhook", &body, Some(&signature)).await;
                prop_assert!(reply.status == 400 || reply.status == 200, "{}: {}", reply.status, reply.body);
                Ok(())
            })
        })
        .unwrap();
    assert_eq!(rt.block_on(app.count(entity::transactions::Entity)), 0);
}

#[test]
fn arbitrary_multipart_bodies_never_get_a_5xx() {
    let rt = runtime();
    // The app's pools expect a runtime around them, to the end (drops included).
    let _context = rt.enter();
    let (app, _provider) = rt.block_on(TestApp::with_agent(&[("MAX_ATTACHMENT_BYTES", "4096")]));
    let (user_id, bearer) = rt.block_on(async {
        let (id, bearer) = app.active_user("multipart@example.com").await;
        app.give_credits(&id, 100).await; // less than one analysis: nothing is ever created
        (id, bearer)
    });
    let path = format!("/api/v1/users/{user_id}/agent/analysis");
    // Raw bytes under a multipart content type, and well-framed forms with arbitrary parts.
    let raw = (
        prop_oneof!["[ -~]{0,40}", Just("clara-test-boundary-7d3a".to_string())],
        prop::collection::vec(any::<u8>(), 0..600),
    );
    runner(96)
        .run(&raw, |(boundary, body)| {
            rt.block_on(async {
                let content_type = format!("multipart/form-data; boundary={boundary}");
                let reply = app
                    .raw(
                        Method::POST,
                        &path,
                        &[("Authorization", &bearer), ("Content-Type", &content_type)],
                        Some(poem::Body::from_vec(body)),
                    )
                    .await;
                assert_enveloped_4xx(&reply)?;
                Ok(())
            })
        })
        .unwrap();
    let part = (
        "[a-z_]{0,12}",
        prop::option::of("[ -~]{0,30}"),
        prop_oneof![prop::collection::vec(any::<u8>(), 0..300), Just(PNG.to_vec())],
    );
    runner(96)
        .run(&prop::collection::vec(part, 0..7), |parts| {
            rt.block_on(async {
                let parts: Vec<(&str, Option<&str>, &[u8])> =
                    parts.iter().map(|(f, n, b)| (f.as_str(), n.as_deref(), b.as_slice())).collect();
                let reply = app.analysis(&user_id, &bearer, &parts).await;
                assert_enveloped_4xx(&reply)?;
                Ok(())
            })
        })
        .unwrap();
    assert_eq!(rt.block_on(app.count(entity::tasks::Entity)), 0);
    assert_eq!(rt.block_on(app.balance(&user_id)), 100);
}
