"""Makes a ready account on a live server: registered, activated with the mailed code,
logged in, with an API key and credits. Prints the credentials as JSON.

Usage: python bootstrap.py BASE_URL PUBLIC_KEY ADMIN_KEY MAIL_LOG EMAIL
"""

import json
import re
import sys
import time
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


def code_for(mail_log, email, kind):
    for _ in range(300):
        try:
            text = open(mail_log, encoding="utf-8").read()
        except FileNotFoundError:
            text = ""
        blocks = [b for b in text.split("=== to: ") if b.startswith(email) and kind in b.lower()]
        if blocks:
            return re.findall(r"\b(\d{6})\b", blocks[-1])[0]
        time.sleep(0.1)
    raise SystemExit(f"no {kind} code mailed to {email}")


def make_account(base, public_key, admin_key, mail_log, email, credits=1000, forwarded=None):
    """Registers, activates and funds an account; returns its credentials. `forwarded`: an
    X-Forwarded-For address, so that the per-address limits on sign-ups and code e-mails do
    not count these against the fuzzer's 127.0.0.1."""
    api = f"{base}/api/v1"
    password = "correct horse battery staple"
    user = call("POST", f"{api}/auth/register", public_key,
                {"first_name": "Fuzz", "last_name": "Tester", "email": email, "password": password}, forwarded)["data"]
    code = code_for(mail_log, email, "activate")
    call("POST", f"{api}/users/{email}/activate", public_key, {"code": code}, forwarded)
    call("PUT", f"{api}/users/{user['id']}/credits", admin_key, {"credits": credits})
    token = user["token"]
    key = call("GET", f"{api}/users/{user['id']}/api_key", f"Bearer {token}")["data"]["token"]
    return {"user_id": user["id"], "email": email, "password": password, "user_token": token, "api_key": key}


def main():
    base, public_key, admin_key, mail_log, email = sys.argv[1:6]
    print(json.dumps(make_account(base, public_key, admin_key, mail_log, email)))


if __name__ == "__main__":
    main()
