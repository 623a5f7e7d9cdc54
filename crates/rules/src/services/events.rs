//! The security trail: an append-only table of what happened to accounts, with the
//! client's address and user agent. Recording never fails a request; a write that does
//! not happen is logged instead.

use entity::security_events;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::ServiceResult;
use crate::{
    domain::{IdPrefix, new_id},
    state::Core,
};

/// The kinds of event, as stored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginLocked,
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesCreated,
    ApiKeyReset,
    AccountDeleted,
    AdminCreditsChanged,
    AdminAccountDeleted,
    SessionEnded,
    OtherSessionsEnded,
    PasskeyAdded,
    PasskeyDeleted,
    /// A passkey sign-in whose signature counter did not go up: the credential may be cloned.
    PasskeyPossiblyCloned,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginLocked => "login_locked",
            Self::PasswordChanged => "password_changed",
            Self::TwoFactorEnabled => "two_factor_enabled",
            Self::TwoFactorDisabled => "two_factor_disabled",
            Self::RecoveryCodesCreated => "recovery_codes_created",
            Self::ApiKeyReset => "api_key_reset",
            Self::AccountDeleted => "account_deleted",
            Self::AdminCreditsChanged => "admin_credits_changed",
            Self::AdminAccountDeleted => "admin_account_deleted",
            Self::SessionEnded => "session_ended",
            Self::OtherSessionsEnded => "other_sessions_ended",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyDeleted => "passkey_deleted",
            Self::PasskeyPossiblyCloned => "passkey_possibly_cloned",
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Longest user agent and detail kept: both are chosen by whoever sends the request.
const MAX_FIELD_CHARS: usize = 256;
/// Repeats of a repeatable event within this window add up in one row.
const AGGREGATE_WINDOW_MICROS: i64 = 15 * 60 * 1_000_000;

impl EventKind {
    /// Failed and locked logins can be made in any number by anyone: they add up per
    /// account (or per address when no account is known) and window, so a flood of
    /// them writes a bounded number of rows.
    fn is_repeatable(self) -> bool {
        matches!(self, Self::LoginFailed | Self::LoginLocked)
    }
}

fn capped(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).collect()
}

pub async fn record(state: &Core, kind: EventKind, user_id: Option<&str>, origin: &Origin, detail: Option<String>) {
    let now = state.clock.now_micros();
    let aggregate_key = kind.is_repeatable().then(|| {
        let subject = match user_id {
            Some(user) => user.to_string(),
            None => format!("address:{}", origin.address.as_deref().unwrap_or("unknown")),
        };
        format!("{}:{subject}:{}", kind.as_str(), now.div_euclid(AGGREGATE_WINDOW_MICROS))
    });
    let row = security_events::ActiveModel {
        id: Set(new_id(IdPrefix::SecurityEvent)),
        user_id: Set(user_id.map(str::to_string)),
        kind: Set(kind.as_str().to_string()),
        client_address: Set(origin.address.clone()),
        user_agent: Set(origin.user_agent.as_deref().map(capped)),
        detail: Set(detail.as_deref().map(capped)),
        created_at: Set(now),
        count: Set(1),
        last_at: Set(None),
        aggregate_key: Set(aggregate_key),
        ..Default::default()
    };
    // A repeat adds to its window's row in one atomic upsert.
    let on_repeat = OnConflict::column(security_events::Column::AggregateKey)
        .value(
            security_events::Column::Count,
            Expr::col((security_events::Entity, security_events::Column::Count)).add(1),
        )
        .value(security_events::Column::LastAt, now)
        .to_owned();
    if let Err(err) =
        security_events::Entity::insert(row).on_conflict(on_repeat).exec_without_returning(&state.db).await
    {
        tracing::error!(%err, kind = kind.as_str(), "security event not recorded");
    }
}

/// A page of events, newest first, optionally of one user, and the total.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: Option<&str>,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<security_events::Model>, u64)> {
    let mut query = security_events::Entity::find();
    if let Some(user_id) = user_id {
        query = query.filter(security_events::Column::UserId.eq(user_id));
    }
    super::page(db, query.order_by_desc(security_events::Column::Seq), limit, offset).await
}
