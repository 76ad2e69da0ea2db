-- Submission ledger: one row per (county, record type, business date, attempt); an attempt is one file
-- (by sha256) or 'none' when nothing was received. A later attempt supersedes the earlier ones.
CREATE TABLE ops.submission (
    submission_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county_code        char(6) NOT NULL,
    record_type        text NOT NULL,
    business_date      date NOT NULL,
    source_kind        text NOT NULL CHECK (source_kind IN ('file_drop', 'http_api', 'database')),
    source_file        text,  -- relative to the drop root; null when nothing was received
    file_sha256        text,
    file_format        text,
    encoding           text,
    attempt_key        text NOT NULL GENERATED ALWAYS AS (coalesce(file_sha256, 'none')) STORED,
    received_at        timestamptz,
    manifest_rows      int,
    manifest_status    text CHECK (manifest_status IN ('ok', 'mismatch', 'no_manifest', 'not_listed')),
    rows_received      int NOT NULL DEFAULT 0,
    rows_loaded        int NOT NULL DEFAULT 0,
    rows_quarantined   int NOT NULL DEFAULT 0,
    status             text NOT NULL
        CHECK (status IN ('loaded', 'loaded_with_quarantine', 'rejected', 'missing', 'late', 'failed')),
    reason             text,
    lake_path          text,
    validation_ref     text,
    run_id             text,
    superseded_by      bigint REFERENCES ops.submission,
    first_processed_at timestamptz NOT NULL DEFAULT now(),
    last_processed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT submission_attempt_uq UNIQUE (county_code, record_type, business_date, attempt_key)
);
CREATE INDEX submission_date_idx ON ops.submission (business_date, county_code);

CREATE VIEW ops.submission_current AS
SELECT * FROM ops.submission WHERE superseded_by IS NULL;

-- Rows (or whole files: row_number null) that failed validation, as the county sent them.
CREATE TABLE ops.quarantine (
    quarantine_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id          bigint NOT NULL REFERENCES ops.submission,
    county_code            char(6) NOT NULL,
    record_type            text NOT NULL,
    business_date          date NOT NULL,
    source_file            text,
    row_number             int,  -- 1-based data row in the file; null = the whole file
    record_id              text,
    raw_row                jsonb,
    failed_rules           text[] NOT NULL,
    messages               text[] NOT NULL,
    quarantined_at         timestamptz NOT NULL DEFAULT now(),
    resolved_at            timestamptz,
    resolved_by_submission bigint REFERENCES ops.submission,
    CONSTRAINT quarantine_row_uq UNIQUE NULLS NOT DISTINCT (submission_id, row_number)
);
CREATE INDEX quarantine_county_date_idx ON ops.quarantine (county_code, business_date);
