//! One `apiKey` scheme per header. The public key and the admin key both travel raw in
//! `Authorization`; two schemes for one header make openapi-generator's C# write an enum
//! with two equal members, and Go and Rust clients send the header twice. The extractors
//! register two key schemes (`api::security`); here they become the one published
//! `ApiKey`, and each operation says in its description (and in `x-clara-api-key`) which
//! key it takes.

use serde_json::{Value, json};

use crate::api::security::{API_KEY_DESCRIPTION, API_KEY_KINDS, API_KEY_SCHEME};

pub fn apply(doc: &mut Value) {
    let mut used = false;
    for (method, path, op) in super::operations_mut(doc) {
        let mut kind = None;
        if let Some(alternatives) = op.get_mut("security").and_then(Value::as_array_mut) {
            for alternative in alternatives.iter_mut().filter_map(Value::as_object_mut) {
                // Alternatives, never a conjunction: a requirement naming two schemes would
                // have generators send both credentials in the one header.
                assert!(alternative.len() <= 1, "{method} {path}: a security requirement with two schemes");
                for (marker, name, sentence) in API_KEY_KINDS {
                    if let Some(scopes) = alternative.remove(marker) {
                        alternative.insert(API_KEY_SCHEME.into(), scopes);
                        assert!(kind.is_none_or(|(k, _)| k == name), "{method} {path} takes both keys");
                        kind = Some((name, sentence));
                    }
                }
            }
            // One order whatever order a derived enum tries its members in (its key members
            // come last, see `api::security`): by scheme name, the empty alternative last.
            alternatives.sort_by_key(|alternative| {
                let name = alternative.as_object().and_then(|a| a.keys().next().cloned());
                (name.is_none(), name)
            });
        }
        let Some((name, sentence)) = kind else { continue };
        used = true;
        op.insert("x-clara-api-key".into(), Value::String(name.into()));
        let description = match op.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text}\n\n{sentence}"),
            _ => sentence.to_string(),
        };
        op.insert("description".into(), Value::String(description));
    }
    let Some(schemes) = doc.pointer_mut("/components/securitySchemes").and_then(Value::as_object_mut) else { return };
    for (marker, _, _) in API_KEY_KINDS {
        schemes.remove(marker);
    }
    if used {
        schemes.insert(
            API_KEY_SCHEME.into(),
            json!({"type": "apiKey", "in": "header", "name": "Authorization", "description": API_KEY_DESCRIPTION}),
        );
    }
}
