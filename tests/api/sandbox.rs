//! Sandbox mode: the whole journey with no outside account, each double
//! reached through the real code path (the mailer, Stripe's client and webhook, Google's
//! verifier, the model client and the worker); and the sandbox never leaking into a real
//! server.

use poem::http::Method;
use serde_json::{Value, json};

use crate::{
    pdf_gen,
    spec_generators::without_server,
    support::{provider::PNG, *},
};

/// Registers and activates through the mailbox, then logs in; returns (user id, bearer header).
pub(crate) async fn sandbox_user(app: &TestApp, email: &str) -> (String, String) {
    let (id, _) = app.register(email).await;
    let mails = app.get(&format!("/sandbox/mailbox/{email}"), None).await;
    mails.assert_success(200, "Mails fetched successfully.");
    let mail = &mails.data()[0];
    assert_eq!(mail["to"], email);
    assert_eq!(mail["otp_type"], "ACTIVATION");
    let code = mail["code"].as_str().expect("the code, apart").to_string();
    assert!(mail["text"].as_str().unwrap().contains(&code), "{mail}");
    // The HTML body SMTP would send, with the code and the default APP_NAME.
    let html = mail["html"].as_str().expect("an html body");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(&code) && html.contains("Clara"), "{mail}");
    app.post(&format!("/users/{email}/activate"), None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    (id, app.session(email).await)
}

/// Buys `dollars` through Buy; returns the checkout session id and URL.
async fn checkout(app: &TestApp, bearer: &str, dollars: u32) -> (String, String) {
    let buy = app.post("/stripe/buy", Some(bearer), Some(json!({"amount": dollars, "return_path": "/billing"}))).await;
    buy.assert_success(201, "Checkout session created successfully.");
    let url = buy.data()["url"].as_str().unwrap().to_string();
    let prefix = format!("{}/api/v1/sandbox/checkout/", app.base_url());
    let session = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url} is a sandbox page")).to_string();
    (session, url)
}

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(path).send().await.0;
    let status = response.status().as_u16();
    (status, response.into_body().into_string().await.unwrap())
}

#[tokio::test]
async fn the_whole_journey_runs_on_the_doubles() {
    let app = TestApp::sandbox(&[]).await;
    // A sandbox just started on a loaded machine (the PostgreSQL pass, six test threads)
    // once answered its first probe with an error envelope, most likely its database
    // slower than the probe's 2 s: wait that out, since what this checks is the flag.
    let mut health = app.get("/health", None).await;
    for _ in 0..20 {
        if health.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        health = app.get("/health", None).await;
    }
    health.assert_success(200, "Health check successful.");
    assert_eq!(health.data()["sandbox"], true);

    let email = "journey@example.com";
    let (id, bearer) = sandbox_user(&app, email).await;

    // Buy → the checkout page → Pay: the signed event goes through the real webhook.
    let (session, url) = checkout(&app, &bearer, 5).await;
    let (status, page) = html(&app, url.strip_prefix(&app.base_url()).unwrap()).await;
    assert_eq!(status, 200);
    assert!(page.contains("$5") && page.contains("500") && page.contains("id=\"pay\""), "{page}");
    assert!(page.contains(&format!("/api/v1/sandbox/checkout/{session}/pay")), "{page}");
    let paid = app.post(&format!("/sandbox/checkout/{session}/pay"), None, None).await;
    paid.assert_success(200, "Payment completed; credits added.");
    assert_eq!(paid.data()["credited"], true);
    assert_eq!(paid.data()["credits"], 500.0);
    assert_eq!(
        paid.data()["success_url"],
        format!("{}/api/v1/sandbox/app/billing?stripe_status=success", app.base_url())
    );
    assert_eq!(app.balance(&id).await, 50_000);
    let credits: Vec<_> = app.transactions_of(&id).await.into_iter().filter(|t| t.kind == "CREDIT").collect();
    assert_eq!(credits.len(), 1);
    assert_eq!(credits[0].stripe_session_id.as_deref(), Some(session.as_str()));
    assert_eq!(credits[0].value_in_fiat, 500);

    // Paying again (a script retrying, a double click) credits nothing more.
    let again = app.post(&format!("/sandbox/checkout/{session}/pay"), None, None).await;
    again.assert_success(200, "Already paid; nothing changed.");
    assert_eq!(again.data()["credited"], false);
    assert_eq!(app.balance(&id).await, 50_000);
    assert_eq!(app.transactions_of(&id).await.len(), 1);

    // A browser's Pay (the page's form) is sent on to the success URL.
    let browser = app
        .client
        .post(format!("/api/v1/sandbox/checkout/{session}/pay"))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .0;
    assert_eq!(browser.status().as_u16(), 303);
    let location = browser.headers()["location"].to_str().unwrap().to_string();
    let (status, landing) = html(&app, location.strip_prefix(&app.base_url()).unwrap()).await;
    assert_eq!(status, 200);
    assert!(landing.contains("Payment complete"), "{landing}");

    // The portal lists the purchase.
    let portal = app.post("/stripe/portal", Some(&bearer), None).await;
    portal.assert_success(201, "Customer portal session created successfully.");
    let portal_url = portal.data()["url"].as_str().unwrap();
    let (status, page) = html(&app, portal_url.strip_prefix(&app.base_url()).unwrap()).await;
    assert_eq!(status, 200);
    assert!(page.contains(email) && page.contains(&session) && page.contains("$5"), "{page}");

    // An analysis on the deterministic model: its findings name what it read.
    let document = pdf_gen::plain("Quarterly revenue doubled in March");
    let files = [
        ("text", None, &b"The Eiffel Tower was moved to Rome in 2020, officials said."[..]),
        ("files", Some("report.pdf"), &document[..]),
        ("files", Some("photo.png"), PNG),
    ];
    let started = app.analysis(&id, &bearer, &files).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let task = app.finished_task(started.data()["id"].as_str().unwrap()).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    let result: Value = serde_json::from_str(task.result.as_deref().unwrap()).unwrap();
    let findings = result["findings"].to_string();
    assert!(findings.contains("The Eiffel Tower was moved to Rome in…"), "{findings}");
    assert!(findings.contains("report.pdf") && findings.contains("Quarterly revenue doubled"), "{findings}");
    assert!(findings.contains("photo.png"), "{findings}");
    // The same loop as production: the model searched (the sandbox's search double), the
    // server fetched the first result (a page on the sandbox) through the guarded fetcher
    // and the child's HTML extraction, and the verdict cites it.
    use clara_backend::services::steps::StepKind;
    let steps = clara_backend::services::steps::of(&task);
    let kinds: Vec<StepKind> = steps.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StepKind::Search, StepKind::Fetch, StepKind::Conclude], "{steps:?}");
    assert!(steps[0].detail.starts_with("The Eiffel Tower was moved"), "{steps:?}");
    let page = format!("{}/api/v1/sandbox/pages/1?q=", app.base_url());
    assert!(result["sources"][0].as_str().unwrap().starts_with(&page), "{result}");
    let citation = &result["citations"][0];
    assert!(citation["title"].as_str().unwrap().starts_with("Sandbox Gazette"), "{citation}");
    let excerpt = citation["excerpt"].as_str().unwrap();
    assert!(excerpt.contains("sandbox record") && !excerpt.contains("Subscribe"), "{excerpt}");

    // The same material gives the same verdict.
    let twice = app.analysis(&id, &bearer, &files).await;
    let second = app.finished_task(twice.data()["id"].as_str().unwrap()).await;
    let mut second: Value = serde_json::from_str(second.result.as_deref().unwrap()).unwrap();
    // The same but for when the page was retrieved.
    let mut first = result.clone();
    for value in [&mut first, &mut second] {
        value["citations"][0]["retrieved_at"] = Value::Null;
    }
    assert_eq!(second, first);

    // `#fail` ends FAILED, with the debit refunded.
    let before = app.balance(&id).await;
    let failing = app.analysis(&id, &bearer, &[("text", None, b"Please #fail this one")]).await;
    let failed = app.finished_task(failing.data()["id"].as_str().unwrap()).await;
    assert_eq!(failed.status, "FAILED");
    assert_eq!(app.balance(&id).await, before);
    let refund =
        app.transactions_of(&id).await.into_iter().find(|t| t.description == format!("Refund for {}", failed.id));
    assert!(refund.is_some_and(|t| t.kind == "CREDIT"));

    // Google sign-in with a minted token, through the real verifier and key-set fetch.
    let minted = app
        .post("/sandbox/google/id_token", None, Some(json!({"email": "grace@example.com", "name": "Grace Hopper"})))
        .await;
    minted.assert_success(200, "ID token minted successfully.");
    let id_token = json!({"id_token": minted.data()["id_token"].as_str().unwrap()});
    let signed_in = app.post("/auth/google", None, Some(id_token.clone())).await;
    signed_in.assert_success(201, "User registered successfully.");
    assert_eq!(signed_in.data()["first_name"], "Grace");
    assert_eq!(signed_in.data()["last_name"], "Hopper");
    assert_eq!(signed_in.data()["is_active"], true);
    app.post("/auth/google", None, Some(id_token)).await.assert_success(201, "User logged in successfully.");
    // An unverified address is refused, as Google's own would be.
    let unverified = app
        .post("/sandbox/google/id_token", None, Some(json!({"email": "eve@example.com", "email_verified": false})))
        .await;
    let refused = app
        .post("/auth/google", None, Some(json!({"id_token": unverified.data()["id_token"].as_str().unwrap()})))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}

#[tokio::test]
async fn sandbox_routes_refuse_what_they_cannot_find() {
    let app = TestApp::sandbox(&[]).await;
    app.get("/sandbox/mailbox/not-an-address", None).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    let empty = app.get("/sandbox/mailbox/nobody@example.com", None).await;
    assert_eq!(empty.data(), &json!([]));
    let missing = "Checkout Session with the given identifier does not exist.";
    app.get("/sandbox/checkout/cs_sandbox_nope", None).await.assert_error(404, "checkout_session_not_found", missing);
    app.post("/sandbox/checkout/cs_sandbox_nope/pay", None, None).await.assert_error(
        404,
        "checkout_session_not_found",
        missing,
    );
    app.get("/sandbox/portal/cus_sandbox_nope", None).await.assert_error(
        404,
        "customer_not_found",
        "Customer with the given identifier does not exist.",
    );
    app.post("/sandbox/google/id_token", None, None).await.assert_error(400, "empty_body", MSG_EMPTY);
    app.post("/sandbox/google/id_token", None, Some(json!({"email": "not an address"}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.post("/sandbox/google/id_token", None, Some(json!({"email": 7}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    let huge = format!(r#"{{"email": "a@example.com", "name": "{}"}}"#, "x".repeat(1 << 21));
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/sandbox/google/id_token",
            &[("Content-Type", "application/json")],
            Some(poem::Body::from_string(huge.clone())),
        )
        .await;
    assert_eq!(reply.status, 413);
    for path in ["/sandbox/apple/id_token", "/sandbox/passkey/attestation", "/sandbox/passkey/assertion"] {
        let reply = app
            .raw(
                Method::POST,
                &format!("/api/v1{path}"),
                &[("Content-Type", "application/json")],
                Some(poem::Body::from_string(huge.clone())),
            )
            .await;
        assert_eq!(reply.status, 413, "{path}");
    }

    // With the database gone, the portal (the one sandbox page that reads it) says so.
    app.state.db.clone().close().await.unwrap();
    let reply = app.get("/sandbox/portal/cus_sandbox_any", None).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.body["code"], "database_unavailable");
}

#[tokio::test]
async fn without_sandbox_the_routes_do_not_exist() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/health", None).await.data()["sandbox"], false);
    for (method, path) in [
        (Method::GET, "/api/v1/sandbox/mailbox/a@example.com"),
        (Method::GET, "/api/v1/sandbox/checkout/cs_1"),
        (Method::POST, "/api/v1/sandbox/checkout/cs_1/pay"),
        (Method::GET, "/api/v1/sandbox/portal/cus_1"),
        (Method::POST, "/api/v1/sandbox/google/id_token"),
        (Method::GET, "/api/v1/sandbox/google/certs"),
        (Method::POST, "/api/v1/sandbox/apple/id_token"),
        (Method::GET, "/api/v1/sandbox/apple/auth/keys"),
        (Method::POST, "/api/v1/sandbox/passkey/attestation"),
        (Method::POST, "/api/v1/sandbox/passkey/assertion"),
        (Method::POST, "/api/v1/sandbox/stripe/v1/customers"),
        (Method::POST, "/api/v1/sandbox/model/v1/chat/completions"),
        (Method::GET, "/api/v1/sandbox/app"),
    ] {
        let reply = app.raw(method.clone(), path, &[], None).await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert_eq!(reply.body["code"], "route_not_found", "{method} {path}");
    }
    let spec = app.raw(Method::GET, "/openapi.json", &[], None).await.body;
    assert!(spec["paths"].as_object().unwrap().keys().all(|p| !p.starts_with("/sandbox")));
    assert!(spec["tags"].as_array().unwrap().iter().all(|t| t["name"] != "Sandbox"));
    assert!(!spec["info"]["description"].as_str().unwrap().contains("SANDBOX"));
}

#[tokio::test]
async fn a_minted_token_is_refused_by_a_real_server() {
    use clara_backend::sandbox::GOOGLE_CLIENT_ID;
    use doubles::{
        identity::{GoogleToken, google_token},
        keys::SigningKey,
    };
    // Even a server configured with the sandbox's client id trusts only its own key set.
    let jwks = google::start().await;
    let app = TestApp::with_env(&[("GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID), ("GOOGLE_JWKS_URL", &jwks.url)]).await;
    let request =
        GoogleToken { audience: GOOGLE_CLIENT_ID, email: "mallory@example.com", name: None, email_verified: true };
    let token = google_token(SigningKey::sandbox(), &request);
    app.post("/auth/google", None, Some(json!({"id_token": token}))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    assert_eq!(app.count(entity::users::Entity).await, 0);
}

#[tokio::test]
async fn the_committed_sandbox_spec_is_what_a_sandbox_serves() {
    let app = TestApp::sandbox(&[]).await;
    let served = app.raw(Method::GET, "/openapi.json", &[], None).await.body;
    let committed: Value = serde_json::from_str(include_str!("../../openapi/openapi.sandbox.json")).unwrap();
    // Only where the server is differs: a template there, this server's address here.
    let (committed, served) = (without_server(committed), without_server(served.clone()));
    assert!(
        committed == served,
        "openapi/openapi.sandbox.json is stale: regenerate it with `cargo run -- openapi --sandbox > openapi/openapi.sandbox.json`"
    );
    assert!(served["info"]["description"].as_str().unwrap().starts_with("**SANDBOX MODE.**"));
    assert!(served["tags"].as_array().unwrap().iter().any(|t| t["name"] == "Sandbox"));
    // The production spec is the sandbox spec without the Sandbox operations.
    let production: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    for (path, item) in production["paths"].as_object().unwrap() {
        assert_eq!(&served["paths"][path], item, "{path}");
    }
}

/// Start-up, as an operator sees it: the real binary, refusing what must not run.
#[test]
fn start_up_refuses_a_live_key_and_shadowed_integrations() {
    let run = |vars: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_clara-backend"))
            .arg("--sandbox")
            .env_clear()
            .env("DATABASE_URL", format!("sqlite://{}/c.db?mode=rwc", dir.path().display()))
            .env("PORT", "0")
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{vars:?} must not start");
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let live = run(&[("STRIPE_SECRET_KEY", "sk_live_51abc")]);
    assert!(live.contains("STRIPE_SECRET_KEY") && live.contains("live Stripe key"), "{live}");
    let shadowed = run(&[("SMTP_URL", "smtp://127.0.0.1:2525"), ("AGENT_API_BASE", "http://127.0.0.1:1/v1")]);
    assert!(shadowed.contains("SMTP_URL") && shadowed.contains("AGENT_API_BASE"), "{shadowed}");
}

/// Each page says what it may load (its route declares it); every other answer, the
/// sandbox's data and the doubles' included, allows nothing.
#[tokio::test]
async fn pages_carry_their_own_content_security_policy_and_data_the_strict_one() {
    use clara_backend::api::middleware::policy::{DOCS_PAGE_POLICY, SANDBOX_PAGE_POLICY};
    let app = TestApp::sandbox(&[]).await;
    let (_, bearer) = sandbox_user(&app, "policy@example.com").await;
    let (session, _) = checkout(&app, &bearer, 5).await;
    let policy_of = |path: String| {
        let client = &app.client;
        async move {
            let response = client.get(path.as_str()).send().await.0;
            let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), header("content-security-policy"), header("cache-control"))
        }
    };
    let strict = "default-src 'none'; frame-ancestors 'none'";
    for (path, status, policy) in [
        (format!("/api/v1/sandbox/checkout/{session}"), 200, SANDBOX_PAGE_POLICY),
        ("/api/v1/sandbox/pages/1?q=tower".to_string(), 200, SANDBOX_PAGE_POLICY),
        ("/api/v1/sandbox/app/billing?stripe_status=success".to_string(), 200, SANDBOX_PAGE_POLICY),
        ("/docs".to_string(), 200, DOCS_PAGE_POLICY),
        ("/api/v1/sandbox/mailbox/policy@example.com".to_string(), 200, strict),
        ("/api/v1/sandbox/google/certs".to_string(), 200, strict),
        ("/api/v1/health".to_string(), 200, strict),
        ("/api/v1/no/such/route".to_string(), 404, strict),
    ] {
        let (answered, csp, cache) = policy_of(path.clone()).await;
        assert_eq!((answered, csp.as_deref()), (status, Some(policy)), "{path}");
        assert_eq!(cache.as_deref(), Some("no-store"), "{path}");
    }
}
