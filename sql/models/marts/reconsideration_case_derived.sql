-- marts.reconsideration_case_derived: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_reconsideration.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.reconsideration_case_derived WITH (security_invoker = true) AS
SELECT f.*,
       dl.days AS deadline_days,
       coalesce(f.accepted_date, f.received_date) AS deadline_from,
       coalesce(dn.next_working_day, dl.nominal) AS deadline_date,
       (f.outcome <> 'pending' AND f.decided_date IS NOT NULL) AS is_decided,
       (f.decided_date <= coalesce(dn.next_working_day, dl.nominal)) AS decided_on_time,
       (f.outcome IN ('revoked', 'altered', 'confirmed_illegal', 'ordered_performance', 'confirmed_invalid'))
           AS is_corrected
FROM marts.fact_reconsideration_case f
CROSS JOIN LATERAL (
    SELECT x.days, coalesce(f.accepted_date, f.received_date) + x.days AS nominal
    FROM (SELECT CASE WHEN f.procedure = 'simplified' THEN 30 ELSE 60 END
                 + CASE WHEN f.extended THEN 30 ELSE 0 END AS days) x) dl
LEFT JOIN marts.dim_date dn ON dn.date = dl.nominal;
COMMENT ON VIEW marts.reconsideration_case_derived IS
    'Reconsideration cases with their deadline: accepted (else received) + 60 days (30 simplified, +30 extended), '
    'moved to the next working day when it falls on a rest day';
SELECT marts.expose_view('marts.reconsideration_case_derived');
