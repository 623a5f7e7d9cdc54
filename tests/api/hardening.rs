//! HTTP hardening and observability: request ids, security headers, CORS, time limits
//! and Prometheus metrics.

use std::time::Duration;

use poem::http::Method;

use crate::support::*;

#[track_caller]
fn assert_hardened(reply: &Reply) {
    let header = |name: &str| reply.headers.get(name).map(|v| v.to_str().unwrap().to_string());
    assert!(header("x-request-id").is_some_and(|id| !id.is_empty()), "{:?}", reply.headers);
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    assert!(header("strict-transport-security").is_some());
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert!(header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
}

#[tokio::test]
async fn every_response_has_security_headers_and_a_request_id() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "3")]).await;
    let (user_id, bearer) = app.register("headers@example.com").await;
    let path = format!("/users/{user_id}");
    // Anonymous calls share the address's budget with the sign-up above.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut replies = vec![
        app.get("/health", None).await,
        app.get(&path, Some(&bearer)).await,
        app.get("/no/such/route", None).await,
        app.get(&path, Some("Bearer nonsense")).await,
    ];
    let burst = futures_util::future::join_all((0..7).map(|_| app.get(&path, Some(&bearer)))).await;
    replies.push(burst.into_iter().find(|r| r.status == 429).expect("a 429 in the burst"));
    assert_eq!(replies.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 200, 404, 401, 429]);
    for reply in &replies {
        assert_hardened(reply);
    }
    let ids: std::collections::HashSet<_> = replies.iter().map(|r| r.headers["x-request-id"].clone()).collect();
    assert_eq!(ids.len(), replies.len(), "a new id per request");

    // A sane id from the client is kept; anything else is replaced.
    let kept = app.raw(Method::GET, "/api/v1/version", &[("X-Request-Id", "trace-42.a_b")], None).await;
    assert_eq!(kept.headers["x-request-id"], "trace-42.a_b");
    let long = "x".repeat(200);
    for bad in ["has space", "semi;colon", long.as_str()] {
        let replaced = app.raw(Method::GET, "/api/v1/version", &[("X-Request-Id", bad)], None).await;
        assert_ne!(replaced.headers["x-request-id"], bad);
        assert_eq!(replaced.headers["x-request-id"].len(), 32);
    }
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = TestApp::with_env(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let preflight = |origin: &'static str| {
        let app = &app;
        async move {
            let headers = [
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ];
            app.raw(Method::OPTIONS, "/api/v1/auth/register", &headers, None).await
        }
    };
    let allowed = preflight("https://app.example.com").await;
    assert!(allowed.status < 300, "{}", allowed.status);
    assert_eq!(allowed.headers["access-control-allow-origin"], "https://app.example.com");
    let refused = preflight("https://evil.example").await;
    assert!(refused.headers.get("access-control-allow-origin").is_none());
    refused.assert_error(403, "forbidden", MSG_FORBIDDEN);

    let (user_id, bearer) = app.active_user("cors@example.com").await;
    let listed = app
        .raw(
            Method::GET,
            &format!("/api/v1/users/{user_id}/transactions"),
            &[("Origin", "https://app.example.com"), ("Authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    let exposed = listed.headers["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("x-total-count") && exposed.contains("x-request-id"), "{exposed}");
    assert!(exposed.contains("idempotent-replayed"), "{exposed}");
}

#[tokio::test]
async fn a_request_over_its_time_limit_is_503_in_the_envelope() {
    let (app, stripe) = TestApp::with_stripe(&[("REQUEST_TIMEOUT_SECS", "1"), ("OUTBOUND_TIMEOUT_MS", "5000")]).await;
    let (_, bearer) = app.active_user("slow@example.com").await;
    stripe.set(Fault::Stall(Duration::from_secs(3)));
    let reply = app.post("/stripe/portal", Some(&bearer), None).await;
    reply.assert_error(503, "timed_out", "The request took too long. Please try again.");
    assert_hardened(&reply);
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_status() {
    let app = TestApp::with_env(&[("METRICS_TOKEN", crate::metrics_access::METRICS_TOKEN)]).await;
    let (user_id, bearer) = app.register("metrics@example.com").await;
    app.get(&format!("/users/{user_id}"), Some(&bearer)).await;
    app.get(&format!("/users/{user_id}"), Some("Bearer nope")).await;
    app.get("/nowhere", None).await;
    app.raw(Method::GET, "/openapi.json", &[], None).await;

    let refused = app.raw(Method::GET, "/metrics", &[], None).await;
    refused.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    let wrong = app.raw(Method::GET, "/metrics", &[("Authorization", "Bearer wrong")], None).await;
    assert_eq!(wrong.status, 401);

    let mut request =
        app.client.get("/metrics").header("Authorization", format!("Bearer {}", crate::metrics_access::METRICS_TOKEN));
    request = request.header("Accept", "text/plain");
    let response = request.send().await.0;
    assert_eq!(response.status(), 200);
    let text = response.into_body().into_string().await.unwrap();
    for line in [
        r#"clara_http_requests_total{operation="authRegister",status="201"} 1"#,
        r#"clara_http_requests_total{operation="usersGet",status="200"} 1"#,
        r#"clara_http_requests_total{operation="usersGet",status="401"} 1"#,
        r#"clara_http_requests_total{operation="unmatched",status="404"} 1"#,
        r#"clara_http_requests_total{operation="openapi",status="200"} 1"#,
        r#"clara_emails_total{result="sent"} 1"#,
        r#"clara_tasks{status="PENDING"} 0"#,
        "clara_task_queue_age_seconds 0",
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert!(text.contains(r#"clara_http_request_duration_seconds_bucket{operation="usersGet""#));
    // Health probes stay open without the token.
    assert_eq!(app.get("/health", None).await.status, 200);
}
