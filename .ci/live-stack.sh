# Sourced by the live checks: starts a server in sandbox mode (`serve --sandbox`:
# mail, Stripe, Google and the model are the server's own doubles) on SQLite, and makes an
# account through the API and the sandbox's mailbox (.ci/bootstrap.py). Exports BASE,
# PUBLIC_KEY, ADMIN_KEY, WEBHOOK_SECRET (the STRIPE_WEBHOOK_SECRET the server verifies and
# its payment simulator signs with, so that test tooling can sign deliveries too), CREDS
# (JSON) and LIVE_DIR; `stop_live_stack` ends it (the caller traps it).
# docs/contract-testing.md gives client teams the same recipe.

LIVE_DIR="$(mktemp -d)"
PORT_SERVER="${LIVE_PORT:-18100}"
BASE="http://127.0.0.1:${PORT_SERVER}"
PUBLIC_KEY="public-key-for-live-checks"
# 32 characters or more, as the server requires on PostgreSQL or a reachable HOST.
ADMIN_KEY="admin-key-for-live-checks-0123456789"
WEBHOOK_SECRET="whsec_live_checks"
VENV="${VENV:-.ci/.venv}"
export BASE PUBLIC_KEY ADMIN_KEY WEBHOOK_SECRET LIVE_DIR

# The newest Python 3 here: CPython before 3.11.8 and 3.12.2 can raise "SystemError: AST
# constructor recursion depth mismatch" (python/cpython#106905) inside Hypothesis, which ends a
# schemathesis pass with a Runtime Error that says nothing about the API (seeds 3345149384 and
# 2569198716 on 3.11.7).
newest_python() {
    local candidate
    # pyenv's shims name versions that are installed but not selected, and fail when run: its
    # versions are tried by path too.
    for candidate in python3.13 python3.12 \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -Vr) python3; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo python3
}

ensure_venv() {
    if [ ! -x "${VENV}/bin/python" ]; then
        "$(newest_python)" -m venv "$VENV"
    fi
    "${VENV}/bin/pip" install --quiet --disable-pip-version-check -r .ci/requirements.txt
}

stop_live_stack() {
    set +e
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
}

start_live_stack() {
    ensure_venv
    # CLARA_SERVER_BIN: a server binary already built, to skip the release build: .ci/run
    # passes the one its tests built; by hand, e.g. another worktree's.
    local server_bin="${CLARA_SERVER_BIN:-}"
    if [ -z "$server_bin" ]; then
        cargo build --release --quiet
        server_bin="${CARGO_TARGET_DIR:-target}/release/clara-backend"
    fi
    # No SMTP_URL, STRIPE_SECRET_KEY, STRIPE_API_BASE, GOOGLE_*, AGENT_*: the sandbox refuses
    # to start next to real integration settings.
    # LIVE_PASSKEYS=1 (the browser check) turns passkeys on for http://localhost:<port>, the
    # one http origin browsers let run WebAuthn; elsewhere they stay off (503), since the
    # fuzzer has no authenticator to answer their ceremonies with.
    local passkeys=()
    if [ -n "${LIVE_PASSKEYS:-}" ]; then
        passkeys=(WEBAUTHN_RP_ID=localhost WEBAUTHN_ORIGINS="http://localhost:${PORT_SERVER}")
    fi
    env -i PATH="$PATH" HOME="$HOME" "${passkeys[@]}" \
        DATABASE_URL="sqlite://${LIVE_DIR}/clara.db?mode=rwc" PORT="$PORT_SERVER" \
        PUBLIC_API_KEYS="$PUBLIC_KEY" ADMIN_API_KEY="$ADMIN_KEY" BCRYPT_COST=4 \
        STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
        ATTACHMENTS_DIR="${LIVE_DIR}/files" RATE_LIMIT_PER_SECOND=1000000 SIGNUPS_PER_ADDRESS_HOUR=1000000 \
        CORS_ALLOWED_ORIGINS="*" LOG_FORMAT=json RUST_LOG=warn TRUSTED_PROXIES=127.0.0.1/32 \
        "$server_bin" serve --sandbox > "${LIVE_DIR}/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "${BASE}/api/v1/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    # The health answer must say sandbox: a server that is not one would mail, charge and
    # call out for real.
    curl -fsS "${BASE}/api/v1/health" | grep -q '"sandbox": *true' || { cat "${LIVE_DIR}/server.log"; return 1; }
    new_account live@example.com
}

# Makes another ready account; sets CREDS.
new_account() {
    CREDS="$("${VENV}/bin/python" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "$1")"
    export CREDS
}

cred() {
    "${VENV}/bin/python" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$CREDS" "$1"
}
