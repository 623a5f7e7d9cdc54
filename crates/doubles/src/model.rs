//! An OpenAI-compatible model provider (`{root}/v1/chat/completions` and
//! `{root}/v1/audio/transcriptions`). Unless told otherwise ([`Script`]) it answers
//! deterministically: the same material always gives the same verdict, and the findings name
//! what it read (the first words of the text, each file by name), so a client can see its
//! input arrived; offered tools, it searches the web for the text and fetches the first
//! result before answering. A text containing `#fail` is refused, which ends the task FAILED
//! with its refund through the real failure path. A test can script other answers: a fixed
//! analysis, nonsense, a sequence of replies, or a server that takes no tools.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{
    EndpointExt, Response, Route,
    endpoint::BoxEndpoint,
    handler,
    http::StatusCode,
    post,
    web::{Data, Json, Multipart},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{faults::Faults, serve::Double};

/// The deterministic model's name.
pub const MODEL: &str = "clara-sandbox-1";
pub const TRANSCRIPTION_MODEL: &str = "clara-sandbox-transcriber-1";

/// How the model answers chats.
#[derive(Debug, Clone, Default)]
pub enum Script {
    /// From the material, the same way every time (the sandbox's model).
    #[default]
    Deterministic,
    /// This analysis, whatever was asked.
    Answer(Value),
    /// A completion whose content is not the schema's JSON.
    Nonsense,
    /// Each chat gets the next of these (delay in ms, assistant message), then `then`
    /// once they run out.
    Replies { replies: Arc<Mutex<VecDeque<(u64, Value)>>>, then: Value },
    /// A server that takes no `tools`: 400 when offered them, this analysis otherwise.
    RefusesTools(Value),
}

impl Script {
    pub fn replies(replies: Vec<(u64, Value)>, then: Value) -> Self {
        Self::Replies { replies: Arc::new(Mutex::new(replies.into())), then }
    }
}

/// The model provider's double.
#[derive(Default)]
pub struct Model {
    script: Mutex<Script>,
    pub faults: Arc<Faults>,
}

impl Model {
    pub fn script(&self, script: Script) {
        *self.script.lock().unwrap_or_else(|e| e.into_inner()) = script;
    }

    fn current(&self) -> Script {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The JSON bodies of the chats received (when recording).
    pub fn chats(&self) -> Vec<Value> {
        self.faults.requests_to("/v1/chat/completions").iter().filter_map(|r| r.json()).collect()
    }
}

impl Double for Model {
    fn routes(self: Arc<Self>) -> BoxEndpoint<'static, Response> {
        Route::new()
            .at("/v1/chat/completions", post(chat_completions))
            .at("/v1/audio/transcriptions", post(transcriptions))
            .data(self)
            .boxed()
    }

    fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }
}

/// An assistant message calling one tool.
pub fn tool_call(id: &str, name: &str, arguments: Value) -> Value {
    json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": id, "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}
    ]})
}

/// An assistant message with text content.
pub fn says(content: &str) -> Value {
    json!({"role": "assistant", "content": content})
}

/// The marker that makes an analysis fail.
pub const FAIL_MARKER: &str = "#fail";
const VERDICTS: [&str; 4] = ["TRUE", "FALSE", "MISLEADING", "UNVERIFIABLE"];
/// Words of a text quoted in a finding.
const QUOTED_WORDS: usize = 8;

/// What the worker's message says it holds, recognised by the headings it writes.
#[derive(Debug, PartialEq, Eq)]
enum Material<'a> {
    Text(&'a str),
    Pdf { name: &'a str, text: &'a str },
    Transcript { name: &'a str, text: &'a str },
    Image { name: &'a str },
}

fn classify(part: &str) -> Material<'_> {
    let (heading, body) = part.split_once('\n').unwrap_or((part, ""));
    let named = |prefix: &str| heading.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(':'));
    if heading == "Material to check:" {
        Material::Text(body)
    } else if let Some(name) = named("Text of the PDF ") {
        Material::Pdf { name, text: body }
    } else if let Some(name) = named("Transcript of ") {
        Material::Transcript { name, text: body }
    } else if let Some(name) = named("Image ") {
        Material::Image { name }
    } else {
        Material::Text(part)
    }
}

fn first_words(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let quoted = words.iter().take(QUOTED_WORDS).copied().collect::<Vec<_>>().join(" ");
    if words.len() > QUOTED_WORDS { format!("{quoted}…") } else { quoted }
}

/// The analysis of these message parts (texts in order) and the pages retrieved (url,
/// title), or why it is refused. The verdict depends on the material only.
pub fn analyse(texts: &[&str], images: usize, retrieved: &[(String, String)]) -> Result<Value, String> {
    if texts.iter().any(|t| t.contains(FAIL_MARKER)) {
        return Err(format!(
            "The sandbox model refuses material containing {FAIL_MARKER}, so that clients can test a failed analysis."
        ));
    }
    let mut findings = vec![];
    let mut digest = Sha256::new();
    for text in texts {
        digest.update(text.as_bytes());
        digest.update([0]);
        findings.push(match classify(text) {
            Material::Text(body) => format!("Read the text, which begins \"{}\".", first_words(body)),
            Material::Pdf { name, text } => format!("Read the PDF {name}, which begins \"{}\".", first_words(text)),
            Material::Transcript { name, text } => {
                format!("Listened to {name}, whose transcript begins \"{}\".", first_words(text))
            }
            Material::Image { name } => format!("Looked at the image {name}."),
        });
    }
    for (url, title) in retrieved {
        findings.push(format!("Retrieved {title} ({url})."));
    }
    let hash = digest.finalize();
    let verdict =
        if texts.is_empty() && images == 0 { "NOT_A_CLAIM" } else { VERDICTS[hash[0] as usize % VERDICTS.len()] };
    let confidence = f64::from(55 + hash[1] % 40) / 100.0;
    Ok(json!({
        "verdict": verdict,
        "confidence": confidence,
        "summary": format!(
            "Sandbox verdict: {verdict}. The sandbox model checks no facts: it answers from a hash of the material, so the same input always gives this result, and cites what it retrieved."
        ),
        "findings": findings,
        "sources": retrieved.iter().map(|(url, _)| url).collect::<Vec<_>>(),
    }))
}

fn provider_error(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string())
}

/// What the conversation so far holds.
struct Conversation<'a> {
    /// The material's text parts (the first user message), without retrieved pages.
    texts: Vec<&'a str>,
    images: usize,
    /// (url, title) of every page retrieved so far: before the first call or by a tool.
    retrieved: Vec<(String, String)>,
    /// The content of the last message, when it is a tool's result.
    last_tool_result: Option<&'a str>,
    tool_results: usize,
    offered: Vec<&'a str>,
}

/// `URL: …` and `Title: …` of a retrieved page as the agent shows it.
fn page_of(text: &str) -> Option<(String, String)> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("URL: "));
    let url = lines.next()?.strip_prefix("URL: ")?.trim().to_string();
    let title = lines.next().and_then(|l| l.strip_prefix("Title: ")).unwrap_or_default().trim().to_string();
    Some((url, title))
}

fn read<'a>(request: &'a Value) -> Option<Conversation<'a>> {
    let messages = request.get("messages").and_then(Value::as_array)?;
    let material = messages.iter().find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?.get("content")?;
    let mut conversation = Conversation {
        texts: vec![],
        images: 0,
        retrieved: vec![],
        last_tool_result: None,
        tool_results: 0,
        offered: request
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
            .collect(),
    };
    let take_text = |text: &'a str, conversation: &mut Conversation<'a>| {
        if text.starts_with("Retrieved before you started:") {
            conversation.retrieved.extend(page_of(text));
        } else {
            conversation.texts.push(text);
        }
    };
    match material {
        Value::String(text) => take_text(text, &mut conversation),
        Value::Array(parts) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(text) = part.get("text").and_then(Value::as_str) {
                            take_text(text, &mut conversation);
                        }
                    }
                    Some("image_url") => conversation.images += 1,
                    _ => {}
                }
            }
        }
        _ => return None,
    }
    for message in messages {
        if message.get("role").and_then(Value::as_str) == Some("tool") {
            conversation.tool_results += 1;
            let content = message.get("content").and_then(Value::as_str).unwrap_or_default();
            conversation.retrieved.extend(page_of(content).filter(|_| content.starts_with("URL: ")));
        }
    }
    conversation.last_tool_result = messages
        .last()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .and_then(|m| m.get("content").and_then(Value::as_str));
    Some(conversation)
}

/// The next tool the sandbox model calls, if any: first a web search for the text's first
/// words, then a fetch of the first result; then it answers.
fn next_call(conversation: &Conversation<'_>) -> Option<(&'static str, Value)> {
    let offered = |name: &str| conversation.offered.contains(&name);
    let text = conversation.texts.iter().find_map(|t| match classify(t) {
        Material::Text(body) if !body.trim().is_empty() => Some(body),
        _ => None,
    })?;
    if conversation.tool_results == 0 && offered("web_search") {
        let query = text.split_whitespace().take(QUOTED_WORDS).collect::<Vec<_>>().join(" ");
        return Some(("web_search", json!({"query": query})));
    }
    let results = conversation.last_tool_result.filter(|r| !r.starts_with("URL: "))?;
    if offered("fetch_url") && conversation.retrieved.is_empty() {
        let url = results.lines().find(|l| l.starts_with("http://") || l.starts_with("https://"))?;
        return Some(("fetch_url", json!({"url": url.trim()})));
    }
    None
}

/// The deterministic model's count of the tokens it wrote: its words.
fn words(written: &Value) -> usize {
    written.to_string().split_whitespace().count()
}

/// Tokens a scripted reply reports using (in, out): fixed, so that a test can add them up.
const SCRIPTED_USAGE: (usize, usize) = (100, 20);

fn completion(model: &str, message: Value, finish: &str, usage: (usize, usize)) -> Response {
    let (prompt_tokens, completion_tokens) = usage;
    let answer = json!({
        "id": format!("chatcmpl-sandbox-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    });
    Response::builder().content_type("application/json").body(answer.to_string())
}

/// `POST …/chat/completions`: as the script says; by default, reads the material (the first
/// user message) and what was retrieved, calls `web_search` then `fetch_url` when offered
/// them, then answers.
#[handler]
async fn chat_completions(Json(request): Json<Value>, model: Data<&Arc<Model>>) -> Response {
    let name = request.get("model").and_then(Value::as_str).unwrap_or(MODEL).to_string();
    let answer =
        |content: String| completion(&name, json!({"role": "assistant", "content": content}), "stop", SCRIPTED_USAGE);
    match model.current() {
        Script::Deterministic => {}
        Script::Answer(result) => return answer(result.to_string()),
        Script::Nonsense => return answer("I think it is probably false.".into()),
        Script::Replies { replies, then } => {
            let next = replies.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            let Some((delay, message)) = next else { return answer(then.to_string()) };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let finish = if message.get("tool_calls").is_some() { "tool_calls" } else { "stop" };
            return completion(&name, message, finish, SCRIPTED_USAGE);
        }
        Script::RefusesTools(_) if request.get("tools").is_some() => {
            return provider_error(StatusCode::BAD_REQUEST, "tools is not supported for this model");
        }
        Script::RefusesTools(result) => return answer(result.to_string()),
    }
    deterministic(&request, &name)
}

fn deterministic(request: &Value, name: &str) -> Response {
    let Some(conversation) = read(request) else {
        return provider_error(StatusCode::BAD_REQUEST, "messages must hold a user message");
    };
    let prompt_tokens =
        conversation.texts.iter().map(|t| t.split_whitespace().count()).sum::<usize>() + 85 * conversation.images;
    if conversation.texts.iter().any(|t| t.contains(FAIL_MARKER)) {
        return provider_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "The sandbox model refuses material containing {FAIL_MARKER}, so that clients can test a failed analysis."
            ),
        );
    }
    if let Some((tool, arguments)) = next_call(&conversation) {
        let call = json!({
            "id": format!("call_sandbox_{}", conversation.tool_results + 1),
            "type": "function",
            "function": {"name": tool, "arguments": arguments.to_string()},
        });
        return completion(
            name,
            json!({"role": "assistant", "content": null, "tool_calls": [call]}),
            "tool_calls",
            (prompt_tokens, words(&call)),
        );
    }
    match analyse(&conversation.texts, conversation.images, &conversation.retrieved) {
        Ok(result) => {
            let usage = (prompt_tokens, words(&result));
            completion(name, json!({"role": "assistant", "content": result.to_string()}), "stop", usage)
        }
        Err(message) => provider_error(StatusCode::UNPROCESSABLE_ENTITY, &message),
    }
}

/// `POST …/audio/transcriptions`: a transcript that names the file and its size.
#[handler]
async fn transcriptions(mut form: Multipart) -> Response {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("audio").to_string();
            let size = field.bytes().await.map(|b| b.len()).unwrap_or_default();
            let text = format!("Sandbox transcript of {name}: {size} bytes of audio.");
            return Response::builder().content_type("application/json").body(json!({"text": text}).to_string());
        }
    }
    provider_error(StatusCode::BAD_REQUEST, "a file field is required")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_material_gives_the_same_answer_and_names_what_it_read() {
        let parts = [
            "Material to check:\nThe moon is made of cheese, said the old farmer today.",
            "Text of the PDF report.pdf:\nQuarterly results",
            "Image photo.png:",
        ];
        let first = analyse(&parts, 1, &[]).unwrap();
        assert_eq!(first, analyse(&parts, 1, &[]).unwrap());
        let findings = first["findings"].to_string();
        assert!(findings.contains("The moon is made of cheese, said the…"), "{findings}");
        assert!(findings.contains("report.pdf") && findings.contains("photo.png"), "{findings}");
        assert!(VERDICTS.contains(&first["verdict"].as_str().unwrap()));
        let confidence = first["confidence"].as_f64().unwrap();
        assert!((0.55..0.95).contains(&confidence));
    }

    #[test]
    fn fail_marker_and_empty_material() {
        assert!(analyse(&["Material to check:\nplease #fail"], 0, &[]).is_err());
        assert_eq!(analyse(&[], 0, &[]).unwrap()["verdict"], "NOT_A_CLAIM");
    }
}
