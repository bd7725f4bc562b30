"""Telling one repair system about repairs decided in the other: batches in its own vocabulary.

Each item carries an idempotency key, ``<deciding system>:<its id of the fact>``: the same fact
pushed again is the same key, which the receiver answers as already held and does not apply
twice. So a push can be repeated, and every request is retried like the hub's other HTTP calls.
Every item goes through the privacy policy (``hub.core.privacy``): a natural person's ID number
leaves masked (``330102********1234``), and so does any ID number in the item's text; the
idempotency key and the fact's id in its own system stand, and so does a valid credit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import requests

from connectors.base import SourceError
from connectors.connections import Connection
from connectors.http_session import GaveUpError, RateLimiter, build_session, send_request
from connectors.repair.feed import FACT_COLUMNS
from connectors.repair.spec import RepairSystem
from hub.core.logs import masked_logger
from hub.core.privacy import mask_document, mask_id_number
from hub.core.settings import settings

log = masked_logger(__name__)
# Machine identifiers of an item, left alone by the privacy policy (``id_number`` is masked whole).
_IDENTIFIERS = ("idempotency_key", "source_id", "id_number")


@dataclass(frozen=True)
class PushResult:
    """What the receiving system made of a push.

    Attributes:
        accepted: facts it holds now (taken in by this push, or held already).
        rejected: ``(external_id, reason)`` of each fact it refused, the reason in its words.
        duplicates: of ``accepted``, those it held already (an earlier push of the same fact).
    """

    accepted: int
    rejected: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0


def idempotency_key(fact_system: str, external_id: str) -> str:
    """The key a fact is pushed under: the same fact always gets the same key."""
    return f"{fact_system}:{external_id}"


def push_repairs(system: RepairSystem, facts: pd.DataFrame, connection: Connection) -> PushResult:
    """Tell ``system`` about the repair facts of the other system in ``facts``.

    Args:
        system: the receiving system, from ``repair_system(...)``.
        facts: facts with ``FACT_COLUMNS`` (as ``fetch_repairs`` gives them), all decided in a
            system other than ``system``.
        connection: the receiver's connection (base URL; its password is the bearer token).

    Returns:
        How many facts the receiver holds after the push, and which it refused and why.

    Raises:
        ValueError: ``facts`` lacks fact columns, or holds facts of ``system`` itself.
        SourceError: the receiver is unreachable, refuses the token, keeps failing, or answers
            something other than its JSON (the facts pushed before that are held: push again).
    """
    _check(system, facts)
    items = [(row["external_id"], _item(system, row)) for row in facts.to_dict("records")]
    push = system.push
    url = f"{connection.base_url()}/{push.path.lstrip('/')}"
    session = build_session(system.http_policy, log_fields={"system": system.id})
    limiter = RateLimiter(system.rate_limit_per_second)
    accepted, duplicates, rejected = 0, 0, []
    try:
        for start in range(0, len(items), push.batch_size):
            batch = items[start : start + push.batch_size]
            limiter.wait()
            results = _send(system, session, url, connection, [item for _, item in batch], start)
            for external_id, item in batch:
                key = item[push.fields["idempotency_key"]]
                status, reason = _outcome(system, results, key)
                if status in push.answer.accepted:
                    accepted += 1
                elif status in push.answer.duplicate:
                    accepted, duplicates = accepted + 1, duplicates + 1
                else:
                    rejected.append((external_id, reason))
    finally:
        session.close()
    log.info(
        "pushed %d facts to %s: %d accepted (%d held already), %d rejected",
        len(items),
        system.id,
        accepted,
        duplicates,
        len(rejected),
    )
    return PushResult(accepted, rejected, duplicates)


def _check(system: RepairSystem, facts: pd.DataFrame) -> None:
    missing = [c for c in FACT_COLUMNS if c not in facts.columns]
    if missing:
        raise ValueError(f"push to {system.id}: facts lack the columns {', '.join(missing)}")
    own = facts.loc[facts["system"] == system.id, "external_id"].tolist()
    if own:
        raise ValueError(
            f"push to {system.id}: {len(own)} facts were decided in {system.id} itself "
            f"({', '.join(map(str, own[:5]))}); only the other system's facts are pushed"
        )
    unknown = sorted(set(facts["system"]) - set(system.push.source_system_codes))
    if unknown:
        raise ValueError(
            f"push to {system.id}: no push.source_system_codes for {', '.join(map(str, unknown))}"
        )


def _value(value: Any) -> Any:
    return None if pd.isna(value) else value


def _item(system: RepairSystem, fact: dict[str, Any]) -> dict[str, Any]:
    """One fact as the receiver's push item."""
    id_number = _value(fact["id_number"])
    decided_at = pd.Timestamp(fact["decided_at"])
    decided_at = (
        decided_at.tz_localize(settings().timezone.key)
        if decided_at.tzinfo is None
        else decided_at.tz_convert(settings().timezone.key)
    )
    values = {
        "idempotency_key": idempotency_key(fact["system"], fact["external_id"]),
        "source_system": system.push.source_system_codes[fact["system"]],
        "source_id": fact["external_id"],
        "kind": system.code_of("kind", fact["kind"]),
        "document_no": _value(fact["document_no"]),
        "credit_code": _value(fact["credit_code"]),
        "id_number": id_number and mask_id_number(id_number),
        "subject_name": _value(fact["subject_name"]),
        "authority_name": _value(fact["authority_name"]),
        "decision": system.code_of("decision", fact["decision"]),
        "decided_at": decided_at.strftime(system.time_format),
    }
    values = mask_document(values, keep=_IDENTIFIERS, credit_codes=("credit_code",))
    return {system.push.fields[name]: values[name] for name in system.push.fields}


def _send(
    system: RepairSystem,
    session: requests.Session,
    url: str,
    connection: Connection,
    items: list[dict[str, Any]],
    start: int,
) -> dict[Any, Any]:
    """POST one batch; the answer's per-item results by idempotency key."""
    push = system.push
    before = f" (the {start} facts before this batch were pushed)" if start else ""
    headers = {"Authorization": f"Bearer {connection.password}"}
    try:
        response = send_request(
            session,
            "POST",
            url,
            json={push.items_key: items},
            headers=headers,
            timeout=system.timeout_seconds,
        )
    except GaveUpError as exc:
        raise SourceError(system.id, f"push {exc}{before}") from None
    except requests.RequestException as exc:
        raise SourceError(system.id, f"push to {url} failed: {exc}{before}") from None
    if not response.ok:
        hint = ": the connection's token was refused" if response.status_code == 401 else ""
        raise SourceError(
            system.id,
            f"push answered {response.status_code} {response.reason} from {url}{hint}: "
            f"{response.text[:200]!r}{before}",
        )
    try:
        results = _dig(response.json(), push.answer.results_path)
    except ValueError:
        content_type = response.headers.get("Content-Type", "no content type")
        raise SourceError(
            system.id,
            f"push expected JSON from {url}, got {content_type}: {response.text[:80]!r}{before}",
        ) from None
    if not isinstance(results, list):
        raise SourceError(
            system.id, f"push answer of {url} has no list at {push.answer.results_path!r}{before}"
        )
    key_field = push.answer.key_field
    return {r.get(key_field): r for r in results if isinstance(r, dict)}


def _dig(body: Any, dotted_path: str) -> Any:
    for key in filter(None, dotted_path.split(".")):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _outcome(system: RepairSystem, results: dict[Any, Any], key: str) -> tuple[str, str]:
    """The status and reason the receiver gave the item pushed under ``key``."""
    answer = system.push.answer
    if key not in results:
        raise SourceError(system.id, f"push answer says nothing of the item {key!r}")
    result = results[key]
    return str(result.get(answer.status_field)), str(result.get(answer.reason_field) or "")
