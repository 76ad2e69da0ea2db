-- Two provinces' registries on one deployment (issue 17): a county-wide alert (no county: pipeline_late, strays)
-- belongs to the registry whose monitor judged it (details.registry). One unresolved alert per county, type, date,
-- kind and registry, so each registry's nightly lateness of a date is its own alert (untagged ones: registry '').
DROP INDEX ops.alert_unresolved_uq;
CREATE UNIQUE INDEX alert_unresolved_uq ON ops.alert
    (county_code, record_type, business_date, kind, (coalesce(details->>'registry', '')))
    NULLS NOT DISTINCT WHERE state <> 'resolved';
