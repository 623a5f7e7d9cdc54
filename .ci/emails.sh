#!/usr/bin/env bash
# The built-in e-mail templates as mail clients would show them: `clara-backend render-emails`
# writes every kind's HTML (and text) with sample data into target/emails/, then Debian's headless
# Chromium screenshots each HTML mail at a desktop width (800 px) and a phone width (390 px) into
# target/email-screenshots/ (beside target/swagger-ui.png, which .ci/browser.sh writes).
# docs/email.md. Usage: bash .ci/emails.sh   (EMAILS_DIR and EMAIL_SCREENSHOTS override the dirs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v chromium >/dev/null 2>&1; then
    echo "ci: installing Debian's chromium"
    apt-get install -y -q chromium >/dev/null
fi
TARGET="${CARGO_TARGET_DIR:-target}"
EMAILS_DIR="${EMAILS_DIR:-$TARGET/emails}"
EMAIL_SCREENSHOTS="${EMAIL_SCREENSHOTS:-$TARGET/email-screenshots}"
rm -rf "$EMAILS_DIR" "$EMAIL_SCREENSHOTS"
mkdir -p "$EMAILS_DIR" "$EMAIL_SCREENSHOTS"

# The built-ins with their defaults: no operator directory, no .env values of this checkout.
env -u EMAIL_TEMPLATES_DIR -u APP_NAME -u APP_URL -u SUPPORT_EMAIL -u CLIENT_URL -u PUBLIC_URL \
    APP_URL=https://app.clara.example SUPPORT_EMAIL=support@clara.example \
    cargo run --quiet --bin clara-backend -- render-emails --out "$EMAILS_DIR" >/dev/null

shots=0
for html in "$EMAILS_DIR"/*.html; do
    kind="$(basename "$html" .html)"
    for size in desktop:800,760 phone:390,1000; do
        name="${size%%:*}"
        png="$EMAIL_SCREENSHOTS/$kind-$name.png"
        # A profile of its own each time: nothing shared with other Chromium runs on the machine.
        profile="$(mktemp -d)"
        timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
            --no-first-run --no-default-browser-check --disable-extensions \
            --user-data-dir="$profile" --window-size="${size#*:}" \
            --screenshot="$png" "file://$(realpath "$html")" >/dev/null 2>&1 || true
        rm -rf "$profile"
        if [ ! -s "$png" ]; then
            echo "ci: chromium made no screenshot of $html at $name width" >&2
            exit 1
        fi
        shots=$((shots + 1))
    done
done
[ "$shots" -ge 12 ] || { echo "ci: expected 12 e-mail screenshots, made $shots" >&2; exit 1; }
echo "ci: $shots e-mail screenshots in $EMAIL_SCREENSHOTS"
