-- Incremental extraction from county HTTP APIs and databases (docs/sources.md).

-- A county system could not be read (unreachable, timeouts, 5xx after retries, rate limited, token refused,
-- database down): nothing was received, the watermark stays, the next run catches up. A county-side fault,
-- so unlike 'failed' (a pipeline fault) it does not fail the Airflow task.
ALTER TABLE ops.submission DROP CONSTRAINT submission_status_check;
ALTER TABLE ops.submission ADD CONSTRAINT submission_status_check CHECK (status IN (
    'loaded', 'loaded_with_quarantine', 'rejected', 'missing', 'late', 'failed', 'source_error'));

-- The watermark per county and record type: every change with updated_at before it has been loaded.
-- Not per transport: a county that switches from its API to its database (or back) continues from here.
CREATE TABLE ops.extraction_watermark (
    county_code    char(6) NOT NULL,
    record_type    text NOT NULL,
    watermark      timestamptz NOT NULL,
    business_date  date NOT NULL,          -- the date whose loaded batch set it
    source_kind    text NOT NULL,
    submission_id  bigint REFERENCES ops.submission,
    advanced_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county_code, record_type)
);

-- One row per county, record type and business date: the window pulled and how it ended. A loaded
-- extraction is replayed from its landed Parquet when the date is re-run (idempotent re-runs and backfills).
CREATE TABLE ops.extraction (
    county_code       char(6) NOT NULL,
    record_type       text NOT NULL,
    business_date     date NOT NULL,
    source_kind       text NOT NULL CHECK (source_kind IN ('http_api', 'database')),
    source_ref        text NOT NULL,      -- endpoint or table and window, as in ops.submission.source_file
    window_from       timestamptz,        -- inclusive; null = from the beginning
    window_to         timestamptz NOT NULL,  -- exclusive
    status            text NOT NULL,      -- the ledger status of the attempt
    rows_received     int NOT NULL DEFAULT 0,
    pages             int,
    batch_sha256      text,
    lake_path         text,
    submission_id     bigint REFERENCES ops.submission,
    detail            text,
    first_fetched_at  timestamptz,
    last_attempt_at   timestamptz NOT NULL DEFAULT now(),
    attempts          int NOT NULL DEFAULT 1,
    PRIMARY KEY (county_code, record_type, business_date)
);
COMMENT ON TABLE ops.extraction IS 'Pulls from county APIs and databases: window, outcome, landed batch (docs/sources.md)';
