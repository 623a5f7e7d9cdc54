//! Passkeys: registering, listing and deleting the caller's passkeys, and
//! signing in with one (discoverable: no e-mail first). The ceremonies are webauthn-rs's;
//! see `services::passkeys`.

use std::collections::BTreeMap;

use entity::passkeys as passkey_rows;
use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde_json::{Value, json};

use super::models::envelope;
use super::outcomes::*;
use super::{
    ApiTags,
    auth::{client, origin},
    body::{JsonBody, OptionalJsonBody, Text},
    error::ApiError,
    fresh_proof::FreshProofRequest,
    models::{UserWithToken, UserWithTokenEnvelope},
    own_active_user,
    security::{PublicAccess, UserSession},
};
use crate::{
    domain::http_date,
    services::{
        ServiceError,
        events::{self, EventKind},
        fresh_proof,
        passkeys::{self, SignInFailure},
    },
    state::AppState,
};

type Result<T> = std::result::Result<T, ApiError>;

/// A passkey of the caller. The credential itself (public key, counter) never leaves the server.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Passkey {
    /// `passkey_…`
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// The last sign-in with it; null before the first.
    #[oai(nullable)]
    pub last_used_at: Option<String>,
}

impl From<&passkey_rows::Model> for Passkey {
    fn from(row: &passkey_rows::Model) -> Self {
        Self {
            id: row.id.clone(),
            name: row.name.clone(),
            created_at: http_date(row.created_at),
            last_used_at: row.last_used_at.map(http_date),
        }
    }
}

impl poem_openapi::types::Example for Passkey {
    fn example() -> Self {
        Self {
            id: "passkey_4f1c2a9d0b7e4c5f8a6d3b2e1c0f9a8b".into(),
            name: "MacBook".into(),
            created_at: "Thu, 27 Nov 2025 00:10:11 GMT".into(),
            last_used_at: Some("Fri, 28 Nov 2025 09:30:00 GMT".into()),
        }
    }
}

/// What to pass to `navigator.credentials.create` (after decoding the base64url fields:
/// `challenge`, `user.id`, each `excludeCredentials[].id`), as webauthn-rs made it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PasskeyCreationOptions {
    /// `PublicKeyCredentialCreationOptions`.
    #[oai(rename = "publicKey")]
    pub public_key: BTreeMap<String, Value>,
}

impl poem_openapi::types::Example for PasskeyCreationOptions {
    fn example() -> Self {
        let Value::Object(public_key) = json!({
            "rp": {"name": "Clara", "id": "clara.example.com"},
            "user": {"id": "q83vEjRWeJCrze8SNFZ4kA", "name": "ada@example.com", "displayName": "Ada Lovelace"},
            "challenge": "sG5Hw3I8a7cHc0kQ9S3e8pX2yVbL4mRzT1uJqNfDkWo",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
            "timeout": 300000,
            "excludeCredentials": [],
            "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "required"},
            "attestation": "none",
            "extensions": {"credentialProtectionPolicy": "userVerificationRequired", "enforceCredentialProtectionPolicy": false, "uvm": true, "credProps": true}
        }) else {
            unreachable!()
        };
        Self { public_key: public_key.into_iter().collect() }
    }
}

/// What to pass to `navigator.credentials.get` (`publicKey`, after decoding `challenge`;
/// `mediation` is `conditional`, for the autofill UI: leave it out for a sign-in button),
/// and the id of this sign-in to send back with the credential.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PasskeySignInOptions {
    /// `passkey_challenge_…`: send it back as `challenge_id`. Valid 5 minutes, once.
    pub challenge_id: String,
    /// `PublicKeyCredentialRequestOptions` (no `allowCredentials`: any passkey of this site).
    #[oai(rename = "publicKey")]
    pub public_key: BTreeMap<String, Value>,
    #[oai(nullable)]
    pub mediation: Option<String>,
}

impl poem_openapi::types::Example for PasskeySignInOptions {
    fn example() -> Self {
        let Value::Object(public_key) = json!({
            "challenge": "Yk4XWq2pR8vN3sT6uZ0bC1dE5fG7hJ9kL2mN4oP6qR8",
            "timeout": 300000,
            "rpId": "clara.example.com",
            "allowCredentials": [],
            "userVerification": "required",
            "extensions": {"uvm": true}
        }) else {
            unreachable!()
        };
        Self {
            challenge_id: "passkey_challenge_9a8b7c6d5e4f30211f2e3d4c5b6a7988".into(),
            public_key: public_key.into_iter().collect(),
            mediation: Some("conditional".into()),
        }
    }
}

/// A new passkey: the credential `navigator.credentials.create` returned.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PasskeyRegisterRequest {
    /// The `PublicKeyCredential` as JSON (`credential.toJSON()`, or the same shape with the
    /// binary fields base64url-encoded): `id`, `rawId`, `type`, `response.clientDataJSON`,
    /// `response.attestationObject`.
    pub credential: BTreeMap<String, Value>,
    /// 1–64 characters, for the list; `Passkey` if left out.
    pub name: Option<Text>,
}

/// The examples' `PublicKeyCredential`, around the ceremony's `response`.
fn example_credential(response: Value) -> BTreeMap<String, Value> {
    let id = "o3mm9u6vuaVeN4wRgDTidR5oL6ufLTCrE9ISVYbOGUc";
    BTreeMap::from([
        ("id".to_string(), json!(id)),
        ("rawId".to_string(), json!(id)),
        ("type".to_string(), json!("public-key")),
        ("response".to_string(), response),
        ("clientExtensionResults".to_string(), json!({})),
    ])
}

impl poem_openapi::types::Example for PasskeyRegisterRequest {
    fn example() -> Self {
        let credential = example_credential(json!({
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoi…",
            "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjF…"
        }));
        Self { credential, name: Some("MacBook".into()) }
    }
}

/// A passkey sign-in: the credential `navigator.credentials.get` returned, and the
/// `challenge_id` of the options it answers.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PasskeySignInRequest {
    /// The `PublicKeyCredential` as JSON: `id`, `rawId`, `type`, `response.clientDataJSON`,
    /// `response.authenticatorData`, `response.signature`, `response.userHandle`.
    pub credential: BTreeMap<String, Value>,
    /// From Passkey sign-in options.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub challenge_id: Text,
}

impl poem_openapi::types::Example for PasskeySignInRequest {
    fn example() -> Self {
        let credential = example_credential(json!({
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoi…",
            "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
            "signature": "MEUCIQDx…",
            "userHandle": "q83vEjRWeJCrze8SNFZ4kA"
        }));
        Self { credential, challenge_id: "passkey_challenge_9a8b7c6d5e4f30211f2e3d4c5b6a7988".into() }
    }
}

envelope!(
    /// Success envelope around a Passkey.
    PasskeyEnvelope, Passkey);
envelope!(
    /// Success envelope around the caller's passkeys, oldest first.
    PasskeyListEnvelope, Vec<Passkey>);
envelope!(
    /// Success envelope around passkey creation options.
    PasskeyCreationOptionsEnvelope, PasskeyCreationOptions);
envelope!(
    /// Success envelope around passkey sign-in options.
    PasskeySignInOptionsEnvelope, PasskeySignInOptions);

#[derive(ApiResponse)]
pub enum PasskeyCreated {
    /// The new passkey.
    #[oai(status = 201)]
    Created(Json<PasskeyEnvelope>),
}

#[derive(ApiResponse)]
pub enum PasskeyDeleted {
    /// Deleted; no body.
    #[oai(status = 204)]
    NoContent,
}

/// The `publicKey` (and `mediation`) of options webauthn-rs made.
fn options_parts(options: &impl serde::Serialize) -> Result<(BTreeMap<String, Value>, Option<String>)> {
    let value = serde_json::to_value(options).map_err(|_| ApiError::internal())?;
    let public_key = match value.get("publicKey") {
        Some(Value::Object(map)) => map.clone().into_iter().collect(),
        _ => return Err(ApiError::internal()),
    };
    let mediation = value.get("mediation").and_then(Value::as_str).map(str::to_string);
    Ok((public_key, mediation))
}

fn as_object(map: BTreeMap<String, Value>) -> Value {
    Value::Object(map.into_iter().collect())
}

pub struct PasskeysAuthApi {
    pub state: AppState,
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("authPasskeyOptions", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_CONFIGURED]),
    ("authPasskey", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_CONFIGURED]),
    ("passkeysRegisterOptions", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, FRESH_PROOF, ACTIVE, NOT_YOURS, NOT_CONFIGURED]),
    ("passkeysRegister", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, ACTIVE, NOT_YOURS, NOT_CONFIGURED, &[(400, ErrorCode::PasskeyRejected)], MAIL]),
    ("passkeysList", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NOT_CONFIGURED]),
    ("passkeysDelete", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NOT_CONFIGURED, NO_PASSKEY, &[(409, ErrorCode::LastSignInMethod)]]),
];

#[OpenApi(tag = "ApiTags::Auth")]
impl PasskeysAuthApi {
    /// Passkey sign-in options
    ///
    /// Starts a passkey sign-in: the options for `navigator.credentials.get` (any passkey
    /// of this site; the authenticator lets the person choose) and a `challenge_id`,
    /// valid 5 minutes and once. 503 `not_configured` without `WEBAUTHN_RP_ID`.
    #[oai(path = "/auth/passkey/options", method = "post", operation_id = "authPasskeyOptions")]
    async fn options(&self, _auth: PublicAccess) -> Result<Json<PasskeySignInOptionsEnvelope>> {
        let (challenge_id, options) = passkeys::start_sign_in(&self.state).await?;
        let (public_key, mediation) = options_parts(&options)?;
        Ok(Json(PasskeySignInOptionsEnvelope::new(
            PasskeySignInOptions { challenge_id, public_key, mediation },
            "Passkey sign-in options created successfully.",
        )))
    }

    /// Passkey sign-in
    ///
    /// Signs in with the credential `navigator.credentials.get` returned for the options of
    /// `challenge_id`: the account and a session token, as Login. The passkey verified the
    /// person (user verification is required), so no 2FA code is asked even with 2FA on.
    /// A wrong, expired or used challenge, an unknown passkey, a bad signature, or a
    /// signature counter that did not go up (a possibly cloned authenticator, recorded as
    /// `passkey_possibly_cloned`) is the 401.
    #[oai(path = "/auth/passkey", method = "post", operation_id = "authPasskey")]
    async fn sign_in(
        &self,
        req: &Request,
        _auth: PublicAccess,
        body: JsonBody<PasskeySignInRequest>,
    ) -> Result<Json<UserWithTokenEnvelope>> {
        let body = body.0;
        let outcome =
            passkeys::finish_sign_in(&self.state, &body.challenge_id.0, as_object(body.credential), &origin(req)).await;
        match outcome {
            Ok((user, token)) => {
                let detail = Some("passkey".to_string());
                events::record(&self.state, EventKind::LoginSucceeded, Some(&user.id), &origin(req), detail).await;
                Ok(Json(UserWithTokenEnvelope::new(UserWithToken::new(&user, token), "User logged in successfully.")))
            }
            Err(SignInFailure::PossiblyCloned { user_id, passkey_id }) => {
                tracing::warn!(%user_id, %passkey_id, "passkey counter did not go up: possibly cloned");
                let detail = Some(format!("passkey: {passkey_id}"));
                events::record(&self.state, EventKind::PasskeyPossiblyCloned, Some(&user_id), &origin(req), detail)
                    .await;
                Err(ApiError::unauthorized())
            }
            Err(SignInFailure::Other(err @ ServiceError::Unauthorized)) => {
                events::record(&self.state, EventKind::LoginFailed, None, &origin(req), Some("passkey".into())).await;
                Err(err.into())
            }
            Err(SignInFailure::Other(err)) => Err(err.into()),
        }
    }
}

pub struct PasskeysApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::User")]
impl PasskeysApi {
    /// Passkey creation options
    ///
    /// Starts adding a passkey to the caller's account: the options for
    /// `navigator.credentials.create`, valid 5 minutes; a new call replaces them. The
    /// caller's passkeys are excluded. 503 `not_configured` without `WEBAUTHN_RP_ID`.
    ///
    /// A passkey is a new way in, so besides the session the body carries a fresh proof:
    /// the account's `password` while 2FA is off; while 2FA is on, a current second factor
    /// in `code` (as for Login); without a password or 2FA (Google or Apple sign-in only), a
    /// TWO_FACTOR_AUTH code from Send OTP in `code`. Missing or wrong: 401
    /// `two_factor_required` (2FA on) or `proof_required` (2FA off), with `data.proof`
    /// naming what to send; wrong guesses count toward the same locks as Login. The
    /// options can be finished (Add passkey) only by the session that asked for them.
    #[oai(path = "/users/:user_id/passkeys/options", method = "post", operation_id = "passkeysRegisterOptions")]
    async fn register_options(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: OptionalJsonBody<FreshProofRequest>,
    ) -> Result<Json<PasskeyCreationOptionsEnvelope>> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        passkeys::configured(&self.state)?;
        fresh_proof::check(&self.state, user, FreshProofRequest::proof(&body.0), client(req)).await?;
        let options = passkeys::start_registration(&self.state, user, &session.0.session_id).await?;
        let (public_key, _) = options_parts(&options)?;
        Ok(Json(PasskeyCreationOptionsEnvelope::new(
            PasskeyCreationOptions { public_key },
            "Passkey creation options created successfully.",
        )))
    }

    /// Add passkey
    ///
    /// Finishes adding a passkey with the credential `navigator.credentials.create`
    /// returned for the latest creation options, which this session must have asked for
    /// (with its fresh proof). 400 `passkey_rejected` when webauthn-rs refuses it, when the
    /// options expired, were already used or were asked for by another session, or when
    /// the credential is already registered. The new passkey is mailed to the account's
    /// address ("a passkey was added"); when that mail cannot be sent the passkey is not
    /// added (503 `mail_unavailable`: start again with new options).
    #[oai(path = "/users/:user_id/passkeys", method = "post", operation_id = "passkeysRegister")]
    async fn register(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<PasskeyRegisterRequest>,
    ) -> Result<PasskeyCreated> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let body = body.0;
        let name = passkeys::parse_name(body.name.as_ref().map(|n| n.0.as_str()))?;
        let credential = as_object(body.credential);
        let row = passkeys::finish_registration(&self.state, user, &session.0.session_id, credential, name).await?;
        let detail = Some(format!("passkey: {}", row.id));
        events::record(&self.state, EventKind::PasskeyAdded, Some(&user.id), &origin(req), detail).await;
        Ok(PasskeyCreated::Created(Json(PasskeyEnvelope::new(Passkey::from(&row), "Passkey added successfully."))))
    }

    /// List passkeys
    ///
    /// The caller's passkeys, oldest first.
    #[oai(path = "/users/:user_id/passkeys", method = "get", operation_id = "passkeysList")]
    async fn list(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Json<PasskeyListEnvelope>> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let rows = passkeys::list(&self.state, user).await?;
        Ok(Json(PasskeyListEnvelope::new(rows.iter().map(Passkey::from).collect(), "Passkeys fetched successfully.")))
    }

    /// Delete passkey
    ///
    /// Deletes one of the caller's passkeys; it no longer signs in. Refused with 409
    /// `last_sign_in_method` when it is the account's last way to sign in (no password and
    /// no other passkey). Another user's passkey is 404 `passkey_not_found`.
    #[oai(path = "/users/:user_id/passkeys/:passkey_id", method = "delete", operation_id = "passkeysDelete")]
    async fn delete(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// The passkey's id.
        passkey_id: Path<String>,
    ) -> Result<PasskeyDeleted> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        passkeys::delete(&self.state, user, &passkey_id.0).await?;
        let detail = Some(format!("passkey: {}", passkey_id.0));
        events::record(&self.state, EventKind::PasskeyDeleted, Some(&user.id), &origin(req), detail).await;
        Ok(PasskeyDeleted::NoContent)
    }
}
