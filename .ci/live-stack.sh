# Sourced by the live checks: starts the fakes and a release server on SQLite, and makes
# an account. Exports BASE, PUBLIC_KEY, ADMIN_KEY, WEBHOOK_SECRET, MAIL_LOG, CREDS (JSON)
# and LIVE_DIR; `stop_live_stack` ends it all (the caller traps it).

LIVE_DIR="$(mktemp -d)"
PORT_SERVER=18100
PORT_STRIPE=18101
PORT_PROVIDER=18102
PORT_SMTP=18103
BASE="http://127.0.0.1:${PORT_SERVER}"
PUBLIC_KEY="public-key-for-live-checks"
# 32 characters or more, as the server requires on PostgreSQL or a reachable HOST.
ADMIN_KEY="admin-key-for-live-checks-0123456789"
WEBHOOK_SECRET="whsec_live_checks"
MAIL_LOG="${LIVE_DIR}/mails.txt"
VENV="${VENV:-.ci/.venv}"
export BASE PUBLIC_KEY ADMIN_KEY WEBHOOK_SECRET MAIL_LOG LIVE_DIR

ensure_venv() {
    if [ ! -x "${VENV}/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    "${VENV}/bin/pip" install --quiet --disable-pip-version-check -r .ci/requirements.txt
}

stop_live_stack() {
    set +e
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -n "${FAKES_PID:-}" ] && kill "$FAKES_PID" 2>/dev/null || true
    wait 2>/dev/null || true
}

start_live_stack() {
    ensure_venv
    # CLARA_SERVER_BIN: a server binary already built (e.g. another worktree's), to skip
    # the release build when checking these scripts by hand; CI leaves it unset.
    local server_bin="${CLARA_SERVER_BIN:-}"
    if [ -z "$server_bin" ]; then
        cargo build --release --quiet
        server_bin="${CARGO_TARGET_DIR:-target}/release/clara-backend"
    fi
    "${VENV}/bin/python" .ci/fakes.py --stripe "$PORT_STRIPE" --provider "$PORT_PROVIDER" --smtp "$PORT_SMTP" \
        --mail-log "$MAIL_LOG" > "${LIVE_DIR}/fakes.log" 2>&1 &
    FAKES_PID=$!
    env -i PATH="$PATH" HOME="$HOME" \
        DATABASE_URL="sqlite://${LIVE_DIR}/clara.db?mode=rwc" PORT="$PORT_SERVER" \
        PUBLIC_API_KEYS="$PUBLIC_KEY" ADMIN_API_KEY="$ADMIN_KEY" BCRYPT_COST=4 \
        SMTP_URL="smtp://127.0.0.1:${PORT_SMTP}" \
        STRIPE_SECRET_KEY=sk_test_live STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
        STRIPE_API_BASE="http://127.0.0.1:${PORT_STRIPE}" CLIENT_URL=http://localhost:3000 \
        AGENT_API_BASE="http://127.0.0.1:${PORT_PROVIDER}/v1" AGENT_MODEL=fake-model \
        GOOGLE_CLIENT_ID=live-checks.apps.googleusercontent.com GOOGLE_JWKS_URL="http://127.0.0.1:${PORT_PROVIDER}/certs" \
        ATTACHMENTS_DIR="${LIVE_DIR}/files" RATE_LIMIT_PER_SECOND=1000000 SIGNUPS_PER_ADDRESS_HOUR=1000000 \
        CORS_ALLOWED_ORIGINS="*" LOG_FORMAT=json RUST_LOG=warn TRUSTED_PROXIES=127.0.0.1/32 \
        "$server_bin" serve > "${LIVE_DIR}/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "${BASE}/api/v1/health" >/dev/null 2>&1 && grep -q ready "${LIVE_DIR}/fakes.log"; then
            break
        fi
        sleep 0.2
    done
    curl -fsS "${BASE}/api/v1/health" >/dev/null || { cat "${LIVE_DIR}/server.log"; return 1; }
    new_account live@example.com
}

# Makes another ready account; sets CREDS.
new_account() {
    CREDS="$("${VENV}/bin/python" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "$MAIL_LOG" "$1")"
    export CREDS
}

cred() {
    "${VENV}/bin/python" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$CREDS" "$1"
}
