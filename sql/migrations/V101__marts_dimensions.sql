-- Dimensions of the supervisor marts (issue 5): date (PRC working days), division (four levels), agency
-- (USCC, name history), and the refresh state. Filled by supervision.marts.refresh; see docs/data-dictionary.md.

CREATE TABLE marts.dim_date (
    date                    date PRIMARY KEY,
    year                    smallint NOT NULL,
    quarter                 smallint NOT NULL,
    month                   smallint NOT NULL,
    day                     smallint NOT NULL,
    iso_weekday             smallint NOT NULL,
    is_weekend              boolean NOT NULL,
    is_working_day          boolean NOT NULL,
    is_holiday              boolean NOT NULL,
    holiday_name            text,
    is_adjusted_working_day boolean NOT NULL,
    working_day_seq         int NOT NULL,
    next_working_day        date,
    month_start             date NOT NULL,
    year_start              date NOT NULL,
    source                  text NOT NULL CHECK (source IN ('chinese_calendar', 'override', 'weekday_fallback'))
);
CREATE UNIQUE INDEX dim_date_working_seq_uq ON marts.dim_date (working_day_seq) WHERE is_working_day;
COMMENT ON TABLE marts.dim_date IS '日期维度: PRC calendar with working days (法定节假日 and 调休), from chinese-calendar and overrides';
COMMENT ON COLUMN marts.dim_date.is_working_day IS '工作日: Monday-Friday minus statutory holidays plus adjusted working weekends';
COMMENT ON COLUMN marts.dim_date.is_holiday IS '法定节假日 rest day (ordinary weekends are not holidays)';
COMMENT ON COLUMN marts.dim_date.holiday_name IS '节日名称: the holiday, or for an adjusted working day the holiday it makes up for';
COMMENT ON COLUMN marts.dim_date.is_adjusted_working_day IS '调休上班: a Saturday or Sunday worked in lieu';
COMMENT ON COLUMN marts.dim_date.working_day_seq IS 'Working days from 2000-01-01 up to and including this date; N working days after D = the working day numbered seq(D) + N';
COMMENT ON COLUMN marts.dim_date.next_working_day IS 'This date if a working day, else the first working day after it (deadline roll-over)';
COMMENT ON COLUMN marts.dim_date.source IS 'chinese_calendar | override (config) | weekday_fallback (year without official data: Monday-Friday)';
GRANT SELECT ON marts.dim_date TO supervision_supervisor, supervision_pipeline;

CREATE TABLE marts.dim_division (
    division_code text PRIMARY KEY,
    level         text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    name          text NOT NULL,
    full_name     text NOT NULL,
    parent_code   text,
    township_code text,
    township_name text,
    county_code   text,
    county_name   text,
    city_code     text,
    city_name     text,
    province_code text NOT NULL,
    province_name text,
    is_unassigned boolean NOT NULL DEFAULT false,
    edition       text NOT NULL
);
CREATE INDEX dim_division_county_idx ON marts.dim_division (county_code);
CREATE INDEX dim_division_city_idx ON marts.dim_division (city_code);
COMMENT ON TABLE marts.dim_division IS
    '行政区划维度: every province, city, county and township with its whole hierarchy, plus one <county>999 row per '
    'county for records that name no township (未指定乡镇)';
COMMENT ON COLUMN marts.dim_division.is_unassigned IS 'true for the <county>999 bucket of records without a township code';
SELECT marts.protect_by_division_code('marts.dim_division', 'division_code');

CREATE TABLE marts.dim_agency (
    county_code          char(6) NOT NULL,
    agency_code          char(18) NOT NULL,
    agency_name          text,
    registered_division  text NOT NULL,
    first_seen           timestamptz NOT NULL,
    last_seen            timestamptz NOT NULL,
    names                int NOT NULL,
    enforcement_cases    bigint NOT NULL DEFAULT 0,
    reconsideration_cases bigint NOT NULL DEFAULT 0,
    litigation_cases     bigint NOT NULL DEFAULT 0,
    complaints           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, agency_code)
);
COMMENT ON TABLE marts.dim_agency IS
    '执法主体维度: one row per agency (统一社会信用代码) and reporting county, with its current name';
COMMENT ON COLUMN marts.dim_agency.agency_name IS '名称: the name of the most recent report (NULL if only complaints named it)';
COMMENT ON COLUMN marts.dim_agency.registered_division IS '登记管理机关行政区划码: characters 3-8 of the USCC';
SELECT marts.protect_by_division('marts.dim_agency', 'county_code');

CREATE TABLE marts.dim_agency_name (
    county_code char(6) NOT NULL,
    agency_code char(18) NOT NULL,
    agency_name text NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    last_seen   timestamptz NOT NULL,
    is_current  boolean NOT NULL,
    PRIMARY KEY (county_code, agency_code, agency_name)
);
COMMENT ON TABLE marts.dim_agency_name IS
    '执法主体名称历史: every name an agency was reported under; valid_from = first report, valid_to = first report of the next name';
SELECT marts.protect_by_division('marts.dim_agency_name', 'county_code');

-- What the marts are as of: one row, readable by everyone (no division data).
CREATE TABLE marts.refresh_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    as_of_date   date NOT NULL,
    refreshed_at timestamptz,
    mode         text
);
INSERT INTO marts.refresh_state (as_of_date) VALUES ((now() AT TIME ZONE 'Asia/Shanghai')::date);
COMMENT ON TABLE marts.refresh_state IS
    'As-of date of the marts (deadlines before it have passed) and when they were last refreshed';
GRANT SELECT ON marts.refresh_state TO supervision_supervisor, supervision_pipeline;

-- The refresh log (pipeline only): watermark for incremental runs and fingerprints that force a full one.
CREATE TABLE ops.marts_refresh (
    refresh_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('full', 'incremental')),
    reason               text,
    as_of_date           date NOT NULL,
    since                timestamptz,
    watermark            timestamptz NOT NULL,
    counties             int NOT NULL,
    facts_changed        bigint NOT NULL,
    history_added        bigint NOT NULL,
    kpi_rows             bigint NOT NULL,
    seconds              numeric(10, 3) NOT NULL,
    pii_key_fingerprint  text NOT NULL,
    calendar_fingerprint text NOT NULL,
    division_edition     text,
    steps                jsonb NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE ops.marts_refresh IS 'One row per refresh of the supervisor marts (supervision.marts.refresh)';

-- Tolerant casts for values read from ops.quarantine.raw_row (text as received).
CREATE FUNCTION marts.try_date(v text) RETURNS date LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN nullif(btrim(v), '')::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE FUNCTION marts.try_timestamptz(v text) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN nullif(btrim(v), '')::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
