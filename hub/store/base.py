"""What every table of the platform database shares: one metadata and the column types used across.

The migrations under ``sql/migrations`` are generated from this metadata and reviewed by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)


class Timestamp(sa.types.TypeDecorator):
    """An instant, stored with its time zone, always read back aware (UTC on SQLite).

    PostgreSQL hands back aware datetimes; SQLite stores the UTC text and hands back naive ones.
    Reading them aware here spares every reader from guessing.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """An aware instant in UTC (SQLite keeps the wall time it is given, whatever its zone)."""
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """The stored instant as an aware ``datetime``."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


# SQLite only autoincrements an INTEGER PRIMARY KEY (its rowid), which is 64-bit anyway.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Record keys are hex digests: compared byte by byte ("C" collation) on PostgreSQL, which makes the
# primary-key index of a bulk load markedly cheaper than locale-aware comparison.
RecordKey = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")
