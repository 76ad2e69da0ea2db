-- Cross-record findings that do not stop a row (e.g. a related_enforcement_id that names no known record):
-- the row is loaded, the finding is kept here for the county and the supervisors.
CREATE TABLE ops.validation_warning (
    warning_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id  bigint NOT NULL REFERENCES ops.submission (submission_id),
    county_code    char(6) NOT NULL,
    record_type    text NOT NULL,
    business_date  date NOT NULL,
    row_number     int,
    record_id      text,
    rule           text NOT NULL,
    message        text NOT NULL,
    UNIQUE NULLS NOT DISTINCT (submission_id, row_number, rule)
);
CREATE INDEX validation_warning_county_date ON ops.validation_warning (county_code, business_date);
COMMENT ON TABLE ops.validation_warning IS 'Warnings of loaded rows (cross-record checks); errors go to ops.quarantine';
