//! The doubles' wire endpoints, mounted only in sandbox mode and left out of the spec: they
//! speak other services' protocols (Stripe's API, an OpenAI-compatible model, a search
//! service, Google's and Apple's key sets) for this server's own clients, and are not part
//! of the Clara API.

use std::sync::Arc;

use doubles::{endpoint, search::pages};
use poem::{
    Request, Route, get, handler,
    web::{Html, Query},
};
use serde::Deserialize;

use super::{Sandbox, pages as sandbox_pages};
use crate::api::middleware::policy::{SANDBOX_PAGE_POLICY, page};

#[derive(Deserialize)]
struct Returned {
    stripe_status: Option<String>,
}

/// Stripe's return URLs land here (any path below it, as `return_path` allows).
#[handler]
fn returned(_req: &Request, Query(query): Query<Returned>) -> Html<String> {
    Html(sandbox_pages::returned(query.stripe_status.as_deref()))
}

/// Adds every double's routes, each below its path beside the API's `/api/v1` nest.
pub fn mount(route: Route, sandbox: Arc<Sandbox>) -> Route {
    let model_root = super::MODEL_API_PATH.trim_end_matches("/v1");
    route
        .nest(super::STRIPE_API_PATH, endpoint(&sandbox.stripe))
        .nest(model_root, endpoint(&sandbox.model))
        .nest(super::GOOGLE_CERTS_PATH, endpoint(&sandbox.keys))
        // The sandbox's Apple signs with the same key.
        .nest(super::APPLE_KEYS_PATH, endpoint(&sandbox.keys))
        .nest(super::SEARCH_PATH, endpoint(&sandbox.search))
        .at(format!("{}:n", super::PAGES_PATH), page(SANDBOX_PAGE_POLICY, get(pages::page)))
        .at(super::APP_PATH, page(SANDBOX_PAGE_POLICY, get(returned)))
        .at(format!("{}/*rest", super::APP_PATH), page(SANDBOX_PAGE_POLICY, get(returned)))
}
