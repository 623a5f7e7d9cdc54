//! Sign in with Apple's single-use values: the nonces this server issues
//! (`POST /auth/apple/nonce`), each good once within [`NONCE_TTL_SECS`], and the identity
//! tokens already used, each good once. Both live in the `apple_single_use` table, so a
//! nonce issued by one server process is accepted by another, and a token used on one is
//! refused by all; the row's primary key decides between racing uses.
//!
//! Without them an identity token copied from a log, a proxy or a compromised device signs
//! in again and again for its whole lifetime; with a server nonce the token also proves that
//! it was made for a sign-in this server started a moment ago.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::apple_single_use;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};
use sha2::{Digest, Sha256};

use super::ServiceResult;
use crate::state::Core;

/// How long an issued nonce may be used.
pub const NONCE_TTL_SECS: i64 = 600;
/// The verifier's leeway on `exp`: a used token is remembered this long past its expiry.
const EXP_LEEWAY_SECS: i64 = 30;

fn sha256_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

fn nonce_id(claim_hex: &str) -> String {
    format!("nonce:{}", claim_hex.to_ascii_lowercase())
}

fn token_id(id_token: &str) -> String {
    format!("token:{}", sha256_hex(id_token.as_bytes()))
}

/// Whether a `nonce` claim has the shape of the SHA-256 hex the app must send.
fn is_sha256_hex(claim: &str) -> bool {
    claim.len() == 64 && claim.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Drops nonces and used tokens past their time (nothing can use them any more).
async fn forget_expired(state: &Core) -> ServiceResult<()> {
    apple_single_use::Entity::delete_many()
        .filter(apple_single_use::Column::ExpiresAt.lt(state.clock.now_secs()))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// A new nonce: 32 random bytes, base64url. Only its SHA-256 is kept, which is what the
/// token's claim carries.
pub async fn issue_nonce(state: &Core) -> ServiceResult<String> {
    forget_expired(state).await?;
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    apple_single_use::ActiveModel {
        id: Set(nonce_id(&sha256_hex(nonce.as_bytes()))),
        expires_at: Set(state.clock.now_secs() + NONCE_TTL_SECS),
    }
    .insert(&state.db)
    .await?;
    Ok(nonce)
}

async fn live(state: &Core, id: String) -> ServiceResult<bool> {
    let row = apple_single_use::Entity::find_by_id(id).one(&state.db).await?;
    Ok(row.is_some_and(|row| row.expires_at >= state.clock.now_secs()))
}

/// Whether `claim` (the token's `nonce`) is the SHA-256 hex of a nonce issued and not yet
/// used or expired. Reads only: [`use_up`] takes it.
pub async fn nonce_is_live(state: &Core, claim: &str) -> ServiceResult<bool> {
    Ok(is_sha256_hex(claim) && live(state, nonce_id(claim)).await?)
}

/// Whether this identity token has already signed in.
pub async fn token_was_used(state: &Core, id_token: &str) -> ServiceResult<bool> {
    live(state, token_id(id_token)).await
}

/// Uses the token (remembered until `exp`) and the nonce its claim names, if any; false
/// when another sign-in used either first. Called once the sign-in is otherwise decided (the
/// second factor checked), so that a token refused for want of a code can be sent again
/// with it.
pub async fn use_up(state: &Core, nonce_claim: Option<&str>, id_token: &str, exp: i64) -> ServiceResult<bool> {
    forget_expired(state).await?;
    let recorded = apple_single_use::ActiveModel {
        id: Set(token_id(id_token)),
        expires_at: Set(exp.saturating_add(EXP_LEEWAY_SECS)),
    }
    .insert(&state.db)
    .await;
    match recorded {
        Ok(_) => {}
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => return Ok(false),
        Err(err) => return Err(err.into()),
    }
    let Some(claim) = nonce_claim else { return Ok(true) };
    let taken = apple_single_use::Entity::delete_many()
        .filter(apple_single_use::Column::Id.eq(nonce_id(claim)))
        .filter(apple_single_use::Column::ExpiresAt.gte(state.clock.now_secs()))
        .exec(&state.db)
        .await?
        .rows_affected;
    Ok(taken == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_hex_can_name_a_nonce() {
        assert!(is_sha256_hex(&sha256_hex(b"nonce")));
        assert!(is_sha256_hex(&sha256_hex(b"nonce").to_uppercase()));
        assert!(!is_sha256_hex("nonce"));
        assert!(!is_sha256_hex(&format!("{}0", sha256_hex(b"nonce"))));
        assert!(!is_sha256_hex(&"g".repeat(64)));
        assert_eq!(nonce_id("ABCDEF"), "nonce:abcdef");
    }

    #[test]
    fn the_apple_nonce_is_required_unless_turned_off() {
        use std::collections::HashMap;

        use crate::config::Config;
        let parse = |pairs: &[(&str, &str)]| {
            Config::from_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>())
        };
        assert!(parse(&[]).unwrap().sign_in.apple_require_nonce);
        assert!(parse(&[("APPLE_REQUIRE_NONCE", "true")]).unwrap().sign_in.apple_require_nonce);
        assert!(!parse(&[("APPLE_REQUIRE_NONCE", "false")]).unwrap().sign_in.apple_require_nonce);
        assert_eq!(parse(&[("APPLE_REQUIRE_NONCE", "sometimes")]).unwrap_err().variable, "APPLE_REQUIRE_NONCE");
    }
}
