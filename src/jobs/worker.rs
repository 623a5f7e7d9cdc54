//! The analysis worker pool inside the server: each worker claims a task, turns its
//! input into a model request, and stores the result or fails it with a refund.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine;
use entity::tasks as task_rows;
use tokio::{sync::watch, task::JoinHandle};

use crate::services::tasks::{self, Charge, StoredAttachment};
use crate::{
    agent::{retriever::ServerRetriever, tools::Retriever},
    clients::agent::{AgentClient, AgentError, Part},
    domain::attachments::{Category, media_type},
    isolate::{Extractor, IsolateError, Kind},
    state::AppState,
};

/// How often an idle worker looks for tasks other processes queued.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// PDF text beyond this is cut; models have finite context.
const MAX_PDF_CHARS: usize = 200_000;

pub struct Workers {
    state: AppState,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    /// The task each worker holds, to hand back if shutdown cannot wait for it.
    holding: Holding,
}

type Holding = Arc<Mutex<HashMap<usize, task_rows::Model>>>;

impl Workers {
    /// Starts `WORKER_CONCURRENCY` workers, or none without a model provider.
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let holding: Holding = Arc::default();
        let extractor = Arc::new(Extractor::from_config(&state.config));
        let retriever: Arc<dyn Retriever> = Arc::new(ServerRetriever::new(state, extractor.clone()));
        let handles = match &state.agent {
            None => vec![],
            Some(agent) => (0..state.config.analyses.worker_concurrency)
                .map(|n| {
                    let tools =
                        Tools { agent: agent.clone(), extractor: extractor.clone(), retriever: retriever.clone() };
                    tokio::spawn(work(state.clone(), tools, stopped.clone(), n, holding.clone()))
                })
                .collect(),
        };
        Self { state: state.clone(), stop, handles, holding }
    }

    /// Stops taking tasks and gives the tasks in hand `grace` to finish. Those still
    /// running then are stopped and handed back to PENDING for another worker.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.handles.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(grace, futures_util::future::join_all(self.handles)).await.is_err() {
            aborts.iter().for_each(|handle| handle.abort());
            let held: Vec<task_rows::Model> =
                self.holding.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, task)| task).collect();
            for task in held {
                match tasks::release(&self.state, &task).await {
                    Ok(true) => tracing::info!(task_id = %task.id, "running task handed back to PENDING at shutdown"),
                    Ok(false) => {}
                    Err(err) => tracing::error!(task_id = %task.id, %err, "could not hand a task back"),
                }
            }
        }
    }

    /// Stops at once, mid-task, as a crash would; claimed tasks stay RUNNING until their
    /// lease runs out and another worker takes them.
    pub fn abort(self) {
        self.handles.iter().for_each(JoinHandle::abort);
    }
}

/// What a worker turns inputs into model requests with.
#[derive(Clone)]
pub struct Tools {
    pub agent: AgentClient,
    /// Parses untrusted files in child processes.
    pub extractor: Arc<Extractor>,
    /// Pages, web search and fact-checks for the agent.
    pub retriever: Arc<dyn Retriever>,
}

async fn work(state: AppState, tools: Tools, mut stopped: watch::Receiver<bool>, number: usize, holding: Holding) {
    tracing::debug!(worker = number, "analysis worker started");
    while !*stopped.borrow() {
        match tasks::claim_next(&state).await {
            Ok(Some(task)) => {
                holding.lock().unwrap_or_else(|p| p.into_inner()).insert(number, task.clone());
                run(&state, &tools, task).await;
                holding.lock().unwrap_or_else(|p| p.into_inner()).remove(&number);
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.task_queue.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stopped.changed() => {}
                }
            }
            Err(err) => {
                tracing::error!(%err, "claiming a task failed");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

/// Runs one claimed task to COMPLETED or FAILED; with traces on, inside a root span of
/// its own (the request that queued the task is another trace, long finished) that links
/// to the queuing request's span when the task stored its context.
pub async fn run(state: &AppState, tools: &Tools, task: task_rows::Model) {
    if !crate::telemetry::enabled() {
        return execute(state, tools, task).await;
    }
    use tracing::Instrument;
    let span = tracing::info_span!(
        parent: None,
        "task run",
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        task.id = %task.id,
        user.id = %task.user_id,
        task.status = tracing::field::Empty,
    );
    if let Some(stored) = &task.trace_context {
        crate::telemetry::link(&span, stored);
    }
    execute(state, tools, task).instrument(span).await
}

async fn execute(state: &AppState, tools: &Tools, task: task_rows::Model) {
    let started = std::time::Instant::now();
    // Every extraction this task causes (its PDFs, pages the model fetches) queues for a
    // parser slot under its user.
    let outcome = crate::isolate::on_behalf_of(task.user_id.clone(), async {
        let parts = prepare(state, tools, &task).await?;
        crate::agent::Run::new(state, &tools.agent, &*tools.retriever, &task)
            .analyse(task.input.as_deref(), &parts)
            .await
            .map_err(|e| Failure::refunded(readable(&e)))
    })
    .await;
    let stored = match outcome {
        Ok(result) => tasks::complete(state, &task, &result).await.map(|held| (held, tasks::COMPLETED)),
        Err(Failure { message, charge }) => {
            tasks::fail_with(state, &task, &message, charge).await.map(|held| (held, tasks::FAILED))
        }
    };
    match stored {
        Ok((true, status)) => {
            // The task-run span's outcome (no span, nothing recorded, with traces off).
            tracing::Span::current().record("task.status", status);
            tracing::info!(task_id = %task.id, status, elapsed_ms = started.elapsed().as_millis() as u64, "task finished");
            let _ = tokio::fs::remove_dir_all(tasks::task_dir(state, &task.id)).await;
        }
        Ok((false, _)) => tracing::warn!(task_id = %task.id, "task was taken over by another worker; result dropped"),
        Err(err) => tracing::error!(task_id = %task.id, %err, "storing the task's outcome failed"),
    }
}

fn readable(err: &AgentError) -> String {
    match err {
        AgentError::Status { status, .. } => format!("The model provider failed (HTTP {status})."),
        AgentError::Timeout => "The model provider did not answer in time.".into(),
        AgentError::Transport(_) => "The model provider could not be reached.".into(),
        AgentError::Malformed(detail) => format!("The model's answer was not a valid analysis: {detail}."),
        AgentError::ToolsRefused(_) => "The model provider refused the request.".into(),
    }
}

/// Why a task failed (its `error`), and whether its cost goes back.
struct Failure {
    message: String,
    charge: Charge,
}

impl Failure {
    fn refunded(message: String) -> Self {
        Self { message, charge: Charge::Refunded }
    }
}

/// A PDF that could not be read. One that exhausted the parser's limits (time, memory,
/// text) keeps the task's credits, and the error says so.
fn unreadable_pdf(name: &str, err: &IsolateError) -> Failure {
    if err.is_limit() {
        return Failure {
            message: format!(
                "The PDF {name} exceeded the reading limits: {err}. The analysis's credits are not refunded."
            ),
            charge: Charge::Kept,
        };
    }
    Failure::refunded(format!("The PDF {name} could not be read: {err}."))
}

/// The user message: the text, then each file as an image, extracted text or transcript.
async fn prepare(state: &AppState, tools: &Tools, task: &task_rows::Model) -> Result<Vec<Part>, Failure> {
    let mut parts = vec![];
    if let Some(text) = &task.input {
        parts.push(Part::Text(format!("Material to check:\n{text}")));
    }
    let dir = tasks::task_dir(state, &task.id);
    for file in tasks::attachments_of(task) {
        let StoredAttachment { name, category, extension, stored_as, .. } = file;
        let bytes = tokio::fs::read(dir.join(&stored_as))
            .await
            .map_err(|_| Failure::refunded(format!("The file {name} is no longer available.")))?;
        match category {
            Category::Image => {
                let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
                // Named like the other files, so the model can refer to it.
                parts.push(Part::Text(format!("Image {name}:")));
                parts.push(Part::Image(format!("data:{};base64,{data}", media_type(&extension))));
            }
            Category::Pdf => {
                // Never parsed here: a hostile PDF may only kill its child process.
                let text = tools.extractor.extract(Kind::PdfText, bytes).await.map_err(|err| {
                    if let IsolateError::Unavailable(cause) = &err {
                        tracing::error!(task_id = %task.id, %cause, "EXTRACTOR_PROGRAM could not be started");
                    }
                    unreadable_pdf(&name, &err)
                })?;
                let text: String = text.chars().take(MAX_PDF_CHARS).collect();
                parts.push(Part::Text(format!("Text of the PDF {name}:\n{}", text.trim())));
            }
            Category::Audio | Category::Video => {
                let transcript = tools
                    .agent
                    .transcribe(&name, media_type(&extension), bytes)
                    .await
                    .map_err(|e| Failure::refunded(readable(&e)))?;
                parts.push(Part::Text(format!("Transcript of {name}:\n{transcript}")));
            }
        }
    }
    Ok(parts)
}
