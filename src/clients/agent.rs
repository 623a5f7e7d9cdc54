//! The model provider: any OpenAI-compatible server (OpenAI, Azure OpenAI, Ollama, vLLM,
//! llama.cpp). Chat completions with a JSON-schema answer, and audio transcription.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::AgentConfig;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the model provider answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the model provider did not answer in time")]
    Timeout,
    #[error("the model provider could not be reached: {0}")]
    Transport(String),
    #[error("the model's answer is not a valid analysis: {0}")]
    Malformed(String),
    /// The provider refused a request because it offered `tools` (some local servers).
    #[error("the model provider does not take tools: {0}")]
    ToolsRefused(String),
}

impl AgentError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout | Self::Transport(_) => true,
            Self::Malformed(_) | Self::ToolsRefused(_) => false,
        }
    }
}

pub use domain::analysis::AnalysisResult;

/// The verdict in a reply's text, checked.
pub fn parse_result(text: &str) -> Result<AnalysisResult, AgentError> {
    AnalysisResult::parse(text).map_err(AgentError::Malformed)
}

/// One piece of the user's message.
#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    /// `data:image/png;base64,…`
    Image(String),
}

/// The JSON schema of the verdict the model gives.
pub fn result_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["verdict", "confidence", "summary", "findings", "sources"],
        "properties": {
            "verdict": {"type": "string", "enum": ["TRUE", "FALSE", "MISLEADING", "UNVERIFIABLE", "NOT_A_CLAIM"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "summary": {"type": "string"},
            "findings": {"type": "array", "items": {"type": "string"}},
            "sources": {"type": "array", "items": {"type": "string"}},
        },
    })
}

#[derive(Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    config: AgentConfig,
    /// Set once the provider has refused `tools` (AGENT_TOOLS=auto): later tasks go
    /// straight to the single call.
    tools_refused: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// One chat completion: the assistant's message and the tokens it cost.
#[derive(Debug, Clone)]
pub struct ChatReply {
    /// `choices[0].message`: `content`, and `tool_calls` when the model asked for tools.
    pub message: Value,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

const ATTEMPTS: u32 = 3;

impl AgentClient {
    pub fn new(http: reqwest::Client, config: AgentConfig) -> Self {
        Self { http, config, tools_refused: Default::default() }
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Whether to offer tools: AGENT_TOOLS=auto until the provider refused them once.
    pub fn offers_tools(&self) -> bool {
        self.config.tools == crate::config::ToolsMode::Auto
            && !self.tools_refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Remembers that the provider refuses tools.
    pub fn forget_tools(&self) {
        if !self.tools_refused.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(model = %self.config.model, "the model provider refuses tools: analyses use one call with the evidence gathered first");
        }
    }

    pub fn max_steps(&self) -> u32 {
        self.config.max_steps
    }

    /// One chat completion with `body` (model added). A 4xx about `tools` on a request that
    /// offered them is [`AgentError::ToolsRefused`].
    pub async fn chat(&self, mut body: Value) -> Result<ChatReply, AgentError> {
        body["model"] = json!(self.config.model);
        let offered_tools = body.get("tools").is_some();
        let bytes = match self.send(|| self.post("/chat/completions").json(&body)).await {
            Err(AgentError::Status { status, detail })
                if offered_tools
                    && (400..500).contains(&status)
                    && status != 429
                    && detail.to_ascii_lowercase().contains("tool") =>
            {
                return Err(AgentError::ToolsRefused(format!("HTTP {status}")));
            }
            other => other?,
        };
        let completion: Value =
            serde_json::from_slice(&bytes).map_err(|e| AgentError::Malformed(format!("not JSON ({e})")))?;
        let message = completion
            .pointer("/choices/0/message")
            .cloned()
            .ok_or_else(|| AgentError::Malformed("no choices[0].message".into()))?;
        let tokens = |name: &str| completion.pointer(&format!("/usage/{name}")).and_then(Value::as_i64).unwrap_or(0);
        Ok(ChatReply {
            message,
            prompt_tokens: tokens("prompt_tokens"),
            completion_tokens: tokens("completion_tokens"),
        })
    }

    pub fn can_transcribe(&self) -> bool {
        self.config.transcription_model.is_some()
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.post(format!("{}{path}", self.config.api_base)).timeout(self.config.timeout);
        match &self.config.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Sends a request built by `make` up to three times, backing off on 429, 5xx,
    /// timeouts and connection failures (honouring a short `Retry-After`).
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder) -> Result<Vec<u8>, AgentError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, retry_after) =
                match crate::telemetry::send(make(), "provider", crate::telemetry::Propagate::Yes).await {
                    Err(e) if e.is_timeout() => (Err(AgentError::Timeout), None),
                    Err(e) => (Err(AgentError::Transport(e.to_string())), None),
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s.min(5)));
                        match response.bytes().await {
                            Err(e) if e.is_timeout() => (Err(AgentError::Timeout), None),
                            Err(e) => (Err(AgentError::Transport(e.to_string())), None),
                            Ok(body) if status.is_success() => (Ok(body.to_vec()), None),
                            Ok(body) => (
                                Err(AgentError::Status {
                                    status: status.as_u16(),
                                    detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
                                }),
                                retry_after,
                            ),
                        }
                    }
                };
            match result {
                Err(err) if err.is_retryable() && attempt < ATTEMPTS => {
                    let backoff = retry_after.unwrap_or(Duration::from_millis(250 * 2u64.pow(attempt - 1)));
                    tracing::warn!(%err, attempt, ?backoff, "model provider call failed; retrying");
                    tokio::time::sleep(backoff).await;
                }
                other => return other,
            }
        }
    }

    /// The text of an audio or video file, through `/audio/transcriptions`.
    pub async fn transcribe(&self, file_name: &str, media_type: &str, bytes: Vec<u8>) -> Result<String, AgentError> {
        let model = self.config.transcription_model.clone().ok_or_else(|| AgentError::Transport("no model".into()))?;
        let answer = self
            .send(|| {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.to_string())
                    .mime_str(media_type)
                    .unwrap_or_else(|_| reqwest::multipart::Part::bytes(bytes.clone()));
                let form = reqwest::multipart::Form::new().text("model", model.clone()).part("file", part);
                self.post("/audio/transcriptions").multipart(form)
            })
            .await?;
        let value: Value =
            serde_json::from_slice(&answer).map_err(|e| AgentError::Malformed(format!("transcription ({e})")))?;
        value
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AgentError::Malformed("transcription has no text".into()))
    }
}
