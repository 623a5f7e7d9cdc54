//! The connection loop: the app served over hyper with the deadlines poem's own server
//! lacks. poem 3.1 never gives hyper a timer, so a client could hold a connection open
//! forever by sending a request head a byte at a time, or nothing at all (slow loris).
//!
//! Admission: at most `MAX_CONNECTIONS` open at once (fewer if the file limit is lower,
//! see [`file_limit`]), and `MAX_CONNECTIONS_PER_ADDRESS` from one client address (see
//! [`admission`]); a connection over a cap is dropped as soon as it is accepted, before
//! anything is read.
//!
//! Per connection:
//! - HTTP/1.1: hyper's header-read timeout, from the moment it waits for a request head
//!   (the first, and every next one on a keep-alive connection) until the head is complete;
//! - any protocol: no request started within the header-read timeout of accepting closes
//!   it (this covers the bytes hyper reads to tell HTTP/1.1 from HTTP/2, and silence);
//! - no request in flight and no request activity for the idle timeout closes it (HTTP/2
//!   PINGs and other frames that carry no request do not count, see [`activity`]); a slow
//!   handler is never cut by this (the app's own request timeout bounds it);
//! - at the maximum age it is closed however busy it is.
//!
//! Closing for idling or age is graceful: HTTP/2 gets a GOAWAY and HTTP/1.1 closes after
//! the response in progress, so in-flight requests finish and a request sent in the race
//! is either answered or safely retryable. What then stops making progress for the idle
//! timeout, or outlives the longest a request may take, is dropped.
//!
//! Shutdown mirrors poem's: stop accepting, ask every connection to finish its in-flight
//! requests, give them the grace, then drop what is left.

mod activity;
pub mod admission;
pub mod file_limit;

use std::{convert::Infallible, future::Future, io, sync::Arc, time::Duration};

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
    io::{AsyncRead, AsyncWrite},
    sync::watch,
    task::JoinSet,
    time::Instant,
};

use self::{
    activity::{Activity, Watched},
    admission::Admission,
};

/// What a connection may cost the server before it is closed.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head.
    pub header_read_timeout: Duration,
    /// Longest time with no request in flight and no request activity.
    pub idle_timeout: Duration,
    /// Every connection is closed (gracefully) this long after it was accepted.
    pub max_age: Duration,
    /// Once a connection is closing, how long its in-flight requests may still take: the
    /// longest any request may take.
    pub longest_request: Duration,
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
    admission: Arc<Admission>,
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
                Ok((io, local, remote, scheme)) => match admission.admit(remote.as_socket_addr().map(|a| a.ip())) {
                    Ok(place) => {
                        let connection = serve_connection(io, local, remote, scheme, endpoint.clone(), limits, stopping.clone());
                        connections.spawn(async move {
                            connection.await;
                            drop(place);
                        });
                    }
                    // Dropped unread: closing it is all it costs (counted in the metric).
                    Err(refused) => {
                        drop(io);
                        tracing::debug!(remote = %remote, cap = refused.label(), "connection over a cap closed");
                    }
                },
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
                let in_flight = activity.request_started();
                let response = endpoint.get_response(request).await;
                drop(in_flight);
                let response = hyper::Response::<HyperBody>::from(response);
                Ok::<_, Infallible>(response.map(|inner| Watched { inner, activity }))
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    // As poem configures HTTP/2.
    builder.http2().timer(TokioTimer::new()).max_pending_accept_reset_streams(20).max_header_list_size(16 * 1024);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    let reached_max_age = activity.accepted + limits.max_age;
    let reason = loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(activity.next_check(&limits)) => match activity.expired(&limits) {
                // Nothing to finish: no request was ever started (a half-sent head or silence).
                Some(reason) if !activity.ever_requested() => {
                    tracing::debug!(remote = %remote, reason, "closing connection");
                    return; // Dropping the connection closes the socket.
                }
                Some(reason) => break reason,
                None => {}
            },
            () = tokio::time::sleep_until(reached_max_age) => break "maximum age",
            // A dropped sender means the server is gone: stop as well.
            _ = stopping.changed() => break "shutdown",
        }
    };
    tracing::debug!(remote = %remote, reason, "closing connection gracefully");
    connection.as_mut().graceful_shutdown();
    // In-flight requests finish; a client that then stops making progress (no request
    // activity for the idle timeout, counted from now) or a response that outlives the
    // longest a request may take does not hold the connection.
    activity.touch();
    let give_up = Instant::now() + limits.longest_request;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(activity.next_check(&limits)) => {
                if activity.expired(&limits).is_some() {
                    return;
                }
            }
            () = tokio::time::sleep_until(give_up) => return,
        }
    }
}
