"""Recipes for openapi-generator's python client (docs/clients.md), type-checked by
mypy --strict in .ci/generators.sh against the package generated from the committed spec
(clara_oag: --additional-properties packageName=clara_oag).

One class per tag (AuthApi, StripeApi, …), methods named by operationId; *_with_http_info
also gives status_code and headers. A non-2xx answer raises ApiException.
"""

import json
import time
import uuid
from typing import Any

from clara_oag import ApiClient, Configuration
from clara_oag.api import AdminApi, AuthApi, StripeApi, TaskApi, TransactionApi
from clara_oag.exceptions import ApiException
from clara_oag.models import BuyRequest, RegisterRequest

HOST = "https://api.example.com/api/v1"


# Credentials. ApiKey (the public or the admin key, as the operation says), BasicAuth and
# BearerAuth all write Authorization, and an operation that takes either of two schemes
# writes every one configured, the last winning: configure one credential per ApiClient.
def with_public_key(key: str) -> ApiClient:
    return ApiClient(Configuration(host=HOST, api_key={"ApiKey": key}))


def with_admin_key(key: str) -> ApiClient:
    return ApiClient(Configuration(host=HOST, api_key={"ApiKey": key}))


def with_bearer(token: str) -> ApiClient:
    return ApiClient(Configuration(host=HOST, access_token=token))


def with_basic(email: str, password: str) -> ApiClient:
    return ApiClient(Configuration(host=HOST, username=email, password=password))


def register(public_key: str, email: str, password: str) -> str:
    body = RegisterRequest(first_name="Ada", last_name="Lovelace", email=email, password=password)
    created = AuthApi(with_public_key(public_key)).auth_register(
        body, _headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    return created.data.id


def login(email: str, password: str) -> str:
    return AuthApi(with_basic(email, password)).auth_login().data.token


def count_users(admin_key: str) -> int:
    response = AdminApi(with_admin_key(admin_key)).admin_users_list_with_http_info(limit=1)
    return int((response.headers or {})["X-Total-Count"])


def error_code(e: ApiException) -> str | None:
    try:
        code = json.loads(e.body or "{}").get("code")
    except ValueError:
        return None
    return code if isinstance(code, str) else None


def buy_with_retries(token: str, amount: float) -> tuple[str, bool]:
    """Retries with Idempotency-Key: the same key on every attempt. Returns the checkout URL
    and whether the answer was a replay."""
    stripe = StripeApi(with_bearer(token))
    key = str(uuid.uuid4())
    for attempt in range(1, 6):
        try:
            response = stripe.stripe_buy_with_http_info(
                BuyRequest(amount=amount, return_path="/billing"), _headers={"Idempotency-Key": key}
            )
        except ApiException as e:
            # 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
            if e.status == 409 and error_code(e) == "idempotency_key_in_use":
                time.sleep(0.5 * attempt)
                continue
            raise  # 422 idempotency_key_reused (the key went with another body) and the rest
        except OSError:
            continue  # network error: retry, same key
        replayed = (response.headers or {}).get("Idempotent-Replayed") == "true"
        return response.data.data.url, replayed
    raise RuntimeError("buy: no answer after 5 attempts")


def all_transactions(token: str, user_id: str) -> list[Any]:
    """Paging: X-Total-Count is the total; `limit` (1 to 100) and `offset` pick the page."""
    api = TransactionApi(with_bearer(token))
    found: list[Any] = []
    while True:
        response = api.transactions_list_with_http_info(user_id, limit=100, offset=len(found))
        page = response.data.data
        found.extend(page)
        if not page or len(found) >= int((response.headers or {})["X-Total-Count"]):
            return found


def wait_for_task(token: str, user_id: str, task_id: str) -> Any:
    """Polling a task (started by Analysis) until COMPLETED (with `result`) or FAILED."""
    tasks = TaskApi(with_bearer(token))
    while True:
        task = tasks.tasks_get(user_id, task_id).data
        if task.status in ("COMPLETED", "FAILED"):
            return task
        time.sleep(1)
