//! The layers every request passes, outermost first as `crate::app` stacks them:
//! [`Harden`] (request id, security headers, the request's deadline), [`Observe`] (log
//! line and metrics), [`ResolveClient`] (the client's address) and [`BodyLimit`].
//!
//! What differs from one route to another is declared with the route, in [`policy`]:
//! which areas the rate limiter meters, which routes may run long, and which take an upload. These layers hold
//! no table of paths.

mod body_limit;
mod client;
mod harden;
mod observe;
pub mod policy;
mod rate_limit;

pub use self::{
    body_limit::{BodyLimit, StreamedBodyCap},
    client::{ClientAddr, ResolveClient},
    harden::{Deadline, Harden, LONG_RUNNING_FACTOR, RequestId},
    observe::{Observe, RequestSpan, record_user},
    rate_limit::RateLimit,
};
