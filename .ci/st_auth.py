"""Schemathesis hooks (SCHEMATHESIS_HOOKS=.ci/st_auth.py): one auth provider for the four
security schemes, which renews the account the fuzzer destroys.

The fuzzer logs out, changes the password, resets the API key and deletes the account (the
admin key is in play). Every later request with those credentials answers 401, and without
this provider whole operations saw nothing but 401/403. Schemathesis' reactive re-auth calls
`get` again after a 401 (`retry_on=[401]`) and replays the request once: `get` checks that
the account still works (its bearer credential and its Basic login) and, when it does not,
makes a fresh one through the live server and the fake SMTP's log (.ci/bootstrap.py).

`set` picks, per operation, one of the security alternatives the spec lists and writes that
credential into `Authorization`: PublicApiKey and AdminApiKey raw, BearerAuth as `Bearer`
(the session or the API key, by ST_BEARER), BasicAuth as `Basic`. It also points most
`user_id`, `user_email`, `task_id` and `transaction_id` path parameters at the current
account's own (a random id only ever gets 403/404), keeping a share of the fuzzer's values.

Environment: BASE, PUBLIC_KEY, ADMIN_KEY, MAIL_LOG, CREDS (JSON of the first account),
ST_BEARER (user_token | api_key), ST_SEED, ST_RENEWALS_FILE (where the count of renewed
accounts is written at exit).
"""

import atexit
import base64
import hashlib
import hmac
import json
import os
import random
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootstrap  # noqa: E402

BASE = os.environ["BASE"]
API = f"{BASE}/api/v1"
PUBLIC_KEY = os.environ["PUBLIC_KEY"]
ADMIN_KEY = os.environ["ADMIN_KEY"]
MAIL_LOG = os.environ["MAIL_LOG"]
BEARER = os.environ.get("ST_BEARER", "user_token")
RNG = random.Random(int(os.environ.get("ST_SEED", "1")))
RNG_LOCK = threading.Lock()
DEBUG = bool(os.environ.get("ST_DEBUG"))
# Routes that take a session but refuse an API key (403 by design): with ST_BEARER=api_key
# they get the session token, so that they too reach their handlers.
SESSION_ONLY = {
    "PATCH /users/{user_id}",
    "POST /users/{user_id}/2fa",
    "DELETE /users/{user_id}/2fa",
    "POST /users/{user_id}/2fa/recovery_codes",
    "POST /users/{user_id}/2fa/totp",
}
# Share of path ids replaced by the account's own.
OWN_ID_SHARE = 0.85
# Routes that want a mailed one-time code in the body: a random one is always a 401, so a
# share of their cases gets a real code (Send OTP, then the fake SMTP's log).
CODE_OPS = {
    "POST /users/{user_id}/2fa": ("TWO_FACTOR_AUTH", "two-factor"),
    "DELETE /users/{user_id}/2fa": ("TWO_FACTOR_AUTH", "two-factor"),
    "POST /users/{user_id}/2fa/recovery_codes": ("TWO_FACTOR_AUTH", "two-factor"),
    "PATCH /users/{user_email}/password": ("CHANGE_PASSWORD", "change your clara password"),
}
# Their other cases keep the fuzzer's ids: the server locks an account's codes after a few
# wrong ones, and a locked account would refuse the real code too.
REAL_CODE_SHARE = 0.5
# These need 2FA on: their real-code cases go to a second account kept with 2FA on, so the
# main account's Basic login keeps working.
NEEDS_2FA = {"DELETE /users/{user_id}/2fa", "POST /users/{user_id}/2fa/recovery_codes"}


def request(method, path, auth=None, body=None, content_type="application/json", forwarded=None):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(f"{API}{path}", data=data, method=method)
    if auth:
        req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if forwarded:
        req.add_header("X-Forwarded-For", forwarded)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, (e.read()[:300] if DEBUG else None)


def basic(account):
    pair = base64.b64encode(f"{account['email']}:{account['password']}".encode()).decode()
    return f"Basic {pair}"


def extras(account):
    """Gives the account a task and notes its first transaction (the admin's credits), so that
    View Task and View Transaction can be reached with real ids."""
    user = f"/users/{account['user_id']}"
    bearer = f"Bearer {account['user_token']}"
    boundary = uuid.uuid4().hex
    form = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n"
        f"The Eiffel Tower was completed in 1889.\r\n--{boundary}--\r\n"
    ).encode()
    status, body = request("POST", f"{user}/agent/analysis", bearer, form, f"multipart/form-data; boundary={boundary}")
    account["task_id"] = body["data"]["id"] if status == 201 and body else None
    status, body = request("GET", f"{user}/transactions?limit=1", bearer)
    account["transaction_id"] = body["data"][0]["id"] if status == 200 and body and body["data"] else None


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.account = json.loads(os.environ["CREDS"])
        self.old_ids = set()
        self.renewals = 0
        extras(self.account)


STATE = State()


def new_address():
    with RNG_LOCK:
        return f"10.{RNG.randrange(256)}.{RNG.randrange(256)}.{RNG.randrange(1, 255)}"


def mailed_code(account, otp_type, words):
    """Asks Send OTP for a code and reads it from the fake SMTP's log; None if refused."""
    email = account["email"]
    # From an address of its own (the live stack trusts loopback as a proxy): code e-mails are
    # limited per address and hour, and the fuzzer's own Send OTP cases use up 127.0.0.1's.
    status, _ = request(
        "POST", f"/users/{urllib.parse.quote(email)}/otp/{otp_type}", PUBLIC_KEY, forwarded=new_address()
    )
    if not 200 <= status < 300:
        return None
    try:
        return bootstrap.code_for(MAIL_LOG, email, words)
    except SystemExit:
        return None


TWOFA = {"account": None}
TWOFA_LOCK = threading.Lock()


def totp(secret, step):
    """RFC 6238 as the server checks it: SHA-1, 6 digits, 30 s steps."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def next_app_code(account):
    """The app's code for the next unused step; the server accepts each step once, one step
    either side of now. None when the three are used up (the next comes within 30 s)."""
    now = int(time.time()) // 30
    step = max(account.get("last_step", 0) + 1, now - 1)
    if step > now + 1:
        return None
    account["last_step"] = step
    return totp(account["secret"], step)


def twofa_account():
    """The second account, with 2FA on through an authenticator app (whose codes are computed
    here, so no mail and no send limit), turned on again when a case turned it off."""
    with TWOFA_LOCK:
        account = TWOFA["account"]
        if account is not None:
            status, body = request("GET", f"/users/{account['user_id']}", f"Bearer {account['user_token']}")
            if status != 200:
                account = None
            elif body and body["data"].get("is_2fa_enabled"):
                return account
        if account is None:
            account = bootstrap.make_account(
                BASE, PUBLIC_KEY, ADMIN_KEY, MAIL_LOG, f"st-2fa-{uuid.uuid4().hex[:12]}@example.com", 100000, new_address()
            )
            TWOFA["account"] = account
        bearer = f"Bearer {account['user_token']}"
        status, body = request("POST", f"/users/{account['user_id']}/2fa/totp", bearer, {})
        if 200 <= status < 300 and body:
            account["secret"] = body["data"]["secret"]
            # Steps stay increasing across enrolments: the server may remember the last one.
            account.setdefault("last_step", 0)
            code = next_app_code(account)
            if code:
                request("POST", f"/users/{account['user_id']}/2fa", bearer, {"code": code})
        return account


def still_works(account):
    token = account[BEARER]
    status, _ = request("GET", f"/users/{account['user_id']}", f"Bearer {token}")
    if status != 200:
        return False
    if BEARER == "api_key":
        status, _ = request("GET", f"/users/{account['user_id']}", f"Bearer {account['user_token']}")
        if status != 200:
            return False
    status, body = request("POST", "/auth/session", basic(account))
    return status == 200


def renew():
    account = bootstrap.make_account(
        BASE, PUBLIC_KEY, ADMIN_KEY, MAIL_LOG, f"st-{BEARER.replace('_', '')}-{uuid.uuid4().hex[:12]}@example.com", 100000, new_address()
    )
    extras(account)
    return account


@atexit.register
def write_renewals():
    path = os.environ.get("ST_RENEWALS_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{STATE.renewals}\n")


def security_of(case):
    raw = case.operation.definition.raw
    return raw.get("security", [])


@schemathesis.auth(refresh_interval=10**9, retry_on=[401])
class RenewingAuth:
    def get(self, case, ctx):
        with STATE.lock:
            account = STATE.account
            if not still_works(account):
                STATE.old_ids.update(v for k, v in account.items() if k in ("user_id", "email", "task_id", "transaction_id") and v)
                STATE.account = account = renew()
                STATE.renewals += 1
            return dict(account)

    def set(self, case, data, ctx):
        alternatives = [alt for alt in security_of(case) if alt]
        if not alternatives:
            return
        with RNG_LOCK:
            choice = RNG.choice(alternatives)
            draws = [RNG.random() for _ in range(5)]
        scheme = next(iter(choice))
        if scheme in ("PublicApiKey",):
            value = PUBLIC_KEY
        elif scheme == "AdminApiKey":
            value = ADMIN_KEY
        elif scheme == "BasicAuth":
            value = basic(data)
        else:
            kind = "user_token" if case.operation.label in SESSION_ONLY else BEARER
            value = f"Bearer {data[kind]}"
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = value
        params = case.path_parameters
        if not isinstance(params, dict):
            return
        own = {
            "user_id": data["user_id"],
            "user_email": data["email"],
            "task_id": data.get("task_id"),
            "transaction_id": data.get("transaction_id"),
        }
        code_op = case.operation.label in CODE_OPS
        real_code = code_op and draws[4] < REAL_CODE_SHARE and isinstance(case.body, dict)
        for (name, mine), draw in zip(own.items(), draws):
            if not (name in params and mine):
                continue
            if real_code or (not code_op and (params[name] in STATE.old_ids or draw < OWN_ID_SHARE)):
                params[name] = mine
        if real_code:
            otp_type, words = CODE_OPS[case.operation.label]
            target = data
            if case.operation.label in NEEDS_2FA:
                target = twofa_account()
                with TWOFA_LOCK:
                    code = next_app_code(target) if target.get("secret") else None
                # Only with a code: a wrong one would lock the account's codes.
                if code:
                    params["user_id"] = target["user_id"]
                    case.headers["Authorization"] = f"Bearer {target['user_token']}"
            else:
                code = mailed_code(target, otp_type, words)
            if code:
                case.body["code"] = code

