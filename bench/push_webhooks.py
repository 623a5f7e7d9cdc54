"""Issue 24's webhook row: 1,000 analyses completing deliver 1,000 signed `task.completed`
events. A receiver on 127.0.0.1 (a free port) verifies each delivery with the
`standardwebhooks` package (an implementation independent of the server's) and notes when
it arrived; the event's completion time is its body's `timestamp` (the commit that
completed the task writes the event). Prints one JSON line of figures; exits 1 when fewer
than 1,000 `task.completed` events verified.

Users: USERS accounts (10), each with one endpoint for `task.completed` and `task.failed`
(a failed analysis then shows up as such instead of as a missing delivery; `credits.changed`
is left out, so that each analysis makes exactly one event), each submitting N / USERS
analyses. With `TASKS_PER_USER_RUNNING` at its default (2), 10 users can keep all
`WORKER_CONCURRENCY=8` workers busy: the workers bound the run, not a per-user limit. The
request rate limit is raised out of the way by bench/push.sh.

Usage: python push_webhooks.py BASE PUBLIC_KEY ADMIN_KEY
"""

import concurrent.futures
import datetime
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from standardwebhooks import Webhook, WebhookVerificationError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".ci"))
from bootstrap import make_account  # noqa: E402

BASE, PUBLIC_KEY, ADMIN_KEY = sys.argv[1:4]
API = f"{BASE}/api/v1"
N = int(os.environ.get("PUSH_ANALYSES", "1000"))
USERS = int(os.environ.get("PUSH_USERS", "10"))
WAIT_SECONDS = float(os.environ.get("PUSH_WAIT_SECONDS", "600"))
SUBMITTERS = 64  # client threads submitting analyses

lock = threading.Lock()
verifiers = {}  # endpoint index → Webhook
received = {}  # webhook-id → (receipt time, event type, completion time, task id)
duplicates = 0
rejected = []  # reasons, for the report


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        global duplicates
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        at = time.time()
        try:
            verifier = verifiers[int(self.path.rsplit("/", 1)[1])]
            event = verifier.verify(body, dict(self.headers.items()))
            completed = datetime.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
            with lock:
                if self.headers["webhook-id"] in received:
                    duplicates += 1
                else:
                    received[self.headers["webhook-id"]] = (at, event["type"], completed, event["data"]["id"])
            status = 204
        except (WebhookVerificationError, KeyError, ValueError, IndexError) as error:
            with lock:
                rejected.append(f"{type(error).__name__}: {error}")
            status = 400
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, auth, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"{API}{path}", data=data, method=method,
                                     headers={"Authorization": auth, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


def analysis(job):
    user, i = job
    boundary = "bench-boundary"
    raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nClaim number {i}.\r\n"
           f"--{boundary}--\r\n").encode()
    return call("POST", f"/users/{user['user_id']}/agent/analysis", f"Bearer {user['api_key']}", raw=raw,
                content_type=f"multipart/form-data; boundary={boundary}")[0]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else None


def delivery_log(users):
    log = {"total": 0, "delivered": 0, "pending": 0, "failed": 0, "retried": 0}
    for user in users:
        offset = 0
        while True:
            _, page, headers = call("GET", f"/users/{user['user_id']}/webhooks/{user['endpoint']}/deliveries"
                                    f"?limit=100&offset={offset}", f"Bearer {user['user_token']}")
            for row in page["data"]:
                log[row["status"]] += 1
                log["retried"] += row["attempts"] > 1
            offset += len(page["data"])
            if not page["data"] or offset >= int(headers["X-Total-Count"]):
                log["total"] += int(headers["X-Total-Count"])
                break
    return log


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"

    users = []
    for u in range(USERS):
        user = make_account(BASE, PUBLIC_KEY, ADMIN_KEY, f"push-{u}-{int(time.time())}@example.com",
                            credits=20 * (N // USERS + 5))
        status, created, _ = call("POST", f"/users/{user['user_id']}/webhooks", f"Bearer {user['user_token']}",
                                  {"url": f"{hook}/{u}", "events": ["task.completed", "task.failed"]})
        assert status == 201, created
        user["endpoint"] = created["data"]["id"]
        verifiers[u] = Webhook(created["data"]["secret"])
        users.append(user)

    jobs = [(users[i % USERS], i) for i in range(N)]
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
        statuses = list(pool.map(analysis, jobs))
    submitted = time.time()
    created = sum(1 for s in statuses if s == 201)

    # Until every created analysis has announced its end, or the wait runs out.
    while time.time() < started + WAIT_SECONDS:
        with lock:
            if len(received) >= created:
                break
        time.sleep(0.2)

    with lock:
        events = list(received.values())
    completed = [e for e in events if e[1] == "task.completed"]
    latencies = [(at - done) * 1000 for at, _, done, _ in completed]
    last_receipt = max((e[0] for e in completed), default=started)
    last_completion = max((e[2] for e in completed), default=started)
    # The server's own log of each endpoint: deliveries and their outcome. An attempt is
    # recorded after its receiver answered, so the last few may still read pending.
    for _ in range(50):
        log = delivery_log(users)
        if log["pending"] == 0:
            break
        time.sleep(0.2)

    figures = {
        "analyses": N, "users": USERS, "endpoints": USERS,
        "analyses_created": created, "submit_s": round(submitted - started, 2),
        "task_completed_verified": len(completed),
        "task_failed_verified": sum(1 for e in events if e[1] == "task.failed"),
        "distinct_tasks": len({e[3] for e in completed}),
        "duplicates": duplicates, "rejected": len(rejected), "rejected_reasons": sorted(set(rejected))[:3],
        "last_completion_after_first_submit_s": round(last_completion - started, 2),
        "deliver_all_from_first_submit_s": round(last_receipt - started, 2),
        "deliver_all_from_last_completion_s": round(last_receipt - last_completion, 2),
        "latency_ms_p50": round(percentile(latencies, 50) or 0, 1),
        "latency_ms_p99": round(percentile(latencies, 99) or 0, 1),
        "latency_ms_max": round(max(latencies, default=0), 1),
        "server_log": log,
    }
    figures["ok"] = len(completed) >= N and figures["distinct_tasks"] >= N and not rejected
    print(json.dumps(figures))
    server.shutdown()
    sys.exit(0 if figures["ok"] else 1)


if __name__ == "__main__":
    main()
