//! Rules that make every mainstream generator read the document the same way.

use serde_json::Value;

/// The media key of JSON bodies is `application/json`: openapi-zod-client types a
/// response keyed `application/json; charset=utf-8` as `void`, openapi-python-generator
/// returns `None` from it. The served `Content-Type` keeps its charset (same media type).
pub fn json_media_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(content)) = map.get_mut("content") {
                let keys: Vec<String> = content
                    .keys()
                    .filter(|k| k.starts_with("application/json;") && !content.contains_key("application/json"))
                    .cloned()
                    .collect();
                for key in keys {
                    if let Some(media) = content.remove(&key) {
                        content.insert("application/json".into(), media);
                    }
                }
            }
            map.values_mut().for_each(json_media_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(json_media_keys),
        _ => {}
    }
}

/// A nullable component keeps no `title`: progenitor (Rust) turns the titled inner
/// object into a second type of the same name and the crate does not compile.
pub fn untitle_nullable_components(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for schema in schemas.values_mut().filter_map(Value::as_object_mut) {
        if schema.get("nullable") == Some(&Value::Bool(true)) {
            schema.remove("title");
        }
    }
}

/// poem-openapi writes `uint32`/`uint64` for unsigned integers; those are not OpenAPI
/// formats (Go, Kotlin and Java fall back to 32-bit ints). They become `int32`/`int64`
/// with `minimum: 0` (a larger minimum already there stays).
pub fn standard_integer_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let standard = match map.get("format").and_then(Value::as_str) {
                Some("uint32") => Some("int32"),
                Some("uint64") => Some("int64"),
                _ => None,
            };
            if let Some(format) = standard {
                map.insert("format".into(), Value::String(format.into()));
                let minimum = map.get("minimum").and_then(Value::as_f64);
                if minimum.is_none_or(|m| m < 0.0) {
                    map.insert("minimum".into(), Value::from(0));
                }
            }
            map.values_mut().for_each(standard_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(standard_integer_formats),
        _ => {}
    }
}
