//! The Rust recipes of docs/clients.md. CI copies this file into the crate openapi-generator's
//! `rust` target makes from openapi/openapi.json (as `examples/recipes.rs`) and runs
//! `cargo check` on both (.ci/generators.sh).
#![allow(dead_code)]

use clara_oag::apis::{
    Error, auth_api,
    configuration::{ApiKey, Configuration},
    stripe_api, transaction_api, user_api,
};
use clara_oag::models;

/// The spec's default server is a local one (`http://127.0.0.1:8000/api/v1`); name yours.
const BASE: &str = "https://api.example.com/api/v1";

// Credentials: ONE per Configuration. An operation adds every credential the configuration
// holds among those it takes, each as another `Authorization` header: a configuration with
// a key and a token sends two.

/// The public key or the admin key: the spec's `ApiKey` (each operation says which).
fn with_key(key: &str) -> Configuration {
    Configuration {
        base_path: BASE.into(),
        api_key: Some(ApiKey { prefix: None, key: key.into() }),
        ..Configuration::default()
    }
}

/// A session token or an API key token (`BearerAuth`).
fn with_token(token: &str) -> Configuration {
    Configuration { base_path: BASE.into(), bearer_access_token: Some(token.into()), ..Configuration::default() }
}

/// E-mail and password (`BasicAuth`), for login only.
fn with_login(email: &str, password: &str) -> Configuration {
    Configuration {
        base_path: BASE.into(),
        basic_auth: Some((email.into(), Some(password.into()))),
        ..Configuration::default()
    }
}

async fn register(public_key: &str, email: &str, password: &str, idempotency_key: &str) -> Option<String> {
    let body = models::RegisterRequest::new(email.into(), "Ada".into(), password.into());
    let created = auth_api::auth_register(&with_key(public_key), body, Some(idempotency_key)).await.ok()?;
    Some(created.data.id)
}

async fn login(email: &str, password: &str) -> Option<String> {
    let session = auth_api::auth_login(&with_login(email, password), None).await.ok()?;
    Some(session.data.token)
}

async fn transactions(token: &str, user_id: &str, offset: i64) -> Vec<models::Transaction> {
    transaction_api::transactions_list(&with_token(token), user_id, Some(100), Some(offset))
        .await
        .map(|page| page.data)
        .unwrap_or_default()
}

/// A non-2xx answer: the envelope's stable `code`.
async fn buy(token: &str, idempotency_key: &str) -> Result<String, String> {
    let body = models::BuyRequest::new(5.0, "/billing".into());
    match stripe_api::stripe_buy(&with_token(token), body, Some(idempotency_key)).await {
        Ok(checkout) => Ok(checkout.data.url),
        Err(Error::ResponseError(answer)) => {
            let code = serde_json::from_str::<models::ErrorBody>(&answer.content).map(|e| e.code).unwrap_or_default();
            Err(code)
        }
        Err(other) => Err(other.to_string()),
    }
}

/// Delete takes the admin key or the user's own token: configure one.
async fn delete_as_admin(admin_key: &str, user_id: &str) -> bool {
    user_api::users_delete(&with_key(admin_key), user_id, None).await.is_ok()
}

fn main() {}
