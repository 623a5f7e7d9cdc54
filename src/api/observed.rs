//! A record of the answers the server gave, for `tests/spec_coverage.rs`: one line
//! `<operation id> <status> <code or message>` per distinct answer, appended to
//! `<dir>/<pid>.txt`. Off unless `CLARA_OBSERVED_STATUSES` names the directory (the
//! test run in `.ci/run` sets it); costs nothing otherwise.

use std::{
    collections::HashSet,
    io::Write,
    sync::{Mutex, OnceLock},
};

use poem::Response;
use serde_json::Value;

pub const ENV: &str = "CLARA_OBSERVED_STATUSES";

struct Recorder {
    file: Mutex<std::fs::File>,
    seen: Mutex<HashSet<String>>,
}

/// (method, path template segments, operation id), from a spec.
type Routes = Vec<(String, Vec<String>, String)>;

static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
/// The production spec's routes and the sandbox spec's (a superset), each read once.
static ROUTES: [OnceLock<Routes>; 2] = [OnceLock::new(), OnceLock::new()];

fn open() -> Option<Recorder> {
    let dir = std::env::var_os(ENV).filter(|d| !d.is_empty())?;
    std::fs::create_dir_all(&dir).ok()?;
    let path = std::path::Path::new(&dir).join(format!("{}.txt", std::process::id()));
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok()?;
    Some(Recorder { file: Mutex::new(file), seen: Mutex::default() })
}

fn routes_of(spec: &str) -> Routes {
    let doc: Value = serde_json::from_str(spec).unwrap_or_default();
    let mut routes = vec![];
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                let segments = format!("/api/v1{path}").split('/').map(str::to_string).collect();
                routes.push((method.to_ascii_uppercase(), segments, id.to_string()));
            }
        }
    }
    routes
}

/// Whether answers are being recorded; `spec` (that of a sandbox server or not) is read
/// once per kind, for [`resolve`].
pub fn enabled(sandbox: bool, spec: impl FnOnce() -> String) -> bool {
    // Decided once per process: reading the environment on every request takes a lock.
    if RECORDER.get_or_init(open).is_none() {
        return false;
    }
    ROUTES[usize::from(sandbox)].get_or_init(|| routes_of(&spec()));
    true
}

/// The operation a request was for, when a layer around the routes answered (413, 429).
pub fn resolve(sandbox: bool, method: &str, path: &str) -> Option<&'static str> {
    let routes = ROUTES[usize::from(sandbox)].get()?;
    let parts: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .find(|(m, segments, _)| {
            m == method
                && segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| s == p || (s.starts_with('{') && !p.is_empty()))
        })
        .map(|(_, _, id)| id.as_str())
}

/// Records the answer; reads a JSON body (small: envelopes) and puts it back.
pub async fn record(operation: &str, response: &mut Response) {
    let Some(Some(recorder)) = RECORDER.get() else { return };
    let status = response.status().as_u16();
    let is_json = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut detail = String::from("-");
    if is_json {
        let bytes = response.take_body().into_bytes().await.unwrap_or_default();
        if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
            let key = if status >= 400 { "code" } else { "message" };
            if let Some(text) = body.get(key).and_then(Value::as_str) {
                detail = text.to_string();
            }
        }
        response.set_body(bytes);
    }
    let line = format!("{operation} {status} {detail}\n");
    if recorder.seen.lock().expect("recorder lock").insert(line.clone())
        && let Ok(mut file) = recorder.file.lock()
    {
        let _ = file.write_all(line.as_bytes());
    }
}
