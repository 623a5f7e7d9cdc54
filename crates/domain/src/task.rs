//! An analysis as the API shows it (and webhook events and task streams carry it): its
//! status, its result, the steps the agent took. `rules::views` builds one from a row.

use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisResult, StepKind};

/// The date the spec's examples show.
pub const EXAMPLE_DATE: &str = "Thu, 27 Nov 2025 00:10:11 GMT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum), oai(rename_all = "SCREAMING_SNAKE_CASE"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl TaskStatus {
    /// As the API writes it, and as a task row stores it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

/// One thing the agent did, in order; visible while the task runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object), oai(example, rename = "AnalysisTask"))]
pub struct Task {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Set when COMPLETED.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub result: Option<AnalysisResult>,
    /// The `text` sent, if any.
    #[cfg_attr(feature = "openapi", oai(nullable))]
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
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub error: Option<String>,
    /// What the agent has done so far (searches, retrievals, reasoning, the verdict).
    pub steps: Vec<TaskStep>,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl Task {
    /// The example the spec shows.
    pub fn example_value() -> Self {
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

#[cfg(feature = "openapi")]
impl poem_openapi::types::Example for Task {
    fn example() -> Self {
        Self::example_value()
    }
}
