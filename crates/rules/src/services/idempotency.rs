//! The records behind `Idempotency-Key`: claiming a key, keeping the answer, letting a
//! claim go, and forgetting records after 24 hours. The HTTP side is
//! `api::idempotency`; this module only knows rows.

use std::time::Duration;

use entity::idempotency_keys::{self as keys, Column};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TryInsertResult, sea_query::Expr};

use super::{ServiceError, ServiceResult};
use crate::state::Core;

/// How long an answer is kept for a retry.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

const IN_PROGRESS: &str = "IN_PROGRESS";
const DONE: &str = "DONE";

/// A key in its scope: the record's identity.
#[derive(Debug, Clone)]
pub struct Target {
    pub scope: String,
    pub method: String,
    pub path: String,
    pub key: String,
}

/// The answer a finished request got, as kept for its retries.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub fingerprint: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Claim {
    /// This request is the one that runs; the record's id.
    Claimed(String),
    /// The first request with this key is still running.
    InProgress,
    /// The first request is done: its answer.
    Done(Outcome),
}

fn micros(duration: Duration) -> i64 {
    duration.as_micros() as i64
}

fn by_target(target: &Target) -> sea_orm::Select<keys::Entity> {
    keys::Entity::find()
        .filter(Column::Scope.eq(&target.scope))
        .filter(Column::Method.eq(&target.method))
        .filter(Column::Path.eq(&target.path))
        .filter(Column::Key.eq(&target.key))
}

/// The key a target's kept body is sealed with. It depends on the client's key as well
/// as the server secret, so the database alone never opens a kept answer.
fn sealing_key(state: &Core, target: &Target) -> [u8; 32] {
    state.tokens.derived_key("idempotency-answer", &[&target.scope, &target.method, &target.path, &target.key])
}

fn outcome(state: &Core, target: &Target, row: keys::Model) -> ServiceResult<Outcome> {
    let broken = || ServiceError::invariant("an idempotency record is complete");
    let headers = match &row.response_headers {
        Some(json) => serde_json::from_str(json).map_err(|_| broken())?,
        None => vec![],
    };
    Ok(Outcome {
        fingerprint: row.fingerprint.clone().ok_or_else(broken)?,
        status: row.response_status.and_then(|s| u16::try_from(s).ok()).ok_or_else(broken)?,
        headers,
        body: row
            .response_body
            .as_deref()
            .and_then(|sealed| super::sealed::open(&sealing_key(state, target), sealed))
            .ok_or_else(broken)?,
    })
}

/// Claims `target` for a request that may run for up to `lease`. The unique index on
/// (scope, method, path, key) decides between racing requests, across processes: one
/// INSERT succeeds, the others find its row. An expired row (an answer older than
/// [`KEEP_FOR`], or the claim of a process that died mid-request) is removed and the
/// claim tried again.
pub async fn claim(state: &Core, target: &Target, lease: Duration) -> ServiceResult<Claim> {
    for _ in 0..3 {
        let now = state.clock.now_micros();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let row = keys::ActiveModel {
            id: Set(id.clone()),
            scope: Set(target.scope.clone()),
            method: Set(target.method.clone()),
            path: Set(target.path.clone()),
            key: Set(target.key.clone()),
            state: Set(IN_PROGRESS.into()),
            fingerprint: Set(None),
            response_status: Set(None),
            response_body: Set(None),
            response_headers: Set(None),
            created_at: Set(now),
            expires_at: Set(now + micros(lease)),
        };
        let inserted = keys::Entity::insert(row)
            .on_conflict_do_nothing_on([Column::Scope, Column::Method, Column::Path, Column::Key])
            .exec_without_returning(&state.db)
            .await?;
        if matches!(inserted, TryInsertResult::Inserted(1)) {
            return Ok(Claim::Claimed(id));
        }
        // Gone again already (released or purged): try the insert once more.
        let Some(existing) = by_target(target).one(&state.db).await? else { continue };
        if existing.expires_at <= now {
            // Only if it is still that expired row: another claimer may have replaced it.
            keys::Entity::delete_many()
                .filter(Column::Id.eq(&existing.id))
                .filter(Column::ExpiresAt.lte(now))
                .exec(&state.db)
                .await?;
            continue;
        }
        return match existing.state.as_str() {
            DONE => outcome(state, target, existing).map(Claim::Done),
            _ => Ok(Claim::InProgress),
        };
    }
    // Three rounds lost to concurrent claimers: someone else holds it now.
    Ok(Claim::InProgress)
}

/// Keeps the answer of the claimed request for [`KEEP_FOR`], its body sealed.
pub async fn finish(state: &Core, id: &str, target: &Target, outcome: &Outcome) -> ServiceResult<()> {
    let headers =
        serde_json::to_string(&outcome.headers).map_err(|e| ServiceError::internal("kept headers as JSON", e))?;
    let body = super::sealed::seal(&sealing_key(state, target), &outcome.body)
        .ok_or_else(|| ServiceError::invariant("sealing an idempotent answer"))?;
    keys::Entity::update_many()
        .col_expr(Column::State, Expr::value(DONE))
        .col_expr(Column::Fingerprint, Expr::value(outcome.fingerprint.clone()))
        .col_expr(Column::ResponseStatus, Expr::value(i32::from(outcome.status)))
        .col_expr(Column::ResponseBody, Expr::value(body))
        .col_expr(Column::ResponseHeaders, Expr::value(headers))
        .col_expr(Column::ExpiresAt, Expr::value(state.clock.now_micros() + micros(KEEP_FOR)))
        .filter(Column::Id.eq(id))
        .filter(Column::State.eq(IN_PROGRESS))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Lets a claim go, so that a retry runs the request anew.
pub async fn release(state: &Core, id: &str) -> ServiceResult<()> {
    keys::Entity::delete_many().filter(Column::Id.eq(id)).filter(Column::State.eq(IN_PROGRESS)).exec(&state.db).await?;
    Ok(())
}

/// Removes every expired record; returns how many.
pub async fn purge(state: &Core) -> ServiceResult<u64> {
    let done =
        keys::Entity::delete_many().filter(Column::ExpiresAt.lte(state.clock.now_micros())).exec(&state.db).await?;
    Ok(done.rows_affected)
}

/// Purges now and then; claims also replace expired records, so this only bounds the
/// table's size.
pub async fn purge_forever(state: Core) {
    loop {
        if let Err(err) = purge(&state).await {
            tracing::warn!(%err, "purging expired idempotency records failed");
        }
        tokio::time::sleep(Duration::from_secs(60 * 60)).await;
    }
}
