//! An example on every request body and every success response. Error responses get
//! theirs, one per `code`, in [`super::statuses`].

use serde_json::{Map, Value, json};

/// The success message of each operation (`tests/spec_coverage.rs` checks that the test
/// suite saw each of them).
pub const MESSAGES: &[(&str, &str)] = &[
    ("authRegister", "User registered successfully."),
    ("authGoogle", "User logged in successfully."),
    ("authAppleNonce", "Nonce created successfully."),
    ("authApple", "User logged in successfully."),
    ("authLogin", "User logged in successfully."),
    ("authPasskeyOptions", "Passkey sign-in options created successfully."),
    ("authPasskey", "User logged in successfully."),
    ("passkeysRegisterOptions", "Passkey creation options created successfully."),
    ("passkeysRegister", "Passkey added successfully."),
    ("passkeysList", "Passkeys fetched successfully."),
    ("authChangePassword", "User password changed successfully."),
    ("authSendOtp", "OTP sent successfully."),
    ("authActivate", "User activated successfully."),
    ("authEnable2fa", "User 2FA enabled successfully."),
    ("authStartTotp", "TOTP enrolment started successfully."),
    ("authRecoveryCodes", "Recovery codes created successfully."),
    ("sessionsList", "Sessions fetched successfully."),
    ("usersGet", "User fetched successfully."),
    ("usersUpdate", "User updated successfully."),
    ("apiKeysGet", "API key fetched successfully."),
    ("apiKeysReset", "API key reset successfully."),
    ("transactionsList", "Transactions fetched successfully."),
    ("transactionsGet", "Transaction fetched successfully."),
    ("tasksList", "Tasks fetched successfully."),
    ("tasksGet", "Task fetched successfully."),
    ("webhooksCreate", "Webhook endpoint created successfully."),
    ("webhooksList", "Webhook endpoints fetched successfully."),
    ("webhooksRotate", "Webhook secret rotated successfully."),
    ("webhooksDeliveries", "Webhook deliveries fetched successfully."),
    ("webhooksRetry", "Webhook delivery queued successfully."),
    ("agentSupportedAttachments", "Supported attachments fetched successfully."),
    ("agentAnalysis", "Task created successfully."),
    (
        "stripeRate",
        "Credits rate fetched successfully. Upper limit and lower limit are in fiat. Rate is in credits per dollar. \
         Any amount beyond the limits will not be credited.",
    ),
    ("stripePortal", "Customer portal session created successfully."),
    ("stripeBuy", "Checkout session created successfully."),
    ("stripeWebhook", "Webhook event processed successfully."),
    ("stripeSettle", "Webhook event processed successfully."),
    ("miscHealth", "Health check successful."),
    ("miscLive", "The process is alive."),
    ("miscReady", "Ready to serve."),
    ("miscVersion", "Version check successful."),
    ("adminUsersList", "Users fetched successfully."),
    ("adminUsersSetCredits", "User credits updated successfully."),
    ("adminSecurityEventsList", "Security events fetched successfully."),
    ("adminTasksList", "Tasks fetched successfully."),
    ("sandboxMailbox", "Mails fetched successfully."),
    ("sandboxCheckoutPay", "Payment completed; credits added."),
    ("sandboxGoogleIdToken", "ID token minted successfully."),
    ("sandboxAppleIdToken", "ID token minted successfully."),
    ("sandboxPasskeyAttestation", "Credential created successfully."),
    ("sandboxPasskeyAssertion", "Credential created successfully."),
];

/// What an HTML page's example shows (the sandbox's checkout and portal pages).
const HTML_EXAMPLE: &str =
    "<!doctype html><html lang=\"en\"><head><title>Sandbox checkout</title></head><body>…</body></html>";

/// A value of `schema`: its own example, else one built from its parts.
/// One event of a task's stream, as the schema describes one: a step, its `data` the step's
/// JSON as text.
fn event_stream_example(doc: &Value) -> Value {
    let task = example_of(doc, &json!({"$ref": "#/components/schemas/AnalysisTask"}), 0);
    let step = task
        .pointer("/steps/0")
        .cloned()
        .unwrap_or_else(|| example_of(doc, &json!({"$ref": "#/components/schemas/TaskStep"}), 0));
    json!({"id": "2", "event": "step", "data": step.to_string()})
}

fn example_of(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = super::resolve(doc, schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if depth > 8 || schema.get("nullable") == Some(&Value::Bool(true)) {
        return Value::Null;
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => json!([example_of(doc, schema.get("items").unwrap_or(&Value::Null), depth + 1)]),
        Some("object") => {
            let mut object = Map::new();
            for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                object.insert(name.clone(), example_of(doc, property, depth + 1));
            }
            Value::Object(object)
        }
        Some("string") => json!("string"),
        Some("integer") => json!(1),
        Some("number") => json!(1.0),
        Some("boolean") => json!(true),
        _ => Value::Null,
    }
}

fn envelope_example(doc: &Value, schema: &Value, message: &str) -> Value {
    let schema = super::resolve(doc, schema);
    match schema.pointer("/properties/data") {
        Some(data) => json!({"data": example_of(doc, data, 0), "message": message, "status": "success"}),
        None => example_of(doc, schema, 0),
    }
}

pub fn apply(doc: &mut Value) {
    let snapshot = doc.clone();
    for (method, path, op) in super::operations_mut(doc) {
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(Value::Object(content)) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")) {
            for media in content.values_mut() {
                let example = example_of(&snapshot, media.get("schema").unwrap_or(&Value::Null), 0);
                media["example"] = example;
            }
        }
        let Some(Value::Object(responses)) = op.get_mut("responses") else { continue };
        for (status, response) in responses.iter_mut().filter(|(s, _)| s.starts_with('2')) {
            let Some(Value::Object(content)) = response.get_mut("content") else { continue };
            if content.keys().all(|media| media.starts_with("text/event-stream")) {
                // No envelope: the events themselves, in the order a finished task sends them.
                for media in content.values_mut() {
                    media["example"] = event_stream_example(&snapshot);
                }
                continue;
            }
            if content.keys().all(|media| media.starts_with("text/html")) {
                for media in content.values_mut() {
                    media["example"] = json!(HTML_EXAMPLE);
                }
                continue;
            }
            let message =
                MESSAGES.iter().find(|(op, _)| *op == id).map(|(_, m)| *m).unwrap_or_else(|| {
                    panic!("{method} {path} {status} ({id}) has no success message in spec::examples")
                });
            for media in content.values_mut() {
                let example = envelope_example(&snapshot, media.get("schema").unwrap_or(&Value::Null), message);
                media["example"] = example;
            }
        }
    }
}
