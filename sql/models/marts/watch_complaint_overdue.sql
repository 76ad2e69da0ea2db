-- marts.watch_complaint_overdue: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watch_complaint_overdue WITH (security_invoker = true) AS
SELECT c.county_code, c.county_name, c.township_key AS township_code, c.township_name, c.city_code, c.province_code,
       c.record_id, c.target_agency_code AS agency_code, c.target_agency_name AS agency_name, c.channel, c.result,
       c.received_date, c.due_date, r.as_of_date - c.due_date AS days_overdue, r.as_of_date
FROM marts.complaint_detail c CROSS JOIN marts.refresh_state r
WHERE c.handled_date IS NULL AND NOT c.withdrawn_unhandled AND c.due_date < r.as_of_date;
COMMENT ON VIEW marts.watch_complaint_overdue IS '投诉举报超期未办结: complaints still open more than 60 days after receipt';
SELECT marts.expose_view('marts.watch_complaint_overdue');
