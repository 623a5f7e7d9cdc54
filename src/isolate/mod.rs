//! Untrusted parsers run outside the server: each file is handed to a child process (this
//! binary again, as `__extract <kind>`) under limits on memory, stack, CPU time, wall time
//! and output. A parser that recurses for ever, inflates a bomb or spins kills only its
//! child; the server sees a classified error and fails that one task.

mod child;
mod rlimits;

use std::{
    os::unix::process::ExitStatusExt,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::Command,
};

pub use self::child::{COMMAND, HtmlText, html_text, main as child_main};
use crate::{config::Config, services::fair_queue::FairQueue};

/// What a child turns bytes into. The child dispatches on it, so new parsers come in as
/// new variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PdfText,
    /// A web page's title and main text, framed as [`HtmlText::framed`]: read it with
    /// [`Extractor::extract_html`].
    HtmlText,
}

impl Kind {
    /// Its name on the child's command line.
    pub fn as_arg(self) -> &'static str {
        match self {
            Kind::PdfText => "pdf",
            Kind::HtmlText => "html",
        }
    }

    pub fn from_arg(arg: &str) -> Option<Self> {
        match arg {
            "pdf" => Some(Kind::PdfText),
            "html" => Some(Kind::HtmlText),
            _ => None,
        }
    }
}

/// How a child may end badly; each maps to a sentence for the task's error.
#[derive(Debug, thiserror::Error)]
pub enum IsolateError {
    #[error("it took too long")]
    TimedOut,
    #[error("it used too much memory")]
    TooMuchMemory,
    #[error("it holds too much text")]
    TooMuchOutput,
    /// The parser refused the input.
    #[error("it is damaged or not a PDF")]
    Unreadable,
    /// The parser died on the input (stack overflow, panic, fault): the same to the
    /// user, worth a look by whoever keeps the fuzz corpus.
    #[error("it is damaged or not a PDF")]
    Crashed,
    /// The child could not be started: a server fault, not the file's.
    #[error("the server could not start its reader")]
    Unavailable(#[source] std::io::Error),
}

impl IsolateError {
    /// The file exhausted a limit (time, memory, text): the work was spent on it.
    pub fn is_limit(&self) -> bool {
        matches!(self, Self::TimedOut | Self::TooMuchMemory | Self::TooMuchOutput)
    }
}

tokio::task_local! {
    /// Whose work the extractions of the running future are: its user's id.
    static OWNER: String;
}

/// Runs `work` with its extractions queued for a parser slot under `owner` (a user id).
/// A task-local rather than an argument: extractions happen deep inside the agent's
/// tools, which serve one task at a time.
pub async fn on_behalf_of<F: std::future::Future>(owner: String, work: F) -> F::Output {
    OWNER.scope(owner, work).await
}

/// What a child may use. `timeout` bounds both wall time and CPU time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub memory_bytes: u64,
    pub timeout: Duration,
    pub max_output: usize,
}

/// Runs children: at most `EXTRACT_CONCURRENCY` at once per process, the slots taken in
/// turns by owner ([`on_behalf_of`]), so one user's queue of slow files waits behind
/// itself and another user's file gets the next free slot.
pub struct Extractor {
    program: PathBuf,
    limits: Limits,
    permits: Arc<FairQueue<String>>,
}

/// Bytes of a child's stderr kept to tell why it died.
const STDERR_KEPT: usize = 4096;

impl Extractor {
    pub fn new(program: PathBuf, limits: Limits, concurrency: usize) -> Self {
        Self { program, limits, permits: Arc::new(FairQueue::new(concurrency)) }
    }

    pub fn from_config(config: &Config) -> Self {
        // /proc/self/exe still runs this image after a deploy replaced the file on disk.
        let program = config.analyses.extractor_program.clone().unwrap_or_else(|| {
            let own = PathBuf::from("/proc/self/exe");
            if own.exists() { own } else { std::env::current_exe().unwrap_or(own) }
        });
        let limits = Limits {
            memory_bytes: config.analyses.extract_max_memory_mb << 20,
            timeout: config.analyses.extract_timeout,
            max_output: config.analyses.extract_max_output_bytes,
        };
        Self::new(program, limits, config.analyses.extract_concurrency)
    }

    /// Turns `input` into text in a child process. Never parses `input` here.
    pub async fn extract(&self, kind: Kind, input: Vec<u8>) -> Result<String, IsolateError> {
        // Extractions outside any task (none today) share one turn.
        let owner = OWNER.try_with(Clone::clone).unwrap_or_default();
        let _permit = self.permits.acquire(owner).await;
        let started = Instant::now();
        let result = self.run_child(kind, input).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(text) => tracing::debug!(kind = kind.as_arg(), elapsed_ms, bytes = text.len(), "extraction finished"),
            Err(err) => tracing::warn!(kind = kind.as_arg(), elapsed_ms, reason = %err, "extraction failed"),
        }
        result
    }

    /// A web page's title and main text, parsed in a child ([`html_text`]).
    pub async fn extract_html(&self, input: Vec<u8>) -> Result<HtmlText, IsolateError> {
        Ok(HtmlText::unframe(&self.extract(Kind::HtmlText, input).await?))
    }

    /// The most text a child returns; longer text is cut by the child.
    pub fn max_output(&self) -> usize {
        self.limits.max_output
    }

    async fn run_child(&self, kind: Kind, input: Vec<u8>) -> Result<String, IsolateError> {
        let limits = self.limits;
        let mut command = Command::new(&self.program);
        command
            .arg(COMMAND)
            .arg(kind.as_arg())
            .arg(limits.max_output.to_string())
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: `apply` only calls setrlimit and prctl, which are async-signal-safe.
        unsafe {
            command.pre_exec(move || rlimits::apply(&limits));
        }
        let mut child = command.spawn().map_err(IsolateError::Unavailable)?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(IsolateError::Unavailable(std::io::Error::other("child pipes missing")));
        };
        let feed = async move {
            // A child that dies before reading everything closes the pipe: not our error.
            let _ = stdin.write_all(&input).await;
            drop(stdin);
            Ok(())
        };
        let talk = async {
            let (_, text, errors) =
                tokio::try_join!(feed, read_capped(stdout, limits.max_output), read_head(stderr, STDERR_KEPT))?;
            let status = child.wait().await.map_err(|_| Ended::Lost)?;
            Ok::<_, Ended>((status, text, errors))
        };
        let ended = match tokio::time::timeout(limits.timeout, talk).await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(ended)) => Err(ended),
            Err(_) => Err(Ended::Wall),
        };
        let (status, text, errors) = match ended {
            Ok(done) => done,
            Err(ended) => {
                let _ = child.start_kill();
                let status = child.wait().await.ok();
                tracing::warn!(kind = kind.as_arg(), ?ended, ?status, "extraction child killed");
                return Err(match ended {
                    Ended::Wall => IsolateError::TimedOut,
                    Ended::Overflow => IsolateError::TooMuchOutput,
                    Ended::Lost => IsolateError::Crashed,
                });
            }
        };
        let verdict = classify(status, &errors);
        if verdict.is_err() {
            tracing::warn!(kind = kind.as_arg(), ?status, stderr = %summary(&errors), "extraction child failed");
        }
        verdict?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

/// Why the server ended a child itself.
#[derive(Debug)]
enum Ended {
    Wall,
    Overflow,
    Lost,
}

/// Why a child that exited by itself did.
fn classify(status: ExitStatus, stderr: &[u8]) -> Result<(), IsolateError> {
    if status.success() {
        return Ok(());
    }
    if status.signal() == Some(libc::SIGXCPU) {
        return Err(IsolateError::TimedOut);
    }
    // Rust aborts on a failed allocation after printing this; RLIMIT_AS makes it happen.
    let text = String::from_utf8_lossy(stderr);
    if text.contains("memory allocation of") || status.signal() == Some(libc::SIGKILL) {
        return Err(IsolateError::TooMuchMemory);
    }
    if status.code() == Some(i32::from(child::EXIT_UNREADABLE)) {
        return Err(IsolateError::Unreadable);
    }
    Err(IsolateError::Crashed)
}

/// The child's own words on why it died (a panic message, "has overflowed its stack"),
/// on one line and short: it is untrusted text going into the log.
fn summary(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("note:")).take(3).collect();
    lines.join(" / ").chars().filter(|c| !c.is_control()).take(300).collect()
}

/// Reads to the end; more than `cap` bytes is an error (and the child is killed).
async fn read_capped(mut from: impl AsyncRead + Unpin, cap: usize) -> Result<Vec<u8>, Ended> {
    let mut out = vec![];
    let mut limited = (&mut from).take(cap as u64 + 1);
    limited.read_to_end(&mut out).await.map_err(|_| Ended::Lost)?;
    if out.len() > cap {
        return Err(Ended::Overflow);
    }
    Ok(out)
}

/// Keeps the first `keep` bytes and drains the rest, so a chatty child never blocks.
async fn read_head(mut from: impl AsyncRead + Unpin, keep: usize) -> Result<Vec<u8>, Ended> {
    let mut head = vec![];
    let mut chunk = [0u8; 4096];
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return Ok(head),
            Ok(n) => {
                let room = keep.saturating_sub(head.len()).min(n);
                head.extend_from_slice(&chunk[..room]);
            }
        }
    }
}
