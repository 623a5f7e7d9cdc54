//! Slow and silent clients (slowloris): a connection that does not finish its request
//! head in time, or sits idle, is closed; normal and slow-to-answer requests are not.

use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::*;

/// Slack for scheduling on a busy machine, on top of a configured deadline.
pub(crate) const MARGIN: Duration = Duration::from_millis(1500);

/// The app served on a real socket on 127.0.0.1; dropping the sender stops it.
pub(crate) struct Served {
    pub(crate) port: u16,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(crate) async fn serve(app: &TestApp) -> Served {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async {
        stopped.await.ok();
    }));
    Served { port, _stop: stop }
}

/// Reads until the server closes the connection (EOF or reset); None if it is still
/// open after `limit`.
pub(crate) async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    closed.ok().map(|()| started.elapsed())
}

/// Reads one response with a `Content-Length` body; returns its status line.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("response reads");
        assert!(n > 0, "closed before a full response: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .expect("Content-Length")
                .parse()
                .unwrap();
            if data.len() >= end + 4 + length {
                return text.lines().next().unwrap().to_string();
            }
        }
    }
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_at_the_header_deadline() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "1"), ("IDLE_TIMEOUT_SECS", "30")]).await;
    let served = serve(&app).await;
    let mut stream = TcpStream::connect(("127.0.0.1", served.port)).await.unwrap();
    stream.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sl").await.unwrap();
    let closed = closed_within(&mut stream, Duration::from_secs(1) + MARGIN).await;
    let closed = closed.expect("a stalled request head is closed after HEADER_READ_TIMEOUT_SECS");
    assert!(closed >= Duration::from_millis(800), "not before the deadline: {closed:?}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_deadline() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "1"), ("IDLE_TIMEOUT_SECS", "30")]).await;
    let served = serve(&app).await;
    let mut stream = TcpStream::connect(("127.0.0.1", served.port)).await.unwrap();
    let closed = closed_within(&mut stream, Duration::from_secs(1) + MARGIN).await;
    assert!(closed.is_some(), "a silent connection is closed after HEADER_READ_TIMEOUT_SECS");
}

#[tokio::test]
async fn a_header_trickled_a_byte_a_second_is_cut_at_the_header_deadline() {
    // The idle timeout alone would never fire: a byte arrives every second.
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "2"), ("IDLE_TIMEOUT_SECS", "3")]).await;
    let served = serve(&app).await;
    let stream = TcpStream::connect(("127.0.0.1", served.port)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let head = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(2) + MARGIN, async {
        while !matches!(reader.read(&mut buf).await, Ok(0) | Err(_)) {}
    })
    .await;
    trickle.abort();
    assert!(closed.is_ok(), "a trickled head is cut at HEADER_READ_TIMEOUT_SECS, not after {:?}", started.elapsed());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "10"), ("IDLE_TIMEOUT_SECS", "1")]).await;
    let served = serve(&app).await;
    let mut stream = TcpStream::connect(("127.0.0.1", served.port)).await.unwrap();
    let request = b"GET /api/v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert_eq!(read_response(&mut stream).await, "HTTP/1.1 200 OK");
    // Kept alive: a second request on the same connection is answered.
    stream.write_all(request).await.unwrap();
    assert_eq!(read_response(&mut stream).await, "HTTP/1.1 200 OK");
    let closed = closed_within(&mut stream, Duration::from_secs(1) + MARGIN).await;
    let closed = closed.expect("an idle keep-alive connection is closed after IDLE_TIMEOUT_SECS");
    assert!(closed >= Duration::from_millis(800), "not before the idle timeout: {closed:?}");
}

#[tokio::test]
async fn normal_requests_are_answered_on_the_guarded_server() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "1"), ("IDLE_TIMEOUT_SECS", "1")]).await;
    let served = serve(&app).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client.get(format!("http://127.0.0.1:{}/api/v1/health", served.port)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["data"]["status"], "healthy");
    }
    // After the pooled connection was closed for idling, the client simply reconnects.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let response = client.get(format!("http://127.0.0.1:{}/api/v1/version", served.port)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // HTTP/2 without TLS (prior knowledge) is still served, as poem's server did.
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let response = h2.get(format!("http://127.0.0.1:{}/api/v1/version", served.port)).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, reqwest::Version::HTTP_2));
}

#[tokio::test]
async fn a_request_slower_than_the_idle_timeout_is_still_answered() {
    let (app, stripe) = TestApp::with_stripe(&[
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "1"),
        ("OUTBOUND_TIMEOUT_MS", "5000"),
    ])
    .await;
    let (_, bearer) = app.active_user("patient@example.com").await;
    // No byte moves on the connection while the handler waits for the provider.
    stripe.set(Fault::Stall(Duration::from_millis(2500)));
    let served = serve(&app).await;
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v1/stripe/portal", served.port))
        .header("Authorization", bearer)
        .send()
        .await
        .expect("answered, not cut for idling");
    assert_eq!(response.status(), 201);
}
