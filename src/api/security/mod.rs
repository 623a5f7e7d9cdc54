//! Credentials, in poem-openapi's idiom: each scheme of the spec is a
//! `#[derive(SecurityScheme)]` whose checker authenticates (`schemes.rs`, `checkers.rs`);
//! the either-or cases are derived enums of them; a handler names the scheme it takes, so
//! the route's `security` in the spec and what the server enforces are one declaration.
//!
//! The public key and the admin key travel the same way (raw in `Authorization`), so the
//! published spec has one `apiKey` scheme for both, [`API_KEY_SCHEME`]: two schemes on one
//! header make generators emit that header twice, or an enum with two equal members. The
//! two key schemes are registered under their own names, and the spec's post-processing
//! (`spec::security`) folds them into the one `ApiKey`, writing into each operation which
//! key it takes.
//!
//! What poem-openapi cannot say, and how it is said here instead (`open.rs`): its derived
//! `apiKey` scheme refuses a missing header before the checker runs, so "no key needed
//! while the deployment has none" and "a key or nothing" are thin wrappers around the
//! derived public-key scheme; and a derived enum answers with its last member's error, so
//! the key members come last and answer a bearer header as the session member did.

mod checkers;
mod open;
mod schemes;

pub use open::PublicKeyOrNone;
pub use schemes::{
    AdminKey, AdminKeyBesideSession, AdminOrSession, BasicCredentials, Caller, PublicKey, PublicKeyBesideSession,
    PublicOrSession, UserSession,
};

/// A call with the app's public key (or with none while no keys are configured).
pub type PublicAccess = PublicKeyOrNone<false, false>;

/// A public key, or none at all; a wrong key is still refused.
pub type OptionalPublicAccess = PublicKeyOrNone<true, false>;

pub(crate) use checkers::public_key_matches;

/// The one `apiKey` scheme of the published spec.
pub const API_KEY_SCHEME: &str = "ApiKey";

/// What the published `ApiKey` scheme says of itself.
pub const API_KEY_DESCRIPTION: &str = "A key, raw in `Authorization` (no scheme word): the app's public key on \
     the public routes, the operators' admin key on the admin routes. Each operation that takes it says which \
     (and carries `x-clara-api-key`: `public` or `admin`).";

/// Per key scheme: the value of the operation's `x-clara-api-key` and the sentence its
/// description gains.
pub const API_KEY_KINDS: [(&str, &str, &str); 2] = [
    ("PublicApiKey", "public", "`ApiKey` here is the app's public key."),
    ("AdminApiKey", "admin", "`ApiKey` here is the operators' admin key."),
];
