//! A bare HTTP/2 client (the `h2` crate, prior knowledge over TCP) for the tests of what a
//! connection may cost: it sends exactly what a test says, PINGs included, from a chosen
//! loopback address (127.0.0.1 and 127.0.0.2 are distinct clients on Linux).

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use h2::{Ping, PingPong, client::SendRequest};
use tokio::{
    net::{TcpSocket, TcpStream},
    sync::watch,
};

pub const CLIENT_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
pub const CLIENT_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A TCP connection from `from` to the server on 127.0.0.1:`port`.
pub async fn connect_from(port: u16, from: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.bind((from, 0).into()).expect("bind a loopback source address");
    socket.connect((Ipv4Addr::LOCALHOST, port).into()).await.expect("connect to the test server")
}

pub struct H2 {
    send: SendRequest<Bytes>,
    /// Taken by `keep_pinging`.
    pings: Option<PingPong>,
    /// Becomes true when the connection has ended (the server closed it, gracefully or not).
    closed: watch::Receiver<bool>,
}

impl H2 {
    pub async fn connect(port: u16, from: Ipv4Addr) -> Self {
        let stream = connect_from(port, from).await;
        let (send, mut connection) = h2::client::handshake(stream).await.expect("HTTP/2 handshake");
        let pings = connection.ping_pong().expect("the PING handle, taken once");
        let (ended, closed) = watch::channel(false);
        tokio::spawn(async move {
            let _ = connection.await;
            let _ = ended.send(true);
        });
        Self { send, pings: Some(pings), closed }
    }

    /// A request without a body; its status once the whole body is read, or None when the
    /// connection no longer takes requests (closed, or going away).
    pub async fn request(&mut self, method: &str, path: &str, auth: Option<&str>) -> Option<u16> {
        let mut request = http::Request::builder().method(method).uri(format!("http://127.0.0.1{path}"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let send = self.send.clone().ready().await.ok()?;
        let mut send = send;
        let (response, _) = send.send_request(request.body(()).unwrap(), true).ok()?;
        let response = response.await.ok()?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.ok()?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        Some(status)
    }

    pub async fn get(&mut self, path: &str) -> Option<u16> {
        self.request("GET", path, None).await
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Waits until the server ends the connection; how long that took, None if it is still
    /// open after `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        let mut closed = self.closed.clone();
        tokio::time::timeout(limit, closed.wait_for(|c| *c)).await.ok().map(|_| started.elapsed())
    }

    /// Sends a PING every `every` (each answered before the next, as a keep-alive does)
    /// until the server ends the connection. Returns how long that took and how many PINGs
    /// were answered, or None if the connection is still open after `limit`.
    pub async fn ping_until_closed(&mut self, every: Duration, limit: Duration) -> Option<(Duration, u32)> {
        let started = Instant::now();
        let mut closed = self.closed.clone();
        let mut answered = 0;
        let pings = self.pings.as_mut().expect("still pinging here");
        let pinging = async {
            loop {
                if pings.ping(Ping::opaque()).await.is_ok() {
                    answered += 1;
                }
                tokio::time::sleep(every).await;
            }
        };
        tokio::select! {
            _ = closed.wait_for(|c| *c) => {}
            () = pinging => unreachable!(),
            () = tokio::time::sleep(limit) => return None,
        }
        Some((started.elapsed(), answered))
    }

    /// PINGs every `every` in the background until the connection ends, as the attack's
    /// connections did.
    pub fn keep_pinging(&mut self, every: Duration) {
        let mut pings = self.pings.take().expect("pinging once");
        let closed = self.closed.clone();
        tokio::spawn(async move {
            while !*closed.borrow() {
                let _ = pings.ping(Ping::opaque()).await;
                tokio::time::sleep(every).await;
            }
        });
    }
}
