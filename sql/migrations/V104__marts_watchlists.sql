-- Watchlists (预警, issue 5): what is overdue as of marts.refresh_state.as_of_date, one view per kind and their
-- union marts.watchlist. Each row names the agency and how overdue it is. See docs/supervisor-queries.md.

-- The few open items among the millions of facts: partial indexes the watchlists read.
CREATE INDEX fact_complaint_open_idx ON marts.fact_complaint (county_code) WHERE handled_date IS NULL;
CREATE INDEX fact_enforcement_case_unpublicized_idx ON marts.fact_enforcement_case (county_code)
    WHERE publicized_date IS NULL AND decided_date IS NOT NULL;
CREATE INDEX fact_enforcement_case_major_idx ON marts.fact_enforcement_case (county_code) WHERE is_major;
CREATE INDEX fact_reconsideration_case_open_idx ON marts.fact_reconsideration_case (county_code)
    WHERE decided_date IS NULL OR outcome = 'pending';

CREATE VIEW marts.watch_complaint_overdue WITH (security_invoker = true) AS
SELECT c.county_code, c.county_name, c.township_key AS township_code, c.township_name, c.city_code, c.province_code,
       c.record_id, c.target_agency_code AS agency_code, c.target_agency_name AS agency_name, c.channel, c.result,
       c.received_date, c.due_date, r.as_of_date - c.due_date AS days_overdue, r.as_of_date
FROM marts.complaint_detail c CROSS JOIN marts.refresh_state r
WHERE c.handled_date IS NULL AND NOT c.withdrawn_unhandled AND c.due_date < r.as_of_date;
COMMENT ON VIEW marts.watch_complaint_overdue IS '投诉举报超期未办结: complaints still open more than 60 days after receipt';

CREATE VIEW marts.watch_reconsideration_overdue WITH (security_invoker = true) AS
SELECT c.county_code, c.county_name, c.city_code, c.province_code, c.record_id, c.case_number,
       c.respondent_agency_code AS agency_code, c.respondent_agency_name AS agency_name, c.procedure, c.extended,
       c.received_date, c.accepted_date, c.deadline_days, c.deadline_date,
       r.as_of_date - c.deadline_date AS days_overdue, r.as_of_date
FROM marts.reconsideration_case_detail c CROSS JOIN marts.refresh_state r
WHERE (c.decided_date IS NULL OR c.outcome = 'pending') AND c.deadline_date < r.as_of_date;
COMMENT ON VIEW marts.watch_reconsideration_overdue IS '行政复议超期未决: cases not decided by their deadline';

CREATE VIEW marts.watch_publicity_overdue WITH (security_invoker = true) AS
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

CREATE VIEW marts.watch_major_without_review WITH (security_invoker = true) AS
SELECT v.county_code, dv.county_name, v.township_key AS township_code, dv.township_name, dv.city_code,
       dv.province_code, v.record_id, v.case_number, v.agency_code, v.agency_name, v.action_type, v.decided_date,
       'quarantine'::text AS reported_as, v.business_date, v.source_file,
       r.as_of_date - v.decided_date AS days_overdue, r.as_of_date
FROM marts.fact_legal_review_violation v
LEFT JOIN marts.dim_division dv ON dv.division_code = v.township_key
CROSS JOIN marts.refresh_state r
UNION ALL
SELECT e.county_code, e.county_name, e.township_key, e.township_name, e.city_code, e.province_code, e.record_id,
       e.case_number, e.agency_code, e.agency_name, e.action_type, e.decided_date, 'warehouse', NULL, NULL,
       r.as_of_date - e.decided_date, r.as_of_date
FROM marts.enforcement_case_detail e CROSS JOIN marts.refresh_state r
WHERE e.is_major AND e.decided_date IS NOT NULL AND e.status <> 'withdrawn' AND NOT e.legal_review_done
  AND NOT e.legal_review_violation_reported;
COMMENT ON VIEW marts.watch_major_without_review IS
    '重大执法决定未经法制审核: decided major decisions without legal review; days_overdue counts from the decision';

CREATE VIEW marts.watch_suggestion_unanswered WITH (security_invoker = true) AS
SELECT l.county_code, l.county_name, l.city_code, l.province_code, l.record_id, l.court_case_number,
       l.defendant_agency_code AS agency_code, l.defendant_agency_name AS agency_name, l.suggestion_from,
       l.suggestion_due_date, r.as_of_date - l.suggestion_due_date AS days_overdue, r.as_of_date
FROM marts.litigation_case_detail l CROSS JOIN marts.refresh_state r
WHERE l.judicial_suggestion AND l.suggestion_replied_date IS NULL AND l.suggestion_due_date < r.as_of_date;
COMMENT ON VIEW marts.watch_suggestion_unanswered IS '司法建议超期未回复: judicial suggestions unanswered 60 days on';

CREATE VIEW marts.watchlist WITH (security_invoker = true) AS
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

SELECT marts.expose_view(v) FROM unnest(ARRAY['marts.watch_complaint_overdue', 'marts.watch_reconsideration_overdue',
    'marts.watch_publicity_overdue', 'marts.watch_major_without_review', 'marts.watch_suggestion_unanswered',
    'marts.watchlist']::regclass[]) v;
