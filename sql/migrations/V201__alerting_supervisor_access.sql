-- Supervisors read the submission scorecards of issue 6 (verdicts, alerts, granted exceptions) for their own
-- area. Runs after V100 (access helpers) and V200 (alerting tables, scorecard views):
--  * row-level security by county on the ops tables the scorecards read; the notification outbox and the alert
--    event history stay pipeline-only (they hold recipients' names and addresses);
--  * alerts about the pipeline as a whole (county_code NULL) are the engineers' and match no supervisor's area;
--  * the scorecard views read division names through marts.division_label (ref.division stays unreadable to
--    supervisors), and a city or province row is shown only to supervisors whose area holds all of it: a county
--    supervisor would otherwise see a "city" row summed over its one visible county.

CREATE FUNCTION marts.division_label(p_code text) RETURNS TABLE (name text, city_code text, province_code text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.name, d.city_code, d.province_code FROM ref.division d WHERE d.code = p_code
$$;
COMMENT ON FUNCTION marts.division_label(text) IS 'Name, city and province of a division code (public reference data)';

-- true for the pipeline, the owner and other roles without a supervisor scope; for a supervisor, true when the
-- division is its own or below it
CREATE FUNCTION marts.in_my_area(p_code text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT FROM marts.my_scope())
        OR p_code IN (SELECT marts.visible_codes('division'))
$$;
COMMENT ON FUNCTION marts.in_my_area(text) IS
    'Whether the calling role may see a whole division''s figures (always, for roles without a supervisor scope)';

SELECT marts.protect_by_division('ops.submission_verdict', 'county_code');
SELECT marts.protect_by_division('ops.alert', 'county_code');
SELECT marts.protect_by_division('ops.submission_exception', 'county_code');

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
LEFT JOIN LATERAL marts.division_label(k.county_code) dv ON true;

CREATE OR REPLACE VIEW marts.compliance_city_month WITH (security_invoker = true) AS
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
LEFT JOIN LATERAL marts.division_label(c.city_code) dv ON true
WHERE marts.in_my_area(c.city_code)
GROUP BY c.city_code, dv.name, c.province_code, c.month;

CREATE OR REPLACE VIEW marts.compliance_province_month WITH (security_invoker = true) AS
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
LEFT JOIN LATERAL marts.division_label(c.province_code) dv ON true
WHERE marts.in_my_area(c.province_code)
GROUP BY c.province_code, dv.name, c.month;

SELECT marts.expose_view('marts.submission_compliance_day');
SELECT marts.expose_view('marts.compliance_county_month');
SELECT marts.expose_view('marts.compliance_city_month');
SELECT marts.expose_view('marts.compliance_province_month');
