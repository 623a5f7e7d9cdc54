#!/usr/bin/env bash
# The generator matrix: every client generator our users run, pinned, generates from the
# committed spec (openapi/openapi.json); every ERROR or WARN line a tool prints about the
# document fails the check, except the lines of clients/matrix/allow-list.tsv (the tools' own
# noise, each justified in docs/openapi.md). Then the output is compiled where this machine
# can, together with the recipes of docs/clients.md (clients/matrix/recipes/):
#   - TypeScript: tsc --strict --noUncheckedIndexedAccess
#   - Python: import, then mypy on the models and the recipes
#   - Go: `go build` with Debian's Go (apt-get installs golang-go when it is missing), no
#     module download allowed (GOPROXY=off: the generated module needs none)
#   - Rust: `cargo check` of the generated crate and its recipe (crates from crates.io; the
#     target dir stays in clients/matrix/.cache/rust-target)
#   - openapi-zod-client: tsc; .ci/clients.sh then calls a live sandbox server with it
#     (clients/matrix/zod/live.ts), its run-time validation checking every answer
#   - Swift and Kotlin: no toolchain here; generating without an error or warning is the check.
# Spectral (spectral:oas) and Redocly (recommended) lint the spec under the same rule.
#
# GENERATOR_MATRIX_STRICT=1 (the default): any line not on the allow-list fails the run.
# GENERATOR_MATRIX_STRICT=0: the lines are printed and counted, the run passes (to survey a
# spec in progress). A tool that exits non-zero, or output that does not compile, fails
# either way... except under STRICT=0, where it is reported too.
#
# Usage: bash .ci/generators.sh   (from anywhere; needs no network beyond npm, PyPI, crates.io
# and, when Go is missing, Debian's archive)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STRICT="${GENERATOR_MATRIX_STRICT:-1}"
ROOT="$PWD"
SPEC="$ROOT/openapi/openapi.json"
M="$PWD/clients/matrix"
OUT="$M/out"
LOGS="$OUT/logs"
ALLOW="$M/allow-list.tsv"
# Caches stay in the matrix's ignored folders.
export npm_config_cache="$M/.cache/npm"
export PIP_CACHE_DIR="$M/.cache/pip"
export MYPY_CACHE_DIR="$M/.cache/mypy"
ZOD="$M/zod"
export NO_COLOR=1 FORCE_COLOR=0

started=$SECONDS
rm -rf "$OUT"
mkdir -p "$LOGS"

echo "==> generator matrix: installing the pinned tools (clients/matrix)"
# openapi-zod-client needs zod 3 (hey-api's plugin is on zod 4): its own folder, installed
# alongside the main one.
(cd "$ZOD" && npm ci --no-audit --no-fund --loglevel=error) &
ZOD_NPM_PID=$!
(cd "$M" && npm ci --no-audit --no-fund --loglevel=error)
wait "$ZOD_NPM_PID"
rm -rf "$ZOD/generated" "$ZOD/dist"
mkdir -p "$ZOD/generated"
if [ ! -x "$M/.venv/bin/python" ]; then
    python3 -m venv "$M/.venv"
fi
"$M/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$M/requirements.lock"
if [ ! -x .ci/node/node_modules/.bin/redocly ]; then
    (cd .ci/node && npm ci --no-audit --no-fund --loglevel=error)
fi
BIN="$M/node_modules/.bin"
PY="$M/.venv/bin"

# A summary row per check: name, unexpected lines, allowed lines, verdict.
SUMMARY=()
UNEXPECTED_TOTAL=0
FAILED=()

# check NAME LOG PATTERN: the lines of LOG matching PATTERN (extended regex, case
# sensitive) are problems; those matching an allow-list entry for NAME are the tools' noise.
check() {
    local name="$1" log="$2" pattern="$3"
    local problems allowed unexpected
    problems="$(grep -E -- "$pattern" "$log" || true)"
    allowed=""
    unexpected="$problems"
    if [ -n "$problems" ]; then
        local regexes
        regexes="$(awk -F'\t' -v t="$name" '$1 == t && $2 != "" { print $2 }' "$ALLOW")"
        if [ -n "$regexes" ]; then
            allowed="$(printf '%s\n' "$problems" | grep -E -f <(printf '%s\n' "$regexes") || true)"
            unexpected="$(printf '%s\n' "$problems" | grep -v -E -f <(printf '%s\n' "$regexes") || true)"
        fi
    fi
    local n_unexpected=0 n_allowed=0
    [ -n "$unexpected" ] && n_unexpected="$(printf '%s\n' "$unexpected" | wc -l)"
    [ -n "$allowed" ] && n_allowed="$(printf '%s\n' "$allowed" | wc -l)"
    if [ "$n_unexpected" -gt 0 ]; then
        echo "generators: ${name}: ${n_unexpected} unexpected line(s) about the document:"
        printf '%s\n' "$unexpected" | sed "s/^/    [${name}] /"
        UNEXPECTED_TOTAL=$((UNEXPECTED_TOTAL + n_unexpected))
        SUMMARY+=("$(printf '%-28s %3s unexpected %3s allowed' "$name" "$n_unexpected" "$n_allowed")")
    else
        SUMMARY+=("$(printf '%-28s %3s unexpected %3s allowed  ok' "$name" 0 "$n_allowed")")
    fi
}

# run NAME CMD...: runs a tool with its output in $LOGS/NAME.log; a non-zero exit is a failure.
run() {
    local name="$1"
    shift
    local t0=$SECONDS rc=0
    "$@" > "$LOGS/$name.log" 2>&1 || rc=$?
    echo "generators: ${name}: exit ${rc} in $((SECONDS - t0)) s"
    if [ "$rc" -ne 0 ]; then
        FAILED+=("$name (exit $rc)")
        # The checkers' lines are printed by `check`; a generator's failure is shown here.
        case "$name" in tsc-*|mypy-*|spectral|redocly) return 0 ;; esac
        sed "s/^/    [${name}] /" "$LOGS/$name.log" | tail -n 40
    fi
}

# The openapi-generator targets run in the background (one JVM each, the slow part) while
# the Node and Python tools run.
OAG_TARGETS=(typescript-fetch python swift5 swift6 kotlin)
oag_all() {
    local g extra
    for g in "${OAG_TARGETS[@]}"; do
        extra=()
        [ "$g" = python ] && extra=(--additional-properties packageName=clara_oag)
        [ "$g" = typescript-fetch ] && extra=(--additional-properties supportsES6=true)
        local rc=0
        "$PY/openapi-generator-cli" generate -i "$SPEC" -g "$g" -o "$OUT/oag-$g" "${extra[@]}" \
            > "$LOGS/oag-$g.log" 2>&1 || rc=$?
        echo "$rc" > "$LOGS/oag-$g.rc"
    done
}
echo "==> generator matrix: generating ($("$PY/openapi-generator-cli" version) openapi-generator in the background)"
oag_all &
OAG_PID=$!

# Go and Rust: a second background chain, generated and then compiled with their own
# toolchains, alongside the JVM targets above and the Node tools below. Each step leaves
# NAME.rc and NAME.secs in $LOGS.
step() {
    local name="$1" t0=$SECONDS rc=0
    shift
    "$@" > "$LOGS/$name.log" 2>&1 || rc=$?
    echo "$rc" > "$LOGS/$name.rc"
    echo "$((SECONDS - t0))" > "$LOGS/$name.secs"
    return "$rc"
}
ensure_go() {
    command -v go >/dev/null 2>&1 && { go version; return 0; }
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
    "${sudo[@]}" apt-get install -y --no-install-recommends golang-go \
        || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends golang-go; }
    go version
}
go_build() {
    # The recipe module replaces the client's module path with the generated folder.
    cd "$M/recipes/go" && GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPATH="$M/.cache/go" GOCACHE="$M/.cache/go-build" \
        go build ./...
}
cargo_check() {
    local crate="$OUT/oag-rust"
    mkdir -p "$crate/examples"
    cp "$M/recipes/rust_recipes.rs" "$crate/examples/recipes.rs"
    # A crate of its own, not a member of this repository's workspace; the dependency
    # versions of the last green run (the generator asks for `^` ranges).
    printf '\n[workspace]\n' >> "$crate/Cargo.toml"
    cp "$M/oag-rust.Cargo.lock" "$crate/Cargo.lock"
    # No TLS feature: the choice of native-tls or rustls is the user's, and either links a
    # TLS library this check does not need.
    CARGO_TARGET_DIR="$M/.cache/rust-target" cargo check --quiet --manifest-path "$crate/Cargo.toml" \
        --no-default-features --lib --examples
}
native_all() {
    # Go's installation (a download, on a fresh machine) and the crate's check (the longest
    # step) overlap with the generation of the other.
    step go-install ensure_go &
    local install=$!
    if step oag-rust "$PY/openapi-generator-cli" generate -i "$SPEC" -g rust -o "$OUT/oag-rust" \
        --additional-properties packageName=clara_oag; then
        step cargo-check cargo_check &
    fi
    step oag-go "$PY/openapi-generator-cli" generate -i "$SPEC" -g go -o "$OUT/oag-go" \
        --git-user-id clara --git-repo-id clara-go --additional-properties packageName=clara \
        && wait "$install" && step go-build go_build || true
    wait
}
native_all &
NATIVE_PID=$!

cd "$M"
# The linters report in JSON, turned into `SEVERITY RULE POINTER: MESSAGE` lines
# (.ci/lint_lines.py), so that the allow-list names a rule at a place, not a line number.
run spectral "$BIN/spectral" lint "$SPEC" --ruleset "$M/.spectral.yaml" --format json \
    --output "$LOGS/spectral.json" --fail-severity error --quiet
"$PY/python" "$ROOT/.ci/lint_lines.py" spectral "$LOGS/spectral.json" | tee -a "$LOGS/spectral.log" > "$LOGS/spectral.lines"
check spectral "$LOGS/spectral.lines" '^(error|warning|info|hint) '
run redocly sh -c '"$0" lint "$1" --format=json > "$2"' \
    "$ROOT/.ci/node/node_modules/.bin/redocly" "$SPEC" "$LOGS/redocly.json"
"$PY/python" "$ROOT/.ci/lint_lines.py" redocly "$LOGS/redocly.json" > "$LOGS/redocly.lines"
check redocly "$LOGS/redocly.lines" '^(error|warn) '

run openapi-typescript "$BIN/openapi-typescript" "$SPEC" -o "$OUT/oat/schema.d.ts"
check openapi-typescript "$LOGS/openapi-typescript.log" '(error|Error|ERROR|warn|WARN|⚠|✖)'
run orval "$BIN/orval" --config "$M/orval.config.cjs"
check orval "$LOGS/orval.log" '(error|Error|ERROR|warn|WARN|⚠|✖)'
run hey-api "$BIN/openapi-ts" -f "$M/openapi-ts.config.mjs"
check hey-api "$LOGS/hey-api.log" '(error|Error|ERROR|warn|WARN|⚠|✖)'
run openapi-python-client env PATH="$PY:$PATH" "$PY/openapi-python-client" generate --path "$SPEC" \
    --output-path "$OUT/opc/clara_opc" --overwrite --meta none
check openapi-python-client "$LOGS/openapi-python-client.log" '(error|Error|ERROR|[Ww]arn|WARN)'
# --export-schemas: the live check parses error bodies with the generated ErrorBody.
run openapi-zod-client "$ZOD/node_modules/.bin/openapi-zod-client" "$SPEC" -o "$ZOD/generated/client.ts" \
    --export-schemas
check openapi-zod-client "$LOGS/openapi-zod-client.log" '(error|Error|ERROR|warn|WARN|⚠|✖)'

wait "$OAG_PID"
for g in "${OAG_TARGETS[@]}"; do
    rc="$(cat "$LOGS/oag-$g.rc")"
    echo "generators: openapi-generator ${g}: exit ${rc}"
    [ "$rc" -eq 0 ] || FAILED+=("openapi-generator $g (exit $rc)")
    check "oag-$g" "$LOGS/oag-$g.log" '^\[[^]]*\] +(ERROR|WARN)'
done

echo "==> generator matrix: compiling the TypeScript clients with their recipes"
for t in oat orval hey oag-typescript-fetch; do
    run "tsc-$t" "$BIN/tsc" -p "$M/tsconfig.$t.json"
    check "tsc-$t" "$LOGS/tsc-$t.log" 'error TS'
done
# Emits clients/matrix/zod/dist/live.js, which .ci/clients.sh runs against a live server.
run tsc-zod "$ZOD/node_modules/.bin/tsc" -p "$ZOD/tsconfig.json"
check tsc-zod "$LOGS/tsc-zod.log" 'error TS'

echo "==> generator matrix: importing the Python clients; mypy on the models and the recipes"
run import-opc env PYTHONPATH="$OUT/opc" "$PY/python" -c 'import clara_opc, clara_opc.models, clara_opc.api'
run import-oag env PYTHONPATH="$OUT/oag-python" "$PY/python" -c 'import clara_oag, clara_oag.models, clara_oag.api'
run mypy-opc env MYPYPATH="$OUT/opc" "$PY/mypy" --config-file "$M/mypy.ini" "$OUT/opc/clara_opc/models" "$M/recipes/opc_recipes.py"
check mypy-opc "$LOGS/mypy-opc.log" ': error:'
run mypy-oag env MYPYPATH="$OUT/oag-python" "$PY/mypy" --config-file "$M/mypy.ini" "$OUT/oag-python/clara_oag/models" "$M/recipes/oag_recipes.py"
check mypy-oag "$LOGS/mypy-oag.log" ': error:'

echo "==> generator matrix: Go and Rust (generated and compiled in the background)"
wait "$NATIVE_PID"
for name in oag-go oag-rust go-install go-build cargo-check; do
    if [ ! -e "$LOGS/$name.rc" ]; then
        echo "generators: ${name}: not run (an earlier step failed)"
        FAILED+=("$name (not run)")
        continue
    fi
    rc="$(cat "$LOGS/$name.rc")"
    echo "generators: ${name}: exit ${rc} in $(cat "$LOGS/$name.secs") s"
    if [ "$rc" -ne 0 ]; then
        FAILED+=("$name (exit $rc)")
        sed "s/^/    [${name}] /" "$LOGS/$name.log" | tail -n 40
    fi
done
check oag-go "$LOGS/oag-go.log" '^\[[^]]*\] +(ERROR|WARN)'
check oag-rust "$LOGS/oag-rust.log" '^\[[^]]*\] +(ERROR|WARN)'
check go-build "$LOGS/go-build.log" '\.go:[0-9]+(:[0-9]+)?: '
check cargo-check "$LOGS/cargo-check.log" '^(error|warning)'
cd "$ROOT"

echo
echo "==> generator matrix: summary (GENERATOR_MATRIX_STRICT=${STRICT}, $((SECONDS - started)) s; logs in clients/matrix/out/logs)"
printf '  %s\n' "${SUMMARY[@]}"
# The linters, mypy and tsc exit non-zero on allowed lines too: judge them by their lines.
real_failures=()
for f in "${FAILED[@]+"${FAILED[@]}"}"; do
    case "$f" in
        tsc-*|mypy-*|spectral*|redocly*) ;;
        *) real_failures+=("$f") ;;
    esac
done
if [ "${#real_failures[@]}" -gt 0 ]; then
    printf '  failed: %s\n' "${real_failures[@]}"
fi
if [ "$UNEXPECTED_TOTAL" -gt 0 ] || [ "${#real_failures[@]}" -gt 0 ]; then
    if [ "$STRICT" = 1 ]; then
        echo "generators: ${UNEXPECTED_TOTAL} unexpected line(s), ${#real_failures[@]} failed tool(s): failing (GENERATOR_MATRIX_STRICT=1)" >&2
        exit 1
    fi
    echo "generators: ${UNEXPECTED_TOTAL} unexpected line(s), ${#real_failures[@]} failed tool(s): reported only (GENERATOR_MATRIX_STRICT=0)"
else
    echo "generators: every tool generated and compiled without an unexpected line"
fi
