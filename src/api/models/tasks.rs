//! Analyses: the task, its steps, the operators' view and the accepted attachment types.

use super::*;
use entity::tasks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

/// One thing the agent did, in order; visible while the task runs.
#[derive(Debug, Clone, Object)]
pub struct TaskStep {
    pub kind: StepKind,
    /// A short line: the query, the URL, what was dropped.
    pub detail: String,
    /// HTTP date.
    pub at: String,
}

/// An analysis. Poll it until `status` is COMPLETED (with `result`) or FAILED (with
/// `error`; the cost is refunded unless a file exceeded the reading limits). Named
/// `AnalysisTask` in the spec: a schema called `Task` would shadow Swift's concurrency
/// `Task` in generated clients.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "AnalysisTask")]
pub struct Task {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Set when COMPLETED.
    #[oai(nullable)]
    pub result: Option<AnalysisResult>,
    /// The `text` sent, if any.
    #[oai(nullable)]
    pub input: Option<String>,
    /// The names of the files sent.
    pub attachments: Vec<String>,
    /// Credits the analysis cost (refunded if it failed, unless a file exceeded the
    /// reading limits).
    pub credits_used: f64,
    /// Why it failed, when FAILED, in a sentence. A file that exhausted the reading
    /// limits (time, memory, text) fails it with "The PDF … exceeded the reading limits:
    /// …", and then the credits are not refunded; any other failure (the model provider,
    /// the server) is refunded.
    #[oai(nullable)]
    pub error: Option<String>,
    /// What the agent has done so far (searches, retrievals, reasoning, the verdict).
    pub steps: Vec<TaskStep>,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl From<&tasks::Model> for Task {
    fn from(row: &tasks::Model) -> Self {
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            status: match row.status.as_str() {
                "RUNNING" => TaskStatus::Running,
                "COMPLETED" => TaskStatus::Completed,
                "FAILED" => TaskStatus::Failed,
                _ => TaskStatus::Pending,
            },
            result: row.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            input: row.input.clone(),
            attachments: crate::services::tasks::attachments_of(row).into_iter().map(|a| a.name).collect(),
            credits_used: hundredths_to_number(row.credits_used),
            error: row.error.clone(),
            steps: crate::services::steps::of(row)
                .into_iter()
                .map(|step| TaskStep { kind: step.kind, detail: step.detail, at: http_date(step.at) })
                .collect(),
            created_at: http_date(row.created_at),
            updated_at: http_date(row.updated_at),
        }
    }
}

impl Task {
    fn example_value() -> Self {
        Self {
            id: "task_0b6f8c4f9d2e4a7b8c1d2e3f4a5b6c7d".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            status: TaskStatus::Pending,
            result: None,
            input: Some("The Eiffel Tower was completed in 1889.".into()),
            attachments: vec!["photo.jpg".into()],
            credits_used: 20.0,
            error: None,
            steps: vec![TaskStep {
                kind: StepKind::Fetch,
                detail: "https://www.toureiffel.paris/en/the-monument/history".into(),
                at: EXAMPLE_DATE.into(),
            }],
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// An analysis as operators see it: its state and what it cost at the model provider.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AdminTask {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Times a worker took it up (more than one after an interrupted run).
    #[oai(validator(minimum(value = "0")))]
    pub attempts: i32,
    /// Tokens the provider read, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub prompt_tokens: i64,
    /// Tokens the provider wrote, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub completion_tokens: i64,
    /// Steps the agent took in its last run.
    pub steps: u32,
    /// Credits the analysis cost (refunded if it failed, unless a file exceeded the
    /// reading limits).
    pub credits_used: f64,
    /// HTTP date in GMT.
    pub created_at: String,
    /// HTTP date in GMT.
    pub updated_at: String,
}

impl From<&tasks::Model> for AdminTask {
    fn from(row: &tasks::Model) -> Self {
        let task = Task::from(row);
        Self {
            id: task.id,
            user_id: task.user_id,
            status: task.status,
            attempts: row.attempts,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            steps: task.steps.len() as u32,
            credits_used: task.credits_used,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

impl poem_openapi::types::Example for AdminTask {
    fn example() -> Self {
        Self {
            id: "task_0b6f8c4f9d2e4a7b8c1d2e3f4a5b6c7d".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            status: TaskStatus::Completed,
            attempts: 1,
            prompt_tokens: 5_120,
            completion_tokens: 412,
            steps: 5,
            credits_used: 20.0,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// File extensions Analysis accepts, by kind. Audio and video are listed only when the
/// server can transcribe them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SupportedAttachments {
    pub audio: Vec<String>,
    pub image: Vec<String>,
    pub pdf: Vec<String>,
    pub video: Vec<String>,
}

impl SupportedAttachments {
    fn example_value() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            audio: vec![],
            image: list(&crate::domain::attachments::IMAGE_EXTENSIONS),
            pdf: list(&crate::domain::attachments::PDF_EXTENSIONS),
            video: vec![],
        }
    }
}

envelope!(
    /// Success envelope around a Task.
    TaskEnvelope, Task);

envelope!(
    /// Success envelope around a page of Tasks, newest first.
    TaskListEnvelope, Vec<Task>);

envelope!(
    /// Success envelope around the supported attachment types.
    SupportedAttachmentsEnvelope, SupportedAttachments);

envelope!(
    /// Success envelope around a page of analyses as operators see them, newest first.
    AdminTaskListEnvelope, Vec<AdminTask>);

examples!(Task, SupportedAttachments);
