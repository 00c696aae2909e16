"""Ingest: input files -> article rows and quarantine rows. Never imports spaCy."""
