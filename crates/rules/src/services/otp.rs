//! One-time codes: 6 digits, one live code per user and type, stored as a keyed hash,
//! single use, dead after its TTL or after 5 wrong tries.

use entity::otp_codes;
use rand::Rng;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{ServiceError, ServiceResult, tokens::TokenKeys};
use crate::{
    domain::{IdPrefix, OtpType, new_id},
    state::Clock,
};

pub const MAX_WRONG_TRIES: i32 = 5;

fn scope(user_id: &str, otp_type: OtpType) -> String {
    format!("{user_id}:{}", otp_type.as_str())
}

/// Makes a new code, replacing any live one of the same type; returns it for the e-mail.
pub async fn issue(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    ttl_secs: i64,
    user_id: &str,
    otp_type: OtpType,
) -> ServiceResult<String> {
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let row = otp_codes::ActiveModel {
        id: Set(new_id(IdPrefix::Otp)),
        user_id: Set(user_id.to_string()),
        otp_type: Set(otp_type.as_str().to_string()),
        code_hash: Set(keys.code_hash(&scope(user_id, otp_type), &code)),
        failed_attempts: Set(0),
        expires_at: Set(clock.now_secs() + ttl_secs),
        created_at: Set(clock.now_micros()),
    };
    otp_codes::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([otp_codes::Column::UserId, otp_codes::Column::OtpType])
                .update_columns([
                    otp_codes::Column::Id,
                    otp_codes::Column::CodeHash,
                    otp_codes::Column::FailedAttempts,
                    otp_codes::Column::ExpiresAt,
                    otp_codes::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(code)
}

/// True when `code` is the live code of this type; a match is consumed at once.
/// Each try is counted before the code is compared, by a conditional update, so that
/// however many arrive at once no more than `MAX_WRONG_TRIES` are ever compared; and
/// the consuming delete names the exact row, so of two requests with the same right
/// code only one succeeds.
pub async fn check(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user_id: &str,
    otp_type: OtpType,
    code: &str,
) -> ServiceResult<bool> {
    let live = otp_codes::Entity::find()
        .filter(otp_codes::Column::UserId.eq(user_id))
        .filter(otp_codes::Column::OtpType.eq(otp_type.as_str()))
        .one(db)
        .await?;
    let Some(live) = live else { return Ok(false) };
    if live.expires_at <= clock.now_secs() || live.failed_attempts >= MAX_WRONG_TRIES {
        otp_codes::Entity::delete_by_id(live.id).exec(db).await?;
        return Ok(false);
    }
    let counted = otp_codes::Entity::update_many()
        .col_expr(otp_codes::Column::FailedAttempts, Expr::col(otp_codes::Column::FailedAttempts).add(1))
        .filter(otp_codes::Column::Id.eq(&live.id))
        .filter(otp_codes::Column::FailedAttempts.lt(MAX_WRONG_TRIES))
        .exec(db)
        .await?;
    if counted.rows_affected != 1 {
        // Burned (or replaced) since it was read.
        return Ok(false);
    }
    let given = keys.code_hash(&scope(user_id, otp_type), code);
    let matches: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), live.code_hash.as_bytes()).into();
    if !matches {
        return Ok(false);
    }
    let consumed = otp_codes::Entity::delete_many().filter(otp_codes::Column::Id.eq(&live.id)).exec(db).await?;
    Ok(consumed.rows_affected == 1)
}

/// Like [`check`], but a wrong or missing code is an error.
pub async fn consume(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    clock: &Clock,
    user_id: &str,
    otp_type: OtpType,
    code: &str,
) -> ServiceResult<()> {
    if check(db, keys, clock, user_id, otp_type, code).await? { Ok(()) } else { Err(ServiceError::Unauthorized) }
}
