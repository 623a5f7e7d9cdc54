#!/usr/bin/env bash
# Contract fuzzing: schemathesis over every operation of the served spec, against a
# release server on SQLite with the outside services pointed at the fakes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/live-stack.sh
trap stop_live_stack EXIT
start_live_stack

MAX_EXAMPLES="${ST_MAX_EXAMPLES:-50}"

run() {
    # $1: label, $2: the bearer credential
    local EMAIL PASSWORD
    EMAIL="$(cred email)"
    PASSWORD="$(cred password)"
    local config="${LIVE_DIR}/schemathesis-$1.toml"
    cat > "$config" <<TOML
[auth.openapi.BearerAuth]
bearer = "$2"

[auth.openapi.PublicApiKey]
api_key = "${PUBLIC_KEY}"

[auth.openapi.AdminApiKey]
api_key = "${ADMIN_KEY}"

[auth.openapi.BasicAuth]
username = "${EMAIL}"
password = "${PASSWORD}"
TOML
    echo "schemathesis: bearer = $1"
    "${VENV}/bin/schemathesis" --config-file "$config" run "${BASE}/openapi.json" \
        --url "${BASE}/api/v1" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" --seed 1 --workers 2 --no-color \
        --report junit --report-dir "${LIVE_DIR}/report-$1"
}

# Each pass gets its own account: the fuzzer may log out, change the password or delete
# the account (with the admin key); what follows then answers 401, which the spec
# documents, but a fresh account lets the next pass reach the handlers.
run user_token "$(cred user_token)"
new_account live2@example.com
run api_key "$(cred api_key)"
echo "schemathesis: no failures"
