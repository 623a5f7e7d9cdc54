//! Sign in with Apple: `POST /auth/apple`, Google sign-in's twin for an
//! Apple identity token.

use poem::Request;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::outcomes::*;
use super::{
    ApiTags,
    auth::{SignedInCreated, client, origin},
    body::{JsonBody, Text},
    error::ApiError,
    models::{SuccessStatus, UserWithToken, UserWithTokenEnvelope},
    security::OptionalPublicAccess,
};
use crate::{
    domain::PersonName,
    services::{
        ServiceError,
        accounts::{self, AppleNames},
        apple_once,
    },
    state::AppState,
};

pub struct AppleApi {
    pub state: AppState,
}

/// An Apple identity token, with what the app learnt alongside it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct AppleRequest {
    /// The identity token Sign in with Apple gave the app
    /// (`ASAuthorizationAppleIDCredential.identityToken`, as text).
    pub id_token: Text,
    /// The nonce of this sign-in (from Apple nonce): when sent, the token's `nonce` claim
    /// must be it or its SHA-256 in hex. The claim is checked against the nonces this
    /// server issued whether or not it is sent.
    pub nonce: Option<Text>,
    /// 1 to 50 characters; used only when the sign-in creates the account (Apple gives
    /// the name to the app on the first sign-in only).
    pub first_name: Option<Text>,
    /// 1 to 50 characters; as `first_name`.
    pub last_name: Option<Text>,
    /// The second factor, needed when the account has 2FA on (as for Login).
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Option<Text>,
}

impl poem_openapi::types::Example for AppleRequest {
    fn example() -> Self {
        Self {
            id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJlbWFpbCI6ImhlbGxvQGNyYXppLmNvIn0.sig".into(),
            nonce: Some("q2V8m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o".into()),
            first_name: Some("Vibhanshu".into()),
            last_name: Some("Rathod".into()),
            code: Some("245522".into()),
        }
    }
}

/// A nonce for one Sign in with Apple.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AppleNonce {
    /// 43 characters (32 random bytes, base64url). The app puts its SHA-256 in lowercase
    /// hex in the Apple request (`ASAuthorizationAppleIDRequest.nonce`, or `nonce` of
    /// Sign in with Apple JS); good for one sign-in within 10 minutes.
    pub nonce: String,
}

impl poem_openapi::types::Example for AppleNonce {
    fn example() -> Self {
        Self { nonce: "q2V8m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o".into() }
    }
}

/// Success envelope around an Apple nonce.
#[derive(Debug, Clone, Object)]
pub struct AppleNonceEnvelope {
    pub data: AppleNonce,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

fn name(raw: Option<Text>) -> Result<Option<PersonName>, ApiError> {
    raw.map(|name| PersonName::parse(&name.0).map_err(|_| ApiError::invalid_parameters())).transpose()
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("authAppleNonce", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_CONFIGURED]),
    ("authApple", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, NOT_CONFIGURED]),
];

#[OpenApi(tag = "ApiTags::Auth")]
impl AppleApi {
    /// Apple nonce
    ///
    /// A nonce for one Sign in with Apple: the app puts its SHA-256 (lowercase hex) in the
    /// Apple request, and Sign in with Apple accepts the identity token only with it. Each
    /// nonce is good for one sign-in within 10 minutes. 503 `not_configured` without
    /// `APPLE_CLIENT_IDS`.
    #[oai(path = "/auth/apple/nonce", method = "post", operation_id = "authAppleNonce")]
    async fn nonce(&self, _auth: OptionalPublicAccess) -> Result<Json<AppleNonceEnvelope>, ApiError> {
        if !self.state.apple.is_configured() {
            return Err(ServiceError::NotConfigured(accounts::APPLE_VARIABLES).into());
        }
        let nonce = apple_once::issue_nonce(&self.state).await?;
        Ok(Json(AppleNonceEnvelope {
            data: AppleNonce { nonce },
            message: "Nonce created successfully.".into(),
            status: SuccessStatus::Success,
        }))
    }

    /// Sign in with Apple
    ///
    /// Signs in with an Apple identity token (issuer `https://appleid.apple.com`, audience
    /// one of `APPLE_CLIENT_IDS`). Its `nonce` claim must be the SHA-256 hex of a nonce from
    /// Apple nonce, issued within 10 minutes and not used before (unless the server sets
    /// `APPLE_REQUIRE_NONCE=false`); each identity token signs in once (a refusal for a
    /// missing 2FA code does not use it up). Otherwise, or replayed, the 401. With `nonce`,
    /// the claim must also be it or its SHA-256 hex. The token must carry a verified e-mail
    /// (private relay addresses included). A new e-mail makes an active account named from
    /// `first_name` and `last_name` (message `User registered successfully.`); a known one
    /// logs in (`User logged in successfully.`). With 2FA on, `code` is needed as for Login
    /// (else the 401 with `data.is_2fa_enabled: true`). A registered but never-activated
    /// account is activated, and the password and sessions its registrant set are dropped.
    #[oai(path = "/auth/apple", method = "post", operation_id = "authApple")]
    async fn apple(
        &self,
        req: &Request,
        _auth: OptionalPublicAccess,
        body: JsonBody<AppleRequest>,
    ) -> Result<SignedInCreated, ApiError> {
        let body = body.0;
        let names = AppleNames { first_name: name(body.first_name)?, last_name: name(body.last_name)? };
        let nonce = body.nonce.map(|n| n.0);
        let code = body.code.map(|c| c.0);
        let (user, token, created) = accounts::apple(
            &self.state,
            &body.id_token.0,
            nonce.as_deref(),
            names,
            code.as_deref(),
            client(req),
            &origin(req),
        )
        .await?;
        let message = if created { "User registered successfully." } else { "User logged in successfully." };
        Ok(SignedInCreated::Created(Json(UserWithTokenEnvelope::new(UserWithToken::new(&user, token), message))))
    }
}
