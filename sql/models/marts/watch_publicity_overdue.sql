-- marts.watch_publicity_overdue: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watch_publicity_overdue WITH (security_invoker = true) AS
SELECT e.county_code, e.county_name, e.township_key AS township_code, e.township_name, e.city_code, e.province_code,
       e.record_id, e.case_number, e.agency_code, e.agency_name, e.action_type, e.decided_date,
       e.publicity_limit_working_days, e.publicity_due_date,
       r.as_of_date - e.publicity_due_date AS days_overdue,
       y.working_day_seq - d.working_day_seq AS working_days_overdue, r.as_of_date
FROM marts.enforcement_case_detail e
CROSS JOIN marts.refresh_state r
JOIN marts.dim_date d ON d.date = e.publicity_due_date
LEFT JOIN marts.dim_date y ON y.date = r.as_of_date - 1
WHERE e.action_type IN ('licensing', 'penalty') AND e.publicized_date IS NULL AND e.decided_date IS NOT NULL
  AND e.publicity_due_date < r.as_of_date;
COMMENT ON VIEW marts.watch_publicity_overdue IS
    '行政许可、行政处罚决定超期未公示: not publicized within 7 working days of the decision';
SELECT marts.expose_view('marts.watch_publicity_overdue');
