//! `RATE_LIMIT_PER_SECOND` per credential. Which routes it meters is declared where they
//! are composed ([`super::policy::Metered`]).

use std::net::IpAddr;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::ClientAddr;
use crate::{api::error::ApiError, state::AppState};

/// Whose budget a request spends: a valid token's user (sessions) or key (API keys),
/// however the header is spelled; anything else (public key, Basic, admin key, no or a
/// forged credential) spends its client address's, so that respelling a header buys no
/// fresh budget and one public-key client cannot exhaust everyone's. Also the user a valid
/// token names, whose cached authentication the limiter's round trip can serve.
/// The token is decoded here once for the whole request (`credentials::DecodedBearer`).
fn rate_key(state: &AppState, req: &mut Request, client: Option<IpAddr>) -> (String, Option<String>) {
    use crate::services::tokens::Role;
    match crate::api::credentials::decode_into(&state.tokens, req) {
        Some(claims) if claims.role == Role::User => (format!("user:{}", claims.sub), Some(claims.sub)),
        Some(claims) => (format!("api_key:{}", claims.jti), Some(claims.sub)),
        // IPv4 per address, IPv6 per /64: one client's /64 is one budget.
        None => (format!("address:{}", crate::address_key::key_text(client)), None),
    }
}

/// Meters the routes it wraps: 429 in the envelope with `Retry-After` once the caller's
/// budget (see [`rate_key`]) is spent.
pub struct RateLimit;

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint { inner }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let Some(state) = req.data::<AppState>().cloned() else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
        let (key, user_id) = rate_key(&state, &mut req, client);
        // With Redis, the caller's authentication-cache version rides in the counter's
        // round trip: one Redis round trip per authenticated request, not two.
        let version_key = user_id.as_deref().and_then(|id| state.auth_cache.version_key(id));
        let (limit, version) =
            state.limits.check_rate_and_read(&key, state.clock.now_secs(), version_key.as_deref()).await;
        if let Err(retry) = limit {
            return Ok(ApiError::rate_limited(retry.0).into_response());
        }
        match (user_id, version) {
            (Some(user_id), Some(version)) => {
                crate::auth_cache::AuthCache::prefetched(user_id, version, self.inner.call(req))
                    .await
                    .map(IntoResponse::into_response)
            }
            _ => self.inner.call(req).await.map(IntoResponse::into_response),
        }
    }
}
