//! What a request's `Authorization` header carries, read once.
//!
//! The rate limiter needs the bearer token's claims before any route runs (a session or
//! an API key spends its own budget), and the security schemes need them again to
//! authenticate. The limiter decodes the token and leaves the claims in the request's
//! extensions as [`DecodedBearer`]; the schemes' checkers and the idempotency layer read
//! them from there, so a request's token is decoded once.

use poem::{Request, http::header::AUTHORIZATION};

use crate::services::tokens::{Claims, TokenKeys};

/// The claims of the request's bearer token, if it carried one that verified; put in the
/// request's extensions by the rate limiter.
#[derive(Debug, Clone)]
pub struct DecodedBearer(pub Option<Claims>);

/// The `Authorization` header, trimmed, if it is text.
pub fn authorization(req: &Request) -> Option<&str> {
    req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The token of a `Bearer` header, scheme name case-insensitive.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Decodes the request's bearer token and keeps its claims in the request (the limiter's
/// one decode); returns them.
pub fn decode_into(tokens: &TokenKeys, req: &mut Request) -> Option<Claims> {
    let claims = authorization(req).and_then(bearer_token).and_then(|token| tokens.decode(token));
    req.extensions_mut().insert(DecodedBearer(claims.clone()));
    claims
}

/// The claims of the request's bearer token: the limiter's decode when it ran (every API
/// route is behind it), else decoded here.
pub fn bearer_claims(tokens: &TokenKeys, req: &Request) -> Option<Claims> {
    match req.extensions().get::<DecodedBearer>() {
        Some(DecodedBearer(claims)) => claims.clone(),
        None => authorization(req).and_then(bearer_token).and_then(|token| tokens.decode(token)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    const SECRET: &str = "a-secret-for-these-tests-32-bytes!!";

    fn request_with(header: &str) -> Request {
        Request::builder().header(AUTHORIZATION, header).finish()
    }

    #[test]
    fn the_limiters_decode_is_the_requests_only_one() {
        let tokens = TokenKeys::new(SECRET);
        let token = tokens.user_token("user_1", "session_1", 0, i64::MAX);
        let mut req = request_with(&format!("Bearer {token}"));
        let claims = decode_into(&tokens, &mut req).expect("a valid token decodes");
        assert_eq!((claims.sub.as_str(), claims.jti.as_str()), ("user_1", "session_1"));
        // Later readers take the kept claims: keys that could not verify the token still
        // see them, because nothing decodes it again.
        let other_keys = TokenKeys::new("another-secret-of-thirty-two-bytes!!!");
        assert_eq!(bearer_claims(&other_keys, &req).map(|c| c.jti), Some("session_1".to_string()));
    }

    #[test]
    fn a_token_that_fails_is_kept_as_none_and_never_retried() {
        let tokens = TokenKeys::new(SECRET);
        let mut req = request_with("Bearer clara_user_not-a-token");
        assert!(decode_into(&tokens, &mut req).is_none());
        assert!(req.extensions().get::<DecodedBearer>().is_some_and(|d| d.0.is_none()));
        assert!(bearer_claims(&tokens, &req).is_none());
    }

    #[test]
    fn without_the_limiter_the_reader_decodes_itself() {
        let tokens = TokenKeys::new(SECRET);
        let token = tokens.api_key_token("user_2", "key_2", 0);
        let req = request_with(&format!("bearer  {token} "));
        assert_eq!(bearer_claims(&tokens, &req).map(|c| c.jti), Some("key_2".to_string()));
        assert!(bearer_claims(&tokens, &request_with("Basic abc")).is_none());
    }
}
