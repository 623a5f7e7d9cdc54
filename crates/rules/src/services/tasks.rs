//! Analysis tasks: created with their debit in one transaction, claimed by workers with
//! an atomic status update, finished by the claim's holder only, refunded once on failure.

use entity::{tasks, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};

use super::{
    Resource, ServiceError, ServiceResult,
    ledger::{self, Movement},
    task_claims, task_events,
    uploads::UploadDir,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{
    domain::{
        attachments::{Category, Supported, content_matches, extension},
        task::TaskStatus,
    },
    state::Core,
};

/// Bytes of a file looked at to recognise its type.
const SNIFF_BYTES: usize = 8192;

// A task row's status column, as the API writes the status.
pub const PENDING: &str = TaskStatus::Pending.as_str();
pub const RUNNING: &str = TaskStatus::Running.as_str();
pub const COMPLETED: &str = TaskStatus::Completed.as_str();
pub const FAILED: &str = TaskStatus::Failed.as_str();

pub use super::task_claims::lease_micros;

/// Give up (and refund) a task that has been claimed this many times without finishing.
pub const MAX_ATTEMPTS: i32 = 3;

/// A file of an analysis, stored on disk under the task's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    /// The name the client gave it.
    pub name: String,
    pub category: Category,
    /// Lower-case, with the dot.
    pub extension: String,
    pub size: u64,
    /// The file's name inside the task's directory.
    pub stored_as: String,
}

pub fn attachments_of(task: &tasks::Model) -> Vec<StoredAttachment> {
    serde_json::from_str(&task.attachments).unwrap_or_default()
}

pub fn task_dir(state: &Core, task_id: &str) -> std::path::PathBuf {
    state.config.analyses.attachments_dir.join(task_id)
}

/// What this server can read, given its configuration.
pub fn supported(state: &Core) -> Supported {
    Supported { transcription: state.config.agent.provider.as_ref().is_some_and(|a| a.transcription_model.is_some()) }
}

/// The last path component of a client's file name, if it is a usable name.
fn clean_file_name(raw: &str) -> Option<String> {
    let name = raw.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty() && name.len() <= 255 && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// Streams one file into `dir` as attachment number `index`, checking as it goes: a
/// supported extension, at most `MAX_ATTACHMENT_BYTES`, not empty, and first bytes of the
/// kind the extension claims. On an error the caller removes `dir`.
pub async fn store_attachment(
    state: &Core,
    dir: &std::path::Path,
    index: usize,
    raw_name: &str,
    mut reader: impl AsyncRead + Unpin,
) -> ServiceResult<StoredAttachment> {
    let invalid = || ServiceError::InvalidInput("attachment");
    let name = clean_file_name(raw_name).ok_or_else(invalid)?;
    let category = supported(state).category_of(&name).ok_or_else(invalid)?;
    let extension = extension(&name).ok_or_else(invalid)?;
    let stored_as = format!("{index}{extension}");
    let io = |e: std::io::Error| ServiceError::internal("attachment file", e);
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let mut out = tokio::fs::File::create(dir.join(&stored_as)).await.map_err(io)?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    loop {
        let read = reader.read(&mut chunk).await.map_err(|_| invalid())?;
        if read == 0 {
            break;
        }
        size += read as u64;
        if size > state.config.analyses.max_attachment_bytes {
            return Err(invalid());
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(read);
            head.extend_from_slice(&chunk[..take]);
        }
        out.write_all(&chunk[..read]).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    if size == 0 || !content_matches(&extension, &head) {
        return Err(invalid());
    }
    Ok(StoredAttachment { name, category, extension, size, stored_as })
}

/// Longest analysis text, in bytes (the form's `text`, MCP's `text`).
pub const MAX_TEXT_BYTES: usize = 100_000;

/// Starting an analysis, as every face does it: a caller without the credits is refused
/// before anything is read; `read` then stores the input's files in the new task's
/// directory and returns the text and the files; the debit and the task follow in one
/// transaction ([`create_analysis`]). On any failure, `read`'s included, the directory is
/// removed; a timeout that drops this future removes it too.
pub async fn start_analysis<E: From<ServiceError>>(
    state: &Core,
    user: &users::Model,
    read: impl AsyncFnOnce(&std::path::Path) -> Result<(Option<String>, Vec<StoredAttachment>), E>,
) -> Result<tasks::Model, E> {
    // The debit checks again, atomically; this spares reading a large upload for nothing.
    if user.credits < state.config.analyses.analysis_cost {
        return Err(ServiceError::InsufficientCredits.into());
    }
    let task_id = crate::domain::new_id(crate::domain::IdPrefix::Task);
    let upload = UploadDir::new(task_dir(state, &task_id));
    let created = match read(upload.path()).await {
        Ok((text, files)) => create_analysis(state, user, task_id, text, files, &upload).await.map_err(E::from),
        Err(err) => Err(err),
    };
    if created.is_err() {
        upload.discard().await;
    }
    created
}

/// Debits the analysis cost and creates the task at PENDING, in one transaction. The
/// upload's files belong to the task from the commit on.
pub async fn create_analysis(
    state: &Core,
    user: &users::Model,
    task_id: String,
    input: Option<String>,
    attachments: Vec<StoredAttachment>,
    upload: &UploadDir,
) -> ServiceResult<tasks::Model> {
    let cost = state.config.analyses.analysis_cost;
    let attachments =
        serde_json::to_string(&attachments).map_err(|e| ServiceError::internal("attachments as JSON", e))?;
    let txn = state.db.begin().await?;
    let movement = Movement {
        user_id: user.id.clone(),
        credits: -cost,
        fiat_cents: state.config.billing.credit_bands.first().cents_for(cost),
        description: format!("Agent analysis {task_id}"),
        stripe_session_id: None,
        expected_balance: None,
    };
    ledger::move_credits(&txn, &state.clock, movement).await?;
    let now = state.clock.now_micros();
    let task = tasks::ActiveModel {
        id: Set(task_id),
        user_id: Set(user.id.clone()),
        status: Set(PENDING.into()),
        input: Set(input),
        attachments: Set(attachments),
        result: Set(None),
        error: Set(None),
        credits_used: Set(cost),
        attempts: Set(0),
        claim_id: Set(None),
        claimed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        // The queuing request's span, for the run's span link (None with traces off).
        trace_context: Set(crate::trace_context::current_context()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    upload.keep();
    state.auth_cache.forget(&user.id).await;
    state.task_queue.notify_one();
    Ok(task)
}

/// A page of the user's tasks, newest first, and how many they have in all.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<tasks::Model>, u64)> {
    let newest_first =
        tasks::Entity::find().filter(tasks::Column::UserId.eq(user_id)).order_by_desc(tasks::Column::Seq);
    super::page(db, newest_first, limit, offset).await
}

pub async fn find<C: ConnectionTrait>(db: &C, user_id: &str, task_id: &str) -> ServiceResult<tasks::Model> {
    tasks::Entity::find()
        .filter(tasks::Column::Id.eq(task_id))
        .filter(tasks::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Task))
}

/// Claims a runnable task (PENDING, or RUNNING under an expired claim), fairly between
/// users ([`task_claims`]). The claim is a conditional update on the row's state as read
/// and on its user's running tasks, so of several workers (in any number of processes)
/// exactly one wins each task, and no user runs more than `TASKS_PER_USER_RUNNING`.
pub async fn claim_next(state: &Core) -> ServiceResult<Option<tasks::Model>> {
    for _ in 0..8 {
        let now = state.clock.now_micros();
        let runnable = Condition::any().add(tasks::Column::Status.eq(PENDING)).add(
            Condition::all()
                .add(tasks::Column::Status.eq(RUNNING))
                .add(tasks::Column::ClaimedAt.lt(now - lease_micros(state))),
        );
        let Some(candidate) = task_claims::candidate(state, now, runnable).await? else {
            return Ok(None);
        };
        let claim_id = uuid::Uuid::new_v4().simple().to_string();
        let mut update = tasks::Entity::update_many()
            .col_expr(tasks::Column::Status, Expr::value(RUNNING))
            .col_expr(tasks::Column::ClaimId, Expr::value(claim_id.as_str()))
            .col_expr(tasks::Column::ClaimedAt, Expr::value(now))
            .col_expr(tasks::Column::Attempts, Expr::col(tasks::Column::Attempts).add(1))
            // A run starts its steps afresh (an interrupted run's steps would mislead).
            .col_expr(tasks::Column::Steps, Expr::value("[]"))
            .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
            .filter(tasks::Column::Id.eq(candidate.id.as_str()))
            .filter(tasks::Column::Status.eq(candidate.status.as_str()));
        update = match &candidate.claim_id {
            Some(previous) => update.filter(tasks::Column::ClaimId.eq(previous.as_str())),
            None => update.filter(tasks::Column::ClaimId.is_null()),
        };
        let txn = state.db.begin().await?;
        if !task_claims::claim_within_limit(&txn, state, now, &candidate.user_id, update).await? {
            continue; // another worker won this one, or the user reached the limit meanwhile
        }
        task_events::status(&txn, now, &candidate.id, RUNNING).await?;
        txn.commit().await?;
        state.task_events.wake(&candidate.id);
        let task = tasks::Entity::find_by_id(candidate.seq)
            .one(&state.db)
            .await?
            .ok_or(ServiceError::NotFound(Resource::Task))?;
        if task.attempts > MAX_ATTEMPTS {
            // Each earlier claim died mid-run (a crash, a kill): running it again would
            // only die again. Fail it with its refund instead.
            if fail(state, &task, "The analysis was interrupted too many times.").await? {
                tracing::warn!(task_id = %task.id, attempts = task.attempts - 1, "task failed after repeated interrupted runs");
                let _ = tokio::fs::remove_dir_all(task_dir(state, &task.id)).await;
            }
            continue;
        }
        return Ok(Some(task));
    }
    Ok(None)
}

fn held_by(task: &tasks::Model) -> Condition {
    Condition::all()
        .add(tasks::Column::Id.eq(task.id.as_str()))
        .add(tasks::Column::Status.eq(RUNNING))
        .add(tasks::Column::ClaimId.eq(task.claim_id.as_deref().unwrap_or_default()))
}

/// Stores the result. False when the claim was lost (another worker took the task over).
pub async fn complete(state: &Core, task: &tasks::Model, result: &serde_json::Value) -> ServiceResult<bool> {
    let txn = state.db.begin().await?;
    let now = state.clock.now_micros();
    let updated = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(COMPLETED))
        .col_expr(tasks::Column::Result, Expr::value(result.to_string()))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(held_by(task))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    task_events::status(&txn, now, &task.id, COMPLETED).await?;
    super::webhooks::outbox::task_finished(&txn, now, &task.user_id, &task.id, super::webhooks::TASK_COMPLETED).await?;
    txn.commit().await?;
    state.task_events.wake(&task.id);
    Ok(true)
}

/// Whether a failed task's cost goes back to its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    /// The usual case: the provider or the server failed, not the user.
    Refunded,
    /// A file of the task exhausted the parser's limits: the work was spent on it, and a
    /// refund would make such files a free way to hold the parsers.
    Kept,
}

/// Marks the task FAILED and refunds its cost, in one transaction. The status change is
/// conditional on the claim, so the refund happens at most once.
pub async fn fail(state: &Core, task: &tasks::Model, error: &str) -> ServiceResult<bool> {
    fail_with(state, task, error, Charge::Refunded).await
}

/// Marks the task FAILED and, with [`Charge::Refunded`], refunds its cost in the same
/// transaction.
pub async fn fail_with(state: &Core, task: &tasks::Model, error: &str, charge: Charge) -> ServiceResult<bool> {
    let txn = state.db.begin().await?;
    let now = state.clock.now_micros();
    let updated = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(FAILED))
        .col_expr(tasks::Column::Error, Expr::value(error))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(held_by(task))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    if charge == Charge::Refunded {
        let movement = Movement {
            user_id: task.user_id.clone(),
            credits: task.credits_used,
            fiat_cents: state.config.billing.credit_bands.first().cents_for(task.credits_used),
            description: format!("Refund for {}", task.id),
            stripe_session_id: None,
            expected_balance: None,
        };
        ledger::move_credits(&txn, &state.clock, movement).await?;
    }
    task_events::status(&txn, now, &task.id, FAILED).await?;
    super::webhooks::outbox::task_finished(&txn, now, &task.user_id, &task.id, super::webhooks::TASK_FAILED).await?;
    txn.commit().await?;
    state.task_events.wake(&task.id);
    state.auth_cache.forget(&task.user_id).await;
    Ok(true)
}

/// How many tasks are waiting, for the logs at start-up.
pub async fn pending_count(state: &Core) -> ServiceResult<u64> {
    Ok(tasks::Entity::find()
        .filter(tasks::Column::Status.is_in([PENDING, RUNNING]))
        .select_only()
        .count(&state.db)
        .await?)
}

/// Hands a claimed task back to PENDING (shutdown could not wait for it).
pub async fn release(state: &Core, task: &tasks::Model) -> ServiceResult<bool> {
    let txn = state.db.begin().await?;
    let now = state.clock.now_micros();
    let updated = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(PENDING))
        .col_expr(tasks::Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(tasks::Column::ClaimedAt, Expr::value(Option::<i64>::None))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(held_by(task))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    task_events::status(&txn, now, &task.id, PENDING).await?;
    txn.commit().await?;
    state.task_events.wake(&task.id);
    Ok(true)
}

/// Tasks per status and the age in seconds of the oldest PENDING one, for `/metrics`.
pub async fn stats(state: &Core) -> ServiceResult<(Vec<(&'static str, i64)>, i64)> {
    let mut counts = vec![];
    for status in [PENDING, RUNNING, COMPLETED, FAILED] {
        let count = tasks::Entity::find().filter(tasks::Column::Status.eq(status)).count(&state.db).await?;
        counts.push((status, count as i64));
    }
    let oldest = tasks::Entity::find()
        .filter(tasks::Column::Status.eq(PENDING))
        .order_by_asc(tasks::Column::Seq)
        .one(&state.db)
        .await?
        .map_or(0, |task| (state.clock.now_micros() - task.created_at) / 1_000_000);
    Ok((counts, oldest))
}
