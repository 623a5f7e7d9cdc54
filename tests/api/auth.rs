use poem::http::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn register_returns_the_user_and_a_token() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": "vibhanshu", "last_name": "RATHOD", "email": "Hello@Crazi.co", "password": PASSWORD})),
        )
        .await;
    reply.assert_success(201, "User registered successfully.");
    let data = reply.data().as_object().unwrap();
    let mut keys: Vec<_> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "credits",
            "email",
            "first_name",
            "id",
            "is_2fa_enabled",
            "is_active",
            "is_dark_mode",
            "last_name",
            "token",
            "updated_at"
        ]
    );
    assert_eq!(data["email"], "hello@crazi.co");
    assert_eq!(data["first_name"], "Vibhanshu");
    assert_eq!(data["last_name"], "Rathod");
    assert_eq!(data["credits"], json!(0.0));
    assert_eq!(
        (data["is_active"].clone(), data["is_2fa_enabled"].clone(), data["is_dark_mode"].clone()),
        (json!(false), json!(false), json!(true))
    );
    let id = data["id"].as_str().unwrap();
    assert!(id.starts_with("user_") && id.len() == 37, "{id}");
    assert!(data["token"].as_str().unwrap().starts_with("clara_user_"));
    let date = regex::Regex::new(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$").unwrap();
    assert!(date.is_match(data["created_at"].as_str().unwrap()), "{}", data["created_at"]);
    // The welcome mail went out, with a text and an HTML part.
    let mails = app.mails_to("hello@crazi.co");
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].text.is_empty() && mails[0].html.contains("<html"), "{:?}", mails[0]);
}

#[tokio::test]
async fn register_without_last_name_gives_null() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": "Ada", "email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    reply.assert_success(201, "User registered successfully.");
    assert!(reply.data()["last_name"].is_null());
}

#[tokio::test]
async fn duplicate_email_is_refused_whatever_the_case() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    let before = app.snapshot().await;
    let reply = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": "A", "email": "ADA@example.com", "password": PASSWORD})),
        )
        .await;
    reply.assert_error(400, "user_exists", "User with the given identifier already exists.");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn register_validates_every_field() {
    let app = TestApp::new().await;
    let good = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "password": PASSWORD});
    let mut cases = vec![];
    for (field, bad) in [
        ("email", json!("not-an-email")),
        ("email", json!("a@b")),
        ("email", json!(42)),
        ("password", json!("short")),
        ("password", json!("x".repeat(73))),
        ("password", json!(null)),
        ("first_name", json!("")),
        ("first_name", json!("x".repeat(51))),
        ("first_name", json!(["Ada"])),
        ("last_name", json!("   ")),
        ("last_name", json!(7)),
    ] {
        let mut body = good.clone();
        body[field] = bad;
        cases.push(body);
    }
    for missing in ["first_name", "email", "password"] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(missing);
        cases.push(body);
    }
    let mut unknown = good.clone();
    unknown["is_admin"] = json!(true);
    cases.push(unknown);
    cases.push(json!([good.clone()]));
    cases.push(json!("a string"));
    for body in cases {
        let reply = app.post("/auth/register", None, Some(body.clone())).await;
        reply.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn login_logout_and_refused_token() {
    let app = TestApp::new().await;
    let (id, _) = app.active_user("ada@example.com").await;
    let reply = app.login("ADA@example.com", PASSWORD, None).await;
    reply.assert_success(200, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
    let bearer = format!("Bearer {}", reply.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");

    let out = app.call(Method::DELETE, "/auth/session", Some(&bearer), None).await;
    assert_eq!(out.status, 204);
    assert!(out.body.is_null());
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.call(Method::DELETE, "/auth/session", Some(&bearer), None).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = TestApp::new().await;
    app.active_user("ada@example.com").await;
    let wrong = app.login("ada@example.com", "wrong password", None).await;
    let unknown = app.login("nobody@example.com", PASSWORD, None).await;
    let malformed = app.login("not an email", PASSWORD, None).await;
    for reply in [&wrong, &unknown, &malformed] {
        reply.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn login_refuses_malformed_basic_headers() {
    let app = TestApp::new().await;
    app.active_user("ada@example.com").await;
    let sessions = app.snapshot().await;
    for header in ["Basic", "Basic !!!", "Basic YWRh", "Bearer x", "Basic 8J+YgA==", "garbage", "Basic    "] {
        let reply = app.post("/auth/session", Some(header), None).await;
        reply.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    app.post("/auth/session", None, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.snapshot().await, sessions);
}

#[tokio::test]
async fn session_expires_with_its_ttl() {
    let app = TestApp::new().await;
    let (id, bearer) = app.register("ada@example.com").await;
    app.state.clock.advance(std::time::Duration::from_secs(7 * 86_400 + 1));
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

async fn change_password(app: &TestApp, email: &str, auth: Option<&str>, new_password: &str) -> Reply {
    app.post(&format!("/users/{email}/otp/CHANGE_PASSWORD"), None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for(email).await;
    app.call(
        Method::PATCH,
        &format!("/users/{email}/password"),
        auth,
        Some(json!({"password": new_password, "code": code})),
    )
    .await
}

#[tokio::test]
async fn change_password_with_public_key_ends_every_session() {
    let app = TestApp::new().await;
    let (id, first) = app.active_user("ada@example.com").await;
    let second =
        format!("Bearer {}", app.login("ada@example.com", PASSWORD, None).await.data()["token"].as_str().unwrap());
    let reply = change_password(&app, "ada@example.com", None, "a brand new password").await;
    reply.assert_success(200, "User password changed successfully.");
    assert!(reply.data().is_null());
    for bearer in [&first, &second] {
        app.get(&format!("/users/{id}"), Some(bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    app.login("ada@example.com", PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.login("ada@example.com", "a brand new password", None)
        .await
        .assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn change_password_with_a_session_keeps_only_that_session() {
    let app = TestApp::new().await;
    let (id, first) = app.active_user("ada@example.com").await;
    let second =
        format!("Bearer {}", app.login("ada@example.com", PASSWORD, None).await.data()["token"].as_str().unwrap());
    change_password(&app, "ada@example.com", Some(&second), "a brand new password")
        .await
        .assert_success(200, "User password changed successfully.");
    app.get(&format!("/users/{id}"), Some(&first)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{id}"), Some(&second)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn change_password_for_another_users_email_is_forbidden() {
    let app = TestApp::new().await;
    let (_, ada) = app.active_user("ada@example.com").await;
    app.active_user("bob@example.com").await;
    let reply = change_password(&app, "bob@example.com", Some(&ada), "a brand new password").await;
    reply.assert_error(403, "forbidden", MSG_FORBIDDEN);
    app.login("bob@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn change_password_validates_and_needs_the_code() {
    let app = TestApp::new().await;
    app.active_user("ada@example.com").await;
    let path = "/users/ada@example.com/password";
    app.call(Method::PATCH, path, None, Some(json!({"password": "a brand new password", "code": "123456"})))
        .await
        .assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.call(Method::PATCH, path, None, Some(json!({"password": "short", "code": "123456"}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.call(
        Method::PATCH,
        "/users/nobody@example.com/password",
        None,
        Some(json!({"password": "a brand new password", "code": "123456"})),
    )
    .await
    .assert_error(404, "user_not_found", "User with the given identifier does not exist.");
    app.login("ada@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn public_keys_when_configured_are_required() {
    let app = TestApp::with_env(&[("PUBLIC_API_KEYS", "pk_one,pk_two")]).await;
    let body = json!({"first_name": "Ada", "email": "ada@example.com", "password": PASSWORD});
    app.post("/auth/register", None, Some(body.clone())).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.post("/auth/register", Some("pk_wrong"), Some(body.clone())).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.post("/auth/register", Some("Bearer pk_one"), Some(body.clone())).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
    app.post("/auth/register", Some("pk_two"), Some(body)).await.assert_success(201, "User registered successfully.");
    app.post("/users/ada@example.com/otp/ACTIVATION", None, None).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.post("/users/ada@example.com/otp/ACTIVATION", Some("pk_one"), None)
        .await
        .assert_success(201, "OTP sent successfully.");
}

#[tokio::test]
async fn mail_failure_is_a_503_and_leaves_no_account() {
    // Nothing listens on port 9 of loopback: the SMTP connection is refused at once.
    let app = TestApp::with_env(&[("SMTP_URL", "smtp://127.0.0.1:9")]).await;
    let reply = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": "Ada", "email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    reply.assert_error(503, "mail_unavailable", "The e-mail could not be sent. Please try again later.");
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}
