#!/usr/bin/env bash
# The container image, built and used without a registry: the `runtime` stage of the
# top-level Containerfile, unchanged, built with Buildah FROM a Debian base made here
# (`debootstrap --variant=minbase` of the image's release, `podman import`ed, cached as a tarball
# under target/container/) and with a server binary the checkout already has standing in
# for the `build` stage (`--build-context build=…`; in CI the one its tests built, by hand
# the release build). Then the image is run with `podman --runtime runc` in sandbox mode on
# 127.0.0.1, and checked:
#   - it runs as uid 10001, not root, and its HEALTHCHECK (`podman healthcheck run`) passes;
#   - the TypeScript journey (clients/typescript, as in .ci/clients.sh) passes against it:
#     register, mailbox code, activate, login, API key, buy, sandbox checkout pay, analyses;
#   - SIGTERM (`podman stop`) ends it cleanly (exit 0, within the grace period);
#   - /data keeps the SQLite database: an account made before, in a container since removed,
#     logs in on a new container started on the same volume.
# compose.yaml is checked too, without running it (no registry for PostgreSQL and Redis).
#
# Needs root (CI's own machine): installs Debian's podman, buildah, runc and debootstrap when
# missing, and writes /etc/containers/containers.conf with `default_ulimits = []` when it lacks
# that setting (without it a container cannot set its resource limits here and does not start).
#
# Environment: CLARA_SERVER_BIN (a server binary to use instead of
# target/release/clara-backend, built with `cargo build --release` when absent, as
# .ci/live-stack.sh does; .ci/run passes the one its tests built), CONTAINER_PORT (host port on 127.0.0.1, 18300), DEBIAN_MIRROR
# (default: the first bookworm mirror apt is configured with).
# Usage: bash .ci/container.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RELEASE=bookworm
CACHE="${CARGO_TARGET_DIR:-target}/container"
BASE_TAR="${CACHE}/${RELEASE}-minbase.tar"
BASE_IMAGE="localhost/clara-ci-base:${RELEASE}"
IMAGE="localhost/clara-backend:ci"
PORT_HOST="${CONTAINER_PORT:-18300}"
BASE="http://127.0.0.1:${PORT_HOST}"
PUBLIC_KEY="public-key-for-container-checks"
ADMIN_KEY="admin-key-for-container-checks-0123456789"
JWT_SECRET_CI="jwt-secret-for-container-checks-0123456789"
RUN_ID="$$"
VOLUME_NAME="clara-ci-data-${RUN_ID}"
CONTAINERS=()

log() { printf 'container: %s\n' "$*"; }
die() {
    printf 'container: FAILED: %s\n' "$*" >&2
    exit 1
}

cleanup() {
    set +e
    for name in "${CONTAINERS[@]}"; do
        podman rm -f -t 0 "$name" >/dev/null 2>&1
    done
    podman volume rm -f "$VOLUME_NAME" >/dev/null 2>&1
}
trap cleanup EXIT

ensure_packages() {
    export PATH="$PATH:/usr/sbin:/sbin"
    local missing=() tool
    for tool in podman buildah runc debootstrap iptables; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian's ${missing[*]}"
        apt-get update -q >/dev/null
        # runc named explicitly: podman depends on crun | runc, and runc is what runs here.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc debootstrap iptables >/dev/null
    fi
}

# There is no systemd here to run health checks on timers: podman says so on every start,
# stop and removal of a container with a HEALTHCHECK. The check is run by hand instead.
podman() {
    command podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

# Without `default_ulimits = []`, podman (and buildah's RUN) ask the runtime to set the
# default ulimits, which this machine refuses: "error setting rlimits … operation not permitted".
ensure_containers_conf() {
    local conf=/etc/containers/containers.conf
    if [ -f "$conf" ] && grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=' "$conf"; then
        return 0
    fi
    log "writing default_ulimits = [] into ${conf}"
    mkdir -p /etc/containers
    if [ -f "$conf" ] && grep -Eq '^[[:space:]]*\[containers\]' "$conf"; then
        sed -i '0,/^[[:space:]]*\[containers\]/s//[containers]\ndefault_ulimits = []/' "$conf"
    else
        printf '\n[containers]\ndefault_ulimits = []\n' >> "$conf"
    fi
}

# The mirror apt already uses for the release (deb822 .sources or one-line sources.list).
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local found
    found="$(awk -v rel="$RELEASE" '
        /^URIs:/ { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == rel && uri != "") { print uri; exit } }
        /^$/ { uri = "" }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)"
    if [ -z "$found" ]; then
        found="$(awk -v rel="$RELEASE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == rel) { print $(i - 1); exit } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)"
    fi
    echo "${found:-http://deb.debian.org/debian}"
}

# The base: what debian:bookworm-slim is (a minbase debootstrap without documentation, man
# pages, translations or apt lists), made here because no registry can be reached.
ensure_base() {
    if podman image exists "$BASE_IMAGE" && [ -f "$BASE_TAR" ]; then
        return 0
    fi
    mkdir -p "$CACHE"
    if [ ! -f "$BASE_TAR" ]; then
        local mirror rootfs started=$SECONDS
        mirror="$(debian_mirror)"
        rootfs="${CACHE}/rootfs"
        rm -rf "$rootfs"
        log "debootstrap --variant=minbase ${RELEASE} from ${mirror} (once; cached in ${BASE_TAR})"
        debootstrap --variant=minbase "$RELEASE" "$rootfs" "$mirror" > "${CACHE}/debootstrap.log" 2>&1 \
            || { tail -n 30 "${CACHE}/debootstrap.log"; die "debootstrap failed"; }
        # The release's updates and security suites too, from the mirrors apt uses here.
        if [ -f /etc/apt/sources.list.d/debian.sources ]; then
            grep -v '^#' /etc/apt/sources.list.d/debian.sources > "${rootfs}/etc/apt/sources.list.d/debian.sources"
            : > "${rootfs}/etc/apt/sources.list"
        fi
        # As Debian's container images do: apt keeps no package cache or downloaded .debs,
        # and no documentation, man pages or translations are installed, now or later.
        cat > "${rootfs}/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
        echo 'Acquire::GzipIndexes "true";' > "${rootfs}/etc/apt/apt.conf.d/docker-gzip-indexes"
        echo 'Acquire::Languages "none";' > "${rootfs}/etc/apt/apt.conf.d/docker-no-languages"
        cat > "${rootfs}/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
        find "${rootfs}/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        rm -rf "${rootfs}"/usr/share/man/* "${rootfs}"/usr/share/info/* "${rootfs}"/usr/share/locale/* \
            "${rootfs}"/usr/share/lintian/* "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/* \
            "${rootfs}"/var/cache/debconf/*-old "${rootfs}"/var/log/*.log "${rootfs}"/var/log/apt/*
        tar --numeric-owner -C "$rootfs" -cf "${BASE_TAR}.part" .
        mv "${BASE_TAR}.part" "$BASE_TAR"
        rm -rf "$rootfs"
        log "base made in $((SECONDS - started)) s ($(du -h "$BASE_TAR" | cut -f1))"
    fi
    podman import --quiet "$BASE_TAR" "$BASE_IMAGE" >/dev/null
}

server_binary() {
    local server_bin="${CLARA_SERVER_BIN:-}"
    if [ -z "$server_bin" ]; then
        server_bin="${CARGO_TARGET_DIR:-target}/release/clara-backend"
        # A no-op when the live checks have just built it.
        cargo build --release --quiet
    fi
    [ -x "$server_bin" ] || die "no server binary at ${server_bin}"
    echo "$server_bin"
}

# Journey tooling: the TypeScript client .ci/clients.sh builds (built here when absent).
ensure_journey() {
    if [ ! -f clients/typescript/dist/src/journey.js ]; then
        log "building the TypeScript client for the journey"
        (
            cd clients/typescript
            npm ci --no-audit --no-fund --loglevel=error
            npm run --silent generate >/dev/null
            npm run --silent build
        )
    fi
}

wait_healthy_http() {
    local name="$1"
    for _ in $(seq 1 150); do
        # (grep reads everything: with -q it could stop early and fail the pipe under pipefail)
        if curl -fsS "${BASE}/api/v1/health" 2>/dev/null | grep '"sandbox": *true' >/dev/null; then
            return 0
        fi
        [ "$(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" = "true" ] || break
        sleep 0.2
    done
    podman logs "$name" 2>&1 | tail -n 40
    die "${name} did not answer ${BASE}/api/v1/health as a sandbox"
}

# Starts a container of the image on the test volume, in sandbox mode, on the host's network
# listening on 127.0.0.1 only (the sandbox refuses a HOST that is not loopback, such as the
# image's 0.0.0.0).
start_container() {
    local name="$1"
    CONTAINERS+=("$name")
    # No timer-driven health runs (there is no systemd to run them here): the check is run by
    # hand below with `podman healthcheck run`, which uses the image's HEALTHCHECK as is.
    podman run -d --runtime runc --name "$name" --health-interval disable \
        --network host -e HOST=127.0.0.1 -e PORT="$PORT_HOST" -v "${VOLUME_NAME}:/data" \
        -e JWT_SECRET="$JWT_SECRET_CI" -e PUBLIC_API_KEYS="$PUBLIC_KEY" -e ADMIN_API_KEY="$ADMIN_KEY" \
        -e PUBLIC_URL="$BASE" -e BCRYPT_COST=4 -e RATE_LIMIT_PER_SECOND=1000000 \
        -e SIGNUPS_PER_ADDRESS_HOUR=1000000 -e RUST_LOG=info \
        "$IMAGE" serve --sandbox >/dev/null
    wait_healthy_http "$name"
}

# SIGTERM, as `podman stop` sends it (the image's STOPSIGNAL): the server must drain and exit
# 0 by itself, well before podman's 45 s turn to SIGKILL.
stop_container() {
    local name="$1" started=$SECONDS
    podman stop -t 45 "$name" >/dev/null
    local took=$((SECONDS - started)) code
    code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
    [ "$code" = "0" ] || { podman logs "$name" 2>&1 | tail -n 20; die "${name} exited ${code} on SIGTERM"; }
    [ "$took" -lt 40 ] || die "${name} took ${took} s to stop on SIGTERM"
    [[ "$(podman logs "$name" 2>&1)" == *'SIGTERM: shutting down'* ]] || die "${name} did not log its SIGTERM shutdown"
    log "SIGTERM: ${name} stopped cleanly in ${took} s (exit 0)"
}

login() {
    python3 - "$BASE" "$1" "$2" <<'EOF'
import base64, json, sys, urllib.request
base, email, password = sys.argv[1:4]
request = urllib.request.Request(f"{base}/api/v1/auth/session", method="POST")
request.add_header("Authorization", "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode())
with urllib.request.urlopen(request, timeout=30) as response:
    body = json.loads(response.read())
assert body["data"]["email"] == email, body
print(body["data"]["id"])
EOF
}

# compose.yaml cannot be run here (no registry for PostgreSQL and Redis): its shape is
# checked, and every variable it hands the app must be one the server reads.
check_compose() {
    local python
    for python in "${VENV:-.ci/.venv}/bin/python" python3; do
        if "$python" -c 'import yaml' >/dev/null 2>&1; then
            "$python" - <<'EOF' || die "compose.yaml"
import pathlib, sys, yaml
compose = yaml.safe_load(open("compose.yaml"))
services = compose["services"]
app = services["app"]
problems = []
for dependency in ("db", "redis"):
    if app.get("depends_on", {}).get(dependency, {}).get("condition") != "service_healthy":
        problems.append(f"app does not wait for {dependency} to be healthy")
    if "healthcheck" not in services[dependency]:
        problems.append(f"{dependency} has no healthcheck")
if app.get("build", {}).get("dockerfile") != "Containerfile":
    problems.append("app is not built from Containerfile")
if not any(str(v).endswith(":/data") for v in app.get("volumes", [])):
    problems.append("app has no volume on /data")
# The server and its rules crate (the settings are parsed in crates/rules/src/config/).
source = "".join(p.read_text() for d in ("src", "crates") for p in pathlib.Path(d).rglob("*.rs"))
for name in app.get("environment", {}):
    if f'"{name}"' not in source:
        problems.append(f"app gets {name}, which the server does not read")
for problem in problems:
    print(f"compose.yaml: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
            log "compose.yaml: app, PostgreSQL and Redis with health checks; every variable one the server reads"
            return 0
        fi
    done
    die "no Python with PyYAML to check compose.yaml (python3-yaml, or .ci/.venv from the live checks)"
}

t0=$SECONDS
check_compose
ensure_packages
ensure_containers_conf
SERVER_BIN="$(server_binary)"
[[ "$(ldd "$SERVER_BIN" 2>&1)" == *libc.so.6* ]] || die "${SERVER_BIN} does not link glibc: not a binary this image can run"

t_base=$SECONDS
ensure_base
t_base=$((SECONDS - t_base))

# The build context of the `build` stage's stand-in: the binary alone, where the build stage
# leaves it (/clara-backend). It is the main context too, since the runtime stage copies
# nothing else.
t_build=$SECONDS
rm -rf "${CACHE}/context"
mkdir -p "${CACHE}/context"
cp "$SERVER_BIN" "${CACHE}/context/clara-backend"
previous_image="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
log "buildah build --target runtime (FROM ${BASE_IMAGE}, the binary from ${SERVER_BIN})"
# --format docker: the OCI image format has no HEALTHCHECK, and Buildah would drop it.
buildah build --quiet --pull=never --layers --runtime runc --format docker \
    -f Containerfile --target runtime \
    --build-arg BASE="$BASE_IMAGE" --build-context build="${CACHE}/context" \
    -t "$IMAGE" "${CACHE}/context" > "${CACHE}/build.log" 2>&1 \
    || { tail -n 40 "${CACHE}/build.log"; die "buildah build failed"; }
t_build=$((SECONDS - t_build))
# The previous run's image (and its layers above the cached apt layer), now untagged.
if [ -n "$previous_image" ] && [ "$previous_image" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    podman rmi "$previous_image" >/dev/null 2>&1 || true
fi
podman image inspect --format '{{.Config.User}} {{json .Config.Healthcheck}}' "$IMAGE" 2>/dev/null \
    | grep '^10001:10001 .*"clara-backend","healthcheck"' >/dev/null \
    || die "the image lost its USER or HEALTHCHECK: $(podman image inspect --format '{{.Config.User}} {{json .Config.Healthcheck}}' "$IMAGE")"
log "image ${IMAGE}: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}'), built in ${t_build} s"

t_journey=$SECONDS
podman volume create "$VOLUME_NAME" >/dev/null
first="clara-ci-${RUN_ID}-a"
start_container "$first"

podman exec "$first" test -s /etc/ssl/certs/ca-certificates.crt || die "the image has no CA bundle"
uid="$(podman exec "$first" sh -c 'id -u; awk "/^Uid:/ { print \$2 }" /proc/1/status')"
[ "$(echo "$uid" | sort -u)" = "10001" ] || die "the server does not run as uid 10001: ${uid}"
log "runs as uid 10001"

podman healthcheck run "$first" >/dev/null || die "podman healthcheck run: unhealthy"
log "HEALTHCHECK: healthy"

ensure_journey
BASE="$BASE" PUBLIC_KEY="$PUBLIC_KEY" node clients/typescript/dist/src/journey.js

# An account to find again after the container is gone.
CREDS="$(python3 .ci/bootstrap.py "$BASE" "$PUBLIC_KEY" "$ADMIN_KEY" "persist-${RUN_ID}@example.com")"
email="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["email"])' "$CREDS")"
password="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["password"])' "$CREDS")"
user_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["user_id"])' "$CREDS")"

stop_container "$first"
podman rm "$first" >/dev/null

second="clara-ci-${RUN_ID}-b"
start_container "$second"
[ "$(login "$email" "$password")" = "$user_id" ] || die "the account made before the restart is not the same one after it"
podman exec "$second" test -s /data/clara.db || die "no database at /data/clara.db"
log "/data persisted: the account made in ${first} logs in on ${second}"
stop_container "$second"
t_journey=$((SECONDS - t_journey))

log "ok: base ${t_base} s, image build ${t_build} s, container checks ${t_journey} s, all $((SECONDS - t0)) s"
