-- County-facing messages (issue 15, issue 19 item 7): the daily notice of quarantined rows and the row numbers.
--
-- The daily notice (supervision.alerting.digest.plan_county_notices) is an outbox row with digest_scope = the
-- county code; submission_ids lists the submissions it told the county about, so each is told once.
ALTER TABLE ops.alert_notification ADD COLUMN submission_ids bigint[];
CREATE INDEX alert_notification_digest_idx ON ops.alert_notification (digest_scope, digest_date)
    WHERE digest_scope IS NOT NULL;

-- The stored row number stays the 1-based data row (header excluded): it equals the landed Parquet's
-- _row_number and core.*._source_row, which reconcile and resolve_quarantine compare with it. Messages show a
-- CSV/XLSX row as the spreadsheet does (row_number + 1, the header being row 1) and a JSON row as the n-th object.
COMMENT ON COLUMN ops.quarantine.row_number IS
    '1-based data row of the file, header excluded (= landed _row_number); a spreadsheet shows a CSV/XLSX row as row_number + 1; JSON: the n-th object; null = the whole file';
COMMENT ON COLUMN ops.validation_warning.row_number IS
    '1-based data row of the file, header excluded (= landed _row_number); a spreadsheet shows a CSV/XLSX row as row_number + 1';
COMMENT ON COLUMN ops.alert_notification.submission_ids IS
    'daily county notice of quarantined rows: the submissions it listed (each is told once)';
