//! The rules of the product: functions over a database connection or transaction.
//! Nothing here knows about HTTP; errors are [`ServiceError`]s that the API maps.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod apple_once;
pub mod authenticate;
pub mod billing;
pub mod claims;
pub mod events;
pub mod fair_queue;
pub mod fresh_proof;
pub mod idempotency;
pub mod ledger;
pub mod notices;
pub mod otp;
pub mod passkeys;
pub mod passwords;
pub mod sealed;
pub mod sessions;
pub mod settings;
pub mod steps;
pub mod task_claims;
pub mod task_events;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod uploads;
pub mod users;
pub mod verified_tokens;
pub mod webhooks;

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
    /// Adding a way in without the proof the account must give (or with a wrong one):
    /// carries the 2FA state and which proof is wanted.
    #[error("fresh proof required or wrong")]
    ProofRequired { is_2fa_enabled: bool, wanted: fresh_proof::Wanted },
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
    /// A passkey registration that webauthn-rs refused, that was not started, expired or
    /// was already finished, or whose credential is already registered.
    #[error("passkey refused")]
    PasskeyRejected,
    /// Deleting this would leave the account no way to sign in.
    #[error("last way to sign in")]
    LastSignInMethod,
    #[error("not enough credits")]
    InsufficientCredits,
    /// The user already has the most webhook endpoints allowed.
    #[error("too many webhook endpoints")]
    WebhookLimit,
    /// A webhook URL that is malformed or not allowed; says why.
    #[error("webhook URL refused: {0}")]
    WebhookUrl(&'static str),
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
    Payment(#[from] crate::payments::StripeError),
    #[error("webhook signature: {0}")]
    InvalidSignature(#[from] crate::payments::SignatureError),
    #[error("not a Stripe event: {0}")]
    InvalidEvent(String),
    /// Too many requests or attempts; retry after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    /// The database could not be reached (no connection in time, refused, reset, closed):
    /// the request may succeed when retried, so it is not an internal error.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("internal: {0}")]
    Internal(Fault),
}

/// A fault the caller cannot fix: what the server was doing, and the error behind it when
/// there was one, kept as the error's source (logged with its causes, never shown).
#[derive(Debug)]
pub struct Fault {
    doing: &'static str,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.doing)
    }
}

impl std::error::Error for Fault {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|err| err as &(dyn std::error::Error + 'static))
    }
}

impl ServiceError {
    /// A fault while `doing` something, caused by `source`.
    pub fn internal(doing: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(Fault { doing, source: Some(source.into()) })
    }

    /// A broken invariant: nothing failed, but what must hold did not.
    pub fn invariant(what: &'static str) -> Self {
        Self::Internal(Fault { doing: what, source: None })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Transaction,
    Task,
    /// A sandbox Checkout Session.
    CheckoutSession,
    /// A sandbox Stripe customer.
    Customer,
    /// One of the caller's sessions.
    Session,
    Passkey,
    /// One of the caller's webhook endpoints.
    Webhook,
    /// A delivery of one of the caller's webhook endpoints.
    WebhookDelivery,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Transaction => "Transaction",
            Self::Task => "Task",
            Self::CheckoutSession => "Checkout Session",
            Self::Customer => "Customer",
            Self::Session => "Session",
            Self::Passkey => "Passkey",
            Self::Webhook => "Webhook endpoint",
            Self::WebhookDelivery => "Webhook delivery",
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
        if is_unreachable(&err) { Self::DatabaseUnavailable(err.to_string()) } else { Self::internal("database", err) }
    }
}

/// Whether `err` means the database could not be reached, as opposed to a statement it
/// refused or a row that did not decode (those are bugs, and stay 500s).
pub fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        // No connection within the acquire timeout, a closed pool, a failed connect.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err)) => sqlx_unreachable(err),
        _ => false,
    }
}

fn sqlx_unreachable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        // The socket failed under a query: refused, reset, closed mid-way.
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        // PostgreSQL's own word that the connection is going away: class 08 (connection
        // exception), and the server shutting down or starting up (57P01, 57P02, 57P03).
        Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
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

/// Starts a transaction's work on an account with a write to the account's row: it locks the
/// row (PostgreSQL), so transactions that count or check the account's things and then change
/// them take turns; and it takes SQLite's write lock before anything is read, so no read of
/// the transaction goes stale and a concurrent write never makes it fail with "database is
/// locked" (a read-then-write transaction cannot wait: SQLite refuses its upgrade at once).
/// `NotFound(User)` when the account is gone.
pub async fn lock_account<C: ConnectionTrait>(txn: &C, user_id: &str) -> ServiceResult<()> {
    use entity::users;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let locked = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::col(users::Column::PasswordHash))
        .filter(users::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(ServiceError::NotFound(Resource::User));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::{io, sync::Arc};

    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};

    use super::*;

    fn sqlx_err(err: sqlx::Error) -> RuntimeErr {
        RuntimeErr::SqlxError(Arc::new(err))
    }

    #[test]
    fn connection_failures_are_unavailable_and_query_failures_internal() {
        let unreachable = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sqlx_err(sqlx::Error::Io(io::ErrorKind::ConnectionRefused.into()))),
            DbErr::Query(sqlx_err(sqlx::Error::Io(io::ErrorKind::ConnectionReset.into()))),
            DbErr::Exec(sqlx_err(sqlx::Error::Io(io::ErrorKind::UnexpectedEof.into()))),
            DbErr::Query(sqlx_err(sqlx::Error::PoolTimedOut)),
            DbErr::Exec(sqlx_err(sqlx::Error::PoolClosed)),
        ];
        for err in unreachable {
            assert!(matches!(ServiceError::from(err.clone()), ServiceError::DatabaseUnavailable(_)), "{err:?}");
        }
        let bugs = [
            DbErr::Query(sqlx_err(sqlx::Error::RowNotFound)),
            DbErr::Query(sqlx_err(sqlx::Error::ColumnNotFound("x".into()))),
            DbErr::Exec(RuntimeErr::Internal("syntax error".into())),
            DbErr::RecordNotFound("user".into()),
            DbErr::Type("bad".into()),
        ];
        for err in bugs {
            assert!(matches!(ServiceError::from(err.clone()), ServiceError::Internal(_)), "{err:?}");
        }
    }

    #[test]
    fn an_internal_fault_keeps_its_cause_as_the_source() {
        use std::error::Error;
        let ServiceError::Internal(fault) = ServiceError::from(DbErr::Type("a column that did not decode".into()))
        else {
            panic!("a decoding error is internal");
        };
        assert_eq!(fault.to_string(), "database");
        let cause = fault.source().expect("the database error is kept").to_string();
        assert!(cause.contains("a column that did not decode"), "{cause}");
        let ServiceError::Internal(broken) = ServiceError::invariant("a setting just written is there") else {
            unreachable!()
        };
        assert!(broken.source().is_none());
    }

    #[tokio::test]
    async fn a_real_constraint_violation_is_not_an_outage() {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)").await.unwrap();
        db.execute_unprepared("INSERT INTO t VALUES (1)").await.unwrap();
        let err = db.execute_unprepared("INSERT INTO t VALUES (1)").await.unwrap_err();
        assert!(!is_unreachable(&err), "{err:?}");
        db.close_by_ref().await.unwrap();
        let err = db.execute_unprepared("SELECT 1").await.unwrap_err();
        assert!(is_unreachable(&err), "a closed pool is unreachable: {err:?}");
    }
}
