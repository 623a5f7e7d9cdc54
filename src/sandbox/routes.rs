//! The doubles' wire endpoints, mounted only in sandbox mode and left out of the spec: they
//! speak other services' protocols (Stripe's API, an OpenAI-compatible model, Google's and
//! Apple's key sets) for this server's own clients, and are not part of the Clara API.

use std::sync::Arc;

use poem::{
    EndpointExt, Request, Route, get, handler, post,
    web::{Html, Json, Query},
};
use serde::Deserialize;

use super::{Sandbox, google::SandboxKey, model, pages, search, stripe_api};

#[handler]
fn certs() -> Json<serde_json::Value> {
    Json(SandboxKey::jwks())
}

#[derive(Deserialize)]
struct Returned {
    stripe_status: Option<String>,
}

/// Stripe's return URLs land here (any path below it, as `return_path` allows).
#[handler]
fn returned(_req: &Request, Query(query): Query<Returned>) -> Html<String> {
    Html(pages::returned(query.stripe_status.as_deref()))
}

/// Adds every double's route, each a full path beside the API's `/api/v1` nest.
pub fn mount(route: Route, sandbox: Arc<Sandbox>) -> Route {
    let with = |endpoint: poem::RouteMethod| endpoint.data(sandbox.clone());
    route
        .at("/api/v1/sandbox/stripe/v1/customers", stripe_api::keyed(with(post(stripe_api::create_customer))))
        .at(
            "/api/v1/sandbox/stripe/v1/checkout/sessions",
            stripe_api::keyed(with(post(stripe_api::create_checkout_session))),
        )
        .at(
            "/api/v1/sandbox/stripe/v1/billing_portal/sessions",
            stripe_api::keyed(with(post(stripe_api::create_portal_session))),
        )
        .at("/api/v1/sandbox/model/v1/chat/completions", post(model::chat_completions))
        .at("/api/v1/sandbox/model/v1/audio/transcriptions", post(model::transcriptions))
        .at(super::GOOGLE_CERTS_PATH, get(certs))
        // The sandbox's Apple signs with the same key.
        .at(super::APPLE_KEYS_PATH, get(certs))
        .at(format!("{}/search", super::SEARCH_PATH), with(get(search::search)))
        .at(format!("{}:n", super::PAGES_PATH), get(search::page))
        .at(super::APP_PATH, get(returned))
        .at(format!("{}/*rest", super::APP_PATH), get(returned))
}
