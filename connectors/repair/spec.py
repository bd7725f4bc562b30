"""How the hub talks to a repair system, as declared in ``mappings/repair_systems/<id>.yaml``.

The file says where the system's feed is and how it pages, what its fields are called, what its
codes mean, how it writes times, and how a push to it is written and answered. The base URL and
the bearer token are the Airflow Connection ``connection``: never in the file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.http_session import HttpPolicy
from connectors.specs import CursorPagination, PageNumberPagination
from hub.core.errors import ConfigurationError
from hub.core.settings import MAPPINGS_DIR

REPAIR_SYSTEMS_DIR = MAPPINGS_DIR / "repair_systems"
SYSTEM_IDS = ("credit_china", "gsxt")
KINDS = ("penalty", "abnormal", "serious")
DECISIONS = ("repaired", "revoked")
FEED_FIELDS = (
    "external_id",
    "kind",
    "document_no",
    "credit_code",
    "id_number",
    "subject_name",
    "authority_name",
    "decision",
    "decided_at",
)
"""The fact columns a feed item's fields map onto (``system`` and ``payload`` are the hub's)."""
PUSH_FIELDS = (*FEED_FIELDS[1:], "idempotency_key", "source_system", "source_id")
"""What a pushed item carries: the fact (its id as ``source_id``), who decided it, and its key."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _require_keys(what: str, given: dict[str, str], expected: tuple[str, ...]) -> None:
    missing = [k for k in expected if k not in given]
    unknown = [k for k in given if k not in expected]
    if missing or unknown:
        raise ValueError(
            f"{what} must map exactly {', '.join(expected)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )


class FeedOrigin(_Spec):
    """Where an item says which system decided it (its own decisions, or synced ones).

    Attributes:
        field: the item field naming the deciding system.
        codes: its values → system ids.
    """

    field: str
    codes: dict[str, Literal["credit_china", "gsxt"]]


class FeedSpec(_Spec):
    """The system's repair-result feed.

    Attributes:
        path: the feed endpoint below the connection's base URL.
        records_path: where the items are in an answer (dotted path).
        pagination: how pages follow each other (page numbers or a next-page cursor).
        since_param: the parameter taking the feed position to read after (incremental).
        cursor_field: the item field holding its feed position (compared as text).
        fields: fact column → the system's field name.
        origin: where an item names the system that decided it.
    """

    path: str
    records_path: str
    pagination: PageNumberPagination | CursorPagination = Field(discriminator="type")
    since_param: str
    cursor_field: str
    fields: dict[str, str]
    origin: FeedOrigin

    @model_validator(mode="after")
    def _fields_complete(self) -> FeedSpec:
        _require_keys("feed.fields", self.fields, FEED_FIELDS)
        return self


class PushAnswer(_Spec):
    """How the system answers a push, item by item.

    Attributes:
        results_path: where the per-item results are in the answer (dotted path).
        key_field: the result field naming the item's idempotency key.
        status_field: the result field saying what became of the item.
        accepted: status values meaning taken in now.
        duplicate: status values meaning held already (a repeated push).
        reason_field: the result field giving the reason of a refusal.
    """

    results_path: str
    key_field: str
    status_field: str
    accepted: tuple[str, ...] = Field(min_length=1)
    duplicate: tuple[str, ...] = ()
    reason_field: str


class PushSpec(_Spec):
    """Pushing the other system's repair facts to this system.

    Attributes:
        path: the push endpoint below the connection's base URL.
        items_key: the body key holding the list of items.
        batch_size: items per request.
        fields: what an item carries (``PUSH_FIELDS``) → the system's field name.
        source_system_codes: how this system names the other systems (``source_system``).
        answer: how it answers.
    """

    path: str
    items_key: str
    batch_size: int = Field(default=100, ge=1, le=500)
    fields: dict[str, str]
    source_system_codes: dict[str, str]
    answer: PushAnswer

    @model_validator(mode="after")
    def _fields_complete(self) -> PushSpec:
        _require_keys("push.fields", self.fields, PUSH_FIELDS)
        return self


class Codes(_Spec):
    """The system's codes → the facts' values; one code per value, so pushes can write them."""

    kind: dict[str, Literal["penalty", "abnormal", "serious"]]
    decision: dict[str, Literal["repaired", "revoked"]]

    @model_validator(mode="after")
    def _one_code_per_value(self) -> Codes:
        for name, table, values in (
            ("kind", self.kind, KINDS),
            ("decision", self.decision, DECISIONS),
        ):
            for value in values:
                codes = [code for code, meaning in table.items() if meaning == value]
                if len(codes) != 1:
                    raise ValueError(
                        f"codes.{name} must give exactly one code for {value!r}, got {codes}"
                    )
        return self


class RepairSystem(_Spec, HttpPolicy):
    """One repair system (Credit China or GSXT) as the hub reaches it.

    Attributes:
        id: ``credit_china`` or ``gsxt`` (the ``system`` of its facts).
        name: its Chinese name, for messages and reports.
        connection: the Airflow Connection with its base URL and bearer token (password).
        time_format: how it writes decision times (``strptime``), local time of the platform's zone.
        codes: its kind and decision codes.
        feed: its repair-result feed.
        push: its push API.

    And the fields of ``HttpPolicy`` (timeout, retries, backoff, rate), with its defaults.
    """

    id: Literal["credit_china", "gsxt"]
    name: str
    connection: str
    time_format: str
    codes: Codes
    feed: FeedSpec
    push: PushSpec

    @property
    def http_policy(self) -> HttpPolicy:
        """The system's retries, backoff, timeout and rate (the fields of ``HttpPolicy``)."""
        return HttpPolicy.model_validate(self.model_dump(include=set(HttpPolicy.model_fields)))

    def code_of(self, table: Literal["kind", "decision"], value: str) -> str:
        """The system's code for a fact value (``kind`` or ``decision``)."""
        codes = self.codes.kind if table == "kind" else self.codes.decision
        return next(code for code, meaning in codes.items() if meaning == value)


class RepairSystemConfigError(ConfigurationError, ValueError):
    """A repair-system file is missing or malformed; the message names the file and the problem."""


@cache
def _load(path: Path) -> RepairSystem:
    try:
        system = RepairSystem.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RepairSystemConfigError(f"{path}: {exc}") from exc
    if system.id != path.stem:
        raise RepairSystemConfigError(f"{path}: id {system.id!r} differs from the file name")
    return system


def repair_system(system_id: str, directory: Path | None = None) -> RepairSystem:
    """The repair system ``system_id``, from ``<directory>/<system_id>.yaml``.

    Args:
        system_id: ``credit_china`` or ``gsxt``.
        directory: where the files are (default: ``mappings/repair_systems``).

    Raises:
        RepairSystemConfigError: unknown system, missing file, or a file that does not validate.
    """
    if system_id not in SYSTEM_IDS:
        raise RepairSystemConfigError(
            f"no repair system {system_id!r}; known: {', '.join(SYSTEM_IDS)}"
        )
    return _load(((directory or REPAIR_SYSTEMS_DIR) / f"{system_id}.yaml").resolve())
