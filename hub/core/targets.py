"""The delivery targets: who must learn of a record's status change, and how.

Declared in ``mappings/targets.yaml`` (``HUB_TARGETS_FILE`` overrides): the city credit sites,
each for its city's records, and the government-service platform for the whole province. A
target either takes pushes (``delivery: push``, its address and token in an Airflow Connection)
or pulls delta files (``delivery: pull``). A change reaches every target whose region prefix
matches the record's region code (the division in the subject's credit code or ID number).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.core.errors import ConfigurationError
from hub.core.settings import MAPPINGS_DIR


class Target(BaseModel):
    """One downstream system.

    Attributes:
        id: stable identifier (also the delta-file folder and the pull API's site name).
        name: the system's Chinese name, for reports.
        kind: ``city_site`` (设区市信用网站) or ``government_service`` (一体化政务服务平台).
        regions: division-code prefixes whose records it takes (``"3301"`` Hangzhou, ``"33"``
            the whole province).
        delivery: ``push`` (we send each change) or ``pull`` (it fetches delta files).
        connection: for pushes, the Airflow Connection giving the base URL and bearer token.
        path: for pushes, the endpoint the changes are posted to.
        batch_size: for pushes, changes per request.
        concurrency: for pushes, requests in flight at once to this target.
        max_attempts: for pushes, attempts before a message becomes a dead letter.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    kind: Literal["city_site", "government_service"]
    regions: tuple[str, ...] = Field(min_length=1)
    delivery: Literal["push", "pull"]
    connection: str | None = None
    path: str = "/removals"
    batch_size: int = Field(default=100, ge=1)
    concurrency: int = Field(default=2, ge=1)
    max_attempts: int = Field(default=8, ge=1)

    @model_validator(mode="after")
    def _push_needs_connection(self) -> Target:
        if self.delivery == "push" and not self.connection:
            raise ValueError(f"target {self.id}: a push target needs a connection")
        return self

    def covers(self, region_code: str | None) -> bool:
        """Whether a record of ``region_code`` concerns this target."""
        return region_code is not None and region_code.startswith(self.regions)


class TargetConfigError(ConfigurationError, ValueError):
    """The targets file is malformed; the message names the file and the problem."""


def targets_file() -> Path:
    """Where the targets are declared."""
    return Path(os.environ.get("HUB_TARGETS_FILE", MAPPINGS_DIR / "targets" / "zhejiang.yaml"))


@cache
def _load(path: Path) -> dict[str, Target]:
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))["targets"]
        targets = [Target.model_validate(entry) for entry in entries]
    except (OSError, KeyError, TypeError, yaml.YAMLError, ValidationError) as exc:
        raise TargetConfigError(f"{path.name}: {exc}") from exc
    by_id = {t.id: t for t in targets}
    if len(by_id) != len(targets):
        raise TargetConfigError(f"{path.name}: target ids must be unique")
    return by_id


def all_targets(path: Path | None = None) -> dict[str, Target]:
    """Every declared target by id."""
    return _load((path or targets_file()).resolve())


def push_targets(path: Path | None = None) -> list[Target]:
    """The targets that take pushes, in id order."""
    return sorted((t for t in all_targets(path).values() if t.delivery == "push"), key=_id)


def pull_targets(path: Path | None = None) -> list[Target]:
    """The sites that pull delta files, in id order."""
    return sorted((t for t in all_targets(path).values() if t.delivery == "pull"), key=_id)


def _id(target: Target) -> str:
    return target.id
