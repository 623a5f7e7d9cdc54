//! The shape of the served spec that client generators depend on.

use poem::http::Method;
use serde_json::Value;

use crate::support::*;

async fn spec() -> Value {
    let app = TestApp::new().await;
    app.raw(Method::GET, "/openapi.json", &[], None).await.body
}

/// Names that shadow a built-in of a client language (Swift, Kotlin, Python, TypeScript).
const RESERVED: [&str; 16] = [
    "Task", "Error", "Type", "Data", "Result", "Date", "URL", "Object", "Any", "Unit", "Response", "Request", "Record",
    "Event", "Blob", "File",
];

fn walk<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            out.push((path.clone(), value));
            for (key, child) in map {
                walk(child, format!("{path}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_object_is_named_and_no_name_shadows_a_built_in() {
    let spec = spec().await;
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for name in RESERVED {
        assert!(!schemas.contains_key(name), "schema {name} shadows a built-in");
    }
    assert!(schemas.contains_key("AnalysisTask"));
    let mut nodes = vec![];
    walk(&spec, String::new(), &mut nodes);
    for (path, node) in nodes {
        if node.get("properties").is_some_and(Value::is_object) && !path.contains("/example") {
            let component = path.starts_with("/components/schemas/") && path.matches('/').count() == 3;
            assert!(component, "inline object at {path}");
        }
    }
    for (field, target) in [("ErrorBody", "data"), ("AnalysisTask", "result")] {
        let reference = spec["components"]["schemas"][field]["properties"][target]["$ref"].as_str();
        assert!(reference.is_some(), "{field}.{target} is not a $ref");
    }
}

#[tokio::test]
async fn the_analysis_form_names_its_fields() {
    let spec = spec().await;
    let body =
        &spec["paths"]["/users/{user_id}/agent/analysis"]["post"]["requestBody"]["content"]["multipart/form-data"];
    assert_eq!(body["schema"]["$ref"], "#/components/schemas/AnalysisForm");
    let form = &spec["components"]["schemas"]["AnalysisForm"];
    assert!(form.get("additionalProperties").is_none());
    assert_eq!(form["properties"]["files"]["items"]["format"], "binary");
    assert_eq!(form["properties"]["text"]["type"], "string");
    assert!(form["description"].as_str().unwrap().contains("any other field name"));
}

#[tokio::test]
async fn last_name_is_nullable_in_updates() {
    let spec = spec().await;
    assert_eq!(spec["components"]["schemas"]["UpdateUserRequest"]["properties"]["last_name"]["nullable"], true);
}

#[tokio::test]
async fn response_enums_are_open_and_request_enums_closed() {
    let spec = spec().await;
    let schemas = &spec["components"]["schemas"];
    for name in ["TaskStatus", "Verdict", "TransactionType", "WebhookOutcome"] {
        assert!(schemas[name].get("enum").is_none(), "{name} is closed");
        assert!(schemas[name]["x-extensible-enum"].as_array().is_some_and(|v| !v.is_empty()), "{name}");
        assert_eq!(schemas[name]["type"], "string");
    }
    for name in ["OtpType", "SuccessStatus", "ErrorStatus"] {
        assert!(schemas[name]["enum"].as_array().is_some(), "{name} is open");
    }
}

#[tokio::test]
async fn tags_follow_the_clara_docs() {
    let spec = spec().await;
    let tags: Vec<&str> = spec["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tags, ["Auth", "User", "ApiKey", "Transaction", "Task", "Agent", "Stripe", "Misc", "Webhook", "Admin"]);
}

#[tokio::test]
async fn every_body_and_response_has_an_example() {
    let spec = spec().await;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let media = op["requestBody"]["content"].as_object().into_iter().flatten();
            let responses = op["responses"].as_object().unwrap();
            let response_media = responses.values().flat_map(|r| r["content"].as_object().into_iter().flatten());
            for (kind, media) in media.chain(response_media) {
                assert!(
                    media.get("example").is_some() || media.get("examples").is_some(),
                    "{method} {path} {kind} has no example"
                );
            }
        }
    }
}

/// The server refuses a field a JSON body does not name (400 `invalid_parameters`), and the
/// spec says so, so that generated clients type the bodies closed and a contract tester's
/// valid cases carry no extra fields. Stripe's event is read as Stripe sends it: open.
#[tokio::test]
async fn json_request_bodies_are_closed_but_stripes_event() {
    for sandbox in [false, true] {
        let app = if sandbox { TestApp::sandbox(&[]).await } else { TestApp::new().await };
        let spec = app.raw(Method::GET, "/openapi.json", &[], None).await.body;
        let mut closed = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
                let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                let extra = &spec["components"]["schemas"][name]["additionalProperties"];
                if name == "StripeEvent" {
                    assert!(extra.is_null(), "{method} {path}: Stripe's event is open");
                } else {
                    assert_eq!(extra, &Value::Bool(false), "{method} {path}: {name} is not closed");
                    closed += 1;
                }
            }
        }
        assert!(closed >= 15, "{closed} closed bodies: the walk missed the bodies");
    }
}

#[tokio::test]
async fn probes_document_only_what_they_can_answer() {
    let spec = spec().await;
    let statuses = |path: &str| -> Vec<String> {
        spec["paths"][path]["get"]["responses"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(statuses("/health"), ["200", "500", "503"]);
    assert_eq!(statuses("/version"), ["200", "500"]);
    // 413 only with a body; 429 never on exempt routes; 405 on no operation.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert_eq!(responses.contains_key("413"), op.get("requestBody").is_some(), "{method} {path} 413");
            assert!(!responses.contains_key("405"), "{method} {path} 405");
            assert!(responses.contains_key("500"), "{method} {path} 500");
        }
    }
}
