#!/usr/bin/env bash
# Swagger UI in Debian's Chromium against a live sandbox server: a person's whole journey
# through "Try it out" (see .ci/node/browser.mjs). Writes two screenshots: Swagger UI
# (SCREENSHOT) and the sandbox checkout page (CHECKOUT_SCREENSHOT). Then a passkey is registered
# through navigator.credentials.create against a virtual authenticator, and signs in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v chromium >/dev/null 2>&1; then
    echo "ci: installing Debian's chromium"
    apt-get install -y -q chromium >/dev/null
fi
(cd .ci/node && npm ci --no-audit --no-fund --loglevel=error)
source .ci/live-stack.sh
trap stop_live_stack EXIT
LIVE_PASSKEYS=1 start_live_stack
SCREENSHOT="${SCREENSHOT:-${CARGO_TARGET_DIR:-target}/swagger-ui.png}"
CHECKOUT_SCREENSHOT="${CHECKOUT_SCREENSHOT:-${CARGO_TARGET_DIR:-target}/sandbox-checkout.png}"
mkdir -p "$(dirname "$SCREENSHOT")" "$(dirname "$CHECKOUT_SCREENSHOT")"
PASSKEY_ORIGIN="http://localhost:${PORT_SERVER}" SCREENSHOT="$SCREENSHOT" CHECKOUT_SCREENSHOT="$CHECKOUT_SCREENSHOT" \
    node .ci/node/browser.mjs
