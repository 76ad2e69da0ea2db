-- PRC division hierarchy (GB/T 2260 codes, NBS township codes); loaded by supervision.warehouse.migrate.
CREATE TABLE ref.division (
    code          text PRIMARY KEY,
    name          text NOT NULL,
    level         text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    parent_code   text,
    province_code text NOT NULL,
    city_code     text,
    county_code   text,
    edition       text NOT NULL
);
CREATE INDEX division_parent_idx ON ref.division (parent_code);
CREATE INDEX division_county_idx ON ref.division (county_code) WHERE level = 'township';
