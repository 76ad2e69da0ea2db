-- marts.compliance_city_month: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/alerting/test_scorecards.py. Until this file: V201__alerting_supervisor_access.sql.
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
SELECT marts.expose_view('marts.compliance_city_month');
