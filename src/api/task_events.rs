//! A task's events as Server-Sent Events: its steps and status changes as they are
//! written (from the database, so any instance serves any task), then `done` with the task.

use std::time::Duration;

use futures_util::{Stream, StreamExt, stream::BoxStream};
use poem::{IntoResponse, Response, web::sse::Event};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path},
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

use super::outcomes::*;
use super::{ApiTags, error::ApiError, own_active_user, security::Caller};
use crate::{
    services::{task_events, tasks},
    state::AppState,
};

/// A comment line every this often, so that proxies and clients see the stream alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events read from the database per query.
const PAGE: u64 = 500;

pub struct TaskEventsApi {
    pub state: AppState,
}

/// What each route of this area can answer besides its success (`super::outcomes`).
pub const STATUSES: Statuses = &[(
    "tasksEvents",
    &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TaskNotFound)]],
)];

#[OpenApi(tag = "ApiTags::Task")]
impl TaskEventsApi {
    /// Events
    ///
    /// The analysis as it runs, as Server-Sent Events (`text/event-stream`): `event: step`
    /// for each step the agent writes (data: the step), `event: status` for each status
    /// change (data: `{"status": …}`), and last `event: done` (data: the task, as View returns
    /// it), after which the stream ends. Every event has an `id:`, 1, 2, 3, … for the task;
    /// a client that reconnects sends the last one it saw as `Last-Event-ID` and gets the
    /// events after it. A comment line `: keep-alive` comes every 15 seconds. A stream also
    /// ends, without `done`, after the request time limit (`REQUEST_TIMEOUT_SECS`): reconnect
    /// with `Last-Event-ID`. Connecting to a finished task gives all its events and `done`
    /// at once. Browsers: `EventSource` cannot send the `Authorization` header; read the
    /// stream with `fetch` instead.
    #[oai(path = "/users/:user_id/tasks/:task_id/events", method = "get", operation_id = "tasksEvents")]
    async fn events(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// `task_…`
        task_id: Path<String>,
        /// The `id:` of the last event received: the stream resumes after it.
        #[oai(name = "Last-Event-ID", validator(maximum(value = "9007199254740991")))]
        last_event_id: Header<Option<u64>>,
    ) -> Result<TaskEventStream, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        let task = tasks::find(&self.state.db, &user.id, &task_id.0).await?;
        let after = last_event_id.0.unwrap_or(0) as i64;
        Ok(TaskEventStream(follow(self.state.clone(), task.user_id, task.id, after).boxed()))
    }
}

#[derive(Debug, Clone, Copy, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum TaskStreamEventName {
    Step,
    Status,
    Done,
}

/// One event of the stream: its `id:`, `event:` and `data:` lines, each as the text it is on
/// the wire (the schema of a `text/event-stream` response describes one event).
#[derive(Debug, Clone, Object)]
pub struct TaskStreamEvent {
    /// The event's number for the task, 1, 2, 3, …: send the last one seen as
    /// `Last-Event-ID` to resume.
    pub id: String,
    pub event: TaskStreamEventName,
    /// JSON text, by `event:`: `step` → a step (the `TaskStep` schema), `status` →
    /// `{"status": …}` (a `TaskStatus`), `done` → the task (the `AnalysisTask` schema).
    pub data: String,
}

/// What the stream sends.
pub enum Item {
    Event(Event),
    KeepAlive,
}

/// The SSE response: events framed by poem's SSE `Event`, and the keep-alive comment.
pub struct TaskEventStream(pub BoxStream<'static, Item>);

impl IntoResponse for TaskEventStream {
    fn into_response(self) -> Response {
        let bytes = self.0.map(|item| {
            Ok::<_, std::io::Error>(match item {
                Item::Event(event) => bytes::Bytes::from(event.to_string()),
                Item::KeepAlive => bytes::Bytes::from_static(b": keep-alive\n\n"),
            })
        });
        Response::builder()
            .content_type("text/event-stream")
            // Proxies that buffer (nginx) pass each event on at once.
            .header("X-Accel-Buffering", "no")
            .body(poem::Body::from_bytes_stream(bytes))
    }
}

impl ApiResponse for TaskEventStream {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The task's events, as Server-Sent Events. The schema describes one event \
                              (as OpenAPI before 3.2 reads an event stream's schema); each event's `data:` is JSON.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: TaskStreamEvent::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        TaskStreamEvent::register(registry);
    }
}

fn message(id: i64, event: &str, data: String) -> Item {
    Item::Event(Event::message(data).id(id.to_string()).event_type(event))
}

/// The stream of one task from event `after` on: pages of stored events, then a wait for
/// a wake-up (or the keep-alive), until the task is finished or the time limit is reached.
pub fn follow(state: AppState, user_id: String, task_id: String, after: i64) -> impl Stream<Item = Item> {
    let subscription = state.task_events.subscribe(&state.db, &task_id);
    let deadline = tokio::time::Instant::now() + state.config.http.request_timeout;
    // Items ready to send, last first; `finished` once `done` is among them.
    let start = (state, user_id, task_id, after, subscription, Vec::<Item>::new(), false);
    futures_util::stream::unfold(start, move |(state, user, task_id, mut after, sub, mut ready, mut finished)| {
        async move {
            loop {
                if let Some(item) = ready.pop() {
                    return Some((item, (state, user, task_id, after, sub, ready, finished)));
                }
                if finished || tokio::time::Instant::now() >= deadline {
                    return None;
                }
                // Armed before reading, so that a commit between the read and the wait wakes it.
                let woken = sub.notify.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let (events, done) = match read(&state, &user, &task_id, after).await {
                    Ok(read) => read,
                    Err(err) => {
                        // The client reconnects with Last-Event-ID and carries on.
                        tracing::warn!(task_id = %task_id, %err, "task events: read failed; stream ended");
                        return None;
                    }
                };
                if let Some((number, task)) = done {
                    ready.push(message(number, "done", task));
                    finished = true;
                }
                if let Some(last) = events.last() {
                    after = last.number;
                    ready.extend(events.into_iter().rev().map(|e| message(e.number, &e.kind, e.data)));
                    continue; // send these, then read again
                }
                if finished {
                    continue;
                }
                tokio::select! {
                    _ = woken => {}
                    // Also a read: a wake-up lost to a database hiccup costs 15 s at most.
                    _ = tokio::time::sleep(KEEP_ALIVE) => ready.push(Item::KeepAlive),
                    _ = tokio::time::sleep_until(deadline) => return None,
                }
            }
        }
    })
}

/// The events after `after` and, when the task has finished, `done`'s id and data. The
/// task is read first: once it is finished, every event it will ever have is committed.
async fn read(
    state: &AppState,
    user_id: &str,
    task_id: &str,
    after: i64,
) -> crate::services::ServiceResult<(Vec<entity::task_events::Model>, Option<(i64, String)>)> {
    let task = tasks::find(&state.db, user_id, task_id).await?;
    let finished = task.status == tasks::COMPLETED || task.status == tasks::FAILED;
    let events = task_events::after(&state.db, task_id, after, PAGE).await?;
    if !finished || events.len() as u64 == PAGE {
        return Ok((events, None));
    }
    let last = events.last().map_or(after, |e| e.number).max(task_events::last_number(&state.db, task_id).await?);
    Ok((events, Some((last + 1, crate::views::task(&task).to_json_string()))))
}
