"""One ingestion path for every transport.

A source (``supervision.sources.filedrop``, ``supervision.sources.pull``) turns what a county sent into
:mod:`~supervision.ingest.batch` items; :mod:`~supervision.ingest.run` asks the county's source for them and
hands each to :mod:`~supervision.ingest.consume` (land raw Parquet → schema → rules + GX → split →
load / quarantine → ledger); :mod:`~supervision.ingest.outcome` holds what a run returns.

Kept free of imports: sources import :mod:`supervision.ingest.batch` without pulling the consumer in.
"""
