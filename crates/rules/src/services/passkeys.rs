//! Passkeys (WebAuthn), with webauthn-rs doing every check of the
//! ceremonies: challenges, origins, signatures, user verification, the signature counter.
//!
//! A ceremony's state (`PasskeyRegistration`, `DiscoverableAuthentication`) is kept in the
//! `passkey_challenges` table, not in memory, so any server process can finish what another
//! started; it lives [`CHALLENGE_TTL_SECS`] and is deleted when used (single use: the delete
//! decides, so two racing finishes cannot both succeed).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{passkey_challenges, passkeys, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr, TransactionTrait,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use webauthn_rs::{
    Webauthn,
    prelude::{
        CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
        RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, WebauthnError,
    },
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::{Resource, ServiceError, ServiceResult, accounts, notices};
use crate::{
    domain::{IdPrefix, new_id},
    state::Core,
};

/// How long a started ceremony may be finished.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The name of a passkey registered without one.
pub const DEFAULT_NAME: &str = "Passkey";
/// What the 503 names when passkeys are not configured.
pub const VARIABLES: &str = "WEBAUTHN_RP_ID (and WEBAUTHN_ORIGINS, WEBAUTHN_RP_NAME)";

const REGISTRATION: &str = "registration";
const AUTHENTICATION: &str = "authentication";

/// Why a passkey sign-in failed, for the security trail; all are 401s on the wire.
#[derive(Debug)]
pub enum SignInFailure {
    /// The counter did not go up: the credential may have been cloned.
    PossiblyCloned {
        user_id: String,
        passkey_id: String,
    },
    Other(ServiceError),
}

impl From<ServiceError> for SignInFailure {
    fn from(err: ServiceError) -> Self {
        Self::Other(err)
    }
}

fn relying_party(state: &Core) -> ServiceResult<Webauthn> {
    let config = state.config.sign_in.webauthn.as_ref().ok_or(ServiceError::NotConfigured(VARIABLES))?;
    config.build().map_err(|err| ServiceError::internal("webauthn relying party", err))
}

/// Fails with the 503 when passkeys are not configured.
pub fn configured(state: &Core) -> ServiceResult<()> {
    relying_party(state).map(|_| ())
}

/// The WebAuthn user handle of an account: derived from its id (no personal data, stable,
/// nothing to store), so a discoverable credential names its account.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = Sha256::digest(format!("clara-passkey-user:{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<String> {
    serde_json::to_string(value).map_err(|err| ServiceError::internal("passkey state", err))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> ServiceResult<T> {
    serde_json::from_str(raw).map_err(|err| ServiceError::internal("passkey state", err))
}

/// Drops ceremonies that were never finished.
async fn forget_expired(state: &Core) -> ServiceResult<()> {
    passkey_challenges::Entity::delete_many()
        .filter(passkey_challenges::Column::ExpiresAt.lt(state.clock.now_secs()))
        .exec(&state.db)
        .await?;
    Ok(())
}

async fn keep_challenge(
    state: &Core,
    kind: &str,
    user_id: Option<&str>,
    session_id: Option<&str>,
    ceremony: String,
) -> ServiceResult<String> {
    forget_expired(state).await?;
    let id = new_id(IdPrefix::PasskeyChallenge);
    passkey_challenges::ActiveModel {
        id: Set(id.clone()),
        kind: Set(kind.to_string()),
        user_id: Set(user_id.map(str::to_string)),
        session_id: Set(session_id.map(str::to_string)),
        state: Set(ceremony),
        created_at: Set(state.clock.now_micros()),
        expires_at: Set(state.clock.now_secs() + CHALLENGE_TTL_SECS),
    }
    .insert(&state.db)
    .await?;
    Ok(id)
}

/// Takes the ceremony out of the table: whoever deletes the row uses it, once.
async fn take_challenge(state: &Core, row: passkey_challenges::Model) -> ServiceResult<Option<String>> {
    let taken = passkey_challenges::Entity::delete_many()
        .filter(passkey_challenges::Column::Id.eq(&row.id))
        .exec(&state.db)
        .await?
        .rows_affected
        == 1;
    Ok((taken && row.expires_at >= state.clock.now_secs()).then_some(row.state))
}

pub async fn list(state: &Core, user: &users::Model) -> ServiceResult<Vec<passkeys::Model>> {
    configured(state)?;
    Ok(passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(&user.id))
        .order_by_asc(passkeys::Column::CreatedAt)
        .order_by_asc(passkeys::Column::Id)
        .all(&state.db)
        .await?)
}

/// Starts a registration: the creation options for `navigator.credentials.create`. A new
/// start replaces the user's unfinished one. The user's passkeys are excluded (an
/// authenticator that already holds one says so instead of making a second).
///
/// The caller has checked the fresh proof (`fresh_proof::check`); the stored ceremony is
/// bound to `session_id`, the session that gave it, and only that session can finish it:
/// the proof is given once, here, and no other way to store a registration exists.
pub async fn start_registration(
    state: &Core,
    user: &users::Model,
    session_id: &str,
) -> ServiceResult<CreationChallengeResponse> {
    let rp = relying_party(state)?;
    let mut existing = Vec::new();
    for row in passkeys::Entity::find().filter(passkeys::Column::UserId.eq(&user.id)).all(&state.db).await? {
        existing.push(from_json::<Passkey>(&row.credential)?.cred_id().clone());
    }
    let display = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    let (mut options, registration) = rp
        .start_passkey_registration(user_handle(&user.id), &user.email, &display, Some(existing))
        .map_err(|err| ServiceError::internal("passkey registration", err))?;
    // Sign-in is discoverable (no e-mail asked first), so the credential must be one the
    // authenticator can find by itself. Only what the browser is told changes: webauthn-rs
    // checks no resident-key requirement when the registration finishes.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    passkey_challenges::Entity::delete_many()
        .filter(passkey_challenges::Column::UserId.eq(&user.id))
        .filter(passkey_challenges::Column::Kind.eq(REGISTRATION))
        .exec(&state.db)
        .await?;
    keep_challenge(state, REGISTRATION, Some(&user.id), Some(session_id), to_json(&registration)?).await?;
    Ok(options)
}

/// A passkey name: trimmed, 1–64 characters, no control characters.
pub fn parse_name(raw: Option<&str>) -> ServiceResult<String> {
    let Some(raw) = raw else { return Ok(DEFAULT_NAME.to_string()) };
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ServiceError::InvalidInput("passkey name"));
    }
    Ok(name.to_string())
}

/// Finishes the user's registration with the browser's `PublicKeyCredential` (JSON): only
/// for options this session started (after its fresh proof). The new passkey is mailed to
/// the account's address; if that mail cannot be sent the passkey is taken back (503), so
/// no passkey is ever added unannounced.
pub async fn finish_registration(
    state: &Core,
    user: &users::Model,
    session_id: &str,
    credential: serde_json::Value,
    name: String,
) -> ServiceResult<passkeys::Model> {
    let rp = relying_party(state)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(credential).map_err(|_| ServiceError::InvalidInput("credential"))?;
    let pending = passkey_challenges::Entity::find()
        .filter(passkey_challenges::Column::UserId.eq(&user.id))
        .filter(passkey_challenges::Column::Kind.eq(REGISTRATION))
        .filter(passkey_challenges::Column::SessionId.eq(session_id))
        .order_by_desc(passkey_challenges::Column::CreatedAt)
        .one(&state.db)
        .await?
        .ok_or(ServiceError::PasskeyRejected)?;
    let ceremony = take_challenge(state, pending).await?.ok_or(ServiceError::PasskeyRejected)?;
    let registration: PasskeyRegistration = from_json(&ceremony)?;
    let passkey = rp.finish_passkey_registration(&credential, &registration).map_err(|err| {
        tracing::info!(user_id = %user.id, %err, "passkey registration refused");
        ServiceError::PasskeyRejected
    })?;
    let row = passkeys::ActiveModel {
        id: Set(new_id(IdPrefix::Passkey)),
        user_id: Set(user.id.clone()),
        credential_id: Set(URL_SAFE_NO_PAD.encode(passkey.cred_id())),
        name: Set(name),
        credential: Set(to_json(&passkey)?),
        created_at: Set(state.clock.now_micros()),
        last_used_at: Set(None),
    };
    let row = match row.insert(&state.db).await {
        Ok(row) => row,
        // The credential is already registered (to this account or another).
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(ServiceError::PasskeyRejected);
        }
        Err(err) => return Err(err.into()),
    };
    if let Err(err) = notices::passkey_added(state, user, &row.name).await {
        passkeys::Entity::delete_by_id(row.id.clone()).exec(&state.db).await?;
        return Err(err);
    }
    Ok(row)
}

/// Deletes one of the user's passkeys, unless it is the account's last way to sign in
/// (no password and no other passkey).
pub async fn delete(state: &Core, user: &users::Model, passkey_id: &str) -> ServiceResult<()> {
    configured(state)?;
    let txn = state.db.begin().await?;
    // Two deletions cannot both take "the other one".
    super::lock_account(&txn, &user.id).await?;
    let user =
        users::Entity::find_by_id(user.id.clone()).one(&txn).await?.ok_or(ServiceError::NotFound(Resource::User))?;
    let row = passkeys::Entity::find_by_id(passkey_id.to_string())
        .filter(passkeys::Column::UserId.eq(&user.id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Passkey))?;
    let others = passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(&user.id))
        .filter(passkeys::Column::Id.ne(&row.id))
        .count(&txn)
        .await?;
    if user.password_hash.is_none() && others == 0 {
        return Err(ServiceError::LastSignInMethod);
    }
    passkeys::Entity::delete_by_id(row.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Starts a discoverable sign-in: the challenge id to send back, and the request options
/// for `navigator.credentials.get`.
pub async fn start_sign_in(state: &Core) -> ServiceResult<(String, RequestChallengeResponse)> {
    let rp = relying_party(state)?;
    let (options, authentication) =
        rp.start_discoverable_authentication().map_err(|err| ServiceError::internal("passkey sign-in", err))?;
    let id = keep_challenge(state, AUTHENTICATION, None, None, to_json(&authentication)?).await?;
    Ok((id, options))
}

/// Finishes a sign-in with the browser's assertion (JSON): the account and a new session
/// token. A passkey is a second factor by itself (user verification is required), so no
/// 2FA code is asked.
pub async fn finish_sign_in(
    state: &Core,
    challenge_id: &str,
    credential: serde_json::Value,
    origin: &crate::services::events::Origin,
) -> Result<(users::Model, String), SignInFailure> {
    let rp = relying_party(state)?;
    let credential: PublicKeyCredential =
        serde_json::from_value(credential).map_err(|_| ServiceError::InvalidInput("credential"))?;
    let pending = passkey_challenges::Entity::find_by_id(challenge_id.to_string())
        .filter(passkey_challenges::Column::Kind.eq(AUTHENTICATION))
        .one(&state.db)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::Unauthorized)?;
    let ceremony = take_challenge(state, pending).await?.ok_or(ServiceError::Unauthorized)?;
    let authentication: DiscoverableAuthentication = from_json(&ceremony)?;
    let (handle, credential_id) =
        rp.identify_discoverable_authentication(&credential).map_err(|_| ServiceError::Unauthorized)?;
    let row = passkeys::Entity::find()
        .filter(passkeys::Column::CredentialId.eq(URL_SAFE_NO_PAD.encode(credential_id)))
        .one(&state.db)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::Unauthorized)?;
    if user_handle(&row.user_id) != handle {
        return Err(ServiceError::Unauthorized.into());
    }
    let mut passkey: Passkey = from_json(&row.credential)?;
    let result = match rp.finish_discoverable_authentication_v2(&credential, authentication, &passkey) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(SignInFailure::PossiblyCloned { user_id: row.user_id, passkey_id: row.id });
        }
        Err(err) => {
            tracing::info!(passkey_id = %row.id, %err, "passkey sign-in refused");
            return Err(ServiceError::Unauthorized.into());
        }
    };
    let user = super::users::find_user(state, &row.user_id).await.map_err(|_| ServiceError::Unauthorized)?;
    if !user.is_active {
        return Err(ServiceError::Unauthorized.into());
    }
    // The counter and backup flags, as webauthn-rs advises after every sign-in. Written only
    // over the credential this check read: if another sign-in with the same passkey moved
    // the counter meanwhile, two copies were used at once, and this one is refused too.
    passkey.update_credential(&result);
    let updated = passkeys::Entity::update_many()
        .col_expr(passkeys::Column::Credential, Expr::value(to_json(&passkey)?))
        .col_expr(passkeys::Column::LastUsedAt, Expr::value(Some(state.clock.now_micros())))
        .filter(passkeys::Column::Id.eq(&row.id))
        .filter(passkeys::Column::Credential.eq(&row.credential))
        .exec(&state.db)
        .await
        .map_err(ServiceError::from)?;
    if updated.rows_affected != 1 {
        return Err(SignInFailure::PossiblyCloned { user_id: row.user_id, passkey_id: row.id });
    }
    let token = accounts::start_session(state, &user.id, origin).await?;
    Ok((user, token))
}
