//! The security schemes, derived. Several structs may register one scheme name (a session
//! alone, or a bearer of either kind, are both `BearerAuth` in the spec): the first one
//! registered gives the scheme its description, so structs of one name carry the same one.

use poem_openapi::{SecurityScheme, auth::Basic};

use super::{PublicKeyOrNone, checkers};
use crate::services::authenticate::SessionUser;

/// `Bearer clara_user_<JWT>` (a session) or `Bearer clara_api_<JWT>` (an API key).
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "JWT", checker = "checkers::session")]
pub struct UserSession(pub Box<SessionUser>);

/// `Bearer clara_user_<JWT>` (a session) or `Bearer clara_api_<JWT>` (an API key).
#[derive(SecurityScheme)]
#[oai(rename = "BearerAuth", ty = "bearer", bearer_format = "JWT", checker = "checkers::bearer_user")]
pub struct Caller(pub entity::users::Model);

/// `Basic base64(email:password)`, for login only.
#[derive(SecurityScheme)]
#[oai(rename = "BasicAuth", ty = "basic")]
pub struct BasicCredentials(pub Basic);

/// A key scheme: raw in `Authorization`, published as `ApiKey` (see `spec::security`).
macro_rules! key_scheme {
    ($doc:tt, $name:ident, $rename:tt, $checker:tt) => {
        #[doc = $doc]
        #[derive(SecurityScheme)]
        #[oai(rename = $rename, ty = "api_key", key_name = "Authorization", key_in = "header", checker = $checker)]
        pub struct $name(pub ());
    };
}

key_scheme!("The app's public key.", PublicKey, "PublicApiKey", "checkers::public_key");
key_scheme!("The app's public key.", PublicKeyBesideSession, "PublicApiKey", "checkers::public_key_beside_session");
key_scheme!(
    "The operators' key. With no `ADMIN_API_KEY`, nothing gets in.",
    AdminKey,
    "AdminApiKey",
    "checkers::admin_key"
);
key_scheme!(
    "The operators' key. With no `ADMIN_API_KEY`, nothing gets in.",
    AdminKeyBesideSession,
    "AdminApiKey",
    "checkers::admin_key_beside_session"
);

/// Either a user session (acting on their own account) or the app's public key. The key
/// comes last: a derived enum answers with its last member's error (see `checkers`).
#[derive(SecurityScheme)]
pub enum PublicOrSession {
    Session(UserSession),
    Public(PublicKeyOrNone<false, true>),
}

/// The operators' key, or a user session (acting on their own account).
#[derive(SecurityScheme)]
pub enum AdminOrSession {
    Session(UserSession),
    Admin(AdminKeyBesideSession),
}
