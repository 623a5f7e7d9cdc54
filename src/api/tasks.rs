//! Routes 16–17: the caller's analyses.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::outcomes::*;
use super::{
    ApiTags,
    error::ApiError,
    models::*,
    own_active_user,
    paging::{Limit, Offset},
    security::Caller,
};
use crate::{services::tasks, state::AppState};

pub struct TasksApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum TaskPage {
    /// A page of tasks, newest first.
    #[oai(status = 200)]
    Ok(
        Json<TaskListEnvelope>,
        /// How many tasks the user has in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("tasksList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("tasksGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TaskNotFound)]]),
];

#[OpenApi(tag = "ApiTags::Task")]
impl TasksApi {
    /// View All
    ///
    /// The caller's analyses, newest first, with `X-Total-Count`.
    #[oai(path = "/users/:user_id/tasks", method = "get", operation_id = "tasksList")]
    async fn list(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<TaskPage, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        let (rows, total) = tasks::list(&self.state.db, &user.id, limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(crate::views::task).collect();
        Ok(TaskPage::Ok(Json(TaskListEnvelope::new(data, "Tasks fetched successfully.")), total))
    }

    /// View
    ///
    /// One of the caller's analyses.
    #[oai(path = "/users/:user_id/tasks/:task_id", method = "get", operation_id = "tasksGet")]
    async fn get(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// `task_…`
        task_id: Path<String>,
    ) -> Result<Json<TaskEnvelope>, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        let row = tasks::find(&self.state.db, &user.id, &task_id.0).await?;
        Ok(Json(TaskEnvelope::new(crate::views::task(&row), "Task fetched successfully.")))
    }
}
