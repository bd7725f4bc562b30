"""The pull API's bearer tokens: issued once, stored only as their SHA-256, one live per site.

A token is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is enough to store it:
there is nothing to guess that a slow hash would protect. Issuing a site a new token revokes its
previous one at once (rotation). Issuing is serialised, so two overlapping runs for one site leave
exactly one live token (the later run's): on PostgreSQL under an advisory lock taken first in the
transaction, on SQLite by its one writer at a time; a unique index on the live tokens
(``uq_site_token_live``) holds it in any case.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from hub.core import clock
from hub.store.publish_schema import site_token

TOKEN_LOCK = 0x4855_4254_4F4B  # "HUBTOK": the advisory lock's key


def token_sha256(token: str) -> str:
    """The SHA-256 a token is stored and looked up by, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(connection: sa.Connection, site_id: str) -> str:
    """A new token for ``site_id``, revoking the site's previous ones; shown only this once.

    Args:
        connection: a connection in the caller's transaction.
        site_id: the site the token is for (the caller checks it is a delta-file site).

    Returns:
        The token, in clear; only its SHA-256 is stored.
    """
    if connection.dialect.name == "postgresql":
        # The previous run's token, committed while this one waited, is then seen and revoked.
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(TOKEN_LOCK)))
    now = clock.now()
    connection.execute(
        site_token.update()
        .where(site_token.c.site_id == site_id, site_token.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    connection.execute(
        site_token.insert().values(site_id=site_id, token_sha256=token_sha256(token), issued_at=now)
    )
    return token


def site_of_token(connection: sa.Connection, token: str) -> str | None:
    """The site a live token belongs to; ``None`` for an unknown or revoked token."""
    return connection.scalar(
        sa.select(site_token.c.site_id).where(
            site_token.c.token_sha256 == token_sha256(token), site_token.c.revoked_at.is_(None)
        )
    )
