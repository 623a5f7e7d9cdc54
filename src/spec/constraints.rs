//! The server's own input rules, written into the request schemas from the domain types
//! that enforce them, so that anything the schema allows the server accepts.

use serde_json::{Value, json};

use crate::domain::{Email, OTP_CODE_PATTERN, Password, PersonName, SECOND_FACTOR_PATTERN};

fn name() -> Value {
    json!({"minLength": 1, "maxLength": PersonName::MAX_CHARS, "pattern": PersonName::SCHEMA_PATTERN})
}

fn email() -> Value {
    json!({"format": "email", "maxLength": Email::MAX_LEN, "pattern": Email::SCHEMA_PATTERN})
}

fn password() -> Value {
    json!({"minLength": Password::MIN_BYTES, "maxLength": Password::MAX_BYTES, "pattern": Password::schema_pattern()})
}

/// `return_path`: empty, or a path of printable ASCII starting with exactly one `/`,
/// without `#` or `\` (the server also takes non-ASCII paths; the schema says less, so
/// its 2048 characters are 2048 bytes).
fn return_path() -> Value {
    json!({"pattern": r"^(/([\x21-\x22\x24-\x2E\x30-\x5B\x5D-\x7E][\x21-\x22\x24-\x5B\x5D-\x7E]*)?)?$", "maxLength": 2048})
}

/// Merges `rules` into the schema at `pointer`; a pointer that no longer resolves is a
/// bug (a renamed field), not something to skip.
fn merge(doc: &mut Value, pointer: &str, rules: Value) {
    let schema = doc.pointer_mut(pointer).unwrap_or_else(|| panic!("spec::constraints: no schema at {pointer}"));
    for (key, value) in rules.as_object().into_iter().flatten() {
        schema[key] = value.clone();
    }
}

fn expect_pattern(doc: &Value, pointer: &str, pattern: &str) {
    let found = doc.pointer(&format!("{pointer}/pattern")).and_then(Value::as_str);
    assert_eq!(found, Some(pattern), "{pointer}: the validator's pattern and the domain's differ");
}

pub fn apply(doc: &mut Value) {
    let field = |schema: &str, name: &str| format!("/components/schemas/{schema}/properties/{name}");
    for (schema, name_field) in [
        ("RegisterRequest", "first_name"),
        ("RegisterRequest", "last_name"),
        ("UpdateUserRequest", "first_name"),
        ("UpdateUserRequest", "last_name"),
        ("AppleRequest", "first_name"),
        ("AppleRequest", "last_name"),
    ] {
        merge(doc, &field(schema, name_field), name());
    }
    merge(doc, &field("RegisterRequest", "email"), email());
    merge(doc, &field("RegisterRequest", "password"), password());
    merge(doc, &field("ChangePasswordRequest", "password"), password());
    merge(doc, &field("BuyRequest", "return_path"), return_path());
    // Only in the sandbox spec.
    if doc.pointer(&field("SandboxIdTokenRequest", "email")).is_some() {
        merge(doc, &field("SandboxIdTokenRequest", "email"), email());
    }
    for schema in ["CodeRequest", "ChangePasswordRequest"] {
        expect_pattern(doc, &field(schema, "code"), OTP_CODE_PATTERN);
    }
    for schema in ["SecondFactorRequest", "LoginRequest", "FreshProofRequest", "GoogleRequest", "AppleRequest"] {
        expect_pattern(doc, &field(schema, "code"), SECOND_FACTOR_PATTERN);
    }
    // `{user_email}` in the path is parsed as an Email too.
    for (_, _, op) in super::operations_mut(doc) {
        for parameter in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            let name = parameter.get("name").and_then(Value::as_str);
            // The sandbox mailbox's `{email}` as well.
            if name == Some("user_email") || name == Some("email") && parameter["in"] == "path" {
                for (key, value) in email().as_object().into_iter().flatten() {
                    parameter["schema"][key] = value.clone();
                }
            }
        }
    }
}
