//! The connection loop: the app served over hyper with the deadlines poem's own server
//! lacks. poem 3.1 never gives hyper a timer, so a client could hold a connection open
//! forever by sending a request head a byte at a time, or nothing at all (slow loris).
//!
//! Per connection:
//! - HTTP/1.1: hyper's header-read timeout, from the moment it waits for a request head
//!   (the first, and every next one on a keep-alive connection) until the head is complete;
//! - any protocol: no request started within the header-read timeout of accepting closes
//!   it (this covers the bytes hyper reads to tell HTTP/1.1 from HTTP/2, and silence);
//! - no request in flight and no traffic for the idle timeout closes it; a slow handler
//!   is never cut by this (the app's own request timeout bounds it).
//!
//! Shutdown mirrors poem's: stop accepting, ask every connection to finish its in-flight
//! requests, give them the grace, then drop what is left.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use poem::{
    Endpoint, Response,
    http::uri::Scheme,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::watch,
    task::JoinSet,
    time::Instant,
};

/// What a connection may cost the server before it is closed.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head.
    pub header_read_timeout: Duration,
    /// Longest silence with no request in flight.
    pub idle_timeout: Duration,
    /// On shutdown, how long in-flight requests get to finish.
    pub shutdown_grace: Duration,
}

/// The body type poem's `Response` converts into for hyper.
type HyperBody = http_body_util::combinators::BoxBody<bytes::Bytes, io::Error>;

/// Serves `endpoint` on `acceptor` until `shutdown` resolves, then drains (see the module).
pub async fn run<A, E>(
    mut acceptor: A,
    endpoint: E,
    shutdown: impl Future<Output = ()>,
    limits: ConnectionLimits,
) -> io::Result<()>
where
    A: Acceptor + 'static,
    E: Endpoint<Output = Response> + 'static,
{
    let endpoint = Arc::new(endpoint);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    connections.spawn(serve_connection(io, local, remote, scheme, endpoint.clone(), limits, stopping.clone()));
                }
                Err(err) => {
                    // Out of file descriptors and the like: do not spin; the next accept may work.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(acceptor);
    let _ = stop.send(true);
    let drained =
        tokio::time::timeout(limits.shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = connections.len(), "shutdown grace over: closing the connections still open");
        connections.shutdown().await;
    }
    Ok(())
}

async fn serve_connection<Io, E>(
    io: Io,
    local: LocalAddr,
    remote: RemoteAddr,
    scheme: Scheme,
    endpoint: Arc<E>,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    E: Endpoint<Output = Response> + 'static,
{
    let activity = Arc::new(Activity::new());
    let service = {
        let (activity, remote) = (activity.clone(), remote.clone());
        hyper::service::service_fn(move |req: http::Request<Incoming>| {
            let (endpoint, activity) = (endpoint.clone(), activity.clone());
            let request = poem::Request::from((req, local.clone(), remote.clone(), scheme.clone()));
            async move {
                let _in_flight = activity.request_started();
                let response = endpoint.get_response(request).await;
                Ok::<_, Infallible>(hyper::Response::<HyperBody>::from(response))
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    // As poem configures HTTP/2.
    builder.http2().timer(TokioTimer::new()).max_pending_accept_reset_streams(20).max_header_list_size(16 * 1024);
    let io = Tracked { inner: io, activity: activity.clone() };
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(activity.next_check(&limits)) => {
                if let Some(reason) = activity.expired(&limits) {
                    tracing::debug!(remote = %remote, reason, "closing connection");
                    return; // Dropping the connection closes the socket.
                }
            }
            // A dropped sender means the server is gone: stop as well.
            _ = stopping.changed() => break,
        }
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// What the deadlines are measured from; shared by the socket wrapper and the service.
struct Activity {
    accepted: Instant,
    /// Milliseconds after `accepted` of the last byte read or written.
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
    started: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.accepted.elapsed().as_millis() as u64;
        self.last_io_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight(self.clone())
    }

    fn last_io(&self) -> Instant {
        self.accepted + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed))
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &ConnectionLimits) -> Option<&'static str> {
        let now = Instant::now();
        if self.started.load(Ordering::Relaxed) == 0 && now >= self.accepted + limits.header_read_timeout {
            return Some("no request head within the header-read timeout");
        }
        if self.in_flight.load(Ordering::Relaxed) == 0 && now >= self.last_io() + limits.idle_timeout {
            return Some("idle");
        }
        None
    }

    /// The earliest moment `expired` could say yes.
    fn next_check(&self, limits: &ConnectionLimits) -> Instant {
        let now = Instant::now();
        let idle = if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.last_io() + limits.idle_timeout
        } else {
            now + limits.idle_timeout
        };
        if self.started.load(Ordering::Relaxed) == 0 {
            idle.min(self.accepted + limits.header_read_timeout)
        } else {
            idle
        }
        .max(now + Duration::from_millis(10))
    }
}

/// A request being handled; the connection is not idle while one exists.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, noting every byte that moves.
struct Tracked<Io> {
    inner: Io,
    activity: Arc<Activity>,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Tracked<Io> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Tracked<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
