//! Uploaded files live as long as their task: a guard removes a task's directory when its
//! upload ends any way but with the task row committed (a request timeout drops the
//! handler mid-file, so only `Drop` runs), and a sweep removes directories no waiting
//! task owns (a process killed mid-upload runs no `Drop`).

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, SystemTime},
};

use entity::tasks as task_rows;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::ServiceResult;
use crate::{
    domain::{IdPrefix, task::TaskStatus},
    state::Core,
};

/// Owns a task's directory while its upload is in flight.
pub struct UploadDir {
    path: PathBuf,
    kept: AtomicBool,
}

impl UploadDir {
    pub fn new(path: PathBuf) -> Self {
        Self { path, kept: AtomicBool::new(false) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The task row is committed: the files now belong to it.
    pub fn keep(&self) {
        self.kept.store(true, Ordering::SeqCst);
    }

    /// Removes the files now, before the refusal is answered.
    pub async fn discard(self) {
        self.keep();
        let _ = tokio::fs::remove_dir_all(&self.path).await;
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        if self.kept.load(Ordering::SeqCst) {
            return;
        }
        let path = std::mem::take(&mut self.path);
        // Off the async threads when there is a runtime; a handful of files either way.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || remove(&path));
            }
            Err(_) => remove(&path),
        }
    }
}

fn remove(path: &Path) {
    match std::fs::remove_dir_all(path) {
        Ok(()) => tracing::debug!(path = %path.display(), "unfinished upload removed"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(path = %path.display(), %err, "could not remove an unfinished upload"),
    }
}

/// Longest an upload may stay in flight before the request timeout ends it.
pub fn upload_time_limit(state: &Core) -> Duration {
    state.config.http.request_timeout * 10
}

/// Removes task directories older than `older_than` whose task is not PENDING or RUNNING
/// (finished, deleted, or never committed). Only names a task id could have are touched,
/// so a shared ATTACHMENTS_DIR keeps everything else. Several processes may sweep at once:
/// a directory another one removed first is simply gone. Returns how many it removed.
pub async fn sweep(state: &Core, older_than: Duration) -> ServiceResult<usize> {
    let root = state.config.analyses.attachments_dir.clone();
    let (candidates, unfinished) =
        tokio::task::spawn_blocking(move || (old_task_dirs(&root, older_than), taken_dirs(&root)))
            .await
            .map_err(|e| super::ServiceError::internal("sweeping old uploads", e))?;
    for path in unfinished {
        remove_taken(&path).await;
    }
    let mut removed = 0;
    for chunk in candidates.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let waiting: Vec<String> = task_rows::Entity::find()
            .select_only()
            .column(task_rows::Column::Id)
            .filter(task_rows::Column::Id.is_in(ids))
            .filter(task_rows::Column::Status.is_in([TaskStatus::Pending.as_str(), TaskStatus::Running.as_str()]))
            .into_tuple()
            .all(&state.db)
            .await?;
        for (id, path) in chunk {
            if waiting.contains(id) {
                continue;
            }
            // Renaming first is atomic: of several processes sweeping at once, exactly
            // one takes the directory, and only it removes (and counts) it.
            let taken = path.with_file_name(format!("{SWEPT_PREFIX}{}", uuid::Uuid::new_v4().simple()));
            match tokio::fs::rename(path, &taken).await {
                Ok(()) => {
                    removed += 1;
                    remove_taken(&taken).await;
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => tracing::warn!(path = %path.display(), %err, "sweep could not take a directory"),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "orphaned upload directories removed");
    }
    Ok(removed)
}

/// A directory a sweep has taken and is removing (left behind only if it was stopped
/// midway; the next sweep finishes it).
const SWEPT_PREFIX: &str = ".swept-";

async fn remove_taken(path: &Path) {
    if let Err(err) = tokio::fs::remove_dir_all(path).await
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %err, "sweep could not remove a directory");
    }
}

/// (task id, path) of each task-named directory whose newest entry is older than `age`.
fn old_task_dirs(root: &Path, age: Duration) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root) else { return vec![] };
    let now = SystemTime::now();
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let hex = name.strip_prefix(IdPrefix::Task.as_str())?;
            (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some((name, entry.path()))
        })
        .filter(|(_, path)| newest_change(path).is_some_and(|t| now.duration_since(t).unwrap_or_default() >= age))
        .collect()
}

/// Directories an earlier sweep took but did not finish removing.
fn taken_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return vec![] };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_str().is_some_and(|name| name.starts_with(SWEPT_PREFIX)))
        .map(|entry| entry.path())
        .collect()
}

/// The latest modification time of a directory and its files: an upload writing into a
/// file does not touch the directory's own time.
fn newest_change(dir: &Path) -> Option<SystemTime> {
    let own = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
    let files = std::fs::read_dir(dir).ok()?.flatten().filter_map(|e| e.metadata().and_then(|m| m.modified()).ok());
    Some(files.fold(own, SystemTime::max))
}

/// Sweeps now and then every `ATTACHMENTS_SWEEP_SECS`, sparing directories younger than
/// twice the upload time limit (an upload in flight in any process).
pub async fn sweep_forever(state: Core) {
    let grace = upload_time_limit(&state) * 2;
    loop {
        if let Err(err) = sweep(&state, grace).await {
            tracing::warn!(%err, "sweeping orphaned uploads failed");
        }
        tokio::time::sleep(state.config.analyses.attachments_sweep_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_a_file(root: &Path, name: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0.png"), b"x").unwrap();
        dir
    }

    #[test]
    fn a_dropped_guard_removes_its_directory_and_a_kept_one_does_not() {
        let root = tempfile::tempdir().unwrap();
        let dropped = dir_with_a_file(root.path(), "task_a");
        drop(UploadDir::new(dropped.clone()));
        assert!(!dropped.exists(), "no runtime: removed at once");

        let kept = dir_with_a_file(root.path(), "task_b");
        let guard = UploadDir::new(kept.clone());
        guard.keep();
        drop(guard);
        assert!(kept.exists());
    }

    #[tokio::test]
    async fn inside_a_runtime_the_removal_runs_on_a_blocking_thread() {
        let root = tempfile::tempdir().unwrap();
        let dir = dir_with_a_file(root.path(), "task_c");
        // As when a timeout drops the request's future mid-upload.
        let upload = async {
            let guard = UploadDir::new(dir.clone());
            std::future::pending::<()>().await;
            drop(guard);
        };
        assert!(tokio::time::timeout(Duration::from_millis(10), upload).await.is_err());
        for _ in 0..100 {
            if !dir.exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the cut-off upload's directory is still there");
    }
}
