//! The served OpenAPI document: poem-openapi's output, tightened for client generators.

mod constraints;
mod enums;
mod examples;
mod portable;
mod security;
mod servers;
pub mod statuses;

pub use servers::Server;

/// The placeholder schema a closed request body's `additionalProperties` carries out of
/// poem-openapi (`api::body`), whose schema model has no `false`; [`finalize`] writes `false`.
pub(crate) const CLOSED_OBJECT_MARK: &str = "x-closed-object";

use serde_json::Value;

/// Applies the project's spec rules and returns pretty, key-sorted JSON naming `server`.
pub fn finalize(raw: &str, server: &Server) -> String {
    let mut doc: Value = serde_json::from_str(raw).expect("poem-openapi emits valid JSON");
    name_nullable_refs(&mut doc);
    drop_unreferenced_schemas(&mut doc);
    unwrap_ref_wrappers(&mut doc);
    require_nullable_response_fields(&mut doc);
    restore_header_case(&mut doc);
    declare_open_operations(&mut doc);
    order_tags(&mut doc);
    close_empty_objects(&mut doc);
    close_marked_objects(&mut doc);
    servers::apply(&mut doc, server);
    security::apply(&mut doc);
    constraints::apply(&mut doc);
    enums::open_response_enums(&mut doc);
    statuses::apply(&mut doc);
    publish_error_codes(&mut doc);
    examples::apply(&mut doc);
    portable::untitle_nullable_components(&mut doc);
    portable::json_media_keys(&mut doc);
    portable::standard_integer_formats(&mut doc);
    let mut out = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    out.push('\n');
    out
}

/// `ErrorBody.code` lists every code the API sends, from `ErrorCode` (a hand-written list
/// in the field's doc had fallen behind the codes).
fn publish_error_codes(doc: &mut Value) {
    if let Some(code) = doc.pointer_mut("/components/schemas/ErrorBody/properties/code") {
        code["description"] = Value::String(crate::api::error::ErrorCode::published_list());
    }
}

/// An object schema with no properties (the always-null `data`) says it has none.
/// OpenAPI 3.0 has no null type and a `nullable` needs a `type`, so this is the closest
/// a schema gets to "always null"; openapi-generator's Python target still types it
/// `Any` and says so (allowed in the generator matrix, see docs/openapi.md).
fn close_empty_objects(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for schema in schemas.values_mut().filter_map(Value::as_object_mut) {
        let empty = schema.get("type").and_then(Value::as_str) == Some("object")
            && !schema.contains_key("properties")
            && !schema.contains_key("additionalProperties");
        if empty {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

/// A request body that refuses fields it does not name says so: its mark (see
/// [`CLOSED_OBJECT_MARK`]) becomes `additionalProperties: false`.
fn close_marked_objects(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for schema in schemas.values_mut().filter_map(Value::as_object_mut) {
        let marked = schema.get("additionalProperties").and_then(|extra| extra.get("type")).and_then(Value::as_str)
            == Some(CLOSED_OBJECT_MARK);
        if marked {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

/// An operation without credentials says so (`security: []`), rather than leaving
/// readers and linters to guess whether a requirement was forgotten.
fn declare_open_operations(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        if let Some(operation) = operation.as_object_mut() {
            operation.entry("security").or_insert_with(|| Value::Array(vec![]));
        }
    }
}

/// poem-openapi upper-cases response header names; clients expect the usual spelling.
fn restore_header_case(doc: &mut Value) {
    const NAMES: [&str; 2] = ["X-Total-Count", "Retry-After"];
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
        for headers in responses.values_mut().filter_map(|r| r.get_mut("headers")).filter_map(Value::as_object_mut) {
            for name in NAMES {
                if let Some(header) = headers.remove(&name.to_ascii_uppercase()) {
                    headers.insert(name.to_string(), header);
                }
            }
        }
    }
}

/// A nullable reference is written by poem-openapi as `allOf: [$ref, {nullable}]`, which
/// generators turn into a wrapper type, and an inlined copy would come out as an anonymous
/// `…Type0` class. The property becomes a plain `$ref` and the referenced schema itself
/// is marked nullable (each of them is only ever used where null is allowed).
fn name_nullable_refs(doc: &mut Value) {
    let mut nullable = std::collections::BTreeSet::new();
    replace_nullable_refs(doc, &mut nullable);
    for name in nullable {
        if let Some(Value::Object(schema)) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            schema.insert("nullable".into(), Value::Bool(true));
        }
    }
}

fn replace_nullable_refs(value: &mut Value, nullable: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            let reference = match map.get("allOf") {
                Some(Value::Array(items)) if items.len() == 2 && map.get("nullable") == Some(&Value::Bool(true)) => {
                    items[0].get("$ref").and_then(Value::as_str).map(str::to_string)
                }
                _ => None,
            };
            if let Some(reference) = reference {
                nullable.insert(reference.trim_start_matches("#/components/schemas/").to_string());
                *value = serde_json::json!({ "$ref": reference });
                return;
            }
            map.values_mut().for_each(|v| replace_nullable_refs(v, nullable));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_nullable_refs(v, nullable)),
        _ => {}
    }
}

/// Tags in the order of the Clara docs ([`crate::api::TAG_ORDER`]), not alphabetically;
/// only those some operation has (`Sandbox` is listed only by a sandbox server).
fn order_tags(doc: &mut Value) {
    let order: Vec<&str> = crate::api::TAG_ORDER.iter().map(poem_openapi::Tags::name).collect();
    let used: std::collections::HashSet<String> = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|op| op.get("tags").and_then(Value::as_array))
        .flatten()
        .filter_map(|tag| tag.as_str().map(str::to_string))
        .collect();
    if let Some(Value::Array(tags)) = doc.get_mut("tags") {
        tags.retain(|tag| tag.get("name").and_then(Value::as_str).is_some_and(|name| used.contains(name)));
        let rank = |tag: &Value| {
            let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
            order.iter().position(|n| *n == name).unwrap_or_else(|| panic!("tag {name} missing from TAG_ORDER"))
        };
        tags.sort_by_key(rank);
    }
}

/// The schema `$ref` points at, if it is a component.
pub(crate) fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(&reference.replacen('#', "", 1)).unwrap_or(schema),
        None => schema,
    }
}

/// Every operation: (method, path, operation).
pub(crate) fn operations_mut(
    doc: &mut Value,
) -> impl Iterator<Item = (String, String, &mut serde_json::Map<String, Value>)> {
    doc.get_mut("paths").and_then(Value::as_object_mut).into_iter().flat_map(|paths| {
        paths.iter_mut().flat_map(|(path, item)| {
            let path = path.clone();
            item.as_object_mut().into_iter().flat_map(move |item| {
                let path = path.clone();
                item.iter_mut()
                    .filter_map(move |(method, op)| op.as_object_mut().map(|op| (method.clone(), path.clone(), op)))
            })
        })
    })
}

fn collect_refs(value: &Value, refs: &mut std::collections::HashSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.insert(r.trim_start_matches("#/components/schemas/").to_string());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// Schemas that only existed to be inlined would be dead weight (and lint warnings).
fn drop_unreferenced_schemas(doc: &mut Value) {
    let mut refs = std::collections::HashSet::new();
    collect_refs(doc, &mut refs);
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        schemas.retain(|name, _| refs.contains(name));
    }
}

/// `{"allOf": [{"$ref": X}], ...}` becomes `{"$ref": X}`: generators (Swift's among them)
/// make a new wrapper type for every such `allOf`.
fn unwrap_ref_wrappers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let single_ref = match map.get("allOf") {
                Some(Value::Array(items)) if items.len() == 1 && items[0].get("$ref").is_some() => {
                    Some(items[0].clone())
                }
                _ => None,
            };
            if let Some(reference) = single_ref {
                *value = reference;
                return;
            }
            map.values_mut().for_each(unwrap_ref_wrappers);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_ref_wrappers),
        _ => {}
    }
}

/// Response objects always carry their nullable fields (as null), so those fields are
/// required: clients then type them `T | null` rather than `T | null | undefined`.
fn require_nullable_response_fields(doc: &mut Value) {
    let nullable_components: std::collections::HashSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, s)| s.get("nullable") == Some(&Value::Bool(true)))
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let is_nullable = |p: &Value| {
        p.get("nullable") == Some(&Value::Bool(true))
            || p.get("$ref").and_then(Value::as_str).is_some_and(|r| nullable_components.contains(r))
    };
    let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") else { return };
    for (name, schema) in schemas.iter_mut() {
        if name.ends_with("Request") {
            continue;
        }
        let nullable: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| props.iter().filter(|(_, p)| is_nullable(p)).map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        if nullable.is_empty() {
            continue;
        }
        let required = schema
            .as_object_mut()
            .map(|s| s.entry("required").or_insert_with(|| Value::Array(vec![])))
            .and_then(Value::as_array_mut);
        if let Some(required) = required {
            for field in nullable {
                if !required.iter().any(|r| r == &Value::String(field.clone())) {
                    required.push(Value::String(field));
                }
            }
        }
    }
}
