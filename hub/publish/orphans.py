"""Files a failed publication left behind: written, never recorded, removed before the next.

A publication writes a day's files, then records them in one transaction (``delta_manifest``,
``delta_file``). If it fails or is killed in between, its files stay on disk unrecorded: the pull
API never serves them (it serves recorded files only), but a site reading the folder could take
them for a set. The next publication removes them, and any half-written temporary file, before it
writes anything (under the publication lock, so no other publication's files are touched).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from hub.core.logs import get_logger
from hub.store.publish_schema import delta_file, delta_manifest

log = get_logger(__name__)

_SET_FILE = re.compile(r"(?P<site>.+)_\d{8}_\d{6,}\.(parquet|csv|manifest\.json)")
_PARTIAL = re.compile(r"\.(?P<name>.+)\.\d+\.partial")


def _recorded(connection: sa.Connection) -> set[tuple[str, str]]:
    rows = connection.execute(
        sa.select(delta_manifest.c.site_id, delta_file.c.name).join(
            delta_manifest, delta_manifest.c.id == delta_file.c.manifest_id
        )
    )
    return {(site, name) for site, name in rows}


def _orphaned(path: Path, recorded: set[tuple[str, str]]) -> bool:
    site = path.parent.name
    partial = _PARTIAL.fullmatch(path.name)
    name = partial["name"] if partial else path.name
    match = _SET_FILE.fullmatch(name)
    if not match or match["site"] != site:
        return False
    return bool(partial) or (site, name) not in recorded


def remove_orphans(connection: sa.Connection, delta_dir: Path) -> None:
    """Remove every delta file under ``delta_dir`` that no set records (a warning for each).

    Only names a publication writes are considered (``<site>_<day>_<sequence>.<format>`` in the
    site's folder, and its ``.<name>.<pid>.partial`` temporary files); anything else is left.
    """
    if not delta_dir.is_dir():
        return
    recorded = _recorded(connection)
    for path in sorted(delta_dir.glob("*/*")):
        if path.is_file() and _orphaned(path, recorded):
            path.unlink()
            log.warning(
                "unrecorded delta file removed (left by a failed publication)",
                site=path.parent.name,
                file=path.name,
            )
