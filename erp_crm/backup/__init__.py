"""Backups: one archive with the database (SQLite's online backup, pg_dump for PostgreSQL) and
the file storage, a manifest with SHA-256 checksums; restore into an empty database and storage,
verifying every issued document's hash; a periodic backup with retention."""

from erp_crm.backup import jobs as _jobs  # noqa: F401  (the periodic backup)
