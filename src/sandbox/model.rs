//! The sandbox's model: an OpenAI-compatible endpoint (`/api/v1/sandbox/model/v1`) that
//! answers deterministically. The same material always gives the same verdict, and the
//! findings name what it read (the first words of the text, each file by name), so a
//! client can see its input arrived. A text containing `#fail` is refused, which ends the
//! task FAILED with its refund through the real failure path.

use poem::{
    Response, handler,
    http::StatusCode,
    web::{Json, Multipart},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

/// The analysis of these message parts (texts in order), or why it is refused.
pub fn analyse(texts: &[&str], images: usize) -> Result<Value, String> {
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
    let hash = digest.finalize();
    let verdict =
        if texts.is_empty() && images == 0 { "NOT_A_CLAIM" } else { VERDICTS[hash[0] as usize % VERDICTS.len()] };
    let confidence = f64::from(55 + hash[1] % 40) / 100.0;
    Ok(json!({
        "verdict": verdict,
        "confidence": confidence,
        "summary": format!(
            "Sandbox verdict: {verdict}. The sandbox model checks no facts: it answers from a hash of the material, so the same input always gives this result."
        ),
        "findings": findings,
        "sources": [],
    }))
}

fn provider_error(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string())
}

/// `POST …/chat/completions`: reads the last user message's text and image parts.
#[handler]
pub fn chat_completions(Json(request): Json<Value>) -> Response {
    let content = request
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.iter().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("user")))
        .and_then(|m| m.get("content"));
    let (mut texts, mut images) = (vec![], 0);
    match content {
        Some(Value::String(text)) => texts.push(text.as_str()),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => texts.extend(part.get("text").and_then(Value::as_str)),
                    Some("image_url") => images += 1,
                    _ => {}
                }
            }
        }
        _ => return provider_error(StatusCode::BAD_REQUEST, "messages must hold a user message"),
    }
    match analyse(&texts, images) {
        Ok(result) => {
            let prompt_tokens = texts.iter().map(|t| t.split_whitespace().count()).sum::<usize>() + 85 * images;
            let completion = result.to_string();
            let completion_tokens = completion.split_whitespace().count();
            let answer = json!({
                "id": format!("chatcmpl-sandbox-{}", uuid::Uuid::new_v4().simple()),
                "object": "chat.completion",
                "created": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
                "model": super::MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": completion}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
            });
            Response::builder().content_type("application/json").body(answer.to_string())
        }
        Err(message) => provider_error(StatusCode::UNPROCESSABLE_ENTITY, &message),
    }
}

/// `POST …/audio/transcriptions`: a transcript that names the file and its size.
#[handler]
pub async fn transcriptions(mut form: Multipart) -> Response {
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
        let first = analyse(&parts, 1).unwrap();
        assert_eq!(first, analyse(&parts, 1).unwrap());
        let findings = first["findings"].to_string();
        assert!(findings.contains("The moon is made of cheese, said the…"), "{findings}");
        assert!(findings.contains("report.pdf") && findings.contains("photo.png"), "{findings}");
        assert!(VERDICTS.contains(&first["verdict"].as_str().unwrap()));
        let confidence = first["confidence"].as_f64().unwrap();
        assert!((0.55..0.95).contains(&confidence));
    }

    #[test]
    fn fail_marker_and_empty_material() {
        assert!(analyse(&["Material to check:\nplease #fail"], 0).is_err());
        assert_eq!(analyse(&[], 0).unwrap()["verdict"], "NOT_A_CLAIM");
    }
}
