"""The pull client a downstream site runs: fetch new delta file sets, verify, then keep them.

For each set above ``since``, in sequence order: the manifest is downloaded and checked against
its ``X-Checksum-SHA256`` header and the listing; each data file is checked against its header
and the SHA-256 the manifest gives. Only then are the files written (data files first, the
manifest last, each atomically), so a manifest on disk means a complete, verified set. A gap in
the sequence, a checksum that does not match or a file name that is not a plain delta-file name
stops the pull with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connectors.http_session import PULL_POLICY, build_session, send_request
from hub.core.logs import get_logger

PAGE = 100
_SITE = re.compile(r"^[a-z][a-z0-9_]*$")
_FILE_NAME = re.compile(r"^[a-z][a-z0-9_]*_\d{8}_\d{6}\.(parquet|csv|manifest\.json)$")
log = get_logger(__name__)


class PullError(RuntimeError):
    """A pull failed; the message names the site, the set or file, and the reason."""


@dataclass(frozen=True)
class PulledSet:
    """One set as pulled: written files, or nothing when its files had expired."""

    sequence: int
    day: str
    row_count: int
    files: tuple[Path, ...]
    expired: bool = False


@dataclass(frozen=True)
class PullResult:
    """What a pull fetched: the sets in order and the sequence to pull from next time."""

    site: str
    sets: list[PulledSet]
    last_sequence: int


class _Api:
    def __init__(self, base_url: str, token: str, site: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.site = site
        self.session = build_session(PULL_POLICY, log_fields={"site": site})
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, what: str, **params: Any) -> requests.Response:
        response = send_request(
            self.session,
            "GET",
            f"{self.base_url}{path}",
            params=params,
            timeout=PULL_POLICY.timeout_seconds,
        )
        if response.status_code != 200:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            raise PullError(f"site {self.site}: {what} answered {response.status_code}: {detail}")
        return response

    def download(self, entry: dict[str, Any], sequence: int) -> bytes:
        what = f"set {sequence} file {entry['name']}"
        response = self.get(f"/files/{int(entry['id'])}", what)
        body = response.content
        header = response.headers.get("X-Checksum-SHA256")
        actual = hashlib.sha256(body).hexdigest()
        if header is None:
            raise PullError(f"site {self.site}: {what} came without an X-Checksum-SHA256 header")
        if actual != header.lower():
            raise PullError(
                f"site {self.site}: {what} is corrupt: its bytes hash to {actual}, "
                f"the X-Checksum-SHA256 header says {header}"
            )
        if actual != entry["sha256"]:
            raise PullError(
                f"site {self.site}: {what} hashes to {actual}, the listing says {entry['sha256']}"
            )
        return body


def _checked_name(site: str, name: str) -> str:
    if not _FILE_NAME.match(name) or not name.startswith(f"{site}_"):
        raise PullError(f"site {site}: refusing the file name {name!r}: not a delta-file name")
    return name


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    partial = folder / f".{name}.partial"
    partial.write_bytes(data)
    partial.replace(path)
    return path


def _pull_set(api: _Api, entry: dict[str, Any], folder: Path) -> PulledSet:
    sequence = entry["sequence"]
    if entry["expired"]:
        return PulledSet(sequence, entry["day"], entry["row_count"], (), expired=True)
    by_format = {f["format"]: f for f in entry["files"]}
    manifest_bytes = api.download(by_format["manifest"], sequence)
    manifest = json.loads(manifest_bytes)
    if (manifest["site"], manifest["sequence"]) != (api.site, sequence):
        raise PullError(
            f"site {api.site}: set {sequence}'s manifest is for site {manifest['site']}, "
            f"set {manifest['sequence']}"
        )
    data = []
    for described in manifest["files"]:
        listed = by_format.get(described["format"])
        if listed is None or listed["name"] != described["name"]:
            raise PullError(
                f"site {api.site}: set {sequence}'s manifest names {described['name']}, "
                "which the listing does not offer"
            )
        body = api.download(listed, sequence)
        if hashlib.sha256(body).hexdigest() != described["sha256"]:
            raise PullError(
                f"site {api.site}: set {sequence} file {described['name']} does not match the "
                f"SHA-256 its manifest gives ({described['sha256']})"
            )
        data.append((_checked_name(api.site, described["name"]), body))
    manifest_name = _checked_name(api.site, by_format["manifest"]["name"])
    written = [_write(folder, name, body) for name, body in data]
    written.append(_write(folder, manifest_name, manifest_bytes))
    return PulledSet(sequence, entry["day"], manifest["row_count"], tuple(written))


def pull_deltas(base_url: str, token: str, site: str, since: int, out_dir: Path) -> PullResult:
    """Fetch, verify and write ``site``'s sets numbered above ``since``.

    Args:
        base_url: the pull API's root (``http://host:port`` standalone, or Airflow's URL plus
            the plugin's prefix ``/credit-deltas``).
        token: the site's bearer token.
        site: the site's id.
        since: the last sequence already held (0: from the start).
        out_dir: where to write; the files go to ``out_dir/<site>/``.

    Returns:
        The sets pulled, in sequence order.

    Raises:
        PullError: the API refused, a sequence is missing, or a file failed verification; the
            sets verified before it are kept.
    """
    if not _SITE.match(site):
        raise PullError(f"{site!r} is not a site id")
    api = _Api(base_url, token, site)
    folder = out_dir / site
    sets: list[PulledSet] = []
    last = since
    try:
        while True:
            listing = api.get(f"/sites/{site}/deltas", "the listing", since=last, limit=PAGE)
            entries = listing.json()["deltas"]
            for entry in entries:
                if entry["sequence"] != last + 1:
                    raise PullError(
                        f"site {site}: set {last + 1} is missing; the API offered "
                        f"{entry['sequence']} next"
                    )
                sets.append(_pull_set(api, entry, folder))
                last = entry["sequence"]
                log.info("delta set pulled", site=site, sequence=last, day=entry["day"])
            if len(entries) < PAGE:
                return PullResult(site, sets, last)
    finally:
        api.session.close()
