//! The model provider: any OpenAI-compatible server (OpenAI, Azure OpenAI, Ollama, vLLM,
//! llama.cpp). Chat completions with a JSON-schema answer, and audio transcription.

use std::time::Duration;

use serde::{Deserialize, Serialize};
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
}

impl AgentError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout | Self::Transport(_) => true,
            Self::Malformed(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    True,
    False,
    Misleading,
    Unverifiable,
    NotAClaim,
}

/// The validated result of an analysis, as stored on the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisResult {
    pub verdict: Verdict,
    /// 0 to 1.
    pub confidence: f64,
    pub summary: String,
    pub findings: Vec<String>,
    pub sources: Vec<String>,
}

impl AnalysisResult {
    fn validate(self) -> Result<Self, AgentError> {
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(AgentError::Malformed("confidence is outside 0..1".into()));
        }
        if self.summary.trim().is_empty() {
            return Err(AgentError::Malformed("summary is empty".into()));
        }
        Ok(self)
    }
}

/// One piece of the user's message.
#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    /// `data:image/png;base64,…`
    Image(String),
}

const SYSTEM_PROMPT: &str = "You are Clara, a careful fact-checker. Read the user's material (a claim, a question, \
a URL, text extracted from documents, transcripts, images) and judge the central claim. Answer only with JSON \
that follows the given schema: `verdict` is TRUE, FALSE, MISLEADING, UNVERIFIABLE, or NOT_A_CLAIM when there is \
nothing to check; `confidence` is between 0 and 1; `summary` explains the verdict in a few sentences; `findings` \
lists the specific points you established; `sources` lists references (URLs or titles) that support them.";

fn result_schema() -> Value {
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
}

const ATTEMPTS: u32 = 3;

impl AgentClient {
    pub fn new(http: reqwest::Client, config: AgentConfig) -> Self {
        Self { http, config }
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
            let (result, retry_after) = match make().send().await {
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

    /// Runs one analysis and validates the answer.
    pub async fn analyse(&self, parts: &[Part]) -> Result<AnalysisResult, AgentError> {
        let content: Vec<Value> = parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => json!({"type": "text", "text": text}),
                Part::Image(url) => json!({"type": "image_url", "image_url": {"url": url}}),
            })
            .collect();
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": content},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "fact_check", "strict": true, "schema": result_schema()},
            },
        });
        let bytes = self.send(|| self.post("/chat/completions").json(&body)).await?;
        let completion: Value =
            serde_json::from_slice(&bytes).map_err(|e| AgentError::Malformed(format!("not JSON ({e})")))?;
        let text = completion
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| AgentError::Malformed("no choices[0].message.content".into()))?;
        let result: AnalysisResult =
            serde_json::from_str(text).map_err(|e| AgentError::Malformed(format!("content does not fit ({e})")))?;
        result.validate()
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
