//! Analyses: their price, their files, the workers, and the processes that read files.

use std::time::Duration;

use super::{
    ConfigError, Get, invalid, parse_number,
    settings::{Section, Setting},
};

#[derive(Clone, Debug)]
pub struct Analyses {
    /// Hundredths of a credit debited per analysis.
    pub analysis_cost: i64,
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
    /// Where uploaded files are kept until their task is done.
    pub attachments_dir: std::path::PathBuf,
    /// How often orphaned upload directories are looked for.
    pub attachments_sweep_interval: Duration,
    /// Analyses run at once by this process.
    pub worker_concurrency: usize,
    /// One user's tasks run at once at most, over all processes.
    pub tasks_per_user_running: u64,
    /// The program run as `<program> __extract <kind>` to parse untrusted files in a
    /// child process; None: this binary.
    pub extractor_program: Option<std::path::PathBuf>,
    /// Address space a parsing child may map, in MiB.
    pub extract_max_memory_mb: u64,
    /// Wall and CPU time a parsing child may take.
    pub extract_timeout: Duration,
    /// Text a parsing child may return, in bytes (longer text is cut by the child).
    pub extract_max_output_bytes: usize,
    /// Parsing children run at once by this process.
    pub extract_concurrency: usize,
}

impl Analyses {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let analysis_cost = match get("ANALYSIS_COST_CREDITS") {
            None => 2_000,
            Some(v) => serde_json::from_str::<serde_json::Number>(v)
                .ok()
                .and_then(|n| crate::domain::parse_hundredths(&n).ok())
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    invalid("ANALYSIS_COST_CREDITS", format!("`{v}` is not a positive number of credits"))
                })?,
        };
        let max_attachments = parse_number::<usize>(get("MAX_ATTACHMENTS"), "MAX_ATTACHMENTS", 5)?;
        if !(1..=20).contains(&max_attachments) {
            return Err(invalid("MAX_ATTACHMENTS", "must be between 1 and 20"));
        }
        let max_attachment_bytes =
            parse_number::<u64>(get("MAX_ATTACHMENT_BYTES"), "MAX_ATTACHMENT_BYTES", 26_214_400)?;
        if !(1..=1 << 30).contains(&max_attachment_bytes) {
            return Err(invalid("MAX_ATTACHMENT_BYTES", "must be between 1 and 1073741824"));
        }
        let attachments_dir = get("ATTACHMENTS_DIR").unwrap_or("clara-attachments").into();
        let worker_concurrency = parse_number::<usize>(get("WORKER_CONCURRENCY"), "WORKER_CONCURRENCY", 4)?;
        if !(1..=256).contains(&worker_concurrency) {
            return Err(invalid("WORKER_CONCURRENCY", "must be between 1 and 256"));
        }
        let tasks_per_user_running = parse_number::<u64>(get("TASKS_PER_USER_RUNNING"), "TASKS_PER_USER_RUNNING", 2)?;
        if !(1..=256).contains(&tasks_per_user_running) {
            return Err(invalid("TASKS_PER_USER_RUNNING", "must be between 1 and 256"));
        }
        let extractor_program = get("EXTRACTOR_PROGRAM").map(std::path::PathBuf::from);
        let extract_max_memory_mb = parse_number::<u64>(get("EXTRACT_MAX_MEMORY_MB"), "EXTRACT_MAX_MEMORY_MB", 512)?;
        if !(64..=65_536).contains(&extract_max_memory_mb) {
            return Err(invalid("EXTRACT_MAX_MEMORY_MB", "must be between 64 and 65536"));
        }
        let extract_secs = parse_number::<u64>(get("EXTRACT_TIMEOUT_SECS"), "EXTRACT_TIMEOUT_SECS", 20)?;
        if !(1..=3600).contains(&extract_secs) {
            return Err(invalid("EXTRACT_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let extract_max_output_bytes =
            parse_number::<usize>(get("EXTRACT_MAX_OUTPUT_BYTES"), "EXTRACT_MAX_OUTPUT_BYTES", 8 << 20)?;
        if !(1024..=1 << 30).contains(&extract_max_output_bytes) {
            return Err(invalid("EXTRACT_MAX_OUTPUT_BYTES", "must be between 1024 and 1073741824"));
        }
        let extract_concurrency = parse_number::<usize>(get("EXTRACT_CONCURRENCY"), "EXTRACT_CONCURRENCY", 2)?;
        if !(1..=256).contains(&extract_concurrency) {
            return Err(invalid("EXTRACT_CONCURRENCY", "must be between 1 and 256"));
        }
        let sweep_secs = parse_number::<u64>(get("ATTACHMENTS_SWEEP_SECS"), "ATTACHMENTS_SWEEP_SECS", 600)?;
        if !(1..=86_400).contains(&sweep_secs) {
            return Err(invalid("ATTACHMENTS_SWEEP_SECS", "must be between 1 and 86400"));
        }
        Ok(Self {
            analysis_cost,
            max_attachments,
            max_attachment_bytes,
            attachments_dir,
            attachments_sweep_interval: Duration::from_secs(sweep_secs),
            worker_concurrency,
            tasks_per_user_running,
            extractor_program,
            extract_max_memory_mb,
            extract_timeout: Duration::from_secs(extract_secs),
            extract_max_output_bytes,
            extract_concurrency,
        })
    }
}

/// The settings of `docs/configuration.md`'s section "Analyses, uploads and file reading".
pub const SECTION: Section = Section {
    title: "Analyses, uploads and file reading",
    settings: &[
        Setting {
            variable: "ANALYSIS_COST_CREDITS",
            default: "`20`",
            meaning: "credits debited per analysis (refunded if it fails, unless a file exceeded the reading limits); positive, at most two decimals",
        },
        Setting { variable: "MAX_ATTACHMENTS", default: "`5`", meaning: "files allowed per analysis (1–20)" },
        Setting {
            variable: "MAX_ATTACHMENT_BYTES",
            default: "`26214400`",
            meaning: "largest file allowed per attachment (25 MiB; 1–1073741824)",
        },
        Setting {
            variable: "ATTACHMENTS_DIR",
            default: "`clara-attachments`",
            meaning: "where uploaded files wait for their task (removed when it ends or its upload is cut off; only `task_…` directories are ever swept)",
        },
        Setting {
            variable: "ATTACHMENTS_SWEEP_SECS",
            default: "`600`",
            meaning: "how often `ATTACHMENTS_DIR` is swept of task directories no waiting task owns (1–86400; also at start; directories younger than twice the upload limit are spared)",
        },
        Setting {
            variable: "WORKER_CONCURRENCY",
            default: "`4`",
            meaning: "analyses this process runs at once (1–256)",
        },
        Setting {
            variable: "TASKS_PER_USER_RUNNING",
            default: "`2`",
            meaning: "analyses of one user that run at once over all processes (1–256); the user's others wait without holding a worker, and a worker takes another user's task meanwhile",
        },
        Setting {
            variable: "EXTRACTOR_PROGRAM",
            default: "this binary (`/proc/self/exe`)",
            meaning: "program run as `<program> __extract pdf` to read uploaded PDFs in a separate, limited process; the server never parses them itself",
        },
        Setting {
            variable: "EXTRACT_MAX_MEMORY_MB",
            default: "`512`",
            meaning: r##"address space one reading process may map (64–65536); beyond, that file's task fails "…exceeded the reading limits: it used too much memory…" and keeps its credits"##,
        },
        Setting {
            variable: "EXTRACT_TIMEOUT_SECS",
            default: "`20`",
            meaning: r##"wall and CPU time one reading process may take (1–3600); beyond, "…exceeded the reading limits: it took too long…", credits kept"##,
        },
        Setting {
            variable: "EXTRACT_MAX_OUTPUT_BYTES",
            default: "`8388608`",
            meaning: "text one reading process may return (1024–1073741824); longer text is cut",
        },
        Setting {
            variable: "EXTRACT_CONCURRENCY",
            default: "`2`",
            meaning: "reading processes this server runs at once (1–256), taken in turns by user",
        },
    ],
};
