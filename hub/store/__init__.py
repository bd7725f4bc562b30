"""The platform store: schema, migrations, bulk loading and the set-based upsert."""
