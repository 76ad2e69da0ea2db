-- Warehouse schemas. ops may already exist: migrate.py creates ops.schema_migration before V001 runs.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA ref;
CREATE SCHEMA staging;
CREATE SCHEMA core;
CREATE SCHEMA marts;

COMMENT ON SCHEMA ref IS 'Reference data (division hierarchy, calendars)';
COMMENT ON SCHEMA staging IS 'Transient load tables';
COMMENT ON SCHEMA core IS 'Current and historical records, one table per record type of the contract';
COMMENT ON SCHEMA ops IS 'Pipeline operations: migrations, submission ledger, quarantine';
COMMENT ON SCHEMA marts IS 'Supervision measures and reports';
