//! Second factors: the e-mailed TWO_FACTOR_AUTH code, or the current code of an
//! authenticator app (RFC 6238: SHA-1, 6 digits, 30 s steps, one step either side).

use entity::users;
use rand::RngCore;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Condition};
use totp_lite::{Sha1, totp_custom};

use super::{ServiceResult, otp, tokens::TokenKeys};
use crate::{domain::OtpType, state::Clock};

const STEP_SECS: u64 = 30;

pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes)
}

pub fn otpauth_url(secret: &str, email: &str) -> String {
    let label: String = url::form_urlencoded::byte_serialize(format!("Clara:{email}").as_bytes()).collect();
    format!("otpauth://totp/{label}?secret={secret}&issuer=Clara&algorithm=SHA1&digits=6&period=30")
}

/// The app's code for `unix_secs`; tests use it too.
pub fn app_code(secret: &str, unix_secs: u64) -> Option<String> {
    let key = data_encoding::BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    Some(totp_custom::<Sha1>(STEP_SECS, 6, &key, unix_secs))
}

/// Which app secret a code may come from.
#[derive(Clone, Copy)]
pub enum AppSecret {
    Confirmed,
    /// An enrolment being confirmed by Enable 2FA (the confirmed one is also accepted).
    PendingOrConfirmed,
}

/// Returns which secret matched, so Enable 2FA can promote a pending one.
async fn check_app_code(
    db: &impl ConnectionTrait,
    clock: &Clock,
    user: &users::Model,
    which: AppSecret,
    code: &str,
) -> ServiceResult<Option<String>> {
    let mut secrets = vec![];
    if let (AppSecret::PendingOrConfirmed, Some(pending)) = (which, &user.totp_pending_secret) {
        secrets.push(pending.clone());
    }
    if let Some(confirmed) = &user.totp_secret {
        secrets.push(confirmed.clone());
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let now_step = clock.now_secs().max(0) as u64 / STEP_SECS;
    for secret in secrets {
        for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
            if app_code(&secret, step * STEP_SECS).as_deref() != Some(code) {
                continue;
            }
            // Accept each step once: the conditional update fails for a replayed code.
            let step = step as i64;
            let updated = users::Entity::update_many()
                .col_expr(users::Column::TotpLastStep, step.into())
                .filter(users::Column::Id.eq(&user.id))
                .filter(
                    Condition::any()
                        .add(users::Column::TotpLastStep.is_null())
                        .add(users::Column::TotpLastStep.lt(step)),
                )
                .exec(db)
                .await?;
            return Ok((updated.rows_affected == 1).then_some(secret));
        }
    }
    Ok(None)
}

/// Outcome of a second-factor check.
pub enum Verified {
    EmailCode,
    App { secret: String },
}

/// Accepts the e-mailed code or an app code; None when neither matches.
pub async fn verify(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user: &users::Model,
    which: AppSecret,
    code: &str,
) -> ServiceResult<Option<Verified>> {
    if let Some(secret) = check_app_code(db, clock, user, which, code).await? {
        return Ok(Some(Verified::App { secret }));
    }
    if otp::check(db, keys, clock, &user.id, OtpType::TwoFactorAuth, code).await? {
        return Ok(Some(Verified::EmailCode));
    }
    Ok(None)
}
