//! The security trail: an append-only table of what happened to accounts, with the
//! client's address and user agent. Recording never fails a request; a write that does
//! not happen is logged instead.

use entity::security_events;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::ServiceResult;
use crate::{
    domain::{IdPrefix, new_id},
    state::AppState,
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
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn record(state: &AppState, kind: EventKind, user_id: Option<&str>, origin: &Origin, detail: Option<String>) {
    let row = security_events::ActiveModel {
        id: Set(new_id(IdPrefix::SecurityEvent)),
        user_id: Set(user_id.map(str::to_string)),
        kind: Set(kind.as_str().to_string()),
        client_address: Set(origin.address.clone()),
        user_agent: Set(origin.user_agent.as_ref().map(|ua| ua.chars().take(256).collect())),
        detail: Set(detail.map(|d| d.chars().take(500).collect())),
        created_at: Set(state.clock.now_micros()),
        ..Default::default()
    };
    if let Err(err) = row.insert(&state.db).await {
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
