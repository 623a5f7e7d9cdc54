//! The spec's error responses, built from the statuses table each area keeps beside its
//! routes (`STATUSES` in `api/<area>.rs`, gathered in `api::STATUSES`; the groups they are
//! written with are in `api::outcomes`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::{
    self,
    error::{ApiError, ErrorCode},
    outcomes::Outcome,
};

/// Every row of every area's table.
fn rows() -> impl Iterator<Item = &'static (&'static str, &'static [&'static [Outcome]])> {
    api::STATUSES.iter().flat_map(|area| area.iter())
}

/// The outcomes of `operation_id`, by status, codes in table order.
pub fn outcomes(operation_id: &str) -> Option<BTreeMap<u16, Vec<ErrorCode>>> {
    let (_, groups) = rows().find(|(id, _)| *id == operation_id)?;
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for (status, code) in groups.iter().flat_map(|g| g.iter()) {
        let codes = by_status.entry(*status).or_default();
        if !codes.contains(code) {
            codes.push(*code);
        }
    }
    Some(by_status)
}

fn error_response(template: Option<&Value>, status: u16, codes: &[ErrorCode]) -> Value {
    let mut response = template.cloned().unwrap_or_else(|| {
        json!({
            "description": "Error.",
            "content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    });
    let mut examples = Map::new();
    let mut lines = vec![];
    for code in codes {
        let error = ApiError::example(*code);
        let code = code.as_str();
        assert_eq!(error.status_code(), status, "{code} is sent with {}, not {status}", error.status_code());
        let body = error.body();
        lines.push(format!("- `{code}`: {}", body.message));
        let value = serde_json::to_value(poem_openapi::types::ToJSON::to_json(body)).expect("JSON");
        examples.insert(code.to_string(), json!({ "summary": body.message, "value": value }));
    }
    let base = response.get("description").and_then(Value::as_str).unwrap_or("Error.").to_string();
    response["description"] = json!(format!("{base}\n\n`code` is one of:\n{}", lines.join("\n")));
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            media["examples"] = Value::Object(examples.clone());
        }
    }
    response
}

/// Replaces each operation's error responses by those of its area's table.
pub fn apply(doc: &mut Value) {
    for (method, path, op) in super::operations_mut(doc) {
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
        let table =
            outcomes(&id).unwrap_or_else(|| panic!("{method} {path} ({id}) is missing from its area's STATUSES"));
        let Some(Value::Object(responses)) = op.get_mut("responses") else { continue };
        let generated = std::mem::take(responses);
        for (status, response) in &generated {
            if status.starts_with('2') || status.starts_with('3') {
                responses.insert(status.clone(), response.clone());
            }
        }
        for (status, codes) in table {
            let template = generated.get(&status.to_string());
            responses.insert(status.to_string(), error_response(template, status, &codes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_one_operation_that_exists() {
        use poem_openapi::OpenApi;
        let operations: Vec<&str> = <(api::Apis, api::sandbox::SandboxApi)>::meta()
            .iter()
            .flat_map(|area| area.paths.iter())
            .flat_map(|path| path.operations.iter())
            .filter_map(|operation| operation.operation_id)
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (id, _) in rows() {
            assert!(operations.contains(id), "{id} has a row but no operation");
            assert!(seen.insert(*id), "{id} has two rows");
        }
        assert_eq!(seen.len(), operations.len(), "every operation has a row");
    }

    #[test]
    fn every_code_has_an_example_with_its_status() {
        for (id, _) in rows() {
            for (status, codes) in outcomes(id).unwrap() {
                error_response(None, status, &codes);
            }
        }
    }
}
