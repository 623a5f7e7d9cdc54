#!/usr/bin/env bash
# The generator matrix: every client generator our users run, pinned, generates from the
# committed spec (openapi/openapi.json); every ERROR or WARN line a tool prints about the
# document fails the check, except the lines of clients/matrix/allow-list.tsv (the tools' own
# noise, each justified in docs/openapi.md). Then the output is compiled where this machine
# can, together with the recipes of docs/clients.md (clients/matrix/recipes/):
#   - TypeScript: tsc --strict --noUncheckedIndexedAccess
#   - Python: import, then mypy on the models and the recipes
#   - Swift and Kotlin: no toolchain here; generating without an error or warning is the check.
# Spectral (spectral:oas) and Redocly (recommended) lint the spec under the same rule.
#
# GENERATOR_MATRIX_STRICT=1 (the default): any line not on the allow-list fails the run.
# GENERATOR_MATRIX_STRICT=0: the lines are printed and counted, the run passes (to survey a
# spec in progress). A tool that exits non-zero, or output that does not compile, fails
# either way... except under STRICT=0, where it is reported too.
#
# Usage: bash .ci/generators.sh   (from anywhere; needs no network beyond npm and PyPI)
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
export NO_COLOR=1 FORCE_COLOR=0

started=$SECONDS
rm -rf "$OUT"
mkdir -p "$LOGS"

echo "==> generator matrix: installing the pinned tools (clients/matrix)"
(cd "$M" && npm ci --no-audit --no-fund --loglevel=error)
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

echo "==> generator matrix: importing the Python clients; mypy on the models and the recipes"
run import-opc env PYTHONPATH="$OUT/opc" "$PY/python" -c 'import clara_opc, clara_opc.models, clara_opc.api'
run import-oag env PYTHONPATH="$OUT/oag-python" "$PY/python" -c 'import clara_oag, clara_oag.models, clara_oag.api'
run mypy-opc env MYPYPATH="$OUT/opc" "$PY/mypy" --config-file "$M/mypy.ini" "$OUT/opc/clara_opc/models" "$M/recipes/opc_recipes.py"
check mypy-opc "$LOGS/mypy-opc.log" ': error:'
run mypy-oag env MYPYPATH="$OUT/oag-python" "$PY/mypy" --config-file "$M/mypy.ini" "$OUT/oag-python/clara_oag/models" "$M/recipes/oag_recipes.py"
check mypy-oag "$LOGS/mypy-oag.log" ': error:'
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
