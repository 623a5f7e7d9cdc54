//! Where generated clients send their requests. A relative server (`/api/v1`) leaves Go
//! and Rust clients without a usable default (they fail before sending until a base URL is
//! set by hand), so the documents name an absolute one.

use serde_json::{Value, json};

use crate::api::BASE_PATH;

/// Which server a document names.
pub enum Server<'a> {
    /// The committed document: `{scheme}://{host}/api/v1`, whose defaults are a server
    /// started with the default settings (`http://127.0.0.1:8000`).
    Variables,
    /// A running server's own document: its public origin (`PUBLIC_URL`, else its address).
    Origin(&'a str),
    /// Swagger UI's copy: the server the page was loaded from, whatever its name there.
    SameOrigin,
}

pub fn apply(doc: &mut Value, server: &Server) {
    let (servers, docs_page) = match server {
        Server::Variables => (
            json!([{
                "url": format!("{{scheme}}://{{host}}{BASE_PATH}"),
                "description": "A Clara server; the defaults are one started locally with the default settings.",
                "variables": {
                    "scheme": {"default": "http", "enum": ["http", "https"], "description": "`https` behind TLS."},
                    "host": {"default": "127.0.0.1:8000", "description": "The server's host name and port (`HOST`, `PORT`, or its public name)."},
                },
            }]),
            "http://127.0.0.1:8000/docs".to_string(),
        ),
        Server::Origin(origin) => {
            let origin = origin.trim_end_matches('/');
            (json!([{"url": format!("{origin}{BASE_PATH}"), "description": "This server."}]), format!("{origin}/docs"))
        }
        Server::SameOrigin => (json!([{"url": BASE_PATH, "description": "This server."}]), "/docs".to_string()),
    };
    doc["servers"] = servers;
    // Who answers for the API: the documentation page of the server it describes.
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("contact".into(), json!({"name": "Clara API", "url": docs_page}));
    }
}
