"""Where delta files go, how long they are kept, and which sites get them.

| variable | default | what |
|---|---|---|
| ``HUB_DELTA_DIR`` | ``<HUB_VAR_DIR>/deltas`` | the delta files, one folder per site |
| ``HUB_DELTA_RETENTION_DAYS`` | ``90`` | days of files kept, counted back from the day published |
| ``HUB_DELTA_PUSH_SITES`` | (none) | push targets that also get delta files, comma-separated ids |
| ``HUB_PUBLISH_START_DAY`` | (none) | a new deployment's first day, ``YYYY-MM-DD``: the first |
| | | publication covers every day from it, in order (the back-fill) |
| ``HUB_PULL_TRUSTED_PROXIES`` | (none) | the pull API's reverse proxies, comma-separated |

``HUB_PULL_TRUSTED_PROXIES`` holds addresses or networks (``10.0.0.5, 10.1.0.0/16, fd00::/8``): a
request from one of them has its client address taken from ``X-Forwarded-For``
(``hub.publish.forwarded``); from any other peer the header is ignored.

Every target with ``delivery: pull`` in the targets file gets delta files.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hub.core.errors import ConfigurationError
from hub.core.settings import settings
from hub.core.targets import Target, all_targets
from hub.core.thresholds import DELTA_RETENTION_DAYS


class PublishConfigError(ConfigurationError, ValueError):
    """A publishing setting is unusable; the message names the variable and the rule."""


@dataclass(frozen=True)
class PublishSettings:
    """The publishing settings in force.

    Attributes:
        delta_dir: the folder holding one sub-folder of delta files per site.
        retention_days: how many days of files are kept, the day published included.
        sites: the sites that get delta files, in id order.
        start_day: the first day to publish when nothing was published yet (``None``: the first
            day asked for).
    """

    delta_dir: Path
    retention_days: int
    sites: tuple[Target, ...]
    start_day: date | None = None

    def site(self, site_id: str) -> Target:
        """The delta site ``site_id``; ``KeyError`` naming the known sites otherwise."""
        for target in self.sites:
            if target.id == site_id:
                return target
        known = ", ".join(t.id for t in self.sites)
        raise KeyError(f"{site_id!r} is not a delta-file site (the sites are: {known})")


def _sites() -> tuple[Target, ...]:
    targets = all_targets()
    also = [s.strip() for s in os.environ.get("HUB_DELTA_PUSH_SITES", "").split(",") if s.strip()]
    unknown = [s for s in also if s not in targets]
    if unknown:
        raise PublishConfigError(
            f"HUB_DELTA_PUSH_SITES names {unknown}, which the targets file does not declare"
        )
    chosen = [t for t in targets.values() if t.delivery == "pull" or t.id in also]
    return tuple(sorted(chosen, key=lambda t: t.id))


def _start_day() -> date | None:
    value = os.environ.get("HUB_PUBLISH_START_DAY", "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PublishConfigError(
            f"HUB_PUBLISH_START_DAY={value!r} is not a day: write it as YYYY-MM-DD"
        ) from None


def publish_settings(retention_days: int | None = None) -> PublishSettings:
    """The publishing settings, read from the environment on every call.

    Args:
        retention_days: the retention in days (default: the threshold
            ``hub_delta_retention_days`` as the environment gives it, ``HUB_DELTA_RETENTION_DAYS``;
            a DAG task passes its Airflow Variable's).
    """
    default_dir = settings().var_dir / "deltas"
    return PublishSettings(
        delta_dir=Path(os.environ.get("HUB_DELTA_DIR", default_dir)).resolve(),
        retention_days=retention_days or DELTA_RETENTION_DAYS.value_from(),
        sites=_sites(),
        start_day=_start_day(),
    )


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies() -> tuple[Network, ...]:
    """The networks of ``HUB_PULL_TRUSTED_PROXIES`` (none when it is unset or empty).

    Raises:
        PublishConfigError: an entry is neither an address nor a network, naming it.
    """
    entries = [e.strip() for e in os.environ.get("HUB_PULL_TRUSTED_PROXIES", "").split(",")]
    networks = []
    for entry in filter(None, entries):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise PublishConfigError(
                f"HUB_PULL_TRUSTED_PROXIES: {entry!r} is neither an IP address nor a network "
                "(e.g. 10.0.0.5, 10.0.0.0/24, fd00::/8)"
            ) from exc
    return tuple(networks)
