#!/usr/bin/env bash
# Benchmarks, run by hand (not in CI): a release server on SQLite, then on PostgreSQL,
# loaded with wrk from another process. Figures go to bench/results/ and are summed up in
# docs/performance.md.
#
# Usage: bash bench/run.sh            (needs wrk, python3, PostgreSQL on 127.0.0.1:5432)
#        BENCH_AB_OLD_BIN=<an older release binary> bash bench/run.sh   (the read rows, old and
#        new alternated; see the block below)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 2; }

VENV="${VENV:-.ci/.venv}"
[ -x "${VENV}/bin/python" ] || python3 -m venv "$VENV"
"${VENV}/bin/pip" install --quiet --disable-pip-version-check -r .ci/requirements.txt
cargo build --release --quiet
cargo build --release --quiet --example bcrypt_verify
BIN="${CARGO_TARGET_DIR:-target}/release/clara-backend"
RESULTS=bench/results
mkdir -p "$RESULTS"
WORK="$(mktemp -d)"
PORT=18200
BASE="http://127.0.0.1:${PORT}"
PUBLIC_KEY=bench-public-key
ADMIN_KEY=bench-admin-key-0123456789abcdefghij
# On PostgreSQL the server needs a signing secret from the environment (32 bytes or more).
JWT_SECRET=bench-jwt-secret-0123456789abcdefghij
SECRET=whsec_bench
CORES="$(nproc)"
DURATION="${BENCH_SECONDS:-10}"

SERVER=""
cleanup() { set +e; [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT

start_server() {
    # $1: DATABASE_URL, $2: REDIS_URL (optional: the several-processes set-up)
    # LOG_LEVEL (default error): info is the server's default, a request line per request.
    # Sandbox mode: mail, Stripe and the model are the server's own doubles (the model's
    # answers to the analyses burst are computed in the measured process); the webhook
    # secret is set so that bench/burst.py signs its deliveries. SANDBOX_LOCAL_SERVICES lets
    # the sandbox use this machine's PostgreSQL and Redis (it refuses any other).
    env -i PATH="$PATH" HOME="$HOME" SANDBOX_LOCAL_SERVICES=true DATABASE_URL="$1" ${2:+REDIS_URL="$2"} ${2:+REDIS_PREFIX="clara-bench:$RANDOM:"} \
        PORT="$PORT" BCRYPT_COST=12 JWT_SECRET="$JWT_SECRET" \
        PUBLIC_API_KEYS="$PUBLIC_KEY" ADMIN_API_KEY="$ADMIN_KEY" RATE_LIMIT_PER_SECOND=1000000 SIGNUPS_PER_ADDRESS_HOUR=1000000 \
        STRIPE_WEBHOOK_SECRET="$SECRET" CLIENT_URL=http://localhost:3000 WORKER_CONCURRENCY=8 \
        ATTACHMENTS_DIR="$WORK/files" RUST_LOG="${LOG_LEVEL:-error}" "$BIN" serve --sandbox >"$WORK/server.log" 2>&1 &
    SERVER=$!
}

wait_ready() {
    for _ in $(seq 1 3000); do
        curl -fsS "$BASE/api/v1/health" >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    cat "$WORK/server.log"; return 1
}

rps() { grep "Requests/sec" | awk '{print $2}'; }
p99() { grep -E "^\s+99%" | awk '{print $2}'; }

bench_one() {
    # $1: label, $2: DATABASE_URL
    local label="$1" url="$2"
    start_server "$url"; wait_ready
    local creds user_id ut ak
    creds="$("${VENV}/bin/python" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "bench-${label}@example.com")"
    user_id="$(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')"
    ut="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_token"])')"
    ak="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
    curl -fsS -X PUT "$BASE/api/v1/users/$user_id/credits" -H "Authorization: $ADMIN_KEY" \
        -H 'Content-Type: application/json' -d '{"credits": 30000}' >/dev/null

    # Start-up to the first 200, migrations already applied.
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
    local t0 t1
    t0=$(date +%s%N); start_server "$url"; wait_ready; t1=$(date +%s%N)
    local startup_ms=$(( (t1 - t0) / 1000000 ))

    local version ut_rps ak_rps
    version=$(wrk -t2 -c64 -d"${DURATION}s" "$BASE/api/v1/version" | rps)
    ut_rps=$(wrk -t2 -c64 -d"${DURATION}s" -H "Authorization: $ut" "$BASE/api/v1/users/$user_id" | rps)
    ak_rps=$(wrk -t2 -c64 -d"${DURATION}s" -H "Authorization: $ak" "$BASE/api/v1/users/$user_id" | rps)

    # Login against the bound: cores ÷ one verify, measured now.
    local verify_ms bound login_rps health_p99
    verify_ms=$("${CARGO_TARGET_DIR:-target}/release/examples/bcrypt_verify" 12 20)
    bound=$("${VENV}/bin/python" -c "print(round($CORES / ($verify_ms / 1000), 2))")
    local basic
    basic="Basic $(printf 'bench-%s@example.com:correct horse battery staple' "$label" | base64 -w0)"
    printf 'wrk.method = "POST"\nwrk.headers["Authorization"] = "%s"\n' "$basic" > "$WORK/login.lua"
    login_rps=$(wrk -t2 -c16 -d"${DURATION}s" -s "$WORK/login.lua" "$BASE/api/v1/auth/session" | rps)
    # Health while logins saturate the hashing.
    wrk -t1 -c16 -d"$((DURATION + 2))s" -s "$WORK/login.lua" "$BASE/api/v1/auth/session" >/dev/null &
    local loader=$!
    sleep 1
    health_p99=$(wrk -t1 -c4 -d"${DURATION}s" --latency "$BASE/api/v1/health" | p99)
    wait "$loader"

    # Peak memory at 256 concurrent connections.
    wrk -t2 -c256 -d"${DURATION}s" -H "Authorization: $ut" "$BASE/api/v1/users/$user_id" >/dev/null
    local peak_kib
    peak_kib=$(grep VmHWM "/proc/$SERVER/status" | awk '{print $2}')

    local concurrent
    concurrent=$("${VENV}/bin/python" bench/burst.py "$BASE" "$user_id" "$ak" "$SECRET" "$ADMIN_KEY")
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

    cat > "$RESULTS/$label.json" <<JSON
{"database": "$label", "cores": $CORES, "version_rps": $version, "user_token_read_rps": $ut_rps,
 "api_key_read_rps": $ak_rps, "bcrypt12_verify_ms": $verify_ms, "login_bound_rps": $bound,
 "login_rps": $login_rps, "health_p99_under_login": "$health_p99", "peak_rss_kib_256_conns": $peak_kib,
 "startup_ms": $startup_ms, "concurrent": $concurrent}
JSON
    cat "$RESULTS/$label.json"
}

# Server and Redis CPU microseconds per request over a wrk run of the given arguments, as
# {"server": .., "redis": ..}.
cpu_per_request() {
    local redis_pid hz s0 r0 s1 r1 n
    redis_pid="$(pgrep -x redis-server | head -1)"
    hz="$(getconf CLK_TCK)"
    ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
    s0=$(ticks "$SERVER"); r0=$(ticks "$redis_pid")
    n=$(wrk -t2 -c32 -d"${DURATION}s" "$@" | awk '/requests in/ {print $1}')
    s1=$(ticks "$SERVER"); r1=$(ticks "$redis_pid")
    "${VENV}/bin/python" -c "print('{\"server\": %.1f, \"redis\": %.1f}' % (($s1 - $s0) / $hz * 1e6 / $n, ($r1 - $r0) / $hz * 1e6 / $n))"
}

# Authenticated reads only, as one of several processes: the cache checks each hit against
# the user's version in Redis.
bench_reads_shared() {
    # $1: label, $2: DATABASE_URL, $3: REDIS_URL
    local label="$1"
    start_server "$2" "$3"; wait_ready
    local creds user_id ut ak version ut_rps ak_rps
    creds="$("${VENV}/bin/python" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "bench-${label}@example.com")"
    user_id="$(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')"
    ut="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_token"])')"
    ak="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
    version=$(wrk -t2 -c64 -d"${DURATION}s" "$BASE/api/v1/version" | rps)
    ut_rps=$(wrk -t2 -c64 -d"${DURATION}s" -H "Authorization: $ut" "$BASE/api/v1/users/$user_id" | rps)
    ak_rps=$(wrk -t2 -c64 -d"${DURATION}s" -H "Authorization: $ak" "$BASE/api/v1/users/$user_id" | rps)
    # CPU time per request of the server and of Redis (user + system, from /proc), which
    # the other processes sharing the cores disturb far less than the rates.
    local version_cpu ut_cpu
    version_cpu=$(cpu_per_request "$BASE/api/v1/version")
    ut_cpu=$(cpu_per_request -H "Authorization: $ut" "$BASE/api/v1/users/$user_id")
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    cat > "$RESULTS/$label.json" <<JSON
{"database": "$label", "cores": $CORES, "version_rps": $version, "user_token_read_rps": $ut_rps,
 "api_key_read_rps": $ak_rps, "version_cpu_us": $version_cpu, "user_token_read_cpu_us": $ut_cpu}
JSON
    cat "$RESULTS/$label.json"
}

# The fast path as deployed: the default INFO request log written to a file, 32
# connections, p99 from wrk; `/health` (one cached database ping a second) and
# `/health/live` against `/version` in the same run.
bench_logged() {
    # $1: label, $2: DATABASE_URL, $3: REDIS_URL (optional)
    local label="$1"
    LOG_LEVEL=info start_server "$2" "${3:-}"; wait_ready
    local creds user_id ut ak
    creds="$("${VENV}/bin/python" .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "bench-${label}@example.com")"
    user_id="$(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')"
    ut="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user_token"])')"
    ak="Bearer $(echo "$creds" | "${VENV}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
    local out version version_p99 ut_rps ut_p99 ak_rps ak_p99 health health_p99 live
    out=$(wrk -t2 -c32 -d"${DURATION}s" --latency "$BASE/api/v1/version"); version=$(echo "$out" | rps); version_p99=$(echo "$out" | p99)
    out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -H "Authorization: $ut" "$BASE/api/v1/users/$user_id"); ut_rps=$(echo "$out" | rps); ut_p99=$(echo "$out" | p99)
    out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -H "Authorization: $ak" "$BASE/api/v1/users/$user_id"); ak_rps=$(echo "$out" | rps); ak_p99=$(echo "$out" | p99)
    out=$(wrk -t2 -c32 -d"${DURATION}s" --latency "$BASE/api/v1/health"); health=$(echo "$out" | rps); health_p99=$(echo "$out" | p99)
    live=$(wrk -t2 -c32 -d"${DURATION}s" "$BASE/api/v1/health/live" | rps)
    local log_lines
    log_lines=$(wc -l < "$WORK/server.log")
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    cat > "$RESULTS/$label.json" <<JSON
{"setup": "$label", "log": "RUST_LOG=info to a file", "connections": 32, "cores": $CORES,
 "version_rps": $version, "version_p99": "$version_p99",
 "user_token_read_rps": $ut_rps, "user_token_read_p99": "$ut_p99",
 "api_key_read_rps": $ak_rps, "api_key_read_p99": "$ak_p99",
 "health_rps": $health, "health_p99": "$health_p99", "health_live_rps": $live, "log_lines": $log_lines}
JSON
    cat "$RESULTS/$label.json"
}

if [ -n "${BENCH_AB_OLD_BIN:-}" ]; then
    # Before and after a change, in one run: the logged read rows (bench_logged) of the binary
    # built here and of BENCH_AB_OLD_BIN, alternated, on SQLite and on PostgreSQL, two rounds.
    NEW_BIN="$BIN"
    for round in 1 2; do
        for which in old new; do
            if [ "$which" = old ]; then BIN="$BENCH_AB_OLD_BIN"; else BIN="$NEW_BIN"; fi
            bench_logged "ab-$round-$which-sqlite" "sqlite://${WORK}/ab-$round-$which.db?mode=rwc"
            psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS clara_bench WITH (FORCE)" -c "CREATE DATABASE clara_bench"
            bench_logged "ab-$round-$which-postgres" "postgres://postgres@127.0.0.1:5432/clara_bench"
        done
    done
    echo "bench: results in $RESULTS/ab-*"
    exit 0
fi

if [ -n "${BENCH_ONLY_LOGGED:-}" ]; then
    # The rows of issue 16 alone (the logged fast path, and several processes on Redis): a
    # few minutes instead of the whole run.
    bench_logged sqlite-logged "sqlite://${WORK}/logged.db?mode=rwc"
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS clara_bench WITH (FORCE)" -c "CREATE DATABASE clara_bench"
    bench_logged postgres-logged "postgres://postgres@127.0.0.1:5432/clara_bench"
    bench_logged postgres-redis-logged "postgres://postgres@127.0.0.1:5432/clara_bench" "redis://127.0.0.1:6379"
    bench_reads_shared postgres-redis "postgres://postgres@127.0.0.1:5432/clara_bench" "redis://127.0.0.1:6379"
    echo "bench: results in $RESULTS/"
    exit 0
fi

bench_one sqlite "sqlite://${WORK}/bench.db?mode=rwc"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS clara_bench WITH (FORCE)" -c "CREATE DATABASE clara_bench"
bench_one postgres "postgres://postgres@127.0.0.1:5432/clara_bench"
if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    bench_reads_shared postgres-redis "postgres://postgres@127.0.0.1:5432/clara_bench" "redis://127.0.0.1:6379"
fi
bench_logged sqlite-logged "sqlite://${WORK}/logged.db?mode=rwc"
bench_logged postgres-logged "postgres://postgres@127.0.0.1:5432/clara_bench"
if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    bench_logged postgres-redis-logged "postgres://postgres@127.0.0.1:5432/clara_bench" "redis://127.0.0.1:6379"
fi
# Issue 24's rows (webhook deliveries, SSE streams): a script of their own, runnable alone.
BIN="$BIN" VENV="$VENV" bash bench/push.sh || { echo "bench: an issue 24 row missed its goal (bench/results/push-*.json)"; exit 1; }
echo "bench: results in $RESULTS/"
