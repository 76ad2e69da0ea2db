-- marts.watch_suggestion_unanswered: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watch_suggestion_unanswered WITH (security_invoker = true) AS
SELECT l.county_code, l.county_name, l.city_code, l.province_code, l.record_id, l.court_case_number,
       l.defendant_agency_code AS agency_code, l.defendant_agency_name AS agency_name, l.suggestion_from,
       l.suggestion_due_date, r.as_of_date - l.suggestion_due_date AS days_overdue, r.as_of_date
FROM marts.litigation_case_detail l CROSS JOIN marts.refresh_state r
WHERE l.judicial_suggestion AND l.suggestion_replied_date IS NULL AND l.suggestion_due_date < r.as_of_date;
COMMENT ON VIEW marts.watch_suggestion_unanswered IS '司法建议超期未回复: judicial suggestions unanswered 60 days on';
SELECT marts.expose_view('marts.watch_suggestion_unanswered');
