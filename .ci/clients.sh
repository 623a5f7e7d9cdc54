#!/usr/bin/env bash
# Generated clients used for real: TypeScript types (openapi-typescript) and client
# (openapi-fetch) drive the full journey against a live sandbox server (.ci/live-stack.sh:
# codes from the sandbox's mailbox, payments through its checkout); the @hey-api/openapi-ts
# SDK must compile under --strict; the spec must suit swift-openapi-generator; Redocly
# lints the committed spec; the generator matrix (.ci/generators.sh) runs every generator our
# users run, and Spectral; openapi-zod-client's client (built by the matrix) then calls the
# live server, validating every answer against the schemas it generated.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> spec lint: redocly lint (recommended rules)"
(cd .ci/node && npm ci --no-audit --no-fund --loglevel=error)
.ci/node/node_modules/.bin/redocly lint openapi/openapi.json --format=summary 2>&1 | grep -v "^\s*║\|╔\|╚" 
python3 .ci/check_swift_spec.py

echo "==> generator matrix (.ci/generators.sh): every generator our users run, pinned, with no unexpected ERROR/WARN line"
bash .ci/generators.sh

echo "==> TypeScript clients: generate, type-check under --strict, build"
(
    cd clients/typescript
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent generate
    npm run --silent check
    npm run --silent build
)

echo "==> the journey, through the generated client, against a live server"
source .ci/live-stack.sh
trap stop_live_stack EXIT
start_live_stack
node clients/typescript/dist/src/journey.js

echo "==> openapi-zod-client's client against the live server: every answer validated at run time"
node clients/matrix/zod/dist/live.js
