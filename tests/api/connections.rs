//! What one client's connections may cost: HTTP/2 connections that only PING are closed
//! for idling, every connection ends at its maximum age (gracefully), and the connections
//! open at once are capped in all and per client address. All over real sockets on
//! loopback (127.0.0.1 and 127.0.0.2 are two clients).

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    slow_clients::{MARGIN, closed_within, serve},
    support::{
        h2_client::{CLIENT_A, CLIENT_B, H2, connect_from},
        *,
    },
};

/// How often the attack's connections PINGed (well inside any idle timeout).
const PING_EVERY: Duration = Duration::from_millis(200);

// The attack: one request, then a PING now and then; the connection used to stay open
// forever, since the PINGs (and their answers) counted as traffic.
#[tokio::test]
async fn an_http2_connection_that_only_pings_is_closed_after_the_idle_timeout() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "10"), ("IDLE_TIMEOUT_SECS", "1")]).await;
    let served = serve(&app).await;
    let mut client = H2::connect(served.port, CLIENT_A).await;
    assert_eq!(client.get("/api/v1/version").await, Some(200));
    let (closed, answered) = client
        .ping_until_closed(PING_EVERY, Duration::from_secs(1) + MARGIN)
        .await
        .expect("a connection that only PINGs is closed after IDLE_TIMEOUT_SECS");
    assert!(closed >= Duration::from_millis(800), "not before the idle timeout: {closed:?}");
    assert!(answered >= 2, "the PINGs were answered while the connection lived ({answered})");
    eprintln!("measured: a PINGing HTTP/2 connection closed {closed:?} after its last request ({answered} PINGs)");
}

#[tokio::test]
async fn an_http2_connection_in_use_is_not_closed_for_idling() {
    let app = TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "10"), ("IDLE_TIMEOUT_SECS", "1")]).await;
    let served = serve(&app).await;
    let mut client = H2::connect(served.port, CLIENT_A).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(client.get("/api/v1/version").await, Some(200), "requests keep it open");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn an_http2_connection_is_closed_at_its_maximum_age_even_while_busy() {
    let app = TestApp::with_env(&[
        ("HEADER_READ_TIMEOUT_SECS", "10"),
        ("IDLE_TIMEOUT_SECS", "10"),
        ("MAX_CONNECTION_AGE_SECS", "2"),
    ])
    .await;
    let served = serve(&app).await;
    let mut client = H2::connect(served.port, CLIENT_A).await;
    let started = Instant::now();
    let mut answered = 0;
    // A request every 100 ms: never idle. Every request the server took is answered; the
    // first one refused marks the GOAWAY.
    while let Some(status) = client.get("/api/v1/version").await {
        assert_eq!(status, 200);
        answered += 1;
        assert!(started.elapsed() < Duration::from_secs(2) + MARGIN, "still open after the maximum age");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_at = started.elapsed();
    assert!(refused_at >= Duration::from_millis(1800), "not before the maximum age: {refused_at:?}");
    assert!(client.closed_within(MARGIN).await.is_some(), "and then closed");
    eprintln!(
        "measured: a busy HTTP/2 connection went away {refused_at:?} after opening ({answered} requests answered)"
    );
}

#[tokio::test]
async fn a_request_in_flight_at_the_maximum_age_is_answered_before_the_connection_closes() {
    let (app, stripe) = TestApp::with_stripe(&[
        ("HEADER_READ_TIMEOUT_SECS", "10"),
        ("IDLE_TIMEOUT_SECS", "10"),
        ("MAX_CONNECTION_AGE_SECS", "1"),
        ("OUTBOUND_TIMEOUT_MS", "5000"),
    ])
    .await;
    let (_, bearer) = app.active_user("patient@example.com").await;
    stripe.set(Fault::Stall(Duration::from_millis(2500)));
    let served = serve(&app).await;
    let mut client = H2::connect(served.port, CLIENT_A).await;
    let started = Instant::now();
    let status = client.request("POST", "/api/v1/stripe/portal", Some(&bearer)).await;
    let answered = started.elapsed();
    assert_eq!(status, Some(201), "the request in flight at the maximum age finishes");
    assert!(answered >= Duration::from_secs(1), "it outlived the maximum age: {answered:?}");
    assert_eq!(client.get("/api/v1/version").await, None, "no new request after the GOAWAY");
    assert!(client.closed_within(MARGIN).await.is_some(), "closed once the request was answered");
}

/// One HTTP/1.1 response with a `Content-Length` body; its status line, or None when the
/// server closed the connection instead.
async fn http1_status(stream: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let length: usize = text[..end]
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))?
            .parse()
            .ok()?;
        if data.len() >= end + 4 + length {
            return text.lines().next().map(str::to_string);
        }
    }
}

#[tokio::test]
async fn an_http1_keep_alive_connection_is_closed_at_its_maximum_age_even_while_busy() {
    let app = TestApp::with_env(&[
        ("HEADER_READ_TIMEOUT_SECS", "10"),
        ("IDLE_TIMEOUT_SECS", "10"),
        ("MAX_CONNECTION_AGE_SECS", "2"),
    ])
    .await;
    let served = serve(&app).await;
    let mut stream = TcpStream::connect(("127.0.0.1", served.port)).await.unwrap();
    let started = Instant::now();
    loop {
        if stream.write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.is_err() {
            break;
        }
        match http1_status(&mut stream).await {
            Some(status) => assert_eq!(status, "HTTP/1.1 200 OK"),
            None => break,
        }
        assert!(started.elapsed() < Duration::from_secs(2) + MARGIN, "still open after the maximum age");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(1800), "not before the maximum age: {:?}", started.elapsed());
}

/// The value of one sample of the metrics text, 0 when absent.
fn metric(app: &TestApp, sample: &str) -> u64 {
    let text = app.state.metrics.render(&[], 0);
    text.lines().find_map(|l| l.strip_prefix(sample)).map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_connection_over_the_per_address_cap_is_closed_at_once_while_other_addresses_are_served() {
    let app = TestApp::with_env(&[
        ("HEADER_READ_TIMEOUT_SECS", "10"),
        ("IDLE_TIMEOUT_SECS", "30"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "3"),
    ])
    .await;
    let served = serve(&app).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut client = H2::connect(served.port, CLIENT_A).await;
        assert_eq!(client.get("/api/v1/version").await, Some(200));
        held.push(client);
    }
    // The fourth from the same address is closed before anything is read from it.
    let mut over = connect_from(served.port, CLIENT_A).await;
    assert!(closed_within(&mut over, MARGIN).await.is_some(), "the connection over the cap is closed at once");
    assert_eq!(metric(&app, "clara_connections_refused_total{reason=\"per_address\"}"), 1);
    // Another address is served meanwhile.
    let mut other = H2::connect(served.port, CLIENT_B).await;
    assert_eq!(other.get("/api/v1/version").await, Some(200), "another client is served while one is at its cap");
    // A held connection that ends gives its place back.
    drop(held.pop());
    let started = Instant::now();
    loop {
        let mut again = H2::connect(served.port, CLIENT_A).await;
        if again.get("/api/v1/version").await == Some(200) {
            break;
        }
        assert!(started.elapsed() < MARGIN, "the place of a closed connection is given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_connection_over_the_total_cap_is_closed_at_once() {
    let app =
        TestApp::with_env(&[("HEADER_READ_TIMEOUT_SECS", "10"), ("IDLE_TIMEOUT_SECS", "30"), ("MAX_CONNECTIONS", "2")])
            .await;
    let served = serve(&app).await;
    let mut held = Vec::new();
    for from in [CLIENT_A, CLIENT_B] {
        let mut client = H2::connect(served.port, from).await;
        assert_eq!(client.get("/api/v1/version").await, Some(200));
        held.push(client);
    }
    let mut over = connect_from(served.port, CLIENT_B).await;
    assert!(closed_within(&mut over, MARGIN).await.is_some(), "the connection over MAX_CONNECTIONS is closed at once");
    assert_eq!(metric(&app, "clara_connections_refused_total{reason=\"total\"}"), 1);
    for client in &mut held {
        assert_eq!(client.get("/api/v1/version").await, Some(200), "the connections within the cap are unharmed");
    }
}

// The attack at scale: one address opens twice its cap of connections and keeps them
// alive with PINGs; the ones over the cap are closed, and a new client is served. (Its
// latency is reported, not asserted.)
#[tokio::test]
async fn a_new_client_is_served_while_one_address_holds_its_cap_of_pinging_connections() {
    const CAP: usize = 50;
    let app = TestApp::with_env(&[
        ("HEADER_READ_TIMEOUT_SECS", "10"),
        ("IDLE_TIMEOUT_SECS", "30"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "50"),
    ])
    .await;
    let served = serve(&app).await;
    let mut attack = Vec::new();
    for _ in 0..2 * CAP {
        let mut client = H2::connect(served.port, CLIENT_A).await;
        client.keep_pinging(PING_EVERY);
        attack.push(client);
    }
    let started = Instant::now();
    let mut newcomer = H2::connect(served.port, CLIENT_B).await;
    assert_eq!(newcomer.get("/api/v1/version").await, Some(200), "a new client is served");
    let latency = started.elapsed();
    let waited = Instant::now();
    while attack.iter().filter(|c| c.is_closed()).count() < CAP && waited.elapsed() < MARGIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open = attack.iter().filter(|c| !c.is_closed()).count();
    assert_eq!(open, CAP, "the address holds exactly its cap");
    assert_eq!(metric(&app, "clara_connections_refused_total{reason=\"per_address\"}"), CAP as u64);
    eprintln!(
        "measured: with {open} PINGing HTTP/2 connections held by one address and {CAP} more refused, a new client was served in {latency:?}"
    );
}
