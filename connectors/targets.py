"""Pushing status changes to a downstream site (city credit site, government-service platform).

One POST per batch: ``{"target": <id>, "messages": [...]}`` as UTF-8 JSON with the target's bearer
token, and an ``Idempotency-Key`` header naming the batch (a hash of its messages' keys, so a
transport-level resend of the same batch carries the same key). Each message carries its own
``idempotency_key``, by which the receiver drops a message it already has. The receiver answers
``{"acknowledged": [{"idempotency_key", "receipt", "duplicate"}], "rejected": [{"idempotency_key",
"error"}]}``.

Requests go through the project's one HTTP policy (``connectors.http_session``): connect errors,
timeouts and 429/5xx answers are retried with jittered exponential backoff, honouring
``Retry-After``. The connection's extras tune it per target with the fields of ``HttpPolicy``
(``timeout_seconds``, ``max_retries``, ``backoff_seconds``, ``max_backoff_seconds``); the
defaults are ``PUSH_POLICY``'s.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from connectors.connections import Connection
from connectors.http_session import PUSH_POLICY, build_session, send_request

_EXCERPT = 300


class PushRejectedError(Exception):
    """The receiver refused the whole request, or answered something that is no acknowledgement.

    Not worth retrying at once (a wrong token, a wrong address, a malformed batch): the message
    names the target, the answer and the URL.
    """


@dataclass(frozen=True)
class PushAnswer:
    """What a receiver said about one batch.

    Attributes:
        receipts: the receiver's receipt per acknowledged idempotency key.
        duplicates: the acknowledged keys the receiver already had.
        rejected: the receiver's reason per rejected key.
    """

    receipts: dict[str, str]
    duplicates: frozenset[str]
    rejected: dict[str, str]


def batch_key(keys: Sequence[str]) -> str:
    """The ``Idempotency-Key`` of a batch: a hash of its messages' keys, in order."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


class PushClient:
    """Posts batches of messages to one target. Not shared between threads; ``close()`` it.

    Args:
        target_id: the target's id, put in every body and every error message.
        connection: the target's connection: base URL, bearer token (``password``), extras.
        path: the endpoint below the base URL.
    """

    def __init__(self, target_id: str, connection: Connection, path: str) -> None:
        extra = connection.extra
        self.target_id = target_id
        self.url = connection.base_url() + path
        policy = PUSH_POLICY.with_extras(extra)
        self.timeout = policy.timeout_seconds
        self._token = connection.password
        self._session = build_session(policy, log_fields={"target": target_id})
        # requests reads proxies and the CA bundle from the environment on every request (a
        # scan of every variable, milliseconds each); the client always posts to one URL, so
        # read them once.
        self._session.proxies = requests.utils.get_environ_proxies(self.url)
        self._session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._session.trust_env = False

    def push(self, messages: Sequence[dict[str, Any]]) -> PushAnswer:
        """Post one batch and return the receiver's answer.

        Raises:
            connectors.http_session.GaveUpError: every attempt failed to connect, timed out or
                answered 429/5xx.
            PushRejectedError: any other answer than 200 with an acknowledgement.
        """
        keys = [m["idempotency_key"] for m in messages]
        body = json.dumps({"target": self.target_id, "messages": messages}, ensure_ascii=False)
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": batch_key(keys),
        }
        response = send_request(
            self._session,
            "POST",
            self.url,
            data=body.encode(),
            headers=headers,
            timeout=self.timeout,
        )
        with response:
            if response.status_code != 200:
                raise PushRejectedError(
                    f"{self.target_id}: {response.status_code} {response.reason} from "
                    f"{self.url}: {response.text[:_EXCERPT]}"
                )
            return self._answer(response)

    def _answer(self, response: requests.Response) -> PushAnswer:
        try:
            answer = response.json()
            acknowledged = answer["acknowledged"]
            rejected = answer.get("rejected") or []
            return PushAnswer(
                receipts={a["idempotency_key"]: str(a["receipt"]) for a in acknowledged},
                duplicates=frozenset(a["idempotency_key"] for a in acknowledged if a["duplicate"]),
                rejected={r["idempotency_key"]: str(r["error"]) for r in rejected},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PushRejectedError(
                f"{self.target_id}: the answer from {self.url} is no acknowledgement "
                f"({type(exc).__name__}: {exc}): {response.text[:_EXCERPT]}"
            ) from exc

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
