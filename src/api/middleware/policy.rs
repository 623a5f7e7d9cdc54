//! Route policy that differs from one route to another, declared with the route rather
//! than in a table of paths:
//! - **metering**: an area (an `#[OpenApi]` struct) is composed as [`Metered`] when the
//!   rate limiter spends the caller's budget on its routes (`crate::api::apis` says it
//!   for every area; other routes say it where they are mounted, `crate::app`);
//! - **running long**: `transform = "long_running"` on a route (or [`long_running`] around
//!   an endpoint where it is mounted) stretches the request's [`Deadline`];
//! - **taking an upload**: [`upload`] around a route lets a multipart body run to the upload
//!   cap (others are held to the JSON cap, see [`super::BodyLimit`]), and runs long;
//! - **`Idempotency-Key`**: `transform = "idempotent"` (`crate::api::idempotency`);
//! - **being a page**: a route that answers HTML for a browser says what its page may load
//!   with [`page`] (`transform = "sandbox_page"`, or `page(policy, …)` where it is mounted);
//!   every other response gets [`super::Harden`]'s policy, which allows nothing.
//!
//! Routes outside the API (the spec, the docs page, MCP, the metrics) are named with
//! [`named`] where they are mounted, so their log lines and metrics say what they are.

use std::collections::HashMap;

use poem::{Endpoint, EndpointExt, Request, Response, endpoint::BoxEndpoint, http::Method};
use poem_openapi::{
    OpenApi, OperationId,
    registry::{MetaApi, Registry},
};

use super::{Deadline, RateLimit, StreamedBodyCap};

/// An area whose every route is metered by [`RateLimit`].
pub struct Metered<T>(pub T);

impl<T: OpenApi> OpenApi for Metered<T> {
    fn meta() -> Vec<MetaApi> {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        let mut own = HashMap::new();
        self.0.add_routes(&mut own);
        for (path, methods) in own {
            let entry = route_table.entry(path).or_default();
            for (method, endpoint) in methods {
                entry.insert(method, endpoint.with(RateLimit).boxed());
            }
        }
    }
}

/// A route that may take [`super::LONG_RUNNING_FACTOR`] times `REQUEST_TIMEOUT_SECS`: an
/// upload, or an MCP call that starts an analysis.
pub fn long_running<E: Endpoint>(endpoint: E) -> impl Endpoint<Output = E::Output> {
    endpoint.before(|req: Request| async move {
        if let Some(deadline) = req.extensions().get::<Deadline>() {
            deadline.stretch();
        }
        Ok(req)
    })
}

/// A route that takes an upload: a multipart body up to the upload cap (other routes are
/// held to the JSON cap, see [`super::BodyLimit`]), and as long as a long-running route.
pub fn upload<E: Endpoint>(endpoint: E) -> impl Endpoint<Output = E::Output> {
    long_running(endpoint).before(|req: Request| async move {
        if let Some(cap) = req.extensions().get::<StreamedBodyCap>() {
            cap.allow_upload();
        }
        Ok(req)
    })
}

/// What the sandbox's pages may load: their own inline styles, nothing else (no script).
pub const SANDBOX_PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/// What the docs page may load: Swagger UI's inline scripts and styles, its inline images,
/// and calls to this server ("Try it out").
pub const DOCS_PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// A page for a browser, with the content security policy it needs; [`super::Harden`] keeps
/// it and gives every other response its own, which allows no content at all.
pub fn page<E: Endpoint>(policy: &'static str, endpoint: E) -> impl Endpoint<Output = Response> {
    let header = poem::middleware::SetHeader::new().overriding(poem::http::header::CONTENT_SECURITY_POLICY, policy);
    endpoint.map_to_response().with(header)
}

/// `transform = "sandbox_page"`: one of the sandbox's pages ([`SANDBOX_PAGE_POLICY`]).
pub fn sandbox_page<E: Endpoint>(endpoint: E) -> impl Endpoint<Output = Response> {
    page(SANDBOX_PAGE_POLICY, endpoint)
}

/// An endpoint outside the API, named as an operation for the log line and the metrics.
pub fn named<E: Endpoint>(name: &'static str, endpoint: E) -> impl Endpoint<Output = Response> {
    endpoint.map_to_response().after(move |mut answered| async move {
        match &mut answered {
            Ok(response) => response.set_data(OperationId(name)),
            Err(err) => err.set_data(OperationId(name)),
        }
        answered
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use poem::{Route, get, handler, test::TestClient};

    use super::*;
    use crate::api::middleware::Harden;

    #[handler]
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "done"
    }

    #[tokio::test]
    async fn a_long_running_route_outlives_the_request_timeout_and_others_do_not() {
        let app = Route::new()
            .at("/slow", get(slow))
            .at("/long", long_running(get(slow)))
            .with(Harden { timeout: Duration::from_millis(100) });
        let client = TestClient::new(app);
        client.get("/slow").send().await.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
        let long = client.get("/long").send().await;
        long.assert_status_is_ok();
        long.assert_text("done").await;
    }
}
