//! Which task a worker takes next, fairly between users. At most `TASKS_PER_USER_RUNNING`
//! of one user's tasks run at once: a worker passes over a user at that limit to another
//! user's task (so the user's waiting tasks hold no worker), and among the users under it
//! the one with the fewest tasks running goes first, then the oldest task. The limit is
//! checked by the claim itself in the database, so it holds over any number of processes.

use std::collections::HashMap;

use entity::tasks;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, UpdateMany,
    sea_query::{Expr, ExprTrait, Query},
};

use super::ServiceResult;
use crate::{domain::task::TaskStatus, state::Core};

/// A claim older than this belongs to a worker that stopped; the task is claimed again.
pub fn lease_micros(state: &Core) -> i64 {
    let call = state.config.agent.provider.as_ref().map_or(120_000, |a| a.timeout.as_millis() as i64);
    // Three provider attempts with backoff, transcriptions, and a margin.
    (call * 4 + 60_000) * 1_000
}

const RUNNING: &str = TaskStatus::Running.as_str();

/// Tasks some worker is running now: claimed, under a lease that has not run out (an
/// expired claim belongs to a worker that stopped and does not count).
fn live(state: &Core, now: i64) -> Condition {
    Condition::all().add(tasks::Column::Status.eq(RUNNING)).add(tasks::Column::ClaimedAt.gte(now - lease_micros(state)))
}

/// How many tasks each user has running now.
async fn running_by_user(state: &Core, now: i64) -> ServiceResult<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::UserId)
        .column_as(Expr::col(tasks::Column::Id).count(), "running")
        .filter(live(state, now))
        .group_by(tasks::Column::UserId)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|(user, running)| (user, u64::try_from(running).unwrap_or(0))).collect())
}

/// The task to try next among the `runnable` ones: of the users under the limit, those
/// with the fewest tasks running first; of theirs, the oldest. None when every waiting
/// task belongs to a user at the limit.
pub async fn candidate(state: &Core, now: i64, runnable: Condition) -> ServiceResult<Option<tasks::Model>> {
    let running = running_by_user(state, now).await?;
    for level in 0..state.config.analyses.tasks_per_user_running {
        let users = if level == 0 {
            // Users with nothing running (a handful of names: at most one per worker).
            Condition::all()
                .add_option((!running.is_empty()).then(|| tasks::Column::UserId.is_not_in(running.keys().cloned())))
        } else {
            let at_level: Vec<String> =
                running.iter().filter(|(_, count)| **count == level).map(|(user, _)| user.clone()).collect();
            if at_level.is_empty() {
                continue;
            }
            Condition::all().add(tasks::Column::UserId.is_in(at_level))
        };
        let found = tasks::Entity::find()
            .filter(runnable.clone())
            .filter(users)
            .order_by_asc(tasks::Column::Seq)
            .one(&state.db)
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Two-part advisory lock keys on PostgreSQL: this constant, and the hash of a user id.
const CLAIM_LOCK_SPACE: i32 = 0x636c_6169; // "clai"

/// Runs the claim `update` of one of `user_id`'s tasks only if the user has fewer than
/// `TASKS_PER_USER_RUNNING` tasks running; true when it changed the row. The count is a
/// subquery of the update itself. SQLite runs a writing statement under its one write lock,
/// so no other claim commits in between; on PostgreSQL two claims for the same user could
/// each count before the other commits, so claims for one user take turns under an
/// advisory lock (only claims take it: nothing else waits on it). It runs in the caller's
/// transaction, which writes the claim's status event and holds the lock until it commits.
pub async fn claim_within_limit(
    txn: &DatabaseTransaction,
    state: &Core,
    now: i64,
    user_id: &str,
    update: UpdateMany<tasks::Entity>,
) -> ServiceResult<bool> {
    let running = Query::select()
        .expr(Expr::col(tasks::Column::Id).count())
        .from(tasks::Entity)
        .cond_where(Condition::all().add(tasks::Column::UserId.eq(user_id)).add(live(state, now)))
        .to_owned();
    let limit = state.config.analyses.tasks_per_user_running as i64;
    let update = update.filter(Expr::from(running).lt(limit));
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            [CLAIM_LOCK_SPACE.into(), user_id.into()],
        ))
        .await?;
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}
