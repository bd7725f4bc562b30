"""Tables of the delta files: the day ranges, the per-site manifests, site tokens and pulls.

``delta_day`` fixes, once per day, the range of ``status_change`` ids the day's delta files
carry, and says when the day's sets were published (a day fixed but not published is finished
before any later day); ``delta_manifest`` is each site's gap-free sequence of published files and
``delta_file`` the files of each manifest with their SHA-256; ``site_token`` holds the pull
API's bearer tokens (only their SHA-256); ``pull_log`` records every request to the pull API.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.base import BigId, Timestamp, metadata

delta_day = sa.Table(
    "delta_day",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("watermark_from", sa.BigInteger, nullable=False, comment="exclusive"),
    sa.Column("watermark_to", sa.BigInteger, nullable=False, comment="inclusive"),
    sa.Column("n_changes", sa.Integer, nullable=False),
    sa.Column("fixed_at", Timestamp, nullable=False),
    sa.Column(
        "published_at",
        Timestamp,
        comment="when the day's sets were recorded, their files written; NULL: unfinished",
    ),
    comment="The status_change id range (watermark_from, watermark_to] of each published day, "
    "fixed at its first publication so that re-publishing the day reads the same changes.",
)

delta_manifest = sa.Table(
    "delta_manifest",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("day", sa.ForeignKey("delta_day.day"), nullable=False),
    sa.Column("watermark_from", sa.BigInteger, nullable=False, comment="exclusive"),
    sa.Column("watermark_to", sa.BigInteger, nullable=False, comment="inclusive"),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False, comment="first publication"),
    sa.Column("expired_at", Timestamp, comment="files deleted by the retention rule"),
    sa.UniqueConstraint("site_id", "sequence"),
    sa.UniqueConstraint("site_id", "day"),
    comment="One delta file set per site and day: a gap-free sequence per site, kept after "
    "its files expire.",
)

delta_file = sa.Table(
    "delta_file",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("manifest_id", sa.ForeignKey("delta_manifest.id"), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("manifest_id", "format"),
    comment="The files of a manifest (parquet, csv, manifest JSON); the pull API serves them "
    "by id, never by a name taken from the request.",
)

site_token = sa.Table(
    "site_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(64), nullable=False, index=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("issued_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.Index(
        "uq_site_token_live",
        "site_id",
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    ),
    comment="Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes "
    "the site's previous token (one live token per site).",
)

pull_log = sa.Table(
    "pull_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("requested_at", Timestamp, nullable=False, index=True),
    sa.Column("site_id", sa.String(64), index=True, comment="NULL: no valid token"),
    sa.Column("method", sa.String(32), nullable=False, comment="cut to 32 characters"),
    sa.Column("path", sa.String(512), nullable=False, comment="cut to 512 characters"),
    sa.Column("file_id", sa.Integer, comment="the file asked for, when a file was asked for"),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger),
    sa.Column(
        "client",
        sa.String(64),
        comment="the peer, or X-Forwarded-For's client from a trusted proxy; cut to 64",
    ),
    comment="Every request to the pull API: who asked (by token), for what, and the answer.",
)
