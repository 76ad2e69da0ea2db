-- The drop folder is trusted for nothing (issue 15): arrival time is what the pipeline observed, not the file's
-- modification time (which the county sets); entries that are no county's contract file are recorded.

-- 'unexpected': an entry of the drop folder that is no contract file of a registered county (an unknown county
-- folder, a file with an odd name, a link, a named pipe). One row per county folder and business date
-- (record_type '*'; county_code '000000' for top-level names that are no county code); nothing is read from it,
-- so received = loaded + quarantined = 0 and reconciliation is not affected. The engineers are alerted.
ALTER TABLE ops.submission DROP CONSTRAINT submission_status_check;
ALTER TABLE ops.submission ADD CONSTRAINT submission_status_check CHECK (status IN (
    'loaded', 'loaded_with_quarantine', 'rejected', 'missing', 'late', 'failed', 'source_error', 'unexpected'));

ALTER TABLE ops.submission ADD COLUMN file_mtime timestamptz;
COMMENT ON COLUMN ops.submission.received_at IS
    'When the pipeline first saw these bytes (ops.file_arrival: the nightly run or the monitor''s scan, server '
    'clock); on-time compliance is judged on it. Before V420: the file''s modification time.';
COMMENT ON COLUMN ops.submission.file_mtime IS
    'The file''s modification time as the county''s system set it: information only, never used to judge lateness';
-- The view's SELECT * was expanded when V003 created it: recreated, it shows file_mtime too.
CREATE OR REPLACE VIEW ops.submission_current AS
SELECT * FROM ops.submission WHERE superseded_by IS NULL;

-- First sighting of each file content in the drop folder. The first scan that sees a file (nightly run or
-- alert monitor) inserts its row; later scans never change it. stat_sig (device, inode, size, mtime and ctime:
-- the county can set the mtime, not the ctime) lets the monitor skip hashing a file it has already seen unchanged.
CREATE TABLE ops.file_arrival (
    county_code    char(6) NOT NULL,
    business_date  date NOT NULL,
    rel_path       text NOT NULL,          -- relative to the drop root
    sha256         text NOT NULL,
    first_seen_at  timestamptz NOT NULL,   -- server clock of the first scan that saw these bytes there
    first_seen_by  text NOT NULL CHECK (first_seen_by IN ('pipeline', 'monitor')),
    file_mtime     timestamptz,            -- what the file claimed then (information only)
    size           bigint,
    stat_sig       text,
    -- the last time a nightly run saw these bytes there, right before reading them (server clock): reconcile
    -- reports the newest such file of a path that has no ledger row (the run stopped while processing it)
    pipeline_seen_at timestamptz,
    PRIMARY KEY (county_code, business_date, rel_path, sha256)
);
CREATE INDEX file_arrival_sha_idx ON ops.file_arrival (county_code, business_date, sha256);
COMMENT ON TABLE ops.file_arrival IS
    'When the pipeline first observed each file content in the drop folder (arrival time for lateness)';

-- An engineers' alert: something in the drop folder that is no county's contract file.
ALTER TABLE ops.alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE ops.alert ADD CONSTRAINT alert_kind_check CHECK (kind IN (
    'late', 'missing', 'rejected', 'invalid', 'volume_anomaly', 'stale_source', 'chronic_late', 'pipeline_late',
    'pipeline_failed', 'drop_unexpected'));

-- The county scorecards count the counties' alerts only: the engineers' kinds stay out (as in V201).
CREATE OR REPLACE VIEW marts.compliance_county_month WITH (security_invoker = true) AS
WITH days AS (
    SELECT county_code, date_trunc('month', business_date)::date AS month,
           count(*) FILTER (WHERE NOT exempt)                                   AS business_days,
           count(*) FILTER (WHERE exempt)                                       AS exempt_days,
           count(*) FILTER (WHERE NOT exempt AND on_time)                       AS on_time_days,
           count(*) FILTER (WHERE NOT exempt AND valid)                         AS valid_days,
           count(*) FILTER (WHERE NOT exempt AND on_time AND valid)             AS on_time_valid_days,
           count(*) FILTER (WHERE NOT exempt AND NOT something_on_time)         AS late_days
    FROM marts.submission_compliance_day
    GROUP BY 1, 2
), alerts AS (
    SELECT county_code, date_trunc('month', business_date)::date AS month,
           count(*) FILTER (WHERE kind = 'late')            AS alerts_late,
           count(*) FILTER (WHERE kind = 'missing')         AS alerts_missing,
           count(*) FILTER (WHERE kind = 'rejected')        AS alerts_rejected,
           count(*) FILTER (WHERE kind = 'invalid')         AS alerts_invalid,
           count(*) FILTER (WHERE kind = 'volume_anomaly')  AS alerts_volume_anomaly,
           count(*) FILTER (WHERE kind = 'stale_source')    AS alerts_stale_source,
           count(*) FILTER (WHERE kind = 'chronic_late')    AS alerts_chronic_late,
           count(*) FILTER (WHERE state <> 'resolved')      AS alerts_unresolved,
           count(*)                                         AS alerts_total
    FROM ops.alert
    WHERE county_code IS NOT NULL AND kind NOT IN ('pipeline_late', 'pipeline_failed', 'drop_unexpected')
    GROUP BY 1, 2
)
SELECT k.county_code, dv.name AS county_name, dv.city_code, dv.province_code, k.month,
       coalesce(d.business_days, 0)       AS business_days,
       coalesce(d.exempt_days, 0)         AS exempt_days,
       coalesce(d.on_time_days, 0)        AS on_time_days,
       coalesce(d.valid_days, 0)          AS valid_days,
       coalesce(d.on_time_valid_days, 0)  AS on_time_valid_days,
       coalesce(d.late_days, 0)           AS late_days,
       round(d.on_time_valid_days::numeric / nullif(d.business_days, 0), 4) AS on_time_valid_share,
       coalesce(a.alerts_late, 0)            AS alerts_late,
       coalesce(a.alerts_missing, 0)         AS alerts_missing,
       coalesce(a.alerts_rejected, 0)        AS alerts_rejected,
       coalesce(a.alerts_invalid, 0)         AS alerts_invalid,
       coalesce(a.alerts_volume_anomaly, 0)  AS alerts_volume_anomaly,
       coalesce(a.alerts_stale_source, 0)    AS alerts_stale_source,
       coalesce(a.alerts_chronic_late, 0)    AS alerts_chronic_late,
       coalesce(a.alerts_unresolved, 0)      AS alerts_unresolved,
       coalesce(a.alerts_total, 0)           AS alerts_total
FROM (SELECT county_code, month FROM days UNION SELECT county_code, month FROM alerts) k
LEFT JOIN days d USING (county_code, month)
LEFT JOIN alerts a USING (county_code, month)
LEFT JOIN LATERAL marts.division_label(k.county_code) dv ON true;
