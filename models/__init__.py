"""Storage: tables, engine and sessions, idempotent bulk upserts, migrations."""
