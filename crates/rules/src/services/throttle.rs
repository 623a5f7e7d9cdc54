//! Attempt limits on top of the per-second rate limit: failed logins and failed code
//! checks lock an account (and an address) for a while, and one-time codes cannot be
//! sent in bursts.

use std::{future::Future, net::IpAddr};

use super::{ServiceError, ServiceResult};
use crate::{
    domain::{Email, OtpType},
    limits::{AttemptRule, Attempted},
    state::Core,
};

/// Failures counted per account within 15 minutes lock it for 15 minutes once there
/// are ten; an address trying many accounts is locked at a higher count.
const ACCOUNT_RULE: AttemptRule = AttemptRule { max: 10, window: 15 * 60, lock: 15 * 60 };
const ADDRESS_RULE: AttemptRule = AttemptRule { max: 50, window: 15 * 60, lock: 15 * 60 };
/// Wrong admin keys from one address: a long random key cannot be guessed, but nobody
/// should get to try.
const ADMIN_KEY_RULE: AttemptRule = AttemptRule { max: 10, window: 15 * 60, lock: 15 * 60 };
/// One code per e-mail and type per minute…
const SEND_COOLDOWN: i64 = 60;
/// …and at most ten code e-mails an hour from one address.
const SENDS_PER_ADDRESS_HOUR: i64 = 10;

/// What an attempt is: a password login or a code check.
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    Login,
    Code,
}

impl Attempt {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Code => "code",
        }
    }
}

/// The address part of a key: IPv4 per address, IPv6 per /64 (see [`AddressKey`]).
///
/// [`AddressKey`]: crate::address_key::AddressKey
fn address(client: Option<IpAddr>) -> String {
    crate::address_key::key_text(client)
}

/// The account an attempt is about, as one key however it was spelled: the parsed,
/// lower-cased e-mail (so ` Victim@Example.com\t` is `victim@example.com`), or, for
/// what is no address at all, the trimmed, lower-cased text.
pub fn account_key(raw: &str) -> String {
    raw.parse::<Email>().map_or_else(|_| raw.trim().to_lowercase(), |email| email.as_str().to_string())
}

/// Runs `attempt` unless the account or address is locked. `counts_two_factor` says
/// whether a 2FA refusal is a failure (a wrong code) or only the prompt for one.
pub async fn guarded<T>(
    state: &Core,
    kind: Attempt,
    account: &str,
    client: Option<IpAddr>,
    counts_two_factor: bool,
    attempt: impl Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    let keys = [
        (format!("{}:account:{}", kind.name(), account_key(account)), ACCOUNT_RULE),
        (format!("{}:address:{}", kind.name(), address(client)), ADDRESS_RULE),
    ];
    let is_failure = |err: &ServiceError| match err {
        ServiceError::Unauthorized => true,
        ServiceError::TwoFactor { .. } => counts_two_factor,
        _ => false,
    };
    guarded_by(state, &keys, is_failure, attempt).await
}

/// Checks an admin key under the address's attempt limit: `matches` runs only while the
/// address may still try, and a wrong key counts.
pub async fn admin_key(state: &Core, client: Option<IpAddr>, matches: impl FnOnce() -> bool) -> ServiceResult<()> {
    let keys = [(format!("admin:address:{}", address(client)), ADMIN_KEY_RULE)];
    let attempt = async { if matches() { Ok(()) } else { Err(ServiceError::Unauthorized) } };
    guarded_by(state, &keys, |err| matches!(err, ServiceError::Unauthorized), attempt).await
}

/// Counts the attempt under every key before it runs, so concurrent guesses cannot
/// outrun a lock; gives the count back when the attempt succeeds or was no guess.
async fn guarded_by<T>(
    state: &Core,
    keys: &[(String, AttemptRule)],
    is_failure: impl Fn(&ServiceError) -> bool,
    attempt: impl Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    let now = state.clock.now_secs();
    let mut counted = Counted { state: state.clone(), now, keys: Vec::with_capacity(keys.len()) };
    for (key, rule) in keys {
        match state.limits.begin_attempt(key, now, *rule).await {
            Ok(attempted) => counted.keys.push((key.clone(), *rule, attempted)),
            Err(retry) => {
                counted.settle(false).await;
                return Err(ServiceError::RateLimited(retry.0));
            }
        }
    }
    let result = attempt.await;
    counted.settle(result.as_ref().err().is_some_and(is_failure)).await;
    result
}

/// Attempts counted and not yet settled. If the request is abandoned first (a client's
/// timeout, a dropped connection: its future is dropped mid-way), they are given back in
/// the background, as a success is: an outcome nobody was told cannot help a guesser,
/// while a count that stayed would lock the owner out (eight logins cut off at the end of
/// a load run left the next correct one answered 429).
struct Counted {
    state: Core,
    now: i64,
    keys: Vec<(String, AttemptRule, Attempted)>,
}

impl Counted {
    /// Settles every key in a task of its own, so that a drop of the caller cannot leave
    /// them half-settled.
    async fn settle(mut self, failed: bool) {
        let keys = std::mem::take(&mut self.keys);
        if keys.is_empty() {
            return;
        }
        let _ = tokio::spawn(settle(self.state.clone(), self.now, keys, failed)).await;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        if keys.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(settle(self.state.clone(), self.now, keys, false));
        }
    }
}

async fn settle(state: Core, now: i64, keys: Vec<(String, AttemptRule, Attempted)>, failed: bool) {
    for (key, rule, attempted) in keys {
        if failed {
            state.limits.attempt_failed(&key, now, rule, attempted).await;
        } else {
            state.limits.attempt_succeeded(&key, now, rule).await;
        }
    }
}

/// Refuses a sign-up from an address that has made `SIGNUPS_PER_ADDRESS_HOUR` within
/// the hour, before anything is hashed or written.
pub async fn may_sign_up(state: &Core, client: Option<IpAddr>) -> ServiceResult<()> {
    let max = i64::from(state.config.accounts.signups_per_address_hour);
    state
        .limits
        .hit_window(&format!("signup:address:{}", address(client)), state.clock.now_secs(), 3600, max)
        .await
        .map_err(|r| ServiceError::RateLimited(r.0))
}

/// Refuses a code e-mail sent too soon after the last one, or too many from one address.
pub async fn may_send_code(state: &Core, email: &str, otp_type: OtpType, client: Option<IpAddr>) -> ServiceResult<()> {
    let now = state.clock.now_secs();
    state
        .limits
        .hit_window(&format!("send:address:{}", address(client)), now, 3600, SENDS_PER_ADDRESS_HOUR)
        .await
        .map_err(|r| ServiceError::RateLimited(r.0))?;
    state
        .limits
        .cooldown(&format!("send:{}:{}", email.to_lowercase(), otp_type.as_str()), now, SEND_COOLDOWN)
        .await
        .map_err(|r| ServiceError::RateLimited(r.0))
}
