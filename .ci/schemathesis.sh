#!/usr/bin/env bash
# Contract fuzzing: schemathesis over every operation of the served spec (the sandbox spec,
# sandbox routes included), against a server in sandbox mode on SQLite
# (.ci/live-stack.sh): mail, Stripe, Google, Apple, passkeys and the model are the server's own
# doubles.
#
# Credentials come from the auth provider in .ci/st_auth.py, which renews the account the
# fuzzer destroys (logout, password change, API-key reset, deletion), so that every
# operation reaches its handler; its `before_call` hook gives a share of the cases real
# values (a minted Google or Apple ID token, a mailed code, a correctly signed webhook, a passkey
# ceremony answered by the sandbox's authenticator) so that every operation also succeeds. Two
# passes, at once: the session token as the bearer, and the API key; in both, each operation
# gets a credential its `security` (and, for bearer routes that refuse an API key, its operationId)
# says it accepts, so no correct answer is a "only 401/403" failure.
# A pass fails on any failure, on an operation that saw only 401/403, and on a "Schema
# validation mismatch" (an operation all of whose answers were 4xx, mostly validation
# errors: its success was never reached). The seed changes every run and is printed; replay
# a run with ST_SEED=<seed>. ST_MAX_EXAMPLES (default 100) sets the examples per operation.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/live-stack.sh
trap stop_live_stack EXIT
start_live_stack

MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
SEED="${ST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
echo "schemathesis: seed ${SEED} (replay with ST_SEED=${SEED}), ${MAX_EXAMPLES} examples per operation"

run_once() {
    # $1: which credential is the bearer (user_token | api_key)
    local config="${LIVE_DIR}/schemathesis-$1.toml" t0=$SECONDS
    # No [auth] here: the hooks' provider sets every scheme (config auth would take precedence).
    # Every check on every operation: Sign in with Apple and passkeys reach their logic through
    # the sandbox's Apple minter and software authenticator (.ci/st_auth.py).
    cat > "$config" <<'TOML'
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
TOML
    echo "schemathesis: pass ${1}: bearer = ${1}"
    set +e
    ST_BEARER="$1" ST_SEED="$SEED" ST_RENEWALS_FILE="${LIVE_DIR}/renewals-$1" \
    SCHEMATHESIS_HOOKS=.ci/st_auth.py \
        "${VENV}/bin/schemathesis" --config-file "$config" run "${BASE}/openapi.json" \
        --url "${BASE}/api/v1" \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 --no-color \
        --report junit --report-dir "${LIVE_DIR}/report-$1" | tee "${LIVE_DIR}/pass-$1.log"
    local status="${PIPESTATUS[0]}"
    set -e
    echo "schemathesis: pass ${1}: $(grep -E '^\s+[0-9]+ generated' "${LIVE_DIR}/pass-$1.log" | tr -s ' ') in $((SECONDS - t0)) s; accounts renewed: $(cat "${LIVE_DIR}/renewals-$1" 2>/dev/null || echo '?')"
    # Operations that answered only 401/403 fail the pass; so do operations schemathesis
    # calls a "Schema validation mismatch" (every answer 4xx, at least a tenth of them other
    # than 401/403/404/409/429): no case reached their success.
    local only_denied mismatch
    only_denied="$(sed -n '/returned only 401\/403/,/^💡/{p;/^💡/q}' "${LIVE_DIR}/pass-$1.log" | grep -E '^\s+- ' | sort -u || true)"
    mismatch="$(sed -n '/Schema validation mismatch/,/^💡/{p;/^💡/q}' "${LIVE_DIR}/pass-$1.log" | grep -E '^\s+- ' | sort -u || true)"
    if grep -q "Schema validation mismatch" "${LIVE_DIR}/pass-$1.log" && [ -z "$mismatch" ]; then
        mismatch="(see the pass log: the warning's operations could not be read)"
    fi
    if [ -n "$only_denied" ]; then
        echo "schemathesis: pass ${1}: operations that saw only 401/403:" >&2
        echo "$only_denied" >&2
    fi
    if [ -n "$mismatch" ]; then
        echo "schemathesis: pass ${1}: operations with a schema validation mismatch (no success reached):" >&2
        echo "$mismatch" >&2
    fi
    if [ -n "$only_denied" ] || [ -n "$mismatch" ]; then
        return 1
    fi
    return "$status"
}

# A pass that schemathesis itself could not finish (a "Runtime Error": an exception inside the
# tool, e.g. CPython's "AST constructor recursion depth mismatch" seen on seed 3345149384)
# says nothing about the API: it runs once more, with the next seed, printed. A pass that
# found a failure, an operation that saw only 401/403 or a schema validation mismatch, is
# never retried.
run() {
    if run_once "$1"; then
        return 0
    fi
    if grep -q "Runtime Error" "${LIVE_DIR}/pass-$1.log" &&
        ! grep -qE "^\s*❌|Failures:|returned only 401/403|Schema validation mismatch" "${LIVE_DIR}/pass-$1.log"; then
        SEED=$((SEED + 1))
        echo "schemathesis: pass ${1}: schemathesis crashed inside itself; once more with seed ${SEED}" >&2
        run_once "$1"
        return
    fi
    return 1
}

# Each pass starts with its own account; the provider makes more as the fuzzer destroys them,
# each with an address of its own. The two passes run at once, against the one server: each is
# one Python process that keeps about one core busy, so one after the other left the second
# core idle (432 s here for both; 260 s at once). Each prints its log when both are done; both
# run even when one fails, so that one run reports everything.
CREDS_USER_TOKEN="$CREDS"
new_account live2@example.com
CREDS_API_KEY="$CREDS"
(export CREDS="$CREDS_USER_TOKEN" && run user_token) > "${LIVE_DIR}/run-user_token.out" 2>&1 &
USER_TOKEN_PASS=$!
(export CREDS="$CREDS_API_KEY" && run api_key) > "${LIVE_DIR}/run-api_key.out" 2>&1 &
API_KEY_PASS=$!
failed=0
wait "$USER_TOKEN_PASS" || failed=1
wait "$API_KEY_PASS" || failed=1
cat "${LIVE_DIR}/run-user_token.out" "${LIVE_DIR}/run-api_key.out"
if [ "$failed" -ne 0 ]; then
    echo "schemathesis: a pass failed (seed ${SEED})" >&2
    exit 1
fi
echo "schemathesis: no failures (seed ${SEED})"
