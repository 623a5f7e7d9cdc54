//! A fake OpenAI-compatible model provider on 127.0.0.1: answers chat completions and
//! transcriptions, records each request, and can fail, stall or answer nonsense.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers with this analysis.
    Answer(Value),
    Fail(u16),
    /// Waits this long before answering.
    Stall(Duration),
    /// A completion whose content is not the schema's JSON.
    Nonsense,
    /// Answers each chat with the next of these (delay in ms, assistant message), then
    /// with the verdict once the script runs out.
    Script(Arc<Mutex<std::collections::VecDeque<(u64, Value)>>>),
    /// A server that takes no `tools`: 400 when offered them, the verdict otherwise.
    RefusesTools,
}

impl Behaviour {
    pub fn script(replies: Vec<(u64, Value)>) -> Self {
        Self::Script(Arc::new(Mutex::new(replies.into())))
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

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    /// The JSON body of a chat completion.
    pub json: Option<Value>,
    /// The raw body of a transcription (multipart).
    pub raw: Vec<u8>,
}

#[derive(Clone)]
pub struct FakeProvider {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

pub fn verdict() -> Value {
    json!({
        "verdict": "FALSE",
        "confidence": 0.92,
        "summary": "The claim contradicts well-documented records.",
        "findings": ["Records from 1889 show otherwise."],
        "sources": ["https://example.org/records"],
    })
}

fn completion(content: &str) -> Value {
    with_message(json!({"role": "assistant", "content": content}))
}

fn with_message(message: Value) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    })
}

#[handler]
async fn answer(req: &Request, body: Body, shared: Data<&Shared>) -> Response {
    let bytes = body.into_bytes().await.unwrap_or_default().to_vec();
    let path = req.uri().path().to_string();
    shared.requests.lock().unwrap().push(Recorded {
        path: path.clone(),
        authorization: req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string),
        json: serde_json::from_slice(&bytes).ok(),
        raw: bytes.clone(),
    });
    let behaviour = shared.behaviour.lock().unwrap().clone();
    let json_response = |value: Value| Response::builder().content_type("application/json").body(value.to_string());
    match behaviour {
        Behaviour::Fail(status) => Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .content_type("application/json")
            .body(json!({"error": {"message": "provider trouble"}}).to_string()),
        Behaviour::Stall(duration) => {
            tokio::time::sleep(duration).await;
            json_response(completion(&verdict().to_string()))
        }
        Behaviour::Nonsense => json_response(completion("I think it is probably false.")),
        Behaviour::Answer(result) if path.ends_with("/audio/transcriptions") => {
            let _ = result;
            json_response(json!({"text": "This is the transcript."}))
        }
        Behaviour::Answer(result) => json_response(completion(&result.to_string())),
        Behaviour::Script(replies) => {
            let next = replies.lock().unwrap().pop_front();
            match next {
                Some((delay, message)) => {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    json_response(with_message(message))
                }
                None => json_response(completion(&verdict().to_string())),
            }
        }
        Behaviour::RefusesTools => {
            let offered = serde_json::from_slice::<Value>(&bytes).ok().is_some_and(|b| b.get("tools").is_some());
            if offered {
                Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .content_type("application/json")
                    .body(json!({"error": {"message": "tools is not supported for this model"}}).to_string())
            } else {
                json_response(completion(&verdict().to_string()))
            }
        }
    }
}

impl FakeProvider {
    pub async fn start() -> Self {
        let requests = Arc::new(Mutex::new(vec![]));
        let behaviour = Arc::new(Mutex::new(Behaviour::Answer(verdict())));
        let shared = Shared { requests: requests.clone(), behaviour: behaviour.clone() };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake provider");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/*path", poem::post(answer)).data(shared);
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { url: format!("http://127.0.0.1:{port}/v1"), requests, behaviour }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn chats(&self) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r.path.ends_with("/chat/completions")).filter_map(|r| r.json).collect()
    }
}

/// One part of a form: field name, file name (for files), bytes.
pub type FormPart<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body.
pub fn multipart(parts: &[FormPart<'_>]) -> (String, Vec<u8>) {
    let boundary = "clara-test-boundary-7d3a";
    let mut body = vec![];
    for (field, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{field}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A one-page PDF whose text is `text`, with a correct cross-reference table.
pub fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}
