"""Makes a ready account on a live sandbox server (`clara-backend serve --sandbox`):
registered, activated with the mailed code read from the sandbox's mailbox
(`GET /api/v1/sandbox/mailbox/{email}`), logged in, with an API key and credits. Prints the
credentials as JSON.

Usage: python bootstrap.py BASE_URL PUBLIC_KEY ADMIN_KEY EMAIL
"""

import base64
import json
import sys
import time
import urllib.parse
import urllib.request


def call(method, url, auth=None, body=None, forwarded=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if auth:
        request.add_header("Authorization", auth)
    if forwarded:
        request.add_header("X-Forwarded-For", forwarded)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def mailbox(base, email):
    """The mails the sandbox kept for `email`, newest first."""
    return call("GET", f"{base}/api/v1/sandbox/mailbox/{urllib.parse.quote(email)}")["data"]


def mail_ids(base, email):
    return {mail["id"] for mail in mailbox(base, email)}


def code_for(base, email, otp_type, seen=frozenset()):
    """The newest `otp_type` code (ACTIVATION, TWO_FACTOR_AUTH, CHANGE_PASSWORD,
    DELETE_ACCOUNT) mailed to `email`, among the mails whose ids are not in `seen` (take
    `mail_ids` before asking for a code, to be sure to get the new one)."""
    for _ in range(300):
        for mail in mailbox(base, email):
            if mail["otp_type"] == otp_type and mail["code"] and mail["id"] not in seen:
                return mail["code"]
        time.sleep(0.1)
    raise SystemExit(f"no {otp_type} code mailed to {email}")


def make_account(base, public_key, admin_key, email, credits=1000, forwarded=None):
    """Registers, activates and funds an account; returns its credentials. `forwarded`: an
    X-Forwarded-For address, so that the per-address limits on sign-ups and code e-mails do
    not count these against the fuzzer's 127.0.0.1."""
    api = f"{base}/api/v1"
    password = "correct horse battery staple"
    user = call("POST", f"{api}/auth/register", public_key,
                {"first_name": "Fuzz", "last_name": "Tester", "email": email, "password": password}, forwarded)["data"]
    code = code_for(base, email, "ACTIVATION")
    call("POST", f"{api}/users/{urllib.parse.quote(email)}/activate", public_key, {"code": code}, forwarded)
    call("PUT", f"{api}/users/{user['id']}/credits", admin_key, {"credits": credits})
    # Activation ends the sessions made before it (Register's too): log in.
    basic = "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()
    token = call("POST", f"{api}/auth/session", basic, None, forwarded)["data"]["token"]
    key = call("GET", f"{api}/users/{user['id']}/api_key", f"Bearer {token}")["data"]["token"]
    return {"user_id": user["id"], "email": email, "password": password, "user_token": token, "api_key": key}


def main():
    base, public_key, admin_key, email = sys.argv[1:5]
    print(json.dumps(make_account(base, public_key, admin_key, email)))


if __name__ == "__main__":
    main()
