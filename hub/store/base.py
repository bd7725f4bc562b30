"""What every table of the platform database shares: one metadata and the column types used across.

The migrations under ``sql/migrations`` are generated from this metadata and reviewed by hand.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)
# SQLite only autoincrements an INTEGER PRIMARY KEY (its rowid), which is 64-bit anyway.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Record keys are hex digests: compared byte by byte ("C" collation) on PostgreSQL, which makes the
# primary-key index of a bulk load markedly cheaper than locale-aware comparison.
RecordKey = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")
