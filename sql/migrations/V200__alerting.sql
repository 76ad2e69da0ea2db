-- Alerting on late and invalid county submissions (issue 6). Written by supervision.alerting; see docs/alerting.md.
--
-- ops.alert                 one row per problem: county x record type x business date x kind, open -> notified ->
--                           acknowledged -> resolved; at most one unresolved row per key (index below)
-- ops.alert_event           append-only history of every transition (who, when, what)
-- ops.alert_notification    the outbox: one row per message per channel; pending until delivered, retried
-- ops.submission_exception  deadline extensions and exemptions granted to a county (audit trail, never deleted)
-- ops.submission_verdict    the monitor's judgement of every county x record type x business date
-- marts.submission_compliance_day / compliance_{county,city,province}_month   scorecards for supervisors

CREATE TABLE ops.alert (
    alert_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('late', 'missing', 'rejected', 'invalid', 'volume_anomaly',
                                                  'stale_source', 'chronic_late', 'pipeline_late', 'pipeline_failed')),
    county_code     char(6),                   -- null: the pipeline as a whole (pipeline_late)
    record_type     text NOT NULL DEFAULT '*', -- '*': the whole county-day (late, chronic_late, pipeline_late)
    business_date   date NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'notified', 'acknowledged', 'resolved')),
    level           smallint NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 2),  -- told so far: 0 county, 1 city, 2 province
    round           int NOT NULL DEFAULT 1,    -- notification round: +1 on re-notify or when the evidence changes
    evidence        text NOT NULL,             -- what the verdict rests on, e.g. 'submission 123'
    summary         text NOT NULL,             -- what is wrong
    fix             text NOT NULL,             -- how to fix it
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,  -- numbers, ledger reason, quarantine query, validation result
    submission_id   bigint REFERENCES ops.submission ON DELETE SET NULL,
    opened_at       timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,      -- last monitor run that found the problem still there
    notified_at     timestamptz,               -- first delivery that reached someone
    escalated_at    timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    ack_note        text,
    resolved_at     timestamptz,
    resolved_by     text,
    resolution      text,
    CONSTRAINT alert_resolved_consistent CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CONSTRAINT alert_acknowledged_consistent CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
-- One unresolved alert per county, type, date and kind, whatever the number of monitor runs.
CREATE UNIQUE INDEX alert_unresolved_uq ON ops.alert (county_code, record_type, business_date, kind)
    NULLS NOT DISTINCT WHERE state <> 'resolved';
-- Ongoing conditions (not tied to one date): one unresolved alert per county and type.
CREATE UNIQUE INDEX alert_unresolved_ongoing_uq ON ops.alert (county_code, record_type, kind)
    NULLS NOT DISTINCT WHERE state <> 'resolved' AND kind IN ('stale_source', 'chronic_late');
CREATE INDEX alert_county_date_idx ON ops.alert (county_code, business_date);
CREATE INDEX alert_unresolved_idx ON ops.alert (state) WHERE state <> 'resolved';

CREATE TABLE ops.alert_event (
    event_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES ops.alert ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    event     text NOT NULL CHECK (event IN ('opened', 'updated', 'notified', 'escalated', 'acknowledged',
                                             'renotify', 'resolved')),
    actor     text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_event_alert_idx ON ops.alert_event (alert_id, at);

CREATE TABLE ops.alert_notification (
    notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key      text NOT NULL UNIQUE,      -- one message per alert round, audience and channel (or digest)
    alert_id        bigint REFERENCES ops.alert ON DELETE CASCADE,
    digest_scope    text,                      -- digests: the city or province code
    digest_date     date,                      -- digests: the local date of the morning digest
    round           int,
    level           smallint,
    audience        text NOT NULL CHECK (audience IN ('county', 'city', 'province', 'engineers')),
    recipient       text NOT NULL,             -- the contact's name
    channel         text NOT NULL,             -- apprise URL as in the registry (${VAR} unexpanded) or email:<address>
    title           text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'cancelled')),
    attempts        int NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    CONSTRAINT alert_notification_subject CHECK ((alert_id IS NULL) <> (digest_scope IS NULL))
);
CREATE INDEX alert_notification_pending_idx ON ops.alert_notification (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_notification_alert_idx ON ops.alert_notification (alert_id);

CREATE TABLE ops.submission_exception (
    exception_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('extension', 'exemption')),
    county_code    char(6) NOT NULL,
    record_type    text,                       -- null: every record type
    date_from      date NOT NULL,
    date_to        date NOT NULL,
    deadline_until timestamptz,                -- extension: one new deadline for every date of the range
    extra_hours    numeric(6, 2),              -- extension: hours added to each date's own deadline
    approved_by    text NOT NULL CHECK (btrim(approved_by) <> ''),
    reason         text NOT NULL CHECK (btrim(reason) <> ''),
    granted_by     text NOT NULL,
    granted_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_by     text,
    revoke_reason  text,
    CONSTRAINT exception_dates CHECK (date_from <= date_to),
    CONSTRAINT exception_terms CHECK (
        (kind = 'exemption' AND deadline_until IS NULL AND extra_hours IS NULL)
        OR (kind = 'extension' AND (deadline_until IS NULL) <> (extra_hours IS NULL))),
    CONSTRAINT exception_revocation CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX submission_exception_county_idx ON ops.submission_exception (county_code, date_from, date_to);

-- The audit trail is append-only: a grant can be revoked once (who, when, why), never edited or deleted.
CREATE FUNCTION ops.submission_exception_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ops.submission_exception is an audit trail: revoke grant % instead of deleting it', OLD.exception_id;
    END IF;
    IF OLD.revoked_at IS NOT NULL
       OR (to_jsonb(NEW) - ARRAY['revoked_at', 'revoked_by', 'revoke_reason'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['revoked_at', 'revoked_by', 'revoke_reason']) THEN
        RAISE EXCEPTION 'ops.submission_exception is an audit trail: grant % can only be revoked, once', OLD.exception_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER submission_exception_guard BEFORE UPDATE OR DELETE ON ops.submission_exception
    FOR EACH ROW EXECUTE FUNCTION ops.submission_exception_guard();

CREATE TABLE ops.submission_verdict (
    county_code       char(6) NOT NULL,
    record_type       text NOT NULL,
    business_date     date NOT NULL,
    due_at            timestamptz NOT NULL,    -- the county's deadline, extensions applied
    first_received_at timestamptz,             -- earliest arrival of a file of this type (ledger or drop folder)
    on_time           boolean NOT NULL,        -- first_received_at <= due_at
    status            text NOT NULL,           -- current ledger status, 'not_received' or 'awaiting_load'
    valid             boolean NOT NULL,        -- loaded, rejected share within the county's threshold
    exempt            boolean NOT NULL DEFAULT false,
    judged_at         timestamptz NOT NULL,
    PRIMARY KEY (county_code, record_type, business_date)
);
CREATE INDEX submission_verdict_date_idx ON ops.submission_verdict (business_date);

-- Scorecards. security_invoker: row-level security of the base tables applies to whoever queries the view.
CREATE VIEW marts.submission_compliance_day WITH (security_invoker = true) AS
SELECT county_code, business_date,
       min(due_at) FILTER (WHERE NOT exempt)                             AS due_at,
       min(first_received_at) FILTER (WHERE NOT exempt)                  AS first_received_at,
       bool_and(exempt)                                                  AS exempt,
       coalesce(bool_or(on_time) FILTER (WHERE NOT exempt), false)       AS something_on_time,
       coalesce(bool_and(on_time) FILTER (WHERE NOT exempt), false)      AS on_time,
       coalesce(bool_and(valid) FILTER (WHERE NOT exempt), false)        AS valid,
       count(*) FILTER (WHERE NOT exempt AND NOT on_time)                AS types_late,
       count(*) FILTER (WHERE NOT exempt AND NOT valid)                  AS types_invalid
FROM ops.submission_verdict
GROUP BY county_code, business_date;
COMMENT ON VIEW marts.submission_compliance_day IS
    'One row per county and business date: on_time = every record type received by the deadline; valid = every '
    'type loaded within the reject threshold; late day = nothing on time (something_on_time false). Exempt days '
    'are excluded from the scorecards.';

CREATE VIEW marts.compliance_county_month WITH (security_invoker = true) AS
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
    WHERE county_code IS NOT NULL AND kind NOT IN ('pipeline_late', 'pipeline_failed')
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
LEFT JOIN ref.division dv ON dv.code = k.county_code;

-- A higher level is the sum of its parts (numerators and denominators), never an average of ratios.
CREATE VIEW marts.compliance_city_month WITH (security_invoker = true) AS
SELECT c.city_code, dv.name AS city_name, c.province_code, c.month,
       count(*) AS counties,
       sum(business_days) AS business_days, sum(exempt_days) AS exempt_days, sum(on_time_days) AS on_time_days,
       sum(valid_days) AS valid_days, sum(on_time_valid_days) AS on_time_valid_days, sum(late_days) AS late_days,
       round(sum(on_time_valid_days)::numeric / nullif(sum(business_days), 0), 4) AS on_time_valid_share,
       sum(alerts_late) AS alerts_late, sum(alerts_missing) AS alerts_missing, sum(alerts_rejected) AS alerts_rejected,
       sum(alerts_invalid) AS alerts_invalid, sum(alerts_volume_anomaly) AS alerts_volume_anomaly,
       sum(alerts_stale_source) AS alerts_stale_source, sum(alerts_chronic_late) AS alerts_chronic_late,
       sum(alerts_unresolved) AS alerts_unresolved, sum(alerts_total) AS alerts_total
FROM marts.compliance_county_month c
LEFT JOIN ref.division dv ON dv.code = c.city_code
GROUP BY c.city_code, dv.name, c.province_code, c.month;

CREATE VIEW marts.compliance_province_month WITH (security_invoker = true) AS
SELECT c.province_code, dv.name AS province_name, c.month,
       sum(counties) AS counties,
       sum(business_days) AS business_days, sum(exempt_days) AS exempt_days, sum(on_time_days) AS on_time_days,
       sum(valid_days) AS valid_days, sum(on_time_valid_days) AS on_time_valid_days, sum(late_days) AS late_days,
       round(sum(on_time_valid_days)::numeric / nullif(sum(business_days), 0), 4) AS on_time_valid_share,
       sum(alerts_late) AS alerts_late, sum(alerts_missing) AS alerts_missing, sum(alerts_rejected) AS alerts_rejected,
       sum(alerts_invalid) AS alerts_invalid, sum(alerts_volume_anomaly) AS alerts_volume_anomaly,
       sum(alerts_stale_source) AS alerts_stale_source, sum(alerts_chronic_late) AS alerts_chronic_late,
       sum(alerts_unresolved) AS alerts_unresolved, sum(alerts_total) AS alerts_total
FROM marts.compliance_city_month c
LEFT JOIN ref.division dv ON dv.code = c.province_code
GROUP BY c.province_code, dv.name, c.month;

COMMENT ON TABLE ops.alert IS 'Alerts on county submissions and on the pipeline (supervision.alerting, docs/alerting.md)';
COMMENT ON TABLE ops.submission_exception IS 'Deadline extensions and exemptions: audit trail, revoke instead of delete';
COMMENT ON TABLE ops.submission_verdict IS 'The submission monitor''s judgement per county, record type and business date';
