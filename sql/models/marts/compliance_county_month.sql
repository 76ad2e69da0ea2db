-- marts.compliance_county_month: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/alerting/test_scorecards.py. Until this file: V420__drop_folder_trust.sql.
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
SELECT marts.expose_view('marts.compliance_county_month');
