//! `Idempotency-Key` on the five POSTs whose repeat would cost or create something
//! twice (Analysis, Buy, Portal, API key Reset, Register): the first request with a key
//! runs, its answer is kept for 24 hours, and a retry with the same key and body gets
//! that answer again with `Idempotent-Replayed: true` and nothing else happens. "The same
//! body" is `super::fingerprint` (a form by its parts, whatever its boundary). The rows
//! are in `services::idempotency`; the rules are in docs/decisions/0009-retries-with-idempotency-key.md.
//!
//! A route takes a key by saying so: `transform = "idempotent"` in its `#[oai(...)]`. The
//! layer then runs inside the body limit and the rate limit (it sees bodies already capped
//! and the client address the limiter found), around the route's own extraction.

use std::time::Duration;

use poem::{Body, Endpoint, IntoResponse, Request, Response, Result, http::HeaderMap};

use super::{
    BASE_PATH, credentials, error::ApiError, fingerprint::SharedFingerprint, middleware::ClientAddr, security,
};
use crate::{
    services::idempotency::{self, Claim, Outcome, Target},
    state::AppState,
};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// The response headers a replay repeats; the outer layers add the rest anew.
const KEPT_HEADERS: &[&str] = &["content-type", "location", "retry-after"];

/// The key, if one was sent: 1–255 visible ASCII characters, once.
fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let bytes = value.as_bytes();
    let valid = values.next().is_none()
        && (1..=MAX_KEY_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    if !valid {
        return Err(ApiError::invalid_parameters());
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Whose key it is: the user of a well-signed bearer token (session or API key alike),
/// else the client address. Whether the token is still live is checked before a replay.
fn scope(state: &AppState, req: &Request) -> String {
    match credentials::bearer_claims(&state.tokens, req) {
        Some(claims) => format!("user:{}", claims.sub),
        None => {
            let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
            format!("address:{}", client.map_or_else(|| "unknown".into(), |ip| ip.to_string()))
        }
    }
}

/// A kept answer is only for a caller who could have made the request now: a live
/// token, or the public key on a public route.
async fn may_replay(state: &AppState, req: &Request) -> bool {
    match credentials::bearer_claims(&state.tokens, req) {
        Some(claims) => crate::services::authenticate::bearer(state, &claims).await.is_ok(),
        None => security::public_key_matches(state, credentials::authorization(req).unwrap_or_default()).is_ok(),
    }
}

/// Which answers are kept: 2xx and 4xx, except those that say the request did not get
/// to run and may succeed as it is later (401, 408, 409, 429). 5xx are not kept.
fn keeps(status: poem::http::StatusCode) -> bool {
    status.is_success() || (status.is_client_error() && ![401, 408, 409, 429].contains(&status.as_u16()))
}

/// A claim that is let go if the request does not finish: a timeout or a dropped
/// connection drops the handler's future, and a panic unwinds through it.
struct ClaimGuard {
    state: AppState,
    id: String,
    armed: bool,
}

impl ClaimGuard {
    async fn release(mut self) {
        self.armed = false;
        if let Err(err) = idempotency::release(&self.state, &self.id).await {
            tracing::warn!(%err, "releasing an idempotency claim failed; it lapses on its own");
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (state, id) = (self.state.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = idempotency::release(&state, &id).await {
                    tracing::warn!(%err, "releasing an abandoned idempotency claim failed; it lapses on its own");
                }
            });
        }
    }
}

/// An answer of the layer itself (the route's operation id is set on it by poem-openapi,
/// outside the transform, so the metrics count it under its operation).
fn refuse(err: ApiError) -> Response {
    err.into_response()
}

fn replay(outcome: Outcome) -> Response {
    let mut response = Response::builder().status(
        poem::http::StatusCode::from_u16(outcome.status).unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in &outcome.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.header(REPLAYED, "true").body(outcome.body)
}

/// The route policy: `#[oai(..., transform = "idempotent")]` on a route makes it take
/// `Idempotency-Key` (its handler declares the header, so the spec shows it).
pub fn idempotent<E: Endpoint>(inner: E) -> IdempotencyEndpoint<E> {
    IdempotencyEndpoint { inner }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> IdempotencyEndpoint<E> {
    async fn pass(&self, req: Request) -> Result<Response> {
        self.inner.call(req).await.map(IntoResponse::into_response)
    }

    /// Runs the claimed request and keeps its answer, or lets the claim go.
    async fn run(&self, req: Request, target: &Target, guard: ClaimGuard, fingerprint: SharedFingerprint) -> Response {
        let response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(err) => super::error::error_response(err),
        };
        if !keeps(response.status()) {
            guard.release().await;
            return response;
        }
        let Some(fingerprint) = fingerprint.finish().await else {
            guard.release().await;
            return response;
        };
        let (parts, body) = response.into_parts();
        let Ok(body) = body.into_vec().await else {
            guard.release().await;
            return ApiError::internal().into_response();
        };
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(*name)?.to_str().ok()?;
                Some((name.to_string(), value.to_string()))
            })
            .collect();
        let outcome = Outcome { fingerprint, status: parts.status.as_u16(), headers, body };
        let mut guard = guard;
        if let Err(err) = idempotency::finish(&guard.state, &guard.id, target, &outcome).await {
            // The work is done: letting the claim go would let a retry do it again. It
            // stays in progress (409 to retries) until its lease lapses.
            tracing::error!(%err, "keeping an idempotent answer failed");
        }
        guard.armed = false;
        Response::from_parts(parts, Body::from(outcome.body))
    }
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let key = match key(req.headers()) {
            Ok(Some(key)) => key,
            Ok(None) => return self.pass(req).await,
            Err(err) => return Ok(refuse(err)),
        };
        let Some(state) = req.data::<AppState>().cloned() else { return self.pass(req).await };
        // The path as the client sent it: inside the API's nest `uri()` has lost the base
        // (and `original_uri()` is not kept by requests built in-process, as tests build them).
        let path = format!("{BASE_PATH}{}", req.uri().path());
        let target = Target { scope: scope(&state, &req), method: "POST".into(), path, key };
        let fingerprint = SharedFingerprint::wrap(&mut req);
        // Longer than the request may take (uploads get ten times REQUEST_TIMEOUT_SECS),
        // so that only a claim whose process died lapses.
        let lease = state.config.http.request_timeout * 10 + Duration::from_secs(60);
        match idempotency::claim(&state, &target, lease).await {
            Err(err) => Ok(refuse(err.into())),
            Ok(Claim::InProgress) => Ok(refuse(ApiError::idempotency_key_in_use())),
            Ok(Claim::Done(outcome)) => {
                if !may_replay(&state, &req).await {
                    return Ok(refuse(ApiError::unauthorized()));
                }
                drop(req);
                match fingerprint.finish().await {
                    Some(seen) if seen == outcome.fingerprint => Ok(replay(outcome)),
                    Some(_) => Ok(refuse(ApiError::idempotency_key_reused())),
                    None => Ok(refuse(ApiError::empty_body())),
                }
            }
            Ok(Claim::Claimed(id)) => {
                let guard = ClaimGuard { state, id, armed: true };
                Ok(self.run(req, &target, guard, fingerprint).await)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        let with = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, poem::http::HeaderValue::from_bytes(value).unwrap());
            key(&headers)
        };
        assert_eq!(with(b"a-Key_1:~!").unwrap().as_deref(), Some("a-Key_1:~!"));
        assert!(with(&[b'k'; 255]).unwrap().is_some());
        assert!(with(&[b'k'; 256]).is_err());
        assert!(with(b"").is_err());
        assert!(with(b"with space").is_err());
        assert!(with(b"tab\there").is_err());
        assert!(with("caf\u{e9}".as_bytes()).is_err());
        assert!(key(&HeaderMap::new()).unwrap().is_none());
        let mut twice = HeaderMap::new();
        twice.append(HEADER, poem::http::HeaderValue::from_static("a"));
        twice.append(HEADER, poem::http::HeaderValue::from_static("b"));
        assert!(key(&twice).is_err());
    }

    #[test]
    fn answers_that_say_try_again_are_not_kept() {
        use poem::http::StatusCode;
        for kept in [200, 201, 400, 403, 404, 422] {
            assert!(keeps(StatusCode::from_u16(kept).unwrap()), "{kept}");
        }
        for not in [401, 408, 409, 429, 500, 502, 503] {
            assert!(!keeps(StatusCode::from_u16(not).unwrap()), "{not}");
        }
    }
}
