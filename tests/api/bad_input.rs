//! Every malformed request gets its 4xx in the envelope and changes nothing.

use poem::{Body, http::Method};

use crate::support::*;

const REGISTER: &str = "/api/v1/auth/register";

type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn bodies_that_are_not_json() {
    let app = TestApp::new().await;
    let json = [("Content-Type", "application/json")];
    let cases: Vec<(Headers, Option<Body>)> = vec![
        (&json, None),
        (&json, Some(Body::from_vec(b"".to_vec()))),
        (&json, Some(Body::from_vec(b"{\"first_name\": ".to_vec()))),
        (&json, Some(Body::from_vec(b"{'single': 'quotes'}".to_vec()))),
        (&json, Some(Body::from_vec(vec![0xff, 0xfe, 0x7b, 0x7d]))),
        (&json, Some(Body::from_vec(b"\xc3\x28".to_vec()))),
        (&[("Content-Type", "text/plain")], Some(Body::from_vec(b"{\"first_name\":\"a\"}".to_vec()))),
        (&[("Content-Type", "application/x-www-form-urlencoded")], Some(Body::from_vec(b"first_name=a".to_vec()))),
        (&[], Some(Body::from_vec(b"{\"first_name\":\"a\"}".to_vec()))),
        (&[("Content-Type", "not a mime type")], Some(Body::from_vec(b"{}".to_vec()))),
    ];
    for (headers, body) in cases {
        let reply = app.raw(Method::POST, REGISTER, headers, body).await;
        reply.assert_error(400, "empty_body", MSG_EMPTY);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn ten_megabyte_bodies_are_413_with_or_without_length() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let before = app.snapshot().await;
    let big = vec![b' '; 10 * 1024 * 1024];
    let length = big.len().to_string();
    let with_length = app
        .raw(
            Method::POST,
            REGISTER,
            &[("Content-Type", "application/json"), ("Content-Length", &length)],
            Some(Body::from_vec(big.clone())),
        )
        .await;
    with_length.assert_error(413, "payload_too_large", "The request body is larger than this route accepts.");
    // Streamed, no Content-Length.
    let stream = futures_util::stream::iter(
        big.chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let streamed = app
        .raw(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &[("Content-Type", "application/json"), ("Authorization", &bearer)],
            Some(Body::from_bytes_stream(stream)),
        )
        .await;
    streamed.assert_error(413, "payload_too_large", "The request body is larger than this route accepts.");
    // Just under the limit is read (and refused for its content, not its size).
    let mut under = b"{\"first_name\": \"".to_vec();
    under.extend(std::iter::repeat_n(b'a', 1024 * 1024 - 40));
    under.extend(b"\"}");
    let reply = app
        .raw(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &[("Content-Type", "application/json"), ("Authorization", &bearer)],
            Some(Body::from_vec(under)),
        )
        .await;
    reply.assert_error(400, "invalid_parameters", MSG_INVALID);
    assert_eq!(app.snapshot().await, before);
}

/// A route whose operation takes no body never reads one: a large body sent to it is not a
/// 413 (a status such operations do not document), and the route answers as without it.
#[tokio::test]
async fn a_large_body_to_a_route_that_takes_none_is_left_unread() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let big = vec![b' '; 2 * 1024 * 1024];
    let length = big.len().to_string();
    for (method, path) in [(Method::GET, format!("/api/v1/users/{id}")), (Method::GET, "/api/v1/health".to_string())] {
        let reply = app
            .raw(
                method.clone(),
                &path,
                &[("Content-Type", "application/json"), ("Content-Length", &length), ("Authorization", &bearer)],
                Some(Body::from_vec(big.clone())),
            )
            .await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.body);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = TestApp::new().await;
    app.raw(Method::GET, "/api/v1/nope", &[], None).await.assert_error(
        404,
        "route_not_found",
        "The requested route does not exist.",
    );
    app.raw(Method::GET, "/nope", &[], None).await.assert_error(
        404,
        "route_not_found",
        "The requested route does not exist.",
    );
    app.raw(Method::GET, "/api/v2/health", &[], None).await.assert_error(
        404,
        "route_not_found",
        "The requested route does not exist.",
    );
    for method in [Method::PUT, Method::DELETE, Method::POST] {
        app.raw(method, "/api/v1/health", &[], None).await.assert_error(
            405,
            "method_not_allowed",
            "The requested method is not allowed for this route.",
        );
    }
    app.raw(Method::GET, "/api/v1/auth/register", &[], None).await.assert_error(
        405,
        "method_not_allowed",
        "The requested method is not allowed for this route.",
    );
}

#[tokio::test]
async fn an_api_key_shaped_token_on_a_session_route() {
    let app = TestApp::new().await;
    let (id, _) = app.active_user("ada@example.com").await;
    // Not signed by us: 401, not 403.
    app.get(&format!("/users/{id}"), Some("Bearer clara_api_eyJhbGciOiJIUzI1NiJ9.e30.x")).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
}
