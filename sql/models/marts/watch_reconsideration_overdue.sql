-- marts.watch_reconsideration_overdue: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watch_reconsideration_overdue WITH (security_invoker = true) AS
SELECT c.county_code, c.county_name, c.city_code, c.province_code, c.record_id, c.case_number,
       c.respondent_agency_code AS agency_code, c.respondent_agency_name AS agency_name, c.procedure, c.extended,
       c.received_date, c.accepted_date, c.deadline_days, c.deadline_date,
       r.as_of_date - c.deadline_date AS days_overdue, r.as_of_date
FROM marts.reconsideration_case_detail c CROSS JOIN marts.refresh_state r
WHERE (c.decided_date IS NULL OR c.outcome = 'pending') AND c.deadline_date < r.as_of_date;
COMMENT ON VIEW marts.watch_reconsideration_overdue IS '行政复议超期未决: cases not decided by their deadline';
SELECT marts.expose_view('marts.watch_reconsideration_overdue');
