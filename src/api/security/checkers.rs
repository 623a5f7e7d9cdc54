//! The schemes' checkers: each gets what poem-openapi read from the header and answers
//! with the caller, or with the refusal in the envelope.
//!
//! A bearer token's claims come from the rate limiter's one decode (`api::credentials`).
//!
//! The key checkers used beside a session (`*_beside_session`) are the last member of a
//! derived enum, and poem-openapi answers an enum with its last member's error: given a
//! bearer header (which the session member has just refused), they answer what the session
//! member answered, so a dead token stays a 401 and an API key on a session-only route a
//! 403. That check runs again only on this refusal path.

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use subtle::ConstantTimeEq;

use crate::{
    api::{
        credentials::{bearer_claims, bearer_token},
        error::ApiError,
        middleware::{ClientAddr, record_user},
    },
    services::{
        authenticate::{self, SessionUser},
        throttle,
        tokens::Role,
    },
    state::AppState,
};

fn state(req: &Request) -> Result<&AppState, ApiError> {
    req.data::<AppState>().ok_or_else(ApiError::internal)
}

/// A session token; an API key here is the wrong kind of credential (403).
pub async fn session(req: &Request, _bearer: Bearer) -> poem::Result<Box<SessionUser>> {
    Ok(Box::new(session_of(req).await?))
}

async fn session_of(req: &Request) -> Result<SessionUser, ApiError> {
    let state = state(req)?;
    let claims = bearer_claims(&state.tokens, req).ok_or_else(ApiError::unauthorized)?;
    if claims.role == Role::ApiKey {
        // A live API key on a route that takes sessions only is the wrong kind (403);
        // a dead or forged one is no credential at all (401).
        return Err(match authenticate::api_key(state, &claims).await {
            Ok(_) => ApiError::forbidden(),
            Err(err) => err.into(),
        });
    }
    let session = authenticate::session(state, &claims).await?;
    record_user(req, &session.user.id);
    Ok(session)
}

/// The user behind a bearer token of either kind (session or API key).
pub async fn bearer_user(req: &Request, _bearer: Bearer) -> poem::Result<entity::users::Model> {
    let state = state(req)?;
    let claims = bearer_claims(&state.tokens, req).ok_or_else(ApiError::unauthorized)?;
    let user = authenticate::bearer(state, &claims).await.map_err(ApiError::from)?;
    record_user(req, &user.id);
    Ok(user)
}

/// What a key checker beside a session answers to a bearer header: the session's refusal.
async fn as_the_session_answered(req: &Request) -> ApiError {
    session_of(req).await.err().unwrap_or_else(ApiError::unauthorized)
}

/// The app's public key; any value while none is configured.
pub async fn public_key(req: &Request, key: ApiKey) -> poem::Result<()> {
    Ok(public_key_matches(state(req)?, key.key.trim())?)
}

pub async fn public_key_beside_session(req: &Request, key: ApiKey) -> poem::Result<()> {
    if bearer_token(key.key.trim()).is_some() {
        return Err(as_the_session_answered(req).await.into());
    }
    public_key(req, key).await
}

/// `given` is one of the public keys, or none is configured.
pub(crate) fn public_key_matches(state: &AppState, given: &str) -> Result<(), ApiError> {
    let keys = &state.config.accounts.public_api_keys;
    if keys.is_empty() || is_one_of(given, keys) { Ok(()) } else { Err(ApiError::unauthorized()) }
}

fn is_one_of(given: &str, keys: &[String]) -> bool {
    // Compare with every key so the time does not say which one nearly matched.
    keys.iter().fold(false, |found, key| found | bool::from(given.as_bytes().ct_eq(key.as_bytes())))
}

/// The operators' key, under the address's attempt limit, so wrong keys are throttled like
/// wrong passwords. With no `ADMIN_API_KEY`, nothing matches.
pub async fn admin_key(req: &Request, key: ApiKey) -> poem::Result<()> {
    let state = state(req)?;
    let given = key.key.trim();
    let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
    let matches = || {
        state
            .config
            .accounts
            .admin_api_key
            .as_ref()
            .is_some_and(|key| bool::from(given.as_bytes().ct_eq(key.as_bytes())))
    };
    Ok(throttle::admin_key(state, client, matches).await.map_err(ApiError::from)?)
}

/// The operators' key beside a session: a bearer header is the session's, and is not
/// counted as a wrong admin key.
pub async fn admin_key_beside_session(req: &Request, key: ApiKey) -> poem::Result<()> {
    if bearer_token(key.key.trim()).is_some() {
        return Err(as_the_session_answered(req).await.into());
    }
    admin_key(req, key).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists() {
        let keys = vec!["one".to_string(), "two".to_string()];
        assert!(is_one_of("two", &keys));
        assert!(!is_one_of("tw", &keys));
        assert!(!is_one_of("", &keys));
    }
}
