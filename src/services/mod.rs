//! The rules of the product: functions over a database connection or transaction.
//! Nothing here knows about HTTP; errors are [`ServiceError`]s that the API maps.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod billing;
pub mod events;
pub mod fair_queue;
pub mod ledger;
pub mod otp;
pub mod passwords;
pub mod settings;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod uploads;
pub mod worker;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QuerySelect, Select};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    #[error("user already exists")]
    AlreadyExists,
    #[error("account is already active")]
    AlreadyActive,
    #[error("credentials or code missing, invalid or expired")]
    Unauthorized,
    /// A 2FA code was needed or wrong; carries the user's current 2FA state.
    #[error("two-factor code required or wrong")]
    TwoFactor { is_2fa_enabled: bool },
    #[error("account not activated")]
    NotActivated,
    #[error("access denied")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    #[error("e-mail could not be sent")]
    MailFailed,
    #[error("not enough credits")]
    InsufficientCredits,
    /// A Buy amount outside every credit band.
    #[error("no credit rate for this amount")]
    NoRate,
    /// A purchase that was already credited (same Checkout Session).
    #[error("already recorded")]
    AlreadyRecorded,
    /// The balance was not the one expected (a concurrent change won).
    #[error("balance changed concurrently")]
    BalanceChanged,
    #[error("payment provider: {0}")]
    Payment(#[from] crate::clients::stripe::StripeError),
    #[error("webhook signature: {0}")]
    InvalidSignature(#[from] crate::clients::stripe::SignatureError),
    #[error("not a Stripe event: {0}")]
    InvalidEvent(String),
    /// Too many requests or attempts; retry after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Transaction,
    Task,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Transaction => "Transaction",
            Self::Task => "Task",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// One page of an ordered list, and how many rows the whole list has (`X-Total-Count`).
pub async fn page<E, C>(db: &C, ordered: Select<E>, limit: u64, offset: u64) -> ServiceResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total = ordered.clone().count(db).await?;
    let rows = ordered.limit(limit).offset(offset).all(db).await?;
    Ok((rows, total))
}
