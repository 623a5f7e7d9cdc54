//! A task's event stream: each step written and each status reached is also appended to
//! `task_events`, numbered 1, 2, 3, … per task, in the transaction of the change itself,
//! so a stream read from the table never shows a change that did not happen nor misses
//! one that did, whichever server instance made it.
//!
//! Readers wait on a per-task wake-up: the writer's process wakes its own readers as
//! soon as it commits, and a poller (running only while this process has readers) looks
//! for rows other instances wrote and wakes the readers of those tasks.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use entity::task_events;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tokio::sync::Notify;

use super::ServiceResult;

pub const STEP: &str = "step";
pub const STATUS: &str = "status";

/// How often the poller looks for events other instances wrote: the most a reader on
/// this instance lags behind a writer on another.
pub const CROSS_INSTANCE_POLL: Duration = Duration::from_millis(500);
/// Rows the poller re-reads behind its high-water mark: a PostgreSQL sequence value is
/// taken before commit, so a row may become visible after rows numbered above it.
const LOOKBACK_ROWS: i64 = 1_000;

/// Appends an event to the task's stream, on the connection of the change it records
/// (a transaction that has already written the task's row, which orders writers).
pub async fn append<C: ConnectionTrait>(
    db: &C,
    now: i64,
    task_id: &str,
    kind: &str,
    data: String,
) -> ServiceResult<()> {
    let last: Option<i64> = task_events::Entity::find()
        .select_only()
        .column_as(task_events::Column::Number.max(), "last")
        .filter(task_events::Column::TaskId.eq(task_id))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    task_events::ActiveModel {
        task_id: Set(task_id.to_string()),
        number: Set(last.unwrap_or(0) + 1),
        kind: Set(kind.to_string()),
        data: Set(data),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records that the task reached `status` (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`).
pub async fn status<C: ConnectionTrait>(db: &C, now: i64, task_id: &str, status: &str) -> ServiceResult<()> {
    append(db, now, task_id, STATUS, serde_json::json!({ "status": status }).to_string()).await
}

/// The `data:` of a step event: the step as the task shows it.
pub fn step_data(step: &super::steps::Step) -> String {
    // Through a `Value`, as the API serialises it: the same bytes either way.
    serde_json::to_value(crate::views::step(step)).map(|v| v.to_string()).unwrap_or_default()
}

/// The task's events numbered above `after`, oldest first, at most `limit`.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    task_id: &str,
    after: i64,
    limit: u64,
) -> ServiceResult<Vec<task_events::Model>> {
    Ok(task_events::Entity::find()
        .filter(task_events::Column::TaskId.eq(task_id))
        .filter(task_events::Column::Number.gt(after))
        .order_by_asc(task_events::Column::Number)
        .limit(limit)
        .all(db)
        .await?)
}

/// The number of the task's last event (0 when it has none).
pub async fn last_number<C: ConnectionTrait>(db: &C, task_id: &str) -> ServiceResult<i64> {
    Ok(task_events::Entity::find()
        .select_only()
        .column_as(task_events::Column::Number.max(), "last")
        .filter(task_events::Column::TaskId.eq(task_id))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten()
        .unwrap_or(0))
}

/// The wake-ups of this process's readers, by task.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<HubState>,
}

#[derive(Default)]
struct HubState {
    /// Weak: a task's entry dies with its last reader.
    readers: HashMap<String, Weak<Notify>>,
    polling: bool,
}

/// A reader's hold on its task's wake-up; the poller stops when none is left.
pub struct Subscription {
    pub notify: Arc<Notify>,
}

impl Hub {
    /// The wake-up for `task_id`, starting the cross-instance poller if it is not running.
    pub fn subscribe(self: &Arc<Self>, db: &DatabaseConnection, task_id: &str) -> Subscription {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let notify = match state.readers.get(task_id).and_then(Weak::upgrade) {
            Some(notify) => notify,
            None => {
                let notify = Arc::new(Notify::new());
                state.readers.insert(task_id.to_string(), Arc::downgrade(&notify));
                notify
            }
        };
        if !state.polling {
            state.polling = true;
            tokio::spawn(poll(self.clone(), db.clone()));
        }
        Subscription { notify }
    }

    /// Wakes this process's readers of `task_id` (after a commit that added its events).
    pub fn wake(&self, task_id: &str) {
        let notify = self.inner.lock().unwrap_or_else(|p| p.into_inner()).readers.get(task_id).and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// Drops dead entries; false (and the poller is to stop) when no reader is left.
    fn prune(&self) -> bool {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        state.readers.retain(|_, reader| reader.strong_count() > 0);
        if state.readers.is_empty() {
            state.polling = false;
        }
        state.polling
    }
}

/// Wakes the readers of tasks that got events from any instance, while there are readers.
async fn poll(hub: Arc<Hub>, db: DatabaseConnection) {
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let mut high = match task_events::Entity::find()
        .select_only()
        .column_as(task_events::Column::Seq.max(), "high")
        .into_tuple::<Option<i64>>()
        .one(&db)
        .await
    {
        Ok(high) => high.flatten().unwrap_or(0),
        Err(err) => {
            tracing::warn!(%err, "task events: reading the high-water mark failed");
            0
        }
    };
    while hub.prune() {
        tokio::time::sleep(CROSS_INSTANCE_POLL).await;
        let floor = (high - LOOKBACK_ROWS).max(0);
        let rows: Vec<(i64, String)> = match task_events::Entity::find()
            .select_only()
            .column(task_events::Column::Seq)
            .column(task_events::Column::TaskId)
            .filter(task_events::Column::Seq.gt(floor))
            .order_by_asc(task_events::Column::Seq)
            .limit(10_000)
            .into_tuple()
            .all(&db)
            .await
        {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(%err, "task events: polling failed");
                continue;
            }
        };
        let mut woken = BTreeSet::new();
        for (seq, task_id) in rows {
            high = high.max(seq);
            if seen.insert(seq) && woken.insert(task_id.clone()) {
                hub.wake(&task_id);
            }
        }
        let floor = (high - LOOKBACK_ROWS).max(0);
        seen = seen.split_off(&(floor + 1));
    }
}
