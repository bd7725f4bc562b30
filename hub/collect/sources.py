"""The source registry: one YAML file per agency source under ``mappings/sources/``.

A source file says where to read (``connector``), what kind of records it delivers, which
department answers for it, and how its fields map to the canonical model (``mapping``).
Adding a source is adding a file; see ``docs/sources.md`` for the format.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.specs import Connector
from hub.core.departments import departments
from hub.core.errors import ConfigurationError
from hub.core.model import RecordKind, field_names
from hub.core.settings import settings


class FieldMap(BaseModel):
    """Where one canonical field comes from: a source column, or a constant value.

    Attributes:
        column: the source's column (field) name.
        value: a constant, for fields the source does not send (e.g. its own department).
        unit: for amounts, the unit the source sends; ``yuan`` is divided by 10,000.
        formats: for dates, extra ``strptime`` formats tried before the standard ones.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    value: str | None = None
    unit: Literal["wan", "yuan"] = "wan"
    formats: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of 'column' or 'value'")
        return self


class Mapping(BaseModel):
    """How a source's fields become canonical fields.

    Attributes:
        fields: canonical field name → origin; a bare string is a column name.
        codes: extra entries for code tables, per canonical field (source value → standard label).
        ignore: source columns deliberately left unmapped (not reported as schema drift).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, FieldMap]
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    ignore: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _bare_column_names(cls, data: dict) -> dict:
        fields = data.get("fields") or {}
        data["fields"] = {k: {"column": v} if isinstance(v, str) else v for k, v in fields.items()}
        return data


class AgencyPool(BaseModel):
    """The Airflow pool an agency's sources share: at most ``slots`` of them are read at once.

    Attributes:
        name: the pool's name, ``agency_<short name>``; every source of a department names the same.
        slots: how many of the agency's collect tasks may run at the same time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^agency_[a-z0-9_]+$")
    slots: int = Field(default=1, ge=1)


class SourceSpec(BaseModel):
    """One agency source, as declared in its YAML file.

    Without a ``pool`` the source gets ``agency_<department>`` with one slot.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    department: str
    kind: RecordKind
    enabled: bool = True
    pool: AgencyPool | None = None
    connector: Connector
    mapping: Mapping

    @property
    def agency_pool(self) -> AgencyPool:
        """The pool the source's collect task runs in."""
        return self.pool or AgencyPool.model_construct(name=f"agency_{self.department}", slots=1)

    @field_validator("department")
    @classmethod
    def _registered_department(cls, name: str) -> str:
        known = departments().canonical(name)
        if known is None:
            raise ValueError(
                f"department {name!r} is not in the department registry "
                "(mappings/reference/departments.yaml): add it, or an alias of it"
            )
        return known

    @model_validator(mode="after")
    def _known_fields(self) -> SourceSpec:
        known = set(field_names(self.kind))
        unknown = sorted(set(self.mapping.fields) - known)
        if unknown:
            raise ValueError(f"mapping names fields {self.kind} records do not have: {unknown}")
        return self


class SourceConfigError(ConfigurationError, ValueError):
    """A source YAML file is malformed; the message names the file and the problem."""


class UnknownSourceError(ConfigurationError):
    """No source file declares the source asked for; the message names the declared ones."""


def load_source_file(path: Path) -> SourceSpec:
    """Parse and check one source file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = SourceSpec.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise SourceConfigError(f"{path.name}: {exc}") from exc
    if spec.id != path.stem:
        raise SourceConfigError(f"{path.name}: id {spec.id!r} must equal the file name")
    return spec


@dataclass(frozen=True)
class Registry:
    """The source files of a directory, read and checked.

    Attributes:
        sources: every well-formed source by id, enabled or not.
        broken: file stem → why that file could not be used; the other sources do not depend on it.
    """

    sources: dict[str, SourceSpec]
    broken: dict[str, SourceConfigError]


@cache
def _load_dir(directory: Path) -> Registry:
    sources, broken = {}, {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            sources[path.stem] = load_source_file(path)
        except SourceConfigError as exc:
            broken[path.stem] = exc
    return Registry(sources, broken)


def registry(directory: Path | None = None) -> Registry:
    """The source registry (``HUB_SOURCES_DIR`` by default), read once per process."""
    return _load_dir((directory or settings().sources_dir).resolve())


def all_sources(directory: Path | None = None) -> dict[str, SourceSpec]:
    """Every well-formed source by id, enabled or not."""
    return registry(directory).sources


def broken_sources(directory: Path | None = None) -> dict[str, SourceConfigError]:
    """The source files that cannot be used, by file stem, with why."""
    return registry(directory).broken


def enabled_sources(directory: Path | None = None) -> list[SourceSpec]:
    """The sources a daily run collects, in id order."""
    return [s for s in all_sources(directory).values() if s.enabled]


def enabled_source_ids(directory: Path | None = None) -> list[str]:
    """The ids of the sources a daily run collects, in id order.

    A source file that cannot be read is among them (by its file name): its run fails naming the
    file and the problem, and the others are collected as usual.
    """
    found = registry(directory)
    enabled = [s.id for s in found.sources.values() if s.enabled]
    return sorted([*enabled, *found.broken])


def get_source(source_id: str, directory: Path | None = None) -> SourceSpec:
    """The source ``source_id``.

    Raises:
        SourceConfigError: its file is malformed (the message names the file and the problem).
        UnknownSourceError: no file declares it; the message names the declared ones.
    """
    found = registry(directory)
    if source_id in found.broken:
        raise found.broken[source_id]
    if source_id not in found.sources:
        declared = ", ".join([*found.sources, *found.broken]) or "none"
        raise UnknownSourceError(f"no source {source_id!r}; declared: {declared}")
    return found.sources[source_id]


def agency_pools(directory: Path | None = None) -> dict[str, int]:
    """Every agency's pool (name → slots), from every declared source, enabled or not.

    Raises:
        SourceConfigError: two sources name the same pool with different slots.
    """
    pools: dict[str, tuple[int, str]] = {}
    for source in all_sources(directory).values():
        pool = source.agency_pool
        slots, first = pools.setdefault(pool.name, (pool.slots, source.id))
        if slots != pool.slots:
            raise SourceConfigError(
                f"{source.id}.yaml: pool {pool.name} has {pool.slots} slots, "
                f"but {first}.yaml gives it {slots}"
            )
    return {name: slots for name, (slots, _) in sorted(pools.items())}
