"""1,000 concurrent webhook deliveries (distinct sessions, then one session 1,000 times) and
1,000 concurrent analyses; checks the ledger afterwards. Prints one JSON line of figures.

Usage: python concurrent.py BASE USER_ID BEARER WEBHOOK_SECRET ADMIN_KEY
"""

import concurrent.futures
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

BASE, USER_ID, BEARER, SECRET, ADMIN = sys.argv[1:6]
API = f"{BASE}/api/v1"
N = 1000


def request(method, url, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def webhook(session_id):
    event = {"id": f"evt_{session_id}", "type": "checkout.session.completed", "data": {"object": {
        "id": session_id, "payment_status": "paid", "amount_total": 500,
        "metadata": {"user_id": USER_ID, "credits": "1"}}}}
    raw = json.dumps(event).encode()
    t = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return request("POST", f"{API}/stripe/webhook", raw=raw,
                   headers={"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"})


def analysis(i):
    boundary = "bench-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nClaim number {i}.\r\n"
            f"--{boundary}--\r\n").encode()
    return request("POST", f"{API}/users/{USER_ID}/agent/analysis", raw=body,
                   headers={"Authorization": BEARER, "Content-Type": f"multipart/form-data; boundary={boundary}"})


def run(fn, args):
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(fn, args))
    return time.time() - started, results


def balance():
    return request("GET", f"{API}/users/{USER_ID}", headers={"Authorization": BEARER})[1]["data"]["credits"]


figures = {}
start_balance = balance()
elapsed, results = run(webhook, [f"cs_bench_{i}" for i in range(N)])
figures["webhooks_distinct_s"] = round(elapsed, 2)
figures["webhooks_distinct_errors"] = sum(1 for s, _ in results if s != 200)
elapsed, results = run(webhook, ["cs_bench_same"] * N)
figures["webhooks_same_session_s"] = round(elapsed, 2)
figures["webhooks_same_session_errors"] = sum(1 for s, _ in results if s != 200)
figures["webhooks_same_session_credited"] = sum(1 for s, b in results if s == 200 and b["data"]["outcome"] == "credited")
after_webhooks = balance()
figures["ledger_after_webhooks_ok"] = round(after_webhooks - start_balance, 2) == N + 1

elapsed, results = run(analysis, range(N))
figures["analyses_s"] = round(elapsed, 2)
figures["analyses_errors"] = sum(1 for s, _ in results if s != 201)
created = sum(1 for s, _ in results if s == 201)
after = balance()
figures["ledger_after_analyses_ok"] = round(after_webhooks - after, 2) == 20 * created
print(json.dumps(figures))
