-- marts.submission_compliance_day: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/alerting/test_scorecards.py. Until this file: V200__alerting.sql.
CREATE OR REPLACE VIEW marts.submission_compliance_day WITH (security_invoker = true) AS
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
SELECT marts.expose_view('marts.submission_compliance_day');
