//! Attempt limits on top of the per-second rate limit: failed logins and failed code
//! checks lock an account (and an address) for a while, and one-time codes cannot be
//! sent in bursts.

use std::{future::Future, net::IpAddr};

use super::{ServiceError, ServiceResult};
use crate::{domain::OtpType, state::AppState};

/// Failures counted per account within this many seconds…
const FAILURE_WINDOW: i64 = 15 * 60;
/// …lock it for this long once there are this many.
const LOCK: i64 = 15 * 60;
const ACCOUNT_FAILURES: i64 = 10;
/// An address trying many accounts is locked too, at a higher count.
const ADDRESS_FAILURES: i64 = 50;
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

fn address(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

/// Runs `attempt` unless the account or address is locked; counts it if it fails
/// (wrong credentials or code). `counts_two_factor` says whether a 2FA refusal is a
/// failure (a wrong code) or only the prompt for one.
pub async fn guarded<T>(
    state: &AppState,
    kind: Attempt,
    account: &str,
    client: Option<IpAddr>,
    counts_two_factor: bool,
    attempt: impl Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    let now = state.clock.now_secs();
    let keys = [
        (format!("{}:account:{}", kind.name(), account.to_lowercase()), ACCOUNT_FAILURES),
        (format!("{}:address:{}", kind.name(), address(client)), ADDRESS_FAILURES),
    ];
    for (key, _) in &keys {
        state.limits.check_lock(key, now).await.map_err(|r| ServiceError::RateLimited(r.0))?;
    }
    let result = attempt.await;
    let failed = match &result {
        Err(ServiceError::Unauthorized) => true,
        Err(ServiceError::TwoFactor { .. }) => counts_two_factor,
        _ => false,
    };
    if failed {
        for (key, max) in &keys {
            state.limits.record_failure(key, now, *max, FAILURE_WINDOW, LOCK).await;
        }
    }
    result
}

/// Refuses a code e-mail sent too soon after the last one, or too many from one address.
pub async fn may_send_code(
    state: &AppState,
    email: &str,
    otp_type: OtpType,
    client: Option<IpAddr>,
) -> ServiceResult<()> {
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
