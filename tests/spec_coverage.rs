//! The spec's responses against what the test suite saw. `tests/api` records every
//! answer (operation id, status, error code or success message) when
//! `CLARA_OBSERVED_STATUSES` names a directory; this check then fails when
//! - an operation documents a status that no test produced (500 and the pairs in
//!   [`UNREACHABLE_IN_TESTS`] excepted), or a success message no test saw;
//! - a test saw a status, or an error code under a status, that the operation does not
//!   document (what schemathesis checks from the outside, here for the whole suite).
//!
//! Run it after the whole suite, as `.ci/run` does:
//! `rm -rf target/observed-statuses && CLARA_OBSERVED_STATUSES=target/observed-statuses cargo test --workspace`
//! then `CLARA_OBSERVED_STATUSES=target/observed-statuses cargo test --test spec_coverage`.
//! Without observations it says so and passes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Documented pairs no in-process test can produce, and why.
const UNREACHABLE_IN_TESTS: &[(&str, u16, &str)] = &[];

type Observed = BTreeMap<(String, u16), BTreeSet<String>>;

fn observations() -> Option<Observed> {
    let dir = std::env::var("CLARA_OBSERVED_STATUSES").ok().filter(|d| !d.is_empty())?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut observed = Observed::new();
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let mut parts = line.splitn(3, ' ');
            let (Some(op), Some(status), Some(detail)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let Ok(status) = status.parse() else { continue };
            observed.entry((op.to_string(), status)).or_default().insert(detail.to_string());
        }
    }
    (!observed.is_empty()).then_some(observed)
}

/// (operation id, status) → documented codes (errors) or example message (success).
fn documented() -> BTreeMap<(String, u16), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    // The production spec, and the sandbox spec for the operations only it has.
    for spec in [include_str!("../openapi/openapi.json"), include_str!("../openapi/openapi.sandbox.json")] {
        let spec: Value = serde_json::from_str(spec).expect("spec");
        document(&spec, &mut out);
    }
    out
}

fn document(spec: &Value, out: &mut BTreeMap<(String, u16), BTreeSet<String>>) {
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_string();
            for (status, response) in op["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                let mut details = BTreeSet::new();
                for media in response["content"].as_object().into_iter().flatten().map(|(_, m)| m) {
                    if let Some(examples) = media["examples"].as_object() {
                        details.extend(examples.keys().cloned());
                    }
                    if let Some(message) = media["example"]["message"].as_str() {
                        details.insert(message.to_string());
                    }
                }
                out.insert((id.clone(), status), details);
            }
        }
    }
}

#[test]
fn documented_statuses_are_produced_and_produced_ones_documented() {
    let Some(observed) = observations() else {
        eprintln!("spec_coverage: no observations (set CLARA_OBSERVED_STATUSES for the whole test run first); skipped");
        return;
    };
    let documented = documented();
    let operations: BTreeSet<&String> = documented.keys().map(|(op, _)| op).collect();
    let mut problems = vec![];
    for ((op, status), details) in &documented {
        let exempt = *status == 500 || UNREACHABLE_IN_TESTS.iter().any(|(o, s, _)| o == op && s == status);
        match observed.get(&(op.clone(), *status)) {
            None if !exempt => problems.push(format!("documented but never produced: {op} {status}")),
            Some(seen) if *status < 300 && !details.is_empty() && details.is_disjoint(seen) => {
                problems.push(format!("{op} {status}: example message {details:?} never seen (seen {seen:?})"))
            }
            _ => {}
        }
    }
    for ((op, status), seen) in &observed {
        if !operations.contains(op) {
            continue;
        }
        match documented.get(&(op.clone(), *status)) {
            None => problems.push(format!("produced but not documented: {op} {status} {seen:?}")),
            Some(codes) if *status >= 400 => {
                for code in seen.difference(codes) {
                    problems.push(format!("produced but not documented: {op} {status} code {code}"));
                }
            }
            _ => {}
        }
    }
    let unseen_codes: Vec<String> = documented
        .iter()
        .filter(|((_, status), _)| *status >= 400 && *status != 500)
        .flat_map(|((op, status), codes)| {
            let seen = observed.get(&(op.clone(), *status)).cloned().unwrap_or_default();
            codes.difference(&seen).map(|c| format!("{op} {status} {c}")).collect::<Vec<_>>()
        })
        .collect();
    if !unseen_codes.is_empty() {
        eprintln!("spec_coverage: documented codes no test produced (not a failure):\n  {}", unseen_codes.join("\n  "));
    }
    assert!(problems.is_empty(), "the spec and the tests disagree:\n  {}", problems.join("\n  "));
}
