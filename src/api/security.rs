//! Credentials. The schemes of the spec are declared with poem-openapi's derive; the
//! extractors below register those schemes and do the checking themselves, so that the
//! spec's `security` and what the server enforces are the same thing.
//!
//! The public key and the admin key travel the same way (raw in `Authorization`), so the
//! published spec has one `apiKey` scheme for both, [`API_KEY_SCHEME`]: two schemes on one
//! header make generators emit that header twice, or an enum with two equal members. The
//! two marker schemes below only tell the spec's post-processing (`spec::security`) which
//! key an operation takes; it writes that into the operation's description.

use poem::{Request, RequestBody, http::header::AUTHORIZATION};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme,
    auth::{ApiKey, Basic, Bearer},
    registry::Registry,
};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::{
    services::{accounts, accounts::SessionUser},
    state::AppState,
};

// The scheme types below exist to name the schemes in the spec; the extractors further
// down read the header themselves.

/// `Basic base64(email:password)`, for login only.
#[allow(dead_code)]
#[derive(SecurityScheme)]
#[oai(rename = "BasicAuth", ty = "basic")]
pub struct BasicAuth(Basic);

/// `Bearer clara_user_<JWT>` (a session) or `Bearer clara_api_<JWT>` (an API key).
#[allow(dead_code)]
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(Bearer);

/// Marker: the app's public key (published as [`API_KEY_SCHEME`]).
#[allow(dead_code)]
#[derive(SecurityScheme)]
#[oai(rename = "PublicApiKey", ty = "api_key", key_name = "Authorization", key_in = "header")]
pub struct PublicApiKey(ApiKey);

/// Marker: the operators' key (published as [`API_KEY_SCHEME`]).
#[allow(dead_code)]
#[derive(SecurityScheme)]
#[oai(rename = "AdminApiKey", ty = "api_key", key_name = "Authorization", key_in = "header")]
pub struct AdminApiKey(ApiKey);

/// The one `apiKey` scheme of the published spec.
pub const API_KEY_SCHEME: &str = "ApiKey";

/// What the published `ApiKey` scheme says of itself.
pub const API_KEY_DESCRIPTION: &str = "A key, raw in `Authorization` (no scheme word): the app's public key on \
     the public routes, the operators' admin key on the admin routes. Each operation that takes it says which \
     (and carries `x-clara-api-key`: `public` or `admin`).";

/// Per marker scheme: the value of the operation's `x-clara-api-key` and the sentence its
/// description gains.
pub const API_KEY_KINDS: [(&str, &str, &str); 2] = [
    ("PublicApiKey", "public", "`ApiKey` here is the app's public key."),
    ("AdminApiKey", "admin", "`ApiKey` here is the operators' admin key."),
];

fn state(req: &Request) -> Result<&AppState, ApiError> {
    req.data::<AppState>().ok_or_else(ApiError::internal)
}

pub(super) fn authorization(req: &Request) -> Option<&str> {
    req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The token of a `Bearer` header, scheme name case-insensitive.
pub(super) fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn is_one_of(given: &str, keys: &[String]) -> bool {
    // Compare with every key so the time does not say which one nearly matched.
    keys.iter().fold(false, |found, key| found | bool::from(given.as_bytes().ct_eq(key.as_bytes())))
}

async fn session_from(req: &Request) -> Result<SessionUser, ApiError> {
    let state = state(req)?;
    let token = authorization(req).and_then(bearer_token).ok_or_else(ApiError::unauthorized)?;
    if token.starts_with(crate::services::tokens::API_KEY_TOKEN_PREFIX) {
        // A live API key on a route that takes sessions only is the wrong kind (403);
        // a dead or forged one is no credential at all (401).
        return Err(match crate::services::api_keys::authenticate(state, token).await {
            Ok(_) => ApiError::forbidden(),
            Err(err) => err.into(),
        });
    }
    let session = accounts::authenticate_user_token(state, &state.tokens, token).await.map_err(ApiError::from)?;
    super::middleware::record_user(req, &session.user.id);
    Ok(session)
}

pub(super) fn check_public_key(req: &Request) -> Result<(), ApiError> {
    let state = state(req)?;
    if state.config.public_api_keys.is_empty() {
        return Ok(());
    }
    match authorization(req) {
        Some(key) if is_one_of(key, &state.config.public_api_keys) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

macro_rules! security_extractor {
    ($ty:ty, [$($scheme:ty),+], fallback = $fallback:expr, |$req:ident| $body:expr) => {
        impl<'a> ApiExtractor<'a> for $ty {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                $(<$scheme as ApiExtractor>::register(registry);)+
            }

            fn security_schemes() -> Vec<&'static str> {
                let mut names = vec![];
                $(names.extend(<$scheme as ApiExtractor>::security_schemes());)+
                names
            }

            fn has_security_fallback() -> bool {
                $fallback
            }

            async fn from_request(
                $req: &'a Request,
                _body: &mut RequestBody,
                _options: ExtractParamOptions<()>,
            ) -> poem::Result<Self> {
                let result: Result<Self, ApiError> = $body;
                result.map_err(Into::into)
            }
        }
    };
}

/// A user session token (UT). An API key here is a 403.
pub struct UserSession(pub SessionUser);

security_extractor!(UserSession, [BearerAuth], fallback = false, |req| { session_from(req).await.map(UserSession) });

/// A call with the app's public key (or with none while no keys are configured).
pub struct PublicAccess;

security_extractor!(PublicAccess, [PublicApiKey], fallback = false, |req| {
    check_public_key(req).map(|()| PublicAccess)
});

/// A public key, or none at all; a wrong key is still refused.
pub struct OptionalPublicAccess;

security_extractor!(OptionalPublicAccess, [PublicApiKey], fallback = true, |req| {
    match authorization(req) {
        None => Ok(OptionalPublicAccess),
        Some(_) => check_public_key(req).map(|()| OptionalPublicAccess),
    }
});

/// Either a user session (acting on their own account) or the app's public key.
pub enum PublicOrSession {
    Session(Box<SessionUser>),
    Public,
}

security_extractor!(PublicOrSession, [PublicApiKey, BearerAuth], fallback = false, |req| {
    match authorization(req).and_then(bearer_token) {
        Some(_) => session_from(req).await.map(|s| PublicOrSession::Session(Box::new(s))),
        None => check_public_key(req).map(|()| PublicOrSession::Public),
    }
});

/// The user behind a bearer token of either kind (UT|AK).
pub struct Caller {
    pub user: entity::users::Model,
}

security_extractor!(Caller, [BearerAuth], fallback = false, |req| {
    let state = state(req)?;
    let token = authorization(req).and_then(bearer_token).ok_or_else(ApiError::unauthorized)?;
    let user = accounts::authenticate_bearer(state, token).await.map_err(ApiError::from)?;
    super::middleware::record_user(req, &user.id);
    Ok(Caller { user })
});

/// Checks `given` against the admin key under the address's attempt limit, so wrong
/// keys are throttled like wrong passwords. With no `ADMIN_API_KEY`, nothing matches.
async fn check_admin_key(req: &Request, given: &str) -> Result<(), ApiError> {
    let state = state(req)?;
    let client = req.extensions().get::<super::middleware::ClientAddr>().and_then(|c| c.0);
    let matches =
        || state.config.admin_api_key.as_ref().is_some_and(|key| bool::from(given.as_bytes().ct_eq(key.as_bytes())));
    crate::services::throttle::admin_key(state, client, matches).await.map_err(ApiError::from)
}

/// The operators' key. With no `ADMIN_API_KEY` configured, nothing gets in.
pub struct AdminKey;

security_extractor!(AdminKey, [AdminApiKey], fallback = false, |req| {
    let given = authorization(req).ok_or_else(ApiError::unauthorized)?;
    check_admin_key(req, given).await.map(|()| AdminKey)
});

/// The operators' key, or a user session (acting on their own account).
pub enum AdminOrSession {
    Admin,
    Session(Box<SessionUser>),
}

security_extractor!(AdminOrSession, [AdminApiKey, BearerAuth], fallback = false, |req| {
    match authorization(req) {
        Some(header) if bearer_token(header).is_some() => {
            session_from(req).await.map(|s| AdminOrSession::Session(Box::new(s)))
        }
        Some(given) => check_admin_key(req, given).await.map(|()| AdminOrSession::Admin),
        None => Err(ApiError::unauthorized()),
    }
});

/// E-mail and password from `Basic`; malformed headers are a 401.
pub struct BasicCredentials {
    pub email: String,
    pub password: String,
}

security_extractor!(BasicCredentials, [BasicAuth], fallback = false, |req| {
    use base64::Engine;
    let header = authorization(req).ok_or_else(ApiError::unauthorized)?;
    let (scheme, encoded) = header.split_once(' ').ok_or_else(ApiError::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::unauthorized().into());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(ApiError::unauthorized)?;
    let (email, password) = decoded.split_once(':').ok_or_else(ApiError::unauthorized)?;
    Ok(BasicCredentials { email: email.to_string(), password: password.to_string() })
});

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

    #[test]
    fn key_lists() {
        let keys = vec!["one".to_string(), "two".to_string()];
        assert!(is_one_of("two", &keys));
        assert!(!is_one_of("tw", &keys));
        assert!(!is_one_of("", &keys));
    }
}
