//! A fresh proof, besides the session, before a new way into the account is added (a
//! passkey, an authenticator app): a session token can be copied, the password or a
//! current second factor cannot be read off it. Without this, a stolen session could
//! leave behind a way in that outlives it (a password reset ends sessions, not passkeys).
//!
//! Which proof is wanted follows the account: its password while 2FA is off; a current
//! second factor, by Login's rules, while 2FA is on; and, for an account with neither
//! (Google or Apple sign-in only), a TWO_FACTOR_AUTH code mailed to its address. Wrong
//! guesses count toward the same locks as Login (passwords) and code checks (codes).

use entity::users;

use super::{
    ServiceError, ServiceResult,
    passwords::Client,
    throttle::{self, Attempt},
    two_factor::{self, AppSecret},
};
use crate::state::Core;

/// What the caller sent as proof (`{password?, code?}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Proof<'a> {
    pub password: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// The proof an account must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The account's password (2FA off, a password set).
    Password,
    /// A current second factor (2FA on), or a mailed TWO_FACTOR_AUTH code (no password,
    /// no 2FA).
    Code,
}

impl Wanted {
    pub fn of(user: &users::Model) -> Self {
        if !user.is_2fa_enabled && user.password_hash.is_some() { Self::Password } else { Self::Code }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Code => "code",
        }
    }
}

fn refused(user: &users::Model) -> ServiceError {
    ServiceError::ProofRequired { is_2fa_enabled: user.is_2fa_enabled, wanted: Wanted::of(user) }
}

/// Checks the proof `user` must give; a missing or wrong one is the 401 that names it. A
/// missing proof is only the prompt (not counted); a wrong one counts toward the locks.
pub async fn check(state: &Core, user: &users::Model, proof: Proof<'_>, client: Client) -> ServiceResult<()> {
    let outcome = match Wanted::of(user) {
        Wanted::Password => {
            let Some(password) = proof.password else { return Err(refused(user)) };
            let attempt = async {
                let hash = user.password_hash.as_deref();
                let ok = state.passwords.verify(password, hash, client).await?;
                if ok { Ok(()) } else { Err(ServiceError::Unauthorized) }
            };
            // Login's lock: guessing the password here gives no fresh budget.
            throttle::guarded(state, Attempt::Login, &user.email, client, true, attempt).await
        }
        Wanted::Code => {
            let Some(code) = proof.code else { return Err(refused(user)) };
            // Login's rules: the app's code or a recovery code once an app is enrolled, the
            // mailed code while none is (the only kind an account without 2FA can have).
            let attempt = async {
                two_factor::verify(&state.db, &state.tokens, &state.clock, user, AppSecret::Confirmed, code)
                    .await?
                    .map(|_| ())
                    .ok_or(ServiceError::Unauthorized)
            };
            throttle::guarded(state, Attempt::Code, &user.email, client, true, attempt).await
        }
    };
    outcome.map_err(|err| match err {
        ServiceError::Unauthorized => refused(user),
        other => other,
    })
}
