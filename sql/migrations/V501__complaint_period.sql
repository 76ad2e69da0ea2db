-- 投诉举报按期办结率 by the period a supervisor expects (domain.md, issue 16): a complaint belongs to the period of
-- its handled_date once handled (on time or not), or, while still open, to the period in which its 60 days ran
-- out (then it counts as overdue, never on time). Before, every complaint counted on its due date, so November's
-- handled complaints appeared under January. Same columns as V103: dependent views are unchanged.
CREATE OR REPLACE VIEW marts.kpi_contribution_complaint WITH (security_invoker = true) AS
SELECT k.kpi, 'complaints'::text AS record_type, c.county_code, c.township_key AS township_code, c.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.complaint_derived c
CROSS JOIN marts.refresh_state r
CROSS JOIN LATERAL (VALUES
    ('complaints_received', c.received_date, 1::numeric, NULL::numeric),
    ('complaints_handled', c.handled_date, 1, NULL),
    ('complaint_on_time_rate',
     CASE WHEN c.withdrawn_unhandled THEN NULL
          WHEN c.handled_date IS NOT NULL THEN c.handled_date
          WHEN c.due_date < r.as_of_date THEN c.due_date END,
     coalesce(c.handled_on_time, false)::int, 1)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;

-- Re-base the materialized figures of this one measure now (the refresh keeps them from here on), each level the
-- sum of the one below, as supervision.marts.refresh._load_kpis builds them.
DELETE FROM marts.kpi_value WHERE kpi = 'complaint_on_time_rate';
CREATE TEMP TABLE _complaint_day ON COMMIT DROP AS
SELECT county_code::text AS county_code, township_code, period_date AS day, sum(numerator) AS numerator,
       sum(denominator) AS denominator, count(*) AS records
FROM marts.kpi_contribution_complaint WHERE kpi = 'complaint_on_time_rate'
GROUP BY 1, 2, 3;
INSERT INTO marts.kpi_value (division_code, period_type, period_start, kpi, level, county_code, numerator,
                             denominator, records)
SELECT code, p.period_type, p.start, 'complaint_on_time_rate', lvl, county_code, sum(numerator), sum(denominator),
       sum(records)
FROM (SELECT township_code AS code, 'township' AS lvl, * FROM _complaint_day WHERE township_code IS NOT NULL
      UNION ALL
      SELECT county_code, 'county', * FROM _complaint_day) d
CROSS JOIN LATERAL (VALUES ('day', d.day), ('month', date_trunc('month', d.day)::date),
                           ('year', date_trunc('year', d.day)::date)) p(period_type, start)
GROUP BY code, p.period_type, p.start, lvl, county_code;
INSERT INTO marts.kpi_value (division_code, period_type, period_start, kpi, level, county_code, numerator,
                             denominator, records)
SELECT dv.city_code, v.period_type, v.period_start, v.kpi, 'city', NULL, sum(v.numerator), sum(v.denominator),
       sum(v.records)
FROM marts.kpi_value v JOIN marts.dim_division dv ON dv.division_code = v.division_code
WHERE v.kpi = 'complaint_on_time_rate' AND v.level = 'county' AND dv.city_code IS NOT NULL
GROUP BY 1, 2, 3, 4;
INSERT INTO marts.kpi_value (division_code, period_type, period_start, kpi, level, county_code, numerator,
                             denominator, records)
SELECT dv.province_code, v.period_type, v.period_start, v.kpi, 'province', NULL, sum(v.numerator),
       sum(v.denominator), sum(v.records)
FROM marts.kpi_value v JOIN marts.dim_division dv ON dv.division_code = v.division_code
WHERE v.kpi = 'complaint_on_time_rate' AND v.level = 'city' AND dv.province_code IS NOT NULL
GROUP BY 1, 2, 3, 4;
