//! Second factors: the e-mailed TWO_FACTOR_AUTH code, the current code of an
//! authenticator app (RFC 6238: SHA-1, 6 digits, 30 s steps, one step either side), or a
//! single-use recovery code.

use entity::{recovery_codes, users};
use rand::{Rng, RngCore};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
    sea_query::{Condition, Expr},
};
use totp_lite::{Sha1, totp_custom};

use super::{ServiceResult, otp, tokens::TokenKeys};
use crate::{
    domain::{IdPrefix, OtpType, new_id},
    state::Clock,
};

/// Codes in a recovery set.
pub const RECOVERY_CODES: usize = 10;
/// No 0/o, 1/l/i: the codes are read off paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

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
    RecoveryCode,
}

/// `abcde-23456`: ten characters in two groups.
pub fn is_recovery_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 11
        && bytes[5] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 5 || RECOVERY_ALPHABET.contains(b))
}

fn new_recovery_code() -> String {
    let mut rng = rand::rng();
    let mut pick = || RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char;
    let first: String = (0..5).map(|_| pick()).collect();
    let second: String = (0..5).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// Replaces the user's recovery codes with a new set and returns it (shown once).
pub async fn new_recovery_set(
    db: &impl TransactionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user_id: &str,
) -> ServiceResult<Vec<String>> {
    let txn = db.begin().await?;
    recovery_codes::Entity::delete_many().filter(recovery_codes::Column::UserId.eq(user_id)).exec(&txn).await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = new_recovery_code();
        if codes.contains(&code) {
            continue;
        }
        recovery_codes::ActiveModel {
            id: Set(new_id(IdPrefix::RecoveryCode)),
            user_id: Set(user_id.to_string()),
            code_hash: Set(keys.code_hash("recovery", &code)),
            used_at: Set(None),
            created_at: Set(clock.now_micros()),
        }
        .insert(&txn)
        .await?;
        codes.push(code);
    }
    txn.commit().await?;
    Ok(codes)
}

/// Drops every recovery code of the user (2FA turned off or on afresh).
pub async fn clear_recovery_codes(db: &impl ConnectionTrait, user_id: &str) -> ServiceResult<()> {
    recovery_codes::Entity::delete_many().filter(recovery_codes::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

/// Spends an unused recovery code; the conditional update makes each code work once.
async fn spend_recovery_code(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user_id: &str,
    code: &str,
) -> ServiceResult<bool> {
    let updated = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(clock.now_micros()))
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::CodeHash.eq(keys.code_hash("recovery", code)))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Accepts a recovery code (2FA on), an app code, or the e-mailed code (only while no
/// app is enrolled); None when nothing matches.
pub async fn verify(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user: &users::Model,
    which: AppSecret,
    code: &str,
) -> ServiceResult<Option<Verified>> {
    if is_recovery_code(code) {
        // Only once 2FA is on: a recovery code cannot turn it on.
        let accepted =
            matches!(which, AppSecret::Confirmed) && spend_recovery_code(db, keys, clock, &user.id, code).await?;
        return Ok(accepted.then_some(Verified::RecoveryCode));
    }
    if let Some(secret) = check_app_code(db, clock, user, which, code).await? {
        return Ok(Some(Verified::App { secret }));
    }
    // Once an app is enrolled, the mailbox alone is not a second factor.
    if user.totp_secret.is_none() && otp::check(db, keys, clock, &user.id, OtpType::TwoFactorAuth, code).await? {
        return Ok(Some(Verified::EmailCode));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_their_shape() {
        for _ in 0..100 {
            let code = new_recovery_code();
            assert!(is_recovery_code(&code), "{code}");
        }
        for bad in ["abcde23456", "abcde-2345", "ABCDE-23456", "abcd0-23456", "123456", "abcde_23456"] {
            assert!(!is_recovery_code(bad), "{bad}");
        }
    }
}
