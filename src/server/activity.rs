//! What a connection's deadlines are measured from. Activity is a request: one starting
//! or ending, or its response body moving. Bytes alone are not: HTTP/2 lets a client send
//! PINGs (and SETTINGS, WINDOW_UPDATE…) with no request at all, and when those counted,
//! a PING now and then held a connection open forever.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use super::{ConnectionLimits, HyperBody};

/// Shared by the service (requests) and the connection's loop (deadlines).
pub(super) struct Activity {
    pub(super) accepted: Instant,
    /// Milliseconds after `accepted` of the last request activity.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    started: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
        }
    }

    pub(super) fn touch(&self) {
        let ms = self.accepted.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub(super) fn request_started(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight(self.clone())
    }

    pub(super) fn ever_requested(&self) -> bool {
        self.started.load(Ordering::Relaxed) > 0
    }

    fn last(&self) -> Instant {
        self.accepted + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Why the connection should be closed now, if it should: no request started within
    /// the header-read timeout of accepting it, or no request activity for the idle
    /// timeout (a request whose handler is still running is never idle; the app's own
    /// request timeout bounds it).
    pub(super) fn expired(&self, limits: &ConnectionLimits) -> Option<&'static str> {
        let now = Instant::now();
        if self.started.load(Ordering::Relaxed) == 0 && now >= self.accepted + limits.header_read_timeout {
            return Some("no request head within the header-read timeout");
        }
        if self.in_flight.load(Ordering::Relaxed) == 0 && now >= self.last() + limits.idle_timeout {
            return Some("idle");
        }
        None
    }

    /// The earliest moment `expired` could say yes.
    pub(super) fn next_check(&self, limits: &ConnectionLimits) -> Instant {
        let now = Instant::now();
        let idle = if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.last() + limits.idle_timeout
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
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that counts as activity each time it yields a frame: a long response
/// that the client reads keeps its connection, one whose reader stalls (so hyper stops
/// asking for frames) goes idle.
pub(super) struct Watched {
    pub(super) inner: HyperBody,
    pub(super) activity: Arc<Activity>,
}

impl Body for Watched {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_ready() {
            self.activity.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
