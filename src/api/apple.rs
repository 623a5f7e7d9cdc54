//! Sign in with Apple (CONTRACT §6.5): `POST /auth/apple`, Google sign-in's twin for an
//! Apple identity token.

use poem::Request;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    auth::{SignedInCreated, client, origin},
    body::{JsonBody, Text},
    error::ApiError,
    models::{UserWithToken, UserWithTokenEnvelope},
    security::OptionalPublicAccess,
};
use crate::{
    domain::PersonName,
    services::accounts::{self, AppleNames},
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
    /// The nonce the app generated for this sign-in: the token's `nonce` claim must be
    /// it or its SHA-256 in hex (what the app puts in the Apple request). Checked only
    /// when sent.
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
            nonce: Some("c0ffee-2f8e-4b1a-9d3e-5a7c1b2d3e4f".into()),
            first_name: Some("Vibhanshu".into()),
            last_name: Some("Rathod".into()),
            code: Some("245522".into()),
        }
    }
}

fn name(raw: Option<Text>) -> Result<Option<PersonName>, ApiError> {
    raw.map(|name| PersonName::parse(&name.0).map_err(|_| ApiError::invalid_parameters())).transpose()
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AppleApi {
    /// Sign in with Apple
    ///
    /// Signs in with an Apple identity token (issuer `https://appleid.apple.com`, audience
    /// one of `APPLE_CLIENT_IDS`). With `nonce`, the token's `nonce` claim must be it or its
    /// SHA-256 hex. The token must carry a verified e-mail (private relay addresses
    /// included). A new e-mail makes an active account named from `first_name` and
    /// `last_name` (message `User registered successfully.`); a known one logs in (`User
    /// logged in successfully.`). With 2FA on, `code` is needed as for Login (else the 401
    /// with `data.is_2fa_enabled: true`). A registered but never-activated account is
    /// activated, and the password and sessions its registrant set are dropped.
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
