//! The caller's sessions: listing them, ending one or all but the
//! current one, and recording when each was last used, at most once a minute.

use entity::sessions;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait, sea_query::Expr};

use super::{Resource, ServiceError, ServiceResult};
use crate::state::Core;

/// A session's `last_used_at` is moved on only when it is at least this old, so a busy
/// session costs one write a minute, not one per request.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// Longest user agent kept: the client chooses it.
const MAX_USER_AGENT_CHARS: usize = 256;

pub fn capped_user_agent(user_agent: Option<&str>) -> Option<String> {
    user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
}

/// A page of the user's live sessions, newest first, and how many there are.
pub async fn list(state: &Core, user_id: &str, limit: u64, offset: u64) -> ServiceResult<(Vec<sessions::Model>, u64)> {
    let query = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::ExpiresAt.gt(state.clock.now_secs()))
        .order_by_desc(sessions::Column::CreatedAt)
        .order_by_desc(sessions::Column::Id);
    super::page(&state.db, query, limit, offset).await
}

/// Ends one of the user's sessions; another user's (or no) session is not found. Its
/// token is refused from then on, in every process.
pub async fn end(state: &Core, user_id: &str, session_id: &str) -> ServiceResult<()> {
    state.auth_cache.publish(user_id).await?;
    let ended = sessions::Entity::delete_many()
        .filter(sessions::Column::Id.eq(session_id))
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(ServiceError::NotFound(Resource::Session));
    }
    state.auth_cache.forget(user_id).await;
    Ok(())
}

/// Ends every session of the user but `keep`, and the API key (whoever held one of those
/// sessions may have read it; View makes a new one), in one transaction; returns how
/// many sessions ended. Passkeys stay: adding one needed a fresh proof.
pub async fn end_others(state: &Core, user_id: &str, keep: &str) -> ServiceResult<u64> {
    state.auth_cache.publish(user_id).await?;
    let txn = state.db.begin().await?;
    let ended = sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::Id.ne(keep))
        .exec(&txn)
        .await?;
    super::api_keys::revoke(&txn, user_id).await?;
    txn.commit().await?;
    state.auth_cache.forget(user_id).await;
    Ok(ended.rows_affected)
}

/// Whether a session last used at `last_used_micros` should be marked used now.
pub fn touch_due(last_used_micros: i64, now_micros: i64) -> bool {
    now_micros - last_used_micros >= TOUCH_EVERY_SECS * 1_000_000
}

/// Records that the session was used now, off the request's path: the write runs in the
/// background, and only if no other request (or process) recorded a use within the
/// minute. A failed write is logged; it never fails a request. Not a change the
/// authentication cache must learn of, so nothing is forgotten.
pub fn touch(state: &Core, session_id: &str) {
    let state = state.clone();
    let session_id = session_id.to_string();
    let now = state.clock.now_micros();
    state.metrics.session_touches.inc();
    tokio::spawn(async move {
        let written = sessions::Entity::update_many()
            .col_expr(sessions::Column::LastUsedAt, Expr::value(now))
            .filter(sessions::Column::Id.eq(&session_id))
            .filter(sessions::Column::LastUsedAt.lte(now - TOUCH_EVERY_SECS * 1_000_000))
            .exec(&state.db)
            .await;
        if let Err(err) = written {
            tracing::warn!(%session_id, %err, "session last use not recorded");
        }
    });
}
