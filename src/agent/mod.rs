//! The evidence-grounded analysis. The URLs in the text are fetched first;
//! then the model is offered tools (`fetch_url`, `web_search`, `fact_check_search`) and
//! the server runs each call, up to `AGENT_MAX_STEPS` rounds; then the model gives its
//! verdict as JSON. Its sources are kept only if this task retrieved them, each cited with
//! a passage of what was retrieved. A provider that refuses tools gets one call with the
//! evidence gathered first (searched and fetched by the server itself).

pub mod evidence;
pub mod retriever;
pub mod tools;

use serde_json::{Value, json};

use self::{
    evidence::{Evidence, cite},
    tools::Retriever,
};
use domain::analysis::{AnalysisResult, StepKind};

use crate::{
    clients::agent::{AgentClient, AgentError, ChatReply, Part, parse_result},
    services::steps::{StepLog, add_usage},
    state::AppState,
};

/// URLs of the input fetched before the first model call, at most.
const MAX_INPUT_URLS: usize = 3;
/// Search results fetched by the server itself when the model cannot call tools.
const FALLBACK_FETCHES: usize = 2;

const SYSTEM_PROMPT: &str = "You are Clara, a careful fact-checker. Judge the central claim of the user's material \
(a claim, a question, a URL, text extracted from documents, transcripts, images). Gather evidence before you \
judge: use the tools to search and to read sources; prefer primary sources and published fact-checks. You may \
cite only what you retrieved in this conversation (pages you fetched, fact-checks you found); anything else is \
removed from your answer. When you have enough evidence, say so briefly without calling a tool.";

const VERDICT_REQUEST: &str = "Give your verdict now, as JSON that follows the schema: `verdict` is TRUE, FALSE, \
MISLEADING, UNVERIFIABLE, or NOT_A_CLAIM when there is nothing to check; `confidence` is between 0 and 1; \
`summary` explains the verdict in a few sentences; `findings` lists the specific points established; `sources` \
lists the URLs of the retrieved pages or fact-checks the findings rest on (only those).";

fn result_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {"name": "fact_check", "strict": true, "schema": crate::clients::agent::result_schema()},
    })
}

fn user_content(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({"type": "text", "text": text}),
            Part::Image(url) => json!({"type": "image_url", "image_url": {"url": url}}),
        })
        .collect()
}

/// The http(s) URLs in `text`, in order, without repeats.
pub fn urls_in(text: &str) -> Vec<String> {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut urls: Vec<String> = vec![];
    for link in finder.links(text) {
        let url = link.as_str().to_string();
        if (url.starts_with("http://") || url.starts_with("https://")) && !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// One run of the agent over `parts` (the text is `input`); the stored result JSON.
pub struct Run<'a> {
    pub state: &'a AppState,
    pub agent: &'a AgentClient,
    pub retriever: &'a dyn Retriever,
    pub task: &'a entity::tasks::Model,
    pub log: StepLog<'a>,
    evidence: Evidence,
}

impl<'a> Run<'a> {
    pub fn new(
        state: &'a AppState,
        agent: &'a AgentClient,
        retriever: &'a dyn Retriever,
        task: &'a entity::tasks::Model,
    ) -> Self {
        Self { state, agent, retriever, task, log: StepLog::new(state, task), evidence: Evidence::default() }
    }

    async fn chat(&mut self, body: Value) -> Result<ChatReply, AgentError> {
        let reply = self.agent.chat(body).await?;
        if let Err(err) = add_usage(self.state, self.task, reply.prompt_tokens, reply.completion_tokens).await {
            tracing::warn!(task_id = %self.task.id, %err, "recording token usage failed");
        }
        Ok(reply)
    }

    async fn fetch_into(&mut self, url: &str) -> String {
        let outcome = tools::fetch(self.retriever, url, self.state.clock.now_micros()).await;
        self.record(outcome).await
    }

    async fn record(&mut self, outcome: tools::Outcome) -> String {
        self.log.add(outcome.step.0, outcome.step.1).await;
        for document in outcome.retrieved {
            self.evidence.add(document);
        }
        outcome.text
    }

    /// Runs the analysis to a grounded result.
    pub async fn analyse(mut self, input: Option<&str>, parts: &[Part]) -> Result<Value, AgentError> {
        let mut content = user_content(parts);
        for url in input.map(urls_in).unwrap_or_default().into_iter().take(MAX_INPUT_URLS) {
            let text = self.fetch_into(&url).await;
            content.push(json!({"type": "text", "text": format!("Retrieved before you started:\n{text}")}));
        }
        let mut messages =
            vec![json!({"role": "system", "content": SYSTEM_PROMPT}), json!({"role": "user", "content": content})];
        let mut used_tools = false;
        if self.agent.offers_tools() {
            match self.tool_rounds(&mut messages, &mut used_tools).await {
                Ok(Some(early)) => return self.conclude(early).await,
                Ok(None) => {}
                Err(AgentError::ToolsRefused(detail)) => {
                    tracing::info!(task_id = %self.task.id, %detail, "provider refused tools; one call instead");
                    self.agent.forget_tools();
                    self.gather_without_tools(input, &mut messages).await;
                }
                Err(err) => return Err(err),
            }
        } else {
            self.gather_without_tools(input, &mut messages).await;
        }
        messages.push(json!({"role": "user", "content": VERDICT_REQUEST}));
        let mut body = json!({"messages": messages, "response_format": result_format()});
        if used_tools {
            // Some providers want the tools named while the conversation holds tool calls.
            body["tools"] = tools::definitions(self.retriever);
            body["tool_choice"] = json!("none");
        }
        let reply = self.chat(body).await?;
        let verdict = parse_verdict(&reply.message)?;
        self.conclude(verdict).await
    }

    /// Tool rounds until the model stops calling tools or the step limit. A reply that is
    /// already the verdict (a model that answers at once) is returned as is.
    async fn tool_rounds(
        &mut self,
        messages: &mut Vec<Value>,
        used_tools: &mut bool,
    ) -> Result<Option<AnalysisResult>, AgentError> {
        let definitions = tools::definitions(self.retriever);
        for round in 0..self.agent.max_steps() {
            let reply = self.chat(json!({"messages": messages, "tools": definitions, "tool_choice": "auto"})).await?;
            let calls = reply.message.get("tool_calls").and_then(Value::as_array).cloned().unwrap_or_default();
            if calls.is_empty() {
                if let Ok(verdict) = parse_verdict(&reply.message) {
                    return Ok(Some(verdict));
                }
                if let Some(thought) =
                    reply.message.get("content").and_then(Value::as_str).filter(|t| !t.trim().is_empty())
                {
                    self.log.add(StepKind::Reason, thought.trim()).await;
                }
                messages.push(json!({"role": "assistant", "content": reply.message.get("content").cloned().unwrap_or(Value::Null)}));
                return Ok(None);
            }
            *used_tools = true;
            messages.push(reply.message.clone());
            for call in calls {
                let id = call.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_string();
                let arguments = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}").to_string();
                let outcome = tools::run(self.retriever, &name, &arguments, self.state.clock.now_micros()).await;
                let text = self.record(outcome).await;
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            if round + 1 == self.agent.max_steps() {
                self.log
                    .add(
                        StepKind::Reason,
                        format!("Step limit ({}) reached; asking for the verdict.", self.agent.max_steps()),
                    )
                    .await;
            }
        }
        Ok(None)
    }

    /// Without tools: the server searches for the text itself and fetches the first
    /// results, so that the single call still has evidence to cite.
    async fn gather_without_tools(&mut self, input: Option<&str>, messages: &mut Vec<Value>) {
        let Some(text) = input.map(str::trim).filter(|t| !t.is_empty()) else { return };
        if !self.retriever.has_search() {
            return;
        }
        let query: String = text.split_whitespace().take(20).collect::<Vec<_>>().join(" ");
        let outcome = tools::run(
            self.retriever,
            "web_search",
            &json!({"query": query}).to_string(),
            self.state.clock.now_micros(),
        )
        .await;
        let results = self.record(outcome).await;
        let mut gathered = vec![format!("Search results for \"{query}\":\n{results}")];
        let urls: Vec<String> = urls_in(&results).into_iter().take(FALLBACK_FETCHES).collect();
        for url in urls {
            gathered.push(self.fetch_into(&url).await);
        }
        messages.push(json!({"role": "user", "content": format!("Evidence the server gathered:\n\n{}", gathered.join("\n\n---\n\n"))}));
    }

    /// Keeps only retrieved sources, cites each, records the verdict.
    async fn conclude(mut self, verdict: AnalysisResult) -> Result<Value, AgentError> {
        let claim = format!("{} {}", verdict.summary, verdict.findings.join(" "));
        let (kept, dropped) = self.evidence.ground(&verdict.sources);
        let citations: Vec<_> = kept.iter().map(|document| cite(document, &claim)).collect();
        let sources: Vec<String> = kept.iter().map(|document| document.url.clone()).collect();
        if !dropped.is_empty() {
            self.log
                .add(
                    StepKind::Reason,
                    format!("Dropped {} source(s) not retrieved for this task: {}", dropped.len(), dropped.join(", ")),
                )
                .await;
        }
        let label = verdict.verdict.as_str();
        self.log
            .add(
                StepKind::Conclude,
                format!("{label} (confidence {:.2}), {} source(s)", verdict.confidence, sources.len()),
            )
            .await;
        let result = AnalysisResult { sources, citations, ..verdict };
        serde_json::to_value(result).map_err(|e| AgentError::Malformed(e.to_string()))
    }
}

/// The verdict in a reply's content.
fn parse_verdict(message: &Value) -> Result<AnalysisResult, AgentError> {
    let text = message
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| AgentError::Malformed("no choices[0].message.content".into()))?;
    parse_result(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_found_in_prose() {
        let text = "See https://example.org/a?b=1, and (http://example.com/x). Not ftp://x.org or example.net. Again https://example.org/a?b=1";
        assert_eq!(super::urls_in(text), vec!["https://example.org/a?b=1", "http://example.com/x"]);
    }
}
