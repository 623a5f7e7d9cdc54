"""Recipes for openapi-python-client (docs/clients.md), type-checked by mypy --strict in
.ci/generators.sh against the package generated from the committed spec (clara_opc).

Functions live in clara_opc.api.<tag>.<operation_id>, each with sync/sync_detailed (and
asyncio variants); *_detailed returns status_code, headers and parsed.
"""

import base64
import time
import uuid
from typing import Any

import httpx

from clara_opc.api.admin import admin_users_list
from clara_opc.api.auth import auth_login, auth_register
from clara_opc.api.stripe import stripe_buy
from clara_opc.api.task import tasks_get
from clara_opc.api.transaction import transactions_list
from clara_opc.client import AuthenticatedClient
from clara_opc.models import BuyRequest, ErrorBody, RegisterRequest

BASE_URL = "https://api.example.com/api/v1"


# Credentials: AuthenticatedClient writes `{prefix} {token}` into Authorization (just the
# token when prefix is ""). One client per credential: ApiKey (public or admin key) is raw.
def with_public_key(key: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE_URL, token=key, prefix="")


def with_admin_key(key: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE_URL, token=key, prefix="")


def with_bearer(token: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE_URL, token=token)  # prefix "Bearer"


def with_basic(email: str, password: str) -> AuthenticatedClient:
    pair = base64.b64encode(f"{email}:{password}".encode()).decode()
    return AuthenticatedClient(base_url=BASE_URL, token=pair, prefix="Basic")


def register(public_key: str, email: str, password: str) -> str:
    client = with_public_key(public_key).with_headers({"Idempotency-Key": str(uuid.uuid4())})
    body = RegisterRequest(first_name="Ada", last_name="Lovelace", email=email, password=password)
    response = auth_register.sync_detailed(client=client, body=body)
    if isinstance(response.parsed, ErrorBody) or response.parsed is None:
        raise RuntimeError(f"register: {response.status_code}")
    return response.parsed.data.id


def login(email: str, password: str) -> str:
    response = auth_login.sync_detailed(client=with_basic(email, password))
    if isinstance(response.parsed, ErrorBody) or response.parsed is None:
        raise RuntimeError(f"login: {response.status_code}")
    return response.parsed.data.token


def count_users(admin_key: str) -> int:
    response = admin_users_list.sync_detailed(client=with_admin_key(admin_key), limit=1)
    return int(response.headers["X-Total-Count"])


def buy_with_retries(token: str, amount: float) -> tuple[str, bool]:
    """Retries with Idempotency-Key: the same key on every attempt. Returns the checkout URL
    and whether the answer was a replay."""
    client = with_bearer(token).with_headers({"Idempotency-Key": str(uuid.uuid4())})
    for attempt in range(1, 6):
        try:
            response = stripe_buy.sync_detailed(client=client, body=BuyRequest(amount=amount, return_path="/billing"))
        except httpx.TransportError:
            continue  # network error: retry, same key
        parsed = response.parsed
        if parsed is not None and not isinstance(parsed, ErrorBody):
            return parsed.data.url, response.headers.get("Idempotent-Replayed") == "true"
        code = parsed.code if isinstance(parsed, ErrorBody) else None
        # 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
        if response.status_code == 409 and code == "idempotency_key_in_use":
            time.sleep(0.5 * attempt)
            continue
        # 422 idempotency_key_reused: the key went with another body; a bug, do not retry.
        raise RuntimeError(f"buy: {response.status_code} {code}")
    raise RuntimeError("buy: no answer after 5 attempts")


def all_transactions(token: str, user_id: str) -> list[Any]:
    """Paging: X-Total-Count is the total; `limit` (1 to 100) and `offset` pick the page."""
    client = with_bearer(token)
    found: list[Any] = []
    while True:
        response = transactions_list.sync_detailed(user_id, client=client, limit=100, offset=len(found))
        parsed = response.parsed
        if parsed is None or isinstance(parsed, ErrorBody):
            raise RuntimeError(f"transactions: {response.status_code}")
        found.extend(parsed.data)
        if not parsed.data or len(found) >= int(response.headers["X-Total-Count"]):
            return found


def wait_for_task(token: str, user_id: str, task_id: str) -> Any:
    """Polling a task (started by Analysis) until COMPLETED (with `result`) or FAILED."""
    client = with_bearer(token)
    while True:
        parsed = tasks_get.sync(user_id, task_id, client=client)
        if parsed is None or isinstance(parsed, ErrorBody):
            raise RuntimeError("task: not found or refused")
        if parsed.data.status in ("COMPLETED", "FAILED"):
            return parsed.data
        time.sleep(1)
