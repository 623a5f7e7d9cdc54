#!/usr/bin/env python3
"""A login's latency while one client floods sign-ups (issue 11, item 5), by hand.

Starts the given server binary on 127.0.0.1 behind a trusted loopback proxy, so that
`X-Forwarded-For` names the clients (header values only: all traffic goes to
127.0.0.1). One client (203.0.113.7) sends sign-ups from FLOOD_THREADS threads for the
whole run; another (198.51.100.1) logs in once at a time, and each login's latency is
recorded: first with no flood (the baseline), then under the flood.

Usage: python3 bench/signup_flood.py BINARY [extra VAR=value for the server ...]
Prints one JSON line with the medians and 90th percentiles in milliseconds.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import base64

PORT = int(os.environ.get("FLOOD_PORT", "18290"))
BASE = f"http://127.0.0.1:{PORT}/api/v1"
FLOOD_THREADS = int(os.environ.get("FLOOD_THREADS", "16"))
LOGINS = int(os.environ.get("FLOOD_LOGINS", "20"))


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def login_latencies(count):
    """Logins of unknown accounts from one client: each costs one bcrypt verify, like a
    real login, and a distinct e-mail each time keeps the account lock out of it."""
    latencies = []
    for i in range(count):
        email = f"login{time.time_ns()}{i}@example.com"
        basic = base64.b64encode(f"{email}:not the password".encode()).decode()
        started = time.perf_counter()
        status = call("POST", "/auth/session", headers={"Authorization": f"Basic {basic}", "X-Forwarded-For": "198.51.100.1"})
        latencies.append((time.perf_counter() - started) * 1000)
        assert status in (401, 429), status
    return latencies


def flood(stop, counts):
    while not stop.is_set():
        email = f"flood{time.time_ns()}{threading.get_ident()}@example.com"
        status = call(
            "POST",
            "/auth/register",
            {"first_name": "flood", "email": email, "password": "a flood of passwords"},
            {"X-Forwarded-For": "203.0.113.7"},
        )
        counts[status] = counts.get(status, 0) + 1


def summary(latencies):
    ordered = sorted(latencies)
    return {"median_ms": round(statistics.median(ordered), 1), "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1], 1)}


def main():
    binary = sys.argv[1]
    extra = dict(arg.split("=", 1) for arg in sys.argv[2:])
    work = tempfile.mkdtemp()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite://{work}/flood.db?mode=rwc",
        "PORT": str(PORT),
        "BCRYPT_COST": "12",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "ATTACHMENTS_DIR": f"{work}/files",
        "RUST_LOG": "error",
        **extra,
    }
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if call("GET", "/health") == 200:
                    break
            except OSError:
                time.sleep(0.1)
        baseline = login_latencies(LOGINS)
        stop, counts = threading.Event(), {}
        threads = [threading.Thread(target=flood, args=(stop, counts)) for _ in range(FLOOD_THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        flooded = login_latencies(LOGINS)
        stop.set()
        for thread in threads:
            thread.join()
        print(json.dumps({"baseline": summary(baseline), "under_flood": summary(flooded), "flood_statuses": counts, "server_env": extra}))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
