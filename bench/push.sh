#!/usr/bin/env bash
# Issue 24's rows (push): a sandbox server on SQLite, as bench/run.sh starts it.
# - webhooks: 1,000 analyses of 10 users with one endpoint each deliver 1,000 signed
#   task.completed events to a receiver on 127.0.0.1 (bench/push_webhooks.py says why 10);
# - sse: GET /version with wrk, without streams and with 1,000 task event streams held open
#   by another process (bench/sse_streams.py), in PUSH_ROUNDS rounds (3) and once more
#   without, in one run; the goal is "with" at 90% or more of "without". The 1,000 streams
#   come from 127.0.0.1 like wrk's 64 connections, over MAX_CONNECTIONS_PER_ADDRESS's
#   default of 256: this row raises it to 2,048 (MAX_CONNECTIONS stays at 10,000). The
#   other settings are the defaults (REQUEST_TIMEOUT_SECS=30 ends a stream, the holder
#   reconnects: with 10 s runs no round reaches it).
# Everything goes to 127.0.0.1. Figures go to bench/results/push-*.json.
#
# Usage: bash bench/push.sh   (BIN=path/to/clara-backend, default the release build; needs
#        wrk and python3; PUSH_ROWS="webhooks sse" to choose; BENCH_SECONDS per wrk run, 10)
# Exits 1 when a row misses: fewer than 1,000 verified task.completed, or "with" under 90%.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 2; }
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/clara-backend}"
[ -x "$BIN" ] || { echo "no server at $BIN: cargo build --release, or BIN=path"; exit 2; }
VENV="${VENV:-.ci/.venv}"
[ -x "${VENV}/bin/python" ] || python3 -m venv "$VENV"
"${VENV}/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
PY="${VENV}/bin/python"
RESULTS=bench/results
mkdir -p "$RESULTS"
WORK="$(mktemp -d)"
PORT="${PORT:-18400}"
BASE="http://127.0.0.1:${PORT}"
PUBLIC_KEY=bench-public-key
ADMIN_KEY=bench-admin-key-0123456789abcdefghij
DURATION="${BENCH_SECONDS:-10}"
STREAMS="${PUSH_STREAMS:-1000}"
FAILED=0

SERVER="" HOLDER=""
cleanup() {
    set +e
    [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {
    # $1: database file; further arguments: extra settings (VAR=value).
    local db="$1"; shift
    env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="sqlite://${db}?mode=rwc" PORT="$PORT" BCRYPT_COST=12 \
        PUBLIC_API_KEYS="$PUBLIC_KEY" ADMIN_API_KEY="$ADMIN_KEY" RATE_LIMIT_PER_SECOND=1000000 \
        SIGNUPS_PER_ADDRESS_HOUR=1000000 CLIENT_URL=http://localhost:3000 WORKER_CONCURRENCY=8 \
        ATTACHMENTS_DIR="$WORK/files" RUST_LOG="${LOG_LEVEL:-error}" "$@" "$BIN" serve --sandbox >>"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 3000); do
        curl -fsS "$BASE/api/v1/health" >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    cat "$WORK/server.log"; return 1
}

stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk on /version: "rate cpu_us_per_request" (server CPU, user + system, from /proc).
version_rate() {
    local s0 s1 out
    s0=$(ticks "$SERVER")
    out=$(wrk -t2 -c64 -d"${DURATION}s" "$BASE/api/v1/version")
    s1=$(ticks "$SERVER")
    echo "$out" | awk -v s0="$s0" -v s1="$s1" -v hz="$(getconf CLK_TCK)" '
        /requests in/ {n = $1} /Requests\/sec/ {r = $2}
        END {printf "%s %.1f\n", r, (s1 - s0) / hz * 1e6 / n}'
}

row_webhooks() {
    start_server "$WORK/webhooks.db"
    local out
    out=$("$PY" bench/push_webhooks.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY") || FAILED=1
    local rss; rss=$(grep VmHWM "/proc/$SERVER/status" | awk '{print $2}')
    stop_server
    echo "{\"row\": \"webhooks\", \"cores\": $(nproc), \"peak_rss_kib\": $rss, \"figures\": ${out:-null}}" | tee "$RESULTS/push-webhooks.json"
}

row_sse() {
    local db="$WORK/sse.db" caps=(MAX_CONNECTIONS_PER_ADDRESS=2048)
    start_server "$db" "${caps[@]}"
    local creds user_id token
    creds="$("$PY" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "push-sse@example.com")"
    user_id="$(echo "$creds" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')"
    token="$(echo "$creds" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["user_token"])')"
    stop_server
    "$PY" bench/sse_streams.py prepare "$db" "$user_id" "$STREAMS" > "$WORK/tasks.txt"
    start_server "$db" "${caps[@]}"

    # Rounds of without, with; then without once more: each "with" has a "without" on either
    # side, so drift in the machine's speed shows instead of passing for the streams' cost.
    local without=() with=() rss_before rss_with h0 h1 holder_cpu=0 held
    rss_before=$(grep VmRSS "/proc/$SERVER/status" | awk '{print $2}')
    for _ in $(seq 1 "${PUSH_ROUNDS:-3}"); do
        without+=("$(version_rate)")
        "$PY" bench/sse_streams.py hold 127.0.0.1 "$PORT" "$user_id" "$token" "$WORK/tasks.txt" > "$WORK/holder.out" &
        HOLDER=$!
        for _ in $(seq 1 600); do grep -qs '^open' "$WORK/holder.out" && break; sleep 0.1; done
        grep -q '^open' "$WORK/holder.out" || { echo "the streams did not open"; cat "$WORK/holder.out"; exit 1; }
        sleep 1
        h0=$(ticks "$HOLDER")
        with+=("$(version_rate)")
        h1=$(ticks "$HOLDER")
        holder_cpu=$((holder_cpu + h1 - h0))
        rss_with=${rss_with:-$(grep VmRSS "/proc/$SERVER/status" | awk '{print $2}')}
        kill "$HOLDER"; wait "$HOLDER" || true; HOLDER=""
        held="${held:+$held, }$(tail -1 "$WORK/holder.out")"
        sleep 1
    done
    without+=("$(version_rate)")
    stop_server
    "$PY" - "$STREAMS" "$DURATION" "$rss_before" "$rss_with" "$holder_cpu" "$(getconf CLK_TCK)" "[$held]" \
        "${without[*]}" "${with[*]}" > "$RESULTS/push-sse.json" <<'PY'
import json, sys
streams, seconds, rss0, rss1, holder_ticks, hz, held, without, with_ = sys.argv[1:10]
pairs = lambda text: [[float(x) for x in text.split()[i:i + 2]] for i in range(0, len(text.split()), 2)]
without, with_ = pairs(without), pairs(with_)
mean = lambda xs: sum(xs) / len(xs)
print(json.dumps({
    "row": "sse", "streams": int(streams), "wrk": f"-t2 -c64 -d{seconds}s /version",
    "version_rps_without": [r for r, _ in without], "version_rps_with_streams": [r for r, _ in with_],
    "with_over_without_pct": round(mean([r for r, _ in with_]) / mean([r for r, _ in without]) * 100, 1),
    "each_with_over_its_neighbours_pct": [round(w[0] / ((a[0] + b[0]) / 2) * 100, 1)
                                         for w, a, b in zip(with_, without, without[1:])],
    "server_cpu_us_per_request": {"without": [c for _, c in without], "with": [c for _, c in with_]},
    "server_rss_kib": {"without": int(rss0), "with": int(rss1)},
    "holder_cpu_s_during_wrk": round(int(holder_ticks) / int(hz), 2), "holder": json.loads(held)}))
PY
    cat "$RESULTS/push-sse.json"
    "$PY" -c "import json,sys; sys.exit(json.load(open('$RESULTS/push-sse.json'))['with_over_without_pct'] < 90)" ||
        { echo "sse: /version with the streams below 90% of without"; FAILED=1; }
}

for row in ${PUSH_ROWS:-webhooks sse}; do "row_$row"; done
exit "$FAILED"
