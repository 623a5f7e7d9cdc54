"""Schemathesis hooks (SCHEMATHESIS_HOOKS=.ci/st_auth.py): one auth provider for the three
security schemes, which renews the account the fuzzer destroys.

The fuzzer logs out, changes the password, resets the API key and deletes the account (the
admin key is in play). Every later request with those credentials answers 401, and without
this provider whole operations saw nothing but 401/403. Schemathesis' reactive re-auth calls
`get` again after a 401 (`retry_on=[401]`) and replays the request once: `get` checks that
the account still works (its bearer credential and its Basic login) and, when it does not,
makes a fresh one through the live sandbox server and its mailbox (.ci/bootstrap.py).

`set` picks, per operation, one of the security alternatives the spec lists and gives it a
credential that alternative accepts, by the scheme's type (not its name, so a renamed or
merged scheme keeps working): an `apiKey` scheme gets the admin key on admin operations
(operationId `admin…`, a path under /admin, the Admin tag, a scheme named for it, or a
description naming the admin key) and the public key elsewhere, raw; HTTP basic gets the
account's `Basic` login; HTTP bearer gets the API key in the API-key pass (ST_BEARER=api_key)
only where the operation takes one: operations that take a session alone (SESSION_ONLY, by
operationId, and any whose description says "User token only") get the session in both
passes, so that none of them sees only 401/403 (seed 2365258230: logout in the API-key pass).
The operations that end credentials (DESTRUCTIVE: logout, ending sessions, resetting the API
key, deleting the account, changing the password) get a second account of their own, the
victim, so that the account every other operation uses lives through the pass. It also points most
`user_id`, `user_email`, `task_id` and `transaction_id` path parameters at the current
account's own (a random id only ever gets 403/404), keeping a share of the fuzzer's values.

A `before_call` hook then gives real values to a share of the positive cases (and the first
two of each phase) of the operations whose success no random value reaches, so that they
answer 2xx too (schemathesis flags an operation none of whose positive cases in a phase was
served, mostly with 4xx other than 401/403/404/409/429, as a schema validation mismatch): a
Google ID token minted by the sandbox (Google sign-in), the Basic login of the account
(Login), a fresh unactivated account and its mailed code (Activate), a fresh address
(Register), a correct `Stripe-Signature` made with the STRIPE_WEBHOOK_SECRET the server
verifies (Webhook and its alias), app codes of accounts kept with 2FA on (Disable 2FA,
Recovery codes), scratch accounts (Analysis, Change password with a mailed code, Enable 2FA
with an app code, Start TOTP enrolment), a real address (Mailbox, the ID-token minters), an
Apple identity token minted by the sandbox over a fresh server nonce (Sign in with Apple), and
passkey ceremonies answered by the sandbox's software authenticator (Passkey creation options,
Add passkey, Delete passkey, Passkey sign-in), an account of its own with a webhook endpoint
and one delivery (the webhook routes that name an endpoint or a delivery), one of the victim's
sessions (End session), and ids made by Buy credits and Manage billing (the sandbox's checkout
and portal pages). Operations that ask for a fresh proof of the
account (`{password}`, or `{code}` while 2FA is on) get the account's password when their
request body has that field. A real-valued body keeps only the fields its schema names (the
fuzzer may add others, which the server refuses). The other cases keep the fuzzer's values.

Environment: BASE, PUBLIC_KEY, ADMIN_KEY, WEBHOOK_SECRET, CREDS (JSON of the first
account), ST_BEARER (user_token | api_key), ST_SEED, ST_RENEWALS_FILE (where the counts of
renewed accounts and substituted cases are written at exit).
"""

import atexit
import collections
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
WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
BEARER = os.environ.get("ST_BEARER", "user_token")
RNG = random.Random(int(os.environ.get("ST_SEED", "1")))
RNG_LOCK = threading.Lock()
DEBUG = bool(os.environ.get("ST_DEBUG"))


def load_spec():
    with urllib.request.urlopen(f"{BASE}/openapi.json", timeout=30) as response:
        return json.loads(response.read())


SPEC = load_spec()
SCHEMES = SPEC.get("components", {}).get("securitySchemes", {})
# Operations that take a session but refuse an API key (403 by design), by operationId (a
# label-independent name): with ST_BEARER=api_key they get the session token, so that they too
# reach their handlers. The server's `UserSession`, `PublicOrSession` and `AdminOrSession`
# extractors; descriptions saying "User token only" are added from the spec at start.
SESSION_ONLY = {
    "authLogout", "usersUpdate", "usersDelete", "authChangePassword",
    "authEnable2fa", "authDisable2fa", "authRecoveryCodes", "authStartTotp",
    "sessionsList", "sessionsDelete", "sessionsDeleteOthers",
    "passkeysRegisterOptions", "passkeysRegister", "passkeysList", "passkeysDelete",
    "apiKeysGet", "apiKeysReset",
    "webhooksList", "webhooksCreate", "webhooksDelete", "webhooksDeliveries", "webhooksRetry", "webhooksRotate",
}
# Operations that end the credentials they are given (or the account's): Logout, ending
# sessions, resetting the API key, deleting the account (the admin key deletes any account
# without a code) and changing the password (the admin key again). Their cases get the
# credentials and ids of a second account of their own, the victim, renewed once one of them
# has been served or refused with 401, so that the account every other operation uses is
# never ended under it by a case running in the other worker (seed 2569198716's API-key pass:
# every case of Rotate webhook secret met a session a concurrent Logout had just ended, its
# retry too, and the operation saw only 401).
DESTRUCTIVE = {"authLogout", "sessionsDelete", "sessionsDeleteOthers", "apiKeysReset", "usersDelete", "authChangePassword"}
# Share of path ids replaced by the account's own.
OWN_ID_SHARE = 0.85
# Routes that want a one-time code in the body: a random one is always a 401, so `before_call`
# gives a share of their positive cases a real one (from the mailbox, or an app code).
CODE_OPS = {
    "POST /users/{user_id}/2fa": "TWO_FACTOR_AUTH",
    "DELETE /users/{user_id}/2fa": "TWO_FACTOR_AUTH",
    "POST /users/{user_id}/2fa/recovery_codes": "TWO_FACTOR_AUTH",
    "PATCH /users/{user_email}/password": "CHANGE_PASSWORD",
}
# Their other cases keep the fuzzer's ids: the server locks an account's codes after a few
# wrong ones, and a locked account would refuse the real code too.
# These need 2FA on: their real-code cases go to accounts kept with 2FA on (twofa_code), so
# the main account's Basic login keeps working.
NEEDS_2FA = {"DELETE /users/{user_id}/2fa", "POST /users/{user_id}/2fa/recovery_codes"}


def new_address():
    with RNG_LOCK:
        return f"10.{RNG.randrange(256)}.{RNG.randrange(256)}.{RNG.randrange(1, 255)}"


def request(method, path, auth=None, body=None, content_type="application/json", forwarded=None):
    # From an address of its own unless told otherwise (the live stack trusts loopback as a
    # proxy): the fuzzer's wrong codes and passwords lock 127.0.0.1's attempts, and the
    # harness's own calls (enrolling 2FA, ceremonies) must not be refused for them.
    forwarded = forwarded or new_address()
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


class Victim:
    """The account the destructive operations are given, one generation at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.account = None
        self.generation = 0
        self.ended = True
        # The generation each destructive case in flight was given, by the case's identity.
        self.given = {}

    def take(self, case):
        with self.lock:
            if self.ended:
                self.account = bootstrap.make_account(
                    BASE, PUBLIC_KEY, ADMIN_KEY, f"st-victim-{uuid.uuid4().hex[:12]}@example.com", 1000, new_address()
                )
                self.generation += 1
                self.ended = False
                COUNTS["victim_accounts"] += 1
            self.given[id(case)] = self.generation
            return dict(self.account)

    def current(self):
        with self.lock:
            return None if self.ended or self.account is None else dict(self.account)

    def answered(self, case, status):
        """A destructive case served (its credentials may be gone) or refused with 401 (they
        are): the next destructive case gets a fresh victim."""
        with self.lock:
            generation = self.given.pop(id(case), None)
            if generation == self.generation and (200 <= status < 300 or status == 401):
                self.ended = True


VICTIM = Victim()
# How many cases each substitution gave a real value, and how many 2FA accounts were made.
COUNTS = collections.Counter()
# Real-valued cases the API refused, by operation and status (to tell why, when one is flagged).
REFUSED = collections.Counter()


def mailed_code(account, otp_type):
    """Asks Send OTP for a code and reads it from the sandbox's mailbox; None if refused."""
    email = account["email"]
    try:
        seen = bootstrap.mail_ids(BASE, email)
    except (urllib.error.URLError, OSError):
        return None
    # From an address of its own (the live stack trusts loopback as a proxy): code e-mails are
    # limited per address and hour, and the fuzzer's own Send OTP cases use up 127.0.0.1's.
    status, _ = request(
        "POST", f"/users/{urllib.parse.quote(email)}/otp/{otp_type}", PUBLIC_KEY, forwarded=new_address()
    )
    if not 200 <= status < 300:
        return None
    try:
        return bootstrap.code_for(BASE, email, otp_type, seen)
    except SystemExit:
        return None


# The accounts with 2FA on through an authenticator app (whose codes are computed here, so no
# mail and no send limit), one per operation that needs 2FA on, so that Disable 2FA (which
# turns it off) does not use up Recovery codes' steps. The server accepts each 30 s step once,
# one step either side of now: when an account's steps are used up, a fresh one is made.
TWOFA = {}
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


def enable_app_2fa(account):
    """Turns 2FA on through the authenticator app; True when it is on."""
    bearer = f"Bearer {account['user_token']}"
    proof = proof_body("POST /users/{user_id}/2fa/totp", account)
    status, body = request("POST", f"/users/{account['user_id']}/2fa/totp", bearer, proof)
    if not (200 <= status < 300 and body):
        return False
    account["secret"] = body["data"]["secret"]
    # Steps stay increasing across enrolments: the server may remember the last one.
    account.setdefault("last_step", 0)
    code = next_app_code(account)
    if not code:
        return False
    status, _ = request("POST", f"/users/{account['user_id']}/2fa", bearer, {"code": code})
    return 200 <= status < 300


def twofa_code(label):
    """An account of `label`'s with 2FA on and a fresh app code for it: (account, code), or
    (None, None) when none could be had."""
    with TWOFA_LOCK:
        account = TWOFA.get(label)
        if account is not None:
            status, body = request("GET", f"/users/{account['user_id']}", f"Bearer {account['user_token']}")
            if status != 200:
                account = None
            elif not (body and body["data"].get("is_2fa_enabled")) and not enable_app_2fa(account):
                account = None
        if account is not None:
            code = next_app_code(account)
            if code:
                return account, code
        # None yet, gone, or its steps used up: a fresh one.
        account = bootstrap.make_account(
            BASE, PUBLIC_KEY, ADMIN_KEY, f"st-2fa-{uuid.uuid4().hex[:12]}@example.com", 100000, new_address()
        )
        TWOFA[label] = account
        COUNTS["2fa_accounts"] += 1
        if not enable_app_2fa(account):
            return None, None
        code = next_app_code(account)
        return (account, code) if code else (None, None)


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
        BASE, PUBLIC_KEY, ADMIN_KEY, f"st-{BEARER.replace('_', '')}-{uuid.uuid4().hex[:12]}@example.com", 100000, new_address()
    )
    extras(account)
    return account


@atexit.register
def write_renewals():
    path = os.environ.get("ST_RENEWALS_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            real = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
            refused = ", ".join(f"{k} {v}" for k, v in sorted(REFUSED.items())) or "none"
            f.write(f"{STATE.renewals} (real values given: {real}; real values refused: {refused})\n")


def security_of(case):
    raw = case.operation.definition.raw
    return raw.get("security", [])


def operation_id(case):
    return case.operation.definition.raw.get("operationId", "")


def session_only(case):
    raw = case.operation.definition.raw
    return operation_id(case) in SESSION_ONLY or "User token only" in raw.get("description", "")


def admin_operation(case, scheme):
    raw = case.operation.definition.raw
    # The spec names the key an `ApiKey` operation takes; the guesses below are for a spec
    # that does not.
    if "x-clara-api-key" in raw:
        return raw["x-clara-api-key"] == "admin"
    return (
        "admin" in scheme.lower()
        or operation_id(case).startswith("admin")
        or case.operation.path.startswith("/admin")
        or "Admin" in raw.get("tags", [])
        or "admin key" in raw.get("description", "").lower()
    ) and "public" not in scheme.lower()


def credential_for(case, scheme, data):
    """The `Authorization` value for this operation under security scheme `scheme`: one the
    operation accepts, decided by the scheme's type and the operation (see the module text)."""
    definition = SCHEMES.get(scheme, {})
    kind, http = definition.get("type"), definition.get("scheme", "").lower()
    if kind == "apiKey":
        return ADMIN_KEY if admin_operation(case, scheme) else PUBLIC_KEY
    if kind == "http" and http == "basic":
        return basic(data)
    if kind == "http" and http == "bearer":
        token = "user_token" if session_only(case) else BEARER
        return f"Bearer {data[token]}"
    return None


def body_fields(label):
    """The properties of an operation's JSON request body, from the spec (empty if none)."""
    method, path = label.split(" ", 1)
    op = SPEC["paths"].get(path, {}).get(method.lower(), {})
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    return set(schema.get("properties", {}))


def proof_body(label, account):
    """A body proving the account for an operation that adds a way in: its password, when
    the operation's body takes one (none otherwise)."""
    return {"password": account["password"]} if "password" in body_fields(label) else {}


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
        if operation_id(case) in DESTRUCTIVE:
            data = VICTIM.take(case)
        with RNG_LOCK:
            choice = RNG.choice(alternatives)
            draws = [RNG.random() for _ in range(5)]
        value = credential_for(case, next(iter(choice)), data)
        if value is None:
            return
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
        # Code routes keep the fuzzer's ids: the server locks an account's codes after a few
        # wrong ones. Their real codes are given in `before_call`, to positive cases only.
        code_op = case.operation.label in CODE_OPS
        for (name, mine), draw in zip(own.items(), draws):
            if not (name in params and mine):
                continue
            if not code_op and (params[name] in STATE.old_ids or draw < OWN_ID_SHARE):
                params[name] = mine


# The operations below get real values in a share of their positive cases, and always in the
# first few of each phase: schemathesis judges each phase apart, and flags an operation none
# of whose positive cases in a phase was served. Negative cases keep the fuzzer's values.
REAL_SHARE = 0.3
FIRST_IN_PHASE = 2
# Real-valued cases the API served (2xx), by (operation, phase): the first few of a phase get
# real values until this many were served, not merely sent (seed 1436089789 saw both real
# cases of a phase refused, and the phase flagged as a "schema validation mismatch"), up to
# MAX_TRIES_IN_PHASE tries.
SEEN = collections.Counter()
TRIED = collections.Counter()
MAX_TRIES_IN_PHASE = 8
# The (operation, phase) of each real-valued case in flight, by the case's identity.
IN_FLIGHT = {}
EVENT_TYPES = ["customer.created", "invoice.paid", "payment_intent.succeeded", "charge.refunded"]
CLAIMS = [
    "The Eiffel Tower was completed in 1889.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The Great Wall of China is visible from the Moon with the naked eye.",
]


def sign(raw):
    """`Stripe-Signature` for `raw`, as Stripe signs it, with the secret the server verifies."""
    t = int(time.time())
    v1 = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def mint_id_token(email):
    status, body = request("POST", "/sandbox/google/id_token", body={"email": email, "name": "Fuzz Google"})
    return body["data"]["id_token"] if status == 200 and body else None


def apple_id_token(email):
    """A Sign in with Apple identity token as an app gets one: a nonce from the server, its
    SHA-256 in the (sandbox) Apple request. Returns (token, nonce) or (None, None)."""
    status, body = request("POST", "/auth/apple/nonce")
    if not (status == 200 and body):
        return None, None
    nonce = body["data"]["nonce"]
    hashed = hashlib.sha256(nonce.encode()).hexdigest()
    status, body = request("POST", "/sandbox/apple/id_token", body={"email": email, "nonce": hashed})
    return (body["data"]["id_token"], nonce) if status == 200 and body else (None, None)


# Passkeys the sandbox's authenticator made, by account id: (credential id, passkey id).
PASSKEYS = collections.defaultdict(list)
PASSKEYS_LOCK = threading.Lock()


def add_passkey(account):
    """Registers a passkey on the account through the sandbox's authenticator, as a browser
    would; returns (credential id, passkey id) or None."""
    bearer = f"Bearer {account['user_token']}"
    user = f"/users/{account['user_id']}/passkeys"
    status, body = request("POST", f"{user}/options", bearer, proof_body("POST /users/{user_id}/passkeys/options", account))
    if not (status == 200 and body):
        return None
    status, made = request("POST", "/sandbox/passkey/attestation", body={"options": body["data"]})
    if not (status == 200 and made):
        return None
    credential = made["data"]["credential"]
    status, added = request("POST", user, bearer, {"credential": credential, "name": "Fuzz key"})
    if not (status == 201 and added):
        return None
    pair = (made["data"]["credential_id"], added["data"]["id"])
    with PASSKEYS_LOCK:
        PASSKEYS[account["user_id"]].append(pair)
    return pair


def passkey_of(account):
    with PASSKEYS_LOCK:
        known = list(PASSKEYS.get(account["user_id"], []))
    return known[-1] if known else add_passkey(account)


# Passkey sign-in's real cases sign in to an account of their own, made once per pass, whose
# session no case is given: the fuzzer logs out, resets and deletes its own account all
# through a phase, and a passkey cannot be added through a session it has just ended (seed
# 2365258230: no real sign-in served in the fuzzing phase of either pass). Each of its
# passkeys signs for one case at a time: the authenticator's counter goes up with every
# signature, and a passkey's two signatures arriving in the other order are refused as a
# possible clone.
SIGN_IN = {"account": None, "free": []}
SIGN_IN_LOCK = threading.Lock()
# The passkey each real sign-in in flight uses, by the case's identity.
SIGNING = {}


def sign_in_passkey():
    """A passkey of the sign-in account that no case in flight uses: (credential id, passkey id)."""
    with SIGN_IN_LOCK:
        account = SIGN_IN["account"]
        if account is not None:
            # Gone when the admin key deleted it (see `proving_account`): start again.
            status, _ = request("GET", f"/users/{account['user_id']}", f"Bearer {account['user_token']}")
            if status != 200:
                SIGN_IN["account"], SIGN_IN["free"] = None, []
        if SIGN_IN["account"] is None:
            SIGN_IN["account"] = bootstrap.make_account(
                BASE, PUBLIC_KEY, ADMIN_KEY, f"st-passkey-{uuid.uuid4().hex[:12]}@example.com", 1000, new_address()
            )
        if SIGN_IN["free"]:
            return SIGN_IN["free"].pop()
        account = SIGN_IN["account"]
    return add_passkey(account)


def release_passkey(case):
    with SIGN_IN_LOCK:
        pair = SIGNING.pop(id(case), None)
        if pair:
            SIGN_IN["free"].append(pair)


def unactivated_account():
    """A fresh account, registered and not activated, with the code mailed to activate it."""
    email = f"st-act-{uuid.uuid4().hex[:12]}@example.com"
    status, _ = request(
        "POST", "/auth/register", PUBLIC_KEY,
        {"first_name": "Fuzz", "last_name": "Tester", "email": email, "password": "correct horse battery staple"},
        forwarded=new_address(),
    )
    if not 200 <= status < 300:
        return None, None
    try:
        return email, bootstrap.code_for(BASE, email, "ACTIVATION")
    except SystemExit:
        return None, None


def scratch_account():
    """A fresh ready account for one case."""
    COUNTS["scratch_accounts"] += 1
    return bootstrap.make_account(
        BASE, PUBLIC_KEY, ADMIN_KEY, f"st-scratch-{uuid.uuid4().hex[:12]}@example.com", 1000, new_address()
    )


def trim_endpoints(account, most, keep=None):
    """Deletes the account's webhook endpoints, first listed first and never `keep`, until it
    has at most `most` (it may have WEBHOOK_ENDPOINTS_MAX; one more is a 409)."""
    user = f"/users/{account['user_id']}"
    bearer = f"Bearer {account['user_token']}"
    status, body = request("GET", f"{user}/webhooks", bearer)
    endpoints = body["data"] if status == 200 and body else []
    extra = len(endpoints) - most
    for endpoint in [e for e in endpoints if e["id"] != keep][: max(0, extra)]:
        request("DELETE", f"{user}/webhooks/{endpoint['id']}", bearer)


def receiver(events):
    """A Create webhook endpoint body the sandbox accepts: a receiver on this machine (a random
    URL is refused as not public), for events that exist."""
    return {"url": f"{BASE}/st-hook/{uuid.uuid4().hex[:12]}", "events": events}


# The most webhook endpoints an account may have (`webhooks::MAX_ENDPOINTS` in the rules).
WEBHOOK_ENDPOINTS_MAX = 10


# The webhook operations that name an endpoint or a delivery: the fuzzer's ids are never one of
# its account's (a 404), or name another user (a 403), so none of their cases would be served,
# and schemathesis flags an operation never served anywhere in a run as soon as one of its
# scenarios saw 401/403 alone (seed 3831811365's user-token pass: a stateful scenario of Retry
# webhook delivery drew another user's id). Their real cases go to an account of their own, the
# hooks account, which holds one endpoint with one delivery; the fuzzer never gets its
# credentials.
HOOKS_OPS = {
    "DELETE /users/{user_id}/webhooks/{webhook_id}", "POST /users/{user_id}/webhooks/{webhook_id}/rotate",
    "GET /users/{user_id}/webhooks/{webhook_id}/deliveries",
    "POST /users/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
}
HOOKS = {"fixture": None}
HOOKS_LOCK = threading.Lock()


def hooks_fixture():
    """The hooks account, its endpoint and one of the endpoint's deliveries, made anew when any
    of them is gone (the admin key can delete any account whose id the fuzzer has seen)."""
    with HOOKS_LOCK:
        fixture = HOOKS["fixture"]
        if fixture is not None:
            account = fixture["account"]
            status, _ = request(
                "GET", f"/users/{account['user_id']}/webhooks/{fixture['webhook_id']}/deliveries?limit=1",
                f"Bearer {account['user_token']}",
            )
            if status != 200:
                fixture = None
        if fixture is None:
            fixture = make_hooks_fixture()
            HOOKS["fixture"] = fixture
            COUNTS["hooks_accounts"] += 1
        return dict(fixture)


def make_hooks_fixture():
    account = bootstrap.make_account(
        BASE, PUBLIC_KEY, ADMIN_KEY, f"st-hooks-{uuid.uuid4().hex[:12]}@example.com", 1000, new_address()
    )
    user = f"/users/{account['user_id']}"
    bearer = f"Bearer {account['user_token']}"
    status, body = request("POST", f"{user}/webhooks", bearer, receiver(["credits.changed"]))
    if status != 201 or not body:
        raise RuntimeError(f"hooks fixture: creating the endpoint answered {status}")
    webhook_id = body["data"]["id"]
    # A movement of the account's credits is a credits.changed event: its delivery.
    status, _ = request("PUT", f"{user}/credits", ADMIN_KEY, {"credits": 1001})
    if status != 200:
        raise RuntimeError(f"hooks fixture: setting credits answered {status}")
    for _ in range(100):
        status, body = request("GET", f"{user}/webhooks/{webhook_id}/deliveries?limit=1", bearer)
        if status == 200 and body and body["data"]:
            return {"account": account, "webhook_id": webhook_id, "delivery_id": body["data"][0]["id"]}
        time.sleep(0.1)
    raise RuntimeError("hooks fixture: no delivery of credits.changed within 10 s")


def spare_endpoint(fixture):
    """A new endpoint of the hooks account's, for Delete webhook endpoint to delete; the
    account's other spare endpoints are removed first, so that it never reaches the most
    allowed (a refused case leaves its spare behind)."""
    account = fixture["account"]
    trim_endpoints(account, WEBHOOK_ENDPOINTS_MAX // 2, keep=fixture["webhook_id"])
    user = f"/users/{account['user_id']}"
    status, body = request("POST", f"{user}/webhooks", f"Bearer {account['user_token']}", receiver(["task.completed"]))
    return body["data"]["id"] if status == 201 and body else None


# The passkey operations' and Login's real cases prove an account of their own (its password), which
# no fuzzer case is given: the fuzzer's wrong passwords for its account count toward that
# account's lock, and a locked account refuses the right password too (seed 2569198716:
# Passkey creation options refused 429 twelve times, and Add passkey reached no success in
# the user-token pass). Made once per pass; its session is never ended.
PROVING = {"account": None}
PROVING_LOCK = threading.Lock()


def proving_account():
    """The proving account, made anew when it no longer works: the fuzzer never gets its
    credentials, but the admin key can delete any account whose id it has seen (the admin
    user list, followed by the stateful phase's links: seed 2754123855's API-key pass, whose
    passkey options then answered 401 forty times)."""
    with PROVING_LOCK:
        account = PROVING["account"]
        if account is not None:
            status, _ = request("GET", f"/users/{account['user_id']}", f"Bearer {account['user_token']}")
            if status != 200:
                account = None
        if account is None:
            account = bootstrap.make_account(
                BASE, PUBLIC_KEY, ADMIN_KEY, f"st-prove-{uuid.uuid4().hex[:12]}@example.com", 1000, new_address()
            )
            PROVING["account"] = account
            COUNTS["proving_accounts"] += 1
        return dict(account)


def own_account():
    with STATE.lock:
        return dict(STATE.account)


def give_real_values(case):
    label = case.operation.label
    if label in ("POST /stripe/webhook", "POST /stripe/settle"):
        with RNG_LOCK:
            kind = RNG.choice(EVENT_TYPES)
        if not isinstance(case.body, dict) or not isinstance(case.body.get("data"), dict):
            # A well-formed event of a type the server acknowledges and ignores.
            case.body = {"id": f"evt_st_{uuid.uuid4().hex}", "type": kind, "data": {"object": {}}}
        else:
            case.body["id"] = f"evt_st_{uuid.uuid4().hex}"
            case.body["type"] = kind
        # Signed as schemathesis will send it: requests' `json=`, i.e. json.dumps as is.
        raw = json.dumps(case.body, allow_nan=False).encode()
        case.headers = dict(case.headers or {})
        case.headers["Stripe-Signature"] = sign(raw)
        return "webhook"
    if label == "POST /auth/google" and isinstance(case.body, dict):
        token = mint_id_token(f"st-google-{uuid.uuid4().hex[:12]}@example.com")
        if token:
            case.body["id_token"] = token
            case.body.pop("code", None)
            return "google"
    elif label == "POST /auth/apple" and isinstance(case.body, dict):
        token, nonce = apple_id_token(f"st-apple-{uuid.uuid4().hex[:12]}@example.com")
        if token:
            case.body.clear()
            case.body.update(id_token=token, nonce=nonce, first_name="Fuzz", last_name="Apple")
            return "apple"
    elif label == "POST /sandbox/apple/id_token" and isinstance(case.body, dict):
        case.body["email"] = f"st-mint-{uuid.uuid4().hex[:12]}@example.com"
        nonce = case.body.get("nonce")
        if nonce is not None and not isinstance(nonce, str):
            case.body.pop("nonce")
        return "apple_id_token"
    elif label == "POST /users/{user_id}/passkeys/options" and isinstance(case.path_parameters, dict):
        account = proving_account()
        case.path_parameters["user_id"] = account["user_id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {account['user_token']}"
        case.body = proof_body(label, account) or case.body
        return "passkey_options"
    elif label == "POST /users/{user_id}/passkeys" and isinstance(case.body, dict) and isinstance(case.path_parameters, dict):
        account = proving_account()
        bearer = f"Bearer {account['user_token']}"
        status, body = request(
            "POST", f"/users/{account['user_id']}/passkeys/options", bearer, proof_body("POST /users/{user_id}/passkeys/options", account)
        )
        if status != 200 or not body:
            return None
        status, made = request("POST", "/sandbox/passkey/attestation", body={"options": body["data"]})
        if status != 200 or not made:
            return None
        case.path_parameters["user_id"] = account["user_id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = bearer
        case.body = {"credential": made["data"]["credential"], "name": "Fuzz key"}
        return "passkey_add"
    elif label == "DELETE /users/{user_id}/passkeys/{passkey_id}" and isinstance(case.path_parameters, dict):
        account = proving_account()
        added = add_passkey(account)
        if added:
            with PASSKEYS_LOCK:
                PASSKEYS[account["user_id"]].remove(added)
            case.path_parameters.update(user_id=account["user_id"], passkey_id=added[1])
            case.headers = dict(case.headers or {})
            case.headers["Authorization"] = f"Bearer {account['user_token']}"
            return "passkey_delete"
    elif label == "POST /auth/passkey" and isinstance(case.body, dict):
        pair = sign_in_passkey()
        if not pair:
            return None
        with SIGN_IN_LOCK:
            SIGNING[id(case)] = pair
        status, body = request("POST", "/auth/passkey/options", PUBLIC_KEY)
        signed = None
        if status == 200 and body:
            answer = {"options": body["data"], "credential_id": pair[0]}
            status, signed = request("POST", "/sandbox/passkey/assertion", body=answer)
        if status != 200 or not signed:
            release_passkey(case)
            return None
        case.body = {"challenge_id": body["data"]["challenge_id"], "credential": signed["data"]["credential"]}
        return "passkey_sign_in"
    elif label in ("POST /sandbox/passkey/attestation", "POST /sandbox/passkey/assertion") and isinstance(case.body, dict):
        account = proving_account()
        if label.endswith("attestation"):
            status, body = request(
                "POST", f"/users/{account['user_id']}/passkeys/options", f"Bearer {account['user_token']}",
                proof_body("POST /users/{user_id}/passkeys/options", account),
            )
            if status != 200 or not body:
                return None
            case.body = {"options": body["data"]}
        else:
            pair = passkey_of(account)
            status, body = request("POST", "/auth/passkey/options", PUBLIC_KEY)
            if not pair or status != 200 or not body:
                return None
            case.body = {"options": body["data"], "credential_id": pair[0]}
        return "authenticator"
    elif label == "POST /auth/session":
        case.headers = dict(case.headers or {})
        # The proving account: the fuzzer's wrong passwords lock its own account's logins.
        case.headers["Authorization"] = basic(proving_account())
        # No 2FA on this account: no code.
        if isinstance(case.body, dict):
            case.body.pop("code", None)
        return "login"
    elif label == "POST /auth/register" and isinstance(case.body, dict):
        case.body.update(
            first_name="Fuzz", last_name="Tester", password="correct horse battery staple",
            email=f"st-reg-{uuid.uuid4().hex[:12]}@example.com",
        )
        return "register"
    elif label == "POST /users/{user_id}/agent/analysis" and isinstance(case.path_parameters, dict):
        # A scratch account: the fuzzer resets the API key and deletes its own account.
        account = scratch_account()
        with RNG_LOCK:
            claim = RNG.choice(CLAIMS)
        case.path_parameters["user_id"] = account["user_id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {account[BEARER]}"
        case.body = {"text": claim}
        return "analysis"
    elif label == "POST /users/{user_email}/activate" and isinstance(case.body, dict) and isinstance(case.path_parameters, dict):
        email, code = unactivated_account()
        if code:
            case.path_parameters["user_email"] = email
            case.body["code"] = code
            return "activate"
    elif label == "PATCH /users/{user_email}/password" and isinstance(case.body, dict) and isinstance(case.path_parameters, dict):
        # A scratch account of its own: a fresh address has its full allowance of code
        # e-mails, and no wrong code of the fuzzer's has locked its codes.
        account = scratch_account()
        code = mailed_code(account, "CHANGE_PASSWORD")
        if code:
            case.path_parameters["user_email"] = account["email"]
            case.body["code"] = code
            # A real value throughout: the schema's `[^\x00]` lets the fuzzer draw lone
            # surrogates, which no JSON parser takes (seed 2315508588's API-key pass).
            password = case.body.get("password")
            if not isinstance(password, str) or any(0xD800 <= ord(c) <= 0xDFFF for c in password):
                case.body["password"] = f"st-password-{uuid.uuid4().hex[:12]}"
            # The scratch account's own session (an API key is refused here by design).
            case.headers = dict(case.headers or {})
            case.headers["Authorization"] = f"Bearer {account['user_token']}"
            return "change_password"
    elif label in ("POST /users/{user_id}/2fa/totp", "POST /users/{user_id}/2fa") and isinstance(case.path_parameters, dict):
        # A scratch account of its own: turning 2FA on in the fuzzer's account would break
        # its Basic login, and an account with 2FA on refuses to start again.
        account = scratch_account()
        if label == "POST /users/{user_id}/2fa":
            if not isinstance(case.body, dict):
                return None
            bearer = f"Bearer {account['user_token']}"
            proof = proof_body("POST /users/{user_id}/2fa/totp", account)
            status, body = request("POST", f"/users/{account['user_id']}/2fa/totp", bearer, proof)
            if not (200 <= status < 300 and body):
                return None
            account["secret"] = body["data"]["secret"]
            case.body["code"] = next_app_code(account)
        elif isinstance(case.body, dict):
            # No 2FA on yet: no second factor to give; the password, where it is asked for.
            case.body.pop("code", None)
            case.body.pop("password", None)
            case.body.update(proof_body(label, account))
        case.path_parameters["user_id"] = account["user_id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {account['user_token']}"
        return "scratch_2fa" if label.endswith("/2fa") else "scratch_totp"
    elif label in NEEDS_2FA and isinstance(case.body, dict) and isinstance(case.path_parameters, dict):
        target, code = twofa_code(label)
        # Only with a code: a wrong one would lock the account's codes.
        if code:
            case.path_parameters["user_id"] = target["user_id"]
            case.headers = dict(case.headers or {})
            case.headers["Authorization"] = f"Bearer {target['user_token']}"
            case.body["code"] = code
            return "app_code"
    elif label == "POST /stripe/buy" and isinstance(case.body, dict):
        # An amount inside the default Rate band (5–10,000 dollars; others are a 404) and a
        # return path the web app has. The spec cannot carry the bands: they are settings.
        with RNG_LOCK:
            dollars = RNG.randint(5, 500)
        case.body.update(amount=dollars, return_path="/billing")
        return "buy"
    elif label == "POST /users/{user_id}/webhooks" and isinstance(case.path_parameters, dict):
        # A receiver the sandbox accepts. The account's endpoints are capped (409): the
        # account lives through a whole pass (the destructive operations end the victim's), so
        # one of its endpoints is removed first when it has the most allowed.
        account = own_account()
        trim_endpoints(account, WEBHOOK_ENDPOINTS_MAX - 1)
        case.path_parameters["user_id"] = account["user_id"]
        description = case.body.get("description") if isinstance(case.body, dict) else None
        case.body = receiver(["task.completed"])
        if isinstance(description, str) and len(description) <= 500:
            case.body["description"] = description
        return "webhook_endpoint"
    elif label in HOOKS_OPS and isinstance(case.path_parameters, dict):
        fixture = hooks_fixture()
        account = fixture["account"]
        params = case.path_parameters
        params["user_id"] = account["user_id"]
        params["webhook_id"] = fixture["webhook_id"]
        if "delivery_id" in params:
            params["delivery_id"] = fixture["delivery_id"]
        if case.operation.method.upper() == "DELETE":
            params["webhook_id"] = spare_endpoint(fixture)
            if params["webhook_id"] is None:
                return None
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {account['user_token']}"
        return "hooks"
    elif label == "DELETE /users/{user_id}/sessions/{session_id}" and isinstance(case.path_parameters, dict):
        # One of the victim account's own sessions (this case was given the victim by `set`).
        victim = VICTIM.current()
        if victim is None:
            return None
        bearer = f"Bearer {victim['user_token']}"
        status, body = request("GET", f"/users/{victim['user_id']}/sessions", bearer)
        if status != 200 or not body or not body["data"]:
            return None
        case.path_parameters["user_id"] = victim["user_id"]
        case.path_parameters["session_id"] = body["data"][-1]["id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = bearer
        return "end_session"
    elif label in SANDBOX_PAGES and isinstance(case.path_parameters, dict):
        name, path = SANDBOX_PAGES[label]
        made = sandbox_page_id(path)
        if made is None:
            return None
        case.path_parameters[name] = made
        return "sandbox_page"
    elif label == "DELETE /users/{user_id}" and isinstance(case.path_parameters, dict):
        # The admin key deletes the victim account this case was given: with a user token the
        # body needs a mailed DELETE_ACCOUNT code, which no drawn body has (seed 2365258230's
        # user-token pass: no case of a phase reached a deletion).
        victim = VICTIM.current()
        if victim is None:
            return None
        case.path_parameters["user_id"] = victim["user_id"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = ADMIN_KEY
        return "delete_account"
    elif label == "GET /sandbox/mailbox/{email}" and isinstance(case.path_parameters, dict):
        case.path_parameters["email"] = own_account()["email"]
        return "mailbox"
    elif label == "POST /sandbox/google/id_token" and isinstance(case.body, dict):
        case.body["email"] = f"st-mint-{uuid.uuid4().hex[:12]}@example.com"
        return "id_token"
    return None


# The sandbox's checkout and portal pages, whose ids only a Buy credits or a Manage billing
# makes: a fuzzed id is always a 404. Each real case gets an id of its own (paying a checkout
# uses it up), made by the account every other operation uses.
SANDBOX_PAGES = {
    "GET /sandbox/checkout/{session_id}": ("session_id", "/stripe/buy"),
    "POST /sandbox/checkout/{session_id}/pay": ("session_id", "/stripe/buy"),
    "GET /sandbox/portal/{customer_id}": ("customer_id", "/stripe/portal"),
}


def sandbox_page_id(path):
    """The id in the sandbox page URL that Buy credits or Manage billing answers with."""
    account = own_account()
    body = {"amount": 5, "return_path": "/billing"} if path == "/stripe/buy" else {"return_path": "/billing"}
    status, answer = request("POST", path, f"Bearer {account['user_token']}", body)
    if status != 201 or not answer:
        return None
    return urllib.parse.urlsplit(answer["data"]["url"]).path.rsplit("/", 1)[-1]


REAL_VALUE_OPS = {
    "POST /stripe/webhook", "POST /stripe/settle", "POST /auth/google", "POST /auth/session", "POST /auth/register",
    "POST /users/{user_id}/agent/analysis", "POST /users/{user_email}/activate", "GET /sandbox/mailbox/{email}",
    "POST /sandbox/google/id_token", "POST /stripe/buy", "PATCH /users/{user_email}/password", "POST /users/{user_id}/2fa",
    "POST /users/{user_id}/2fa/totp", "DELETE /users/{user_id}/2fa", "POST /users/{user_id}/2fa/recovery_codes",
    "POST /auth/apple", "POST /sandbox/apple/id_token", "POST /users/{user_id}/passkeys/options",
    "POST /users/{user_id}/passkeys", "DELETE /users/{user_id}/passkeys/{passkey_id}", "POST /auth/passkey",
    "POST /sandbox/passkey/attestation", "POST /sandbox/passkey/assertion", "POST /users/{user_id}/webhooks",
    "DELETE /users/{user_id}", "DELETE /users/{user_id}/sessions/{session_id}",
} | HOOKS_OPS | set(SANDBOX_PAGES)


def is_positive(case):
    meta = getattr(case, "meta", None) or getattr(case, "_meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return mode is None or getattr(mode, "value", str(mode)).lower() == "positive"


def phase_of(case):
    meta = getattr(case, "meta", None) or getattr(case, "_meta", None)
    phase = getattr(meta, "phase", None)
    return str(getattr(phase, "name", phase))


@schemathesis.hook
def before_call(context, case, kwargs):
    label = case.operation.label
    if label not in REAL_VALUE_OPS or not is_positive(case):
        return
    key = (label, phase_of(case))
    with RNG_LOCK:
        first = SEEN[key] < FIRST_IN_PHASE and TRIED[key] < MAX_TRIES_IN_PHASE
        draw = RNG.random()
    if not first and draw >= REAL_SHARE:
        return
    try:
        given = give_real_values(case)
    except Exception as error:  # a hook error would end the run; this case keeps its values
        release_passkey(case)
        if DEBUG:
            print(f"st_auth: before_call: {label}: {error!r}", file=sys.stderr)
        return
    if given:
        # Only the fields the body's schema names: a positive case's body could carry extra
        # properties (before the schemas said `additionalProperties: false`), which the server refuses with 400
        # `invalid_parameters`; a real case must be one the server serves (seeds 1745761793
        # and 3947619426: Disable 2FA's real codes refused with 400 as often as not).
        fields = body_fields(label)
        if fields and isinstance(case.body, dict):
            for extra in set(case.body) - fields:
                del case.body[extra]
        # A real case is a new request: the fuzzer's few short Idempotency-Key values, met
        # again with another body, are rightly a 422 `idempotency_key_reused` (seed 625345206's
        # API-key pass saw `POST /stripe/buy` reach no success that way).
        case.headers = headers = dict(case.headers or {})
        if "Idempotency-Key" in headers:
            headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        # A real case is a well-behaved client: from an address of its own, so that the
        # per-address locks the fuzzer's wrong codes set on 127.0.0.1 do not refuse it (seed
        # 619853640's API-key pass: Disable 2FA's accounts could not even be enrolled, 429).
        headers["X-Forwarded-For"] = new_address()
        with RNG_LOCK:
            TRIED[key] += 1
            IN_FLIGHT[id(case)] = key
        with STATE.lock:
            COUNTS[given] += 1


@schemathesis.hook
def after_call(context, case, response):
    release_passkey(case)
    VICTIM.answered(case, response.status_code)
    with RNG_LOCK:
        key = IN_FLIGHT.pop(id(case), None)
        if key is None:
            return
        if 200 <= response.status_code < 300:
            SEEN[key] += 1
        else:
            REFUSED[f"{key[0]} {response.status_code}"] += 1
