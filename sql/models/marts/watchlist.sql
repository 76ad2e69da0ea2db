-- marts.watchlist: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watchlist WITH (security_invoker = true) AS
SELECT 'complaint_overdue'::text AS kind, '投诉举报超期未办结'::text AS kind_zh, 'complaints'::text AS record_type,
       county_code::text, county_name, township_code, city_code, province_code, record_id::text, NULL::text AS case_number,
       agency_code::text, agency_name::text, received_date AS since_date, due_date, days_overdue, as_of_date
FROM marts.watch_complaint_overdue
UNION ALL
SELECT 'reconsideration_overdue', '行政复议超期未决', 'reconsideration_cases', county_code, county_name, NULL,
       city_code, province_code, record_id, case_number, agency_code, agency_name,
       coalesce(accepted_date, received_date), deadline_date, days_overdue, as_of_date
FROM marts.watch_reconsideration_overdue
UNION ALL
SELECT 'publicity_overdue', '许可处罚决定超期未公示', 'enforcement_cases', county_code, county_name, township_code,
       city_code, province_code, record_id, case_number, agency_code, agency_name, decided_date, publicity_due_date,
       days_overdue, as_of_date
FROM marts.watch_publicity_overdue
UNION ALL
SELECT 'major_without_review', '重大执法决定未经法制审核', 'enforcement_cases', county_code, county_name, township_code,
       city_code, province_code, record_id, case_number, agency_code, agency_name, decided_date, decided_date,
       days_overdue, as_of_date
FROM marts.watch_major_without_review
UNION ALL
SELECT 'suggestion_unanswered', '司法建议超期未回复', 'litigation_cases', county_code, county_name, NULL, city_code,
       province_code, record_id, court_case_number, agency_code, agency_name, suggestion_from, suggestion_due_date,
       days_overdue, as_of_date
FROM marts.watch_suggestion_unanswered;
COMMENT ON VIEW marts.watchlist IS '预警清单: every watchlist in one list (kind, division, record, agency, due date, days overdue)';
SELECT marts.expose_view('marts.watchlist');
