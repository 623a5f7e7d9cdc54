//! The enum policy (docs/openapi.md): an enum a client only *reads* may gain values
//! later, so it is documented open; an enum a client *sends* stays closed.
//!
//! A response enum becomes `type: string` with its known values in `x-extensible-enum`
//! (and `x-enum-varnames`), an `example`, and a description that lists them and says to
//! expect others. Generated clients then type it `string` and never fail to decode a
//! value added after they were generated. Request enums (anything reachable from a
//! request body or parameter) keep `enum`, so clients can only send what the server
//! takes. The envelope's `status` (`success` / `error`) is fixed by the contract and
//! stays closed.

use std::collections::HashSet;

use serde_json::{Value, json};

/// Closed for ever: the envelope discriminators.
const CLOSED: [&str; 2] = ["SuccessStatus", "ErrorStatus"];

fn collect_refs(value: &Value, doc: &Value, seen: &mut HashSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
                && seen.insert(name.to_string())
                && let Some(schema) = doc.pointer(&format!("/components/schemas/{name}"))
            {
                collect_refs(schema, doc, seen);
            }
            map.values().for_each(|v| collect_refs(v, doc, seen));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, doc, seen)),
        _ => {}
    }
}

/// Components reachable from what clients send: request bodies and parameters.
fn request_schemas(doc: &Value) -> HashSet<String> {
    let mut seen = HashSet::new();
    for item in doc.get("paths").and_then(Value::as_object).into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|i| i.values()) {
            for key in ["requestBody", "parameters"] {
                if let Some(part) = op.get(key) {
                    collect_refs(part, doc, &mut seen);
                }
            }
        }
    }
    seen
}

/// Upper camel case of a value, for `x-enum-varnames` (`NOT_A_CLAIM` → `NotAClaim`).
fn variant_name(value: &str) -> String {
    value
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect()
}

pub fn open_response_enums(doc: &mut Value) {
    let requests = request_schemas(doc);
    let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") else { return };
    for (name, schema) in schemas.iter_mut() {
        if CLOSED.contains(&name.as_str()) || requests.contains(name) {
            continue;
        }
        let Some(Value::Array(values)) = schema.as_object_mut().and_then(|s| s.remove("enum")) else { continue };
        let known: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        let listed = known.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        let lead = schema.get("description").and_then(Value::as_str).map(|d| format!("{d}\n\n")).unwrap_or_default();
        let object = schema.as_object_mut().expect("an enum schema is an object");
        object.insert(
            "description".into(),
            json!(format!(
                "{lead}One of {listed} today. More values may be added without a new API version: \
                 treat an unknown value as \"other\" rather than an error."
            )),
        );
        object.insert("example".into(), json!(known.first()));
        object.insert("x-enum-varnames".into(), json!(known.iter().map(|v| variant_name(v)).collect::<Vec<_>>()));
        object.insert("x-extensible-enum".into(), json!(known));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names() {
        assert_eq!(variant_name("NOT_A_CLAIM"), "NotAClaim");
        assert_eq!(variant_name("credited"), "Credited");
    }
}
