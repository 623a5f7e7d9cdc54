//! The account life cycle: sign-up, sign-in, sessions, codes, 2FA and profile changes.

use entity::{sessions, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, SqlErr, TransactionTrait,
};

use super::{
    Resource, ServiceError, ServiceResult, apple_once,
    events::Origin,
    otp,
    passwords::Client,
    throttle::{self, Attempt},
    two_factor::{self, AppSecret, Verified},
};
use crate::{
    domain::{Email, IdPrefix, OtpType, Password, PersonName, new_id},
    identity::JwksError,
    mail::kinds::CodeMail,
    state::Core,
};

pub struct NewAccount {
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub email: Email,
    pub password: Password,
}

async fn user_by_email(state: &Core, email: &Email) -> ServiceResult<Option<users::Model>> {
    Ok(users::Entity::find().filter(users::Column::Email.eq(email.as_str())).one(&state.db).await?)
}

/// The id of the account with this e-mail, if any (for the security trail).
pub async fn user_id_for_email(state: &Core, email: &str) -> Option<String> {
    let email: Email = email.parse().ok()?;
    user_by_email(state, &email).await.ok().flatten().map(|u| u.id)
}

/// Starts a session row, with where it was made from, and signs its token.
pub(crate) async fn start_session(state: &Core, user_id: &str, origin: &Origin) -> ServiceResult<String> {
    let now_micros = state.clock.now_micros();
    let now = now_micros.div_euclid(1_000_000);
    let expires_at = now + state.config.accounts.session_ttl.as_secs() as i64;
    let session_id = new_id(IdPrefix::Session);
    sessions::ActiveModel {
        id: Set(session_id.clone()),
        user_id: Set(user_id.to_string()),
        created_at: Set(now_micros),
        expires_at: Set(expires_at),
        user_agent: Set(super::sessions::capped_user_agent(origin.user_agent.as_deref())),
        ip_address: Set(origin.address.clone()),
        last_used_at: Set(now_micros),
    }
    .insert(&state.db)
    .await?;
    Ok(state.tokens.user_token(user_id, &session_id, now, expires_at))
}

async fn send_code(state: &Core, user: &users::Model, otp_type: OtpType, welcome: bool) -> ServiceResult<()> {
    let code = otp::issue(
        &state.db,
        &state.tokens,
        &state.clock,
        state.config.accounts.otp_ttl.as_secs() as i64,
        &user.id,
        otp_type,
    )
    .await?;
    let ttl_minutes = state.config.accounts.otp_ttl.as_secs() / 60;
    // The templates were rendered once at start-up, so this fails only on a user's own data.
    let kind = CodeMail::new(otp_type, welcome, &code, ttl_minutes);
    let sent = match state.mail_templates.mail(&kind, &user.email, &user.first_name) {
        Ok(mail) => state.mailer.send(mail).await,
        Err(err) => Err(err.into()),
    };
    state.metrics.emails.with_label_values(&[if sent.is_ok() { "sent" } else { "failed" }]).inc();
    sent.map_err(|err| {
        tracing::error!(user_id = %user.id, otp_type = otp_type.as_str(), %err, "mail not sent");
        ServiceError::MailFailed
    })
}

/// A new account row with the contract's defaults: 2FA off, dark mode on, 0 credits.
fn new_user_row(
    state: &Core,
    email: &Email,
    password_hash: Option<String>,
    first_name: PersonName,
    last_name: Option<PersonName>,
    is_active: bool,
) -> users::ActiveModel {
    let now = state.clock.now_micros();
    users::ActiveModel {
        id: Set(new_id(IdPrefix::User)),
        email: Set(email.as_str().to_string()),
        password_hash: Set(password_hash),
        first_name: Set(first_name.into_inner()),
        last_name: Set(last_name.map(PersonName::into_inner)),
        credits: Set(0),
        is_active: Set(is_active),
        is_2fa_enabled: Set(false),
        is_dark_mode: Set(true),
        totp_secret: Set(None),
        totp_pending_secret: Set(None),
        totp_last_step: Set(None),
        stripe_customer_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Signs up. The e-mail is looked at before the password is hashed, so a sign-up that
/// will be refused costs no bcrypt run.
pub async fn register(
    state: &Core,
    account: NewAccount,
    client: Client,
    origin: &Origin,
) -> ServiceResult<(users::Model, String)> {
    if user_by_email(state, &account.email).await?.is_some() {
        return Err(ServiceError::AlreadyExists);
    }
    let hash = state.passwords.hash(&account.password, client).await?;
    let user = new_user_row(state, &account.email, Some(hash), account.first_name, account.last_name, false);
    // The unique index decides, so two racing sign-ups cannot both win.
    let user = match user.insert(&state.db).await {
        Ok(user) => user,
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(ServiceError::AlreadyExists);
        }
        Err(err) => return Err(err.into()),
    };
    if let Err(err) = send_code(state, &user, OtpType::Activation, true).await {
        // Without the mail the account could never be activated: take it back.
        users::Entity::delete_by_id(user.id.clone()).exec(&state.db).await?;
        return Err(err);
    }
    let token = start_session(state, &user.id, origin).await?;
    Ok((user, token))
}

pub async fn login(
    state: &Core,
    email: &str,
    password: &str,
    code: Option<&str>,
    client: Client,
    origin: &Origin,
) -> ServiceResult<(users::Model, String)> {
    let user = match email.parse::<Email>() {
        Ok(email) => user_by_email(state, &email).await?,
        Err(_) => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    // Always one bcrypt verify, known e-mail or not.
    let password_ok = state.passwords.verify(password, hash, client).await?;
    let user = match user {
        Some(user) if password_ok => user,
        _ => return Err(ServiceError::Unauthorized),
    };
    second_factor_for_sign_in(state, &user, code).await?;
    let token = start_session(state, &user.id, origin).await?;
    Ok((user, token))
}

/// With 2FA on, a sign-in (password, Google or Apple) needs a valid second factor: none or a
/// wrong one is the 401 that says 2FA is on.
async fn second_factor_for_sign_in(state: &Core, user: &users::Model, code: Option<&str>) -> ServiceResult<()> {
    if !user.is_2fa_enabled {
        return Ok(());
    }
    let code = code.ok_or(ServiceError::TwoFactor { is_2fa_enabled: true })?;
    two_factor::verify(&state.db, &state.tokens, &state.clock, user, AppSecret::Confirmed, code)
        .await?
        .map(|_| ())
        .ok_or(ServiceError::TwoFactor { is_2fa_enabled: true })
}

/// What an identity provider's refusal means to the caller: its feature is off (503
/// naming `variables`), the token is refused (401), or its key set could not be had
/// (logged; a 401 too, as the token could not be verified).
fn provider_error(err: JwksError, provider: &str, variables: &'static str) -> ServiceError {
    match err {
        JwksError::NotConfigured => ServiceError::NotConfigured(variables),
        JwksError::Invalid => ServiceError::Unauthorized,
        JwksError::KeySet(reason) => {
            tracing::error!(%reason, provider, "identity provider key set unavailable");
            ServiceError::Unauthorized
        }
    }
}

/// Signs in with a Google ID token; the flag says whether the account is new. See
/// [`federated_sign_in`] for the account rules.
pub async fn google(
    state: &Core,
    id_token: &str,
    code: Option<&str>,
    client: Client,
    origin: &Origin,
) -> ServiceResult<(users::Model, String, bool)> {
    let claims = state
        .identity
        .google(id_token)
        .await
        .map_err(|err| provider_error(err, "google", "GOOGLE_CLIENT_ID (and GOOGLE_JWKS_URL)"))?;
    let email: Email = claims.email.parse().map_err(|_| ServiceError::Unauthorized)?;
    let names = || {
        let local_part = email.as_str().split('@').next().unwrap_or("User");
        let first = claims.given_name.as_deref().or(claims.name.as_deref()).unwrap_or(local_part);
        let first_name = PersonName::parse(&first.chars().take(50).collect::<String>())
            .or_else(|_| PersonName::parse("User"))
            .map_err(|_| ServiceError::invariant("the default name parses"))?;
        let last_name =
            claims.family_name.as_deref().and_then(|n| PersonName::parse(&n.chars().take(50).collect::<String>()).ok());
        Ok((first_name, last_name))
    };
    federated_sign_in(state, &email, names, code, client, origin, async { Ok(()) }).await
}

/// What the 503 names when Sign in with Apple is not configured.
pub const APPLE_VARIABLES: &str = "APPLE_CLIENT_IDS (and APPLE_JWKS_URL)";

/// The names Sign in with Apple's client passed on (Apple gives them to the app once),
/// already validated as Register's.
pub struct AppleNames {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

/// Signs in with an Apple identity token (and the nonce the client used, if any); the
/// flag says whether the account is new. The names are used only to create an account
/// (the address's local part when none is given). See [`federated_sign_in`].
///
/// A token signs in once; with `APPLE_REQUIRE_NONCE` its `nonce` claim must also be the
/// SHA-256 hex of a live nonce this server issued, which it uses up (see
/// [`apple_once`]). Both are checked before anything changes and used up only once the
/// sign-in is decided, so a token refused for want of a 2FA code can be sent again with it.
pub async fn apple(
    state: &Core,
    id_token: &str,
    nonce: Option<&str>,
    names: AppleNames,
    code: Option<&str>,
    client: Client,
    origin: &Origin,
) -> ServiceResult<(users::Model, String, bool)> {
    let identity =
        state.identity.apple(id_token, nonce).await.map_err(|err| provider_error(err, "apple", APPLE_VARIABLES))?;
    let nonce_claim = match identity.nonce.as_deref() {
        Some(claim) if state.config.sign_in.apple_require_nonce => {
            if !apple_once::nonce_is_live(state, claim).await? {
                return Err(ServiceError::Unauthorized);
            }
            Some(claim)
        }
        None if state.config.sign_in.apple_require_nonce => return Err(ServiceError::Unauthorized),
        _ => None,
    };
    if apple_once::token_was_used(state, id_token).await? {
        return Err(ServiceError::Unauthorized);
    }
    let email: Email = identity.email.parse().map_err(|_| ServiceError::Unauthorized)?;
    let names = || {
        let first_name = match names.first_name {
            Some(name) => name,
            None => {
                let local_part = email.as_str().split('@').next().unwrap_or("User");
                PersonName::parse(&local_part.chars().take(50).collect::<String>())
                    .or_else(|_| PersonName::parse("User"))
                    .map_err(|_| ServiceError::invariant("the default name parses"))?
            }
        };
        Ok((first_name, names.last_name))
    };
    let use_up = async {
        match apple_once::use_up(state, nonce_claim, id_token, identity.exp).await? {
            true => Ok(()),
            false => Err(ServiceError::Unauthorized),
        }
    };
    federated_sign_in(state, &email, names, code, client, origin, use_up).await
}

/// A sign-in with an identity provider's verified address; the flag says whether the
/// account is new (`names` makes its names, called only then). 2FA is honoured as for
/// Login (`code`, counted against the account's code attempts). An account that was
/// registered but never activated is taken over by the address's proven owner:
/// activated, with the registrant's password and sessions dropped. `decided` runs once the
/// sign-in is otherwise decided (the second factor checked), before any session is made: a
/// provider's single-use values are used up there.
async fn federated_sign_in(
    state: &Core,
    email: &Email,
    names: impl FnOnce() -> ServiceResult<(PersonName, Option<PersonName>)>,
    code: Option<&str>,
    client: Client,
    origin: &Origin,
    decided: impl Future<Output = ServiceResult<()>>,
) -> ServiceResult<(users::Model, String, bool)> {
    if let Some(user) = user_by_email(state, email).await? {
        let user = if user.is_active { user } else { claim_unactivated(state, user).await? };
        if user.is_2fa_enabled {
            let check = second_factor_for_sign_in(state, &user, code);
            throttle::guarded(state, Attempt::Code, &user.email, client, code.is_some(), check).await?;
        }
        decided.await?;
        let token = start_session(state, &user.id, origin).await?;
        return Ok((user, token, false));
    }
    let (first_name, last_name) = names()?;
    decided.await?;
    let user = new_user_row(state, email, None, first_name, last_name, true);
    let (user, created) = match user.insert(&state.db).await {
        Ok(user) => (user, true),
        // A parallel sign-in made it first: log into that one.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            (user_by_email(state, email).await?.ok_or(ServiceError::Unauthorized)?, false)
        }
        Err(err) => return Err(err.into()),
    };
    let token = start_session(state, &user.id, origin).await?;
    Ok((user, token, created))
}

/// Activates a never-activated account for the owner of its address, dropping what the
/// registrant (who may not be that owner) set: the password, every session and any API key.
async fn claim_unactivated(state: &Core, user: users::Model) -> ServiceResult<users::Model> {
    let txn = state.db.begin().await?;
    sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(&user.id)).exec(&txn).await?;
    super::api_keys::revoke(&txn, &user.id).await?;
    let mut active = user.into_active_model();
    active.is_active = Set(true);
    active.password_hash = Set(None);
    active.updated_at = Set(state.clock.now_micros());
    let user = gone_is_not_found(active.update(&txn).await)?;
    txn.commit().await?;
    state.auth_cache.forget(&user.id).await;
    Ok(user)
}

pub async fn logout(state: &Core, user_id: &str, session_id: &str) -> ServiceResult<()> {
    state.auth_cache.publish(user_id).await?;
    sessions::Entity::delete_by_id(session_id.to_string()).exec(&state.db).await?;
    state.auth_cache.forget(user_id).await;
    Ok(())
}

pub async fn send_otp(state: &Core, email: &Email, otp_type: OtpType) -> ServiceResult<()> {
    let user = user_by_email(state, email).await?.ok_or(ServiceError::NotFound(Resource::User))?;
    if otp_type == OtpType::Activation && user.is_active {
        return Err(ServiceError::AlreadyActive);
    }
    send_code(state, &user, otp_type, false).await
}

/// Activates the account with its ACTIVATION code. The code proves the address, not that
/// the registrant owns it (anyone can register any address): every session and API key
/// made before it ends, so a squatter who registered the owner's address keeps nothing,
/// and the owner signs in afresh.
pub async fn activate(state: &Core, email: &Email, code: &str) -> ServiceResult<users::Model> {
    let user = user_by_email(state, email).await?.ok_or(ServiceError::NotFound(Resource::User))?;
    if user.is_active {
        return Err(ServiceError::AlreadyActive);
    }
    otp::consume(&state.db, &state.tokens, &state.clock, &user.id, OtpType::Activation, code).await?;
    let txn = state.db.begin().await?;
    sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(&user.id)).exec(&txn).await?;
    super::api_keys::revoke(&txn, &user.id).await?;
    let mut active = user.into_active_model();
    active.is_active = Set(true);
    active.updated_at = Set(state.clock.now_micros());
    let user = gone_is_not_found(active.update(&txn).await)?;
    txn.commit().await?;
    state.auth_cache.forget(&user.id).await;
    Ok(user)
}

/// Sets a new password with a CHANGE_PASSWORD code. `keep_session` is the caller's
/// session when they used a user token; every other session of the user ends, and so
/// does the API key.
pub async fn change_password(
    state: &Core,
    email: &Email,
    password: &Password,
    code: &str,
    keep_session: Option<&str>,
    client: Client,
) -> ServiceResult<()> {
    let user = user_by_email(state, email).await?.ok_or(ServiceError::NotFound(Resource::User))?;
    // Before the code is used, so that the client can retry with it.
    state.auth_cache.publish(&user.id).await?;
    otp::consume(&state.db, &state.tokens, &state.clock, &user.id, OtpType::ChangePassword, code).await?;
    let hash = state.passwords.hash(password, client).await?;
    let txn = state.db.begin().await?;
    let mut active = user.clone().into_active_model();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(state.clock.now_micros());
    gone_is_not_found(active.update(&txn).await)?;
    let mut ended = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(&user.id));
    if let Some(keep) = keep_session {
        ended = ended.filter(sessions::Column::Id.ne(keep));
    }
    ended.exec(&txn).await?;
    // Whoever knew the old password may have read the key: it dies too (View makes a new one).
    super::api_keys::revoke(&txn, &user.id).await?;
    txn.commit().await?;
    state.auth_cache.forget(&user.id).await;
    Ok(())
}

/// Starts an authenticator-app enrolment; the caller checked the fresh proof
/// (`fresh_proof::check`), so a stolen session alone cannot add or swap the authenticator.
pub async fn start_totp_enrolment(state: &Core, user: &users::Model) -> ServiceResult<(String, String)> {
    let secret = two_factor::new_secret();
    let mut active = user.clone().into_active_model();
    active.totp_pending_secret = Set(Some(secret.clone()));
    active.updated_at = Set(state.clock.now_micros());
    gone_is_not_found(active.update(&state.db).await)?;
    state.auth_cache.forget(&user.id).await;
    let url = two_factor::otpauth_url(&secret, &user.email);
    Ok((secret, url))
}

/// Turns 2FA on or off after a valid second factor; a wrong code reports the current state.
pub async fn set_two_factor(
    state: &Core,
    user: &users::Model,
    enable: bool,
    code: &str,
) -> ServiceResult<users::Model> {
    let which = if enable { AppSecret::PendingOrConfirmed } else { AppSecret::Confirmed };
    let verified = two_factor::verify(&state.db, &state.tokens, &state.clock, user, which, code)
        .await?
        .ok_or(ServiceError::TwoFactor { is_2fa_enabled: user.is_2fa_enabled })?;
    // A new state of 2FA starts without recovery codes (Recovery Codes makes a set);
    // confirming a new app while 2FA stays on keeps them.
    if enable != user.is_2fa_enabled {
        two_factor::clear_recovery_codes(&state.db, &user.id).await?;
    }
    let mut active = user.clone().into_active_model();
    active.is_2fa_enabled = Set(enable);
    if enable {
        if let Verified::App { secret } = verified {
            active.totp_secret = Set(Some(secret));
            active.totp_pending_secret = Set(None);
        }
    } else {
        active.totp_secret = Set(None);
        active.totp_pending_secret = Set(None);
        active.totp_last_step = Set(None);
    }
    active.updated_at = Set(state.clock.now_micros());
    let user = gone_is_not_found(active.update(&state.db).await)?;
    state.auth_cache.forget(&user.id).await;
    Ok(user)
}

/// A new set of ten recovery codes, after a valid second factor (2FA must be on).
pub async fn new_recovery_codes(state: &Core, user: &users::Model, code: &str) -> ServiceResult<Vec<String>> {
    if !user.is_2fa_enabled {
        return Err(ServiceError::TwoFactor { is_2fa_enabled: false });
    }
    two_factor::verify(&state.db, &state.tokens, &state.clock, user, AppSecret::Confirmed, code)
        .await?
        .ok_or(ServiceError::TwoFactor { is_2fa_enabled: true })?;
    two_factor::new_recovery_set(&state.db, &state.tokens, &state.clock, &user.id).await
}

/// Checks a DELETE_ACCOUNT code, then deletes the account with everything of it.
pub async fn delete_own_account(state: &Core, user: &users::Model, code: &str) -> ServiceResult<()> {
    state.auth_cache.publish(&user.id).await?;
    if !otp::check(&state.db, &state.tokens, &state.clock, &user.id, OtpType::DeleteAccount, code).await? {
        return Err(ServiceError::Unauthorized);
    }
    super::admin::delete_user(state, &user.id).await
}

pub struct ProfileChanges {
    pub first_name: Option<PersonName>,
    /// Outer None: leave as is; inner None: clear it.
    pub last_name: Option<Option<PersonName>>,
    pub is_dark_mode: Option<bool>,
}

pub async fn update_profile(state: &Core, user: &users::Model, changes: ProfileChanges) -> ServiceResult<users::Model> {
    let mut active = user.clone().into_active_model();
    if let Some(first) = changes.first_name {
        active.first_name = Set(first.into_inner());
    }
    if let Some(last) = changes.last_name {
        active.last_name = Set(last.map(PersonName::into_inner));
    }
    if let Some(dark) = changes.is_dark_mode {
        active.is_dark_mode = Set(dark);
    }
    if !active.is_changed() {
        return Ok(user.clone());
    }
    active.updated_at = Set(state.clock.now_micros());
    let user = gone_is_not_found(active.update(&state.db).await)?;
    state.auth_cache.forget(&user.id).await;
    Ok(user)
}

/// An update of a user row that matched no row: the account was deleted between the
/// credential check and the update (a request racing Delete User, as schemathesis found with
/// two workers). That is a 404 `user_not_found`, not a 500.
fn gone_is_not_found<T>(result: Result<T, sea_orm::DbErr>) -> ServiceResult<T> {
    match result {
        Err(sea_orm::DbErr::RecordNotUpdated) => Err(ServiceError::NotFound(Resource::User)),
        other => Ok(other?),
    }
}
