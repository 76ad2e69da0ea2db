-- The supervisors' portal (issue 16): an authenticator role and the plans' targets.
--
-- supervision_portal is PostgREST's authenticator: a LOGIN role with NOINHERIT and no rights of its own, granted
-- every supervisor login. The portal connects as it and runs each request in a transaction that starts with
-- SET LOCAL ROLE <the signed-in supervisor>, so the row-level security of V100 decides what the page shows.
-- (marts.visible_codes accepts the scope of current_user because session_user, the authenticator, is a member.)
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supervision_portal') THEN
        BEGIN
            CREATE ROLE supervision_portal LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                NOBYPASSRLS;
            COMMENT ON ROLE supervision_portal IS
                'Supervisors'' portal (authenticator): no rights of its own; SET ROLE to a supervisor login per request';
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database on this server created it at the same moment
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO supervision_portal', current_database());
END
$roles$;

-- Lets the portal act as a supervisor login (SET ROLE only: the authenticator is NOINHERIT).
CREATE FUNCTION marts.grant_portal(p_login name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role('supervision_portal', p_login, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO supervision_portal', p_login);
    END IF;
END $$;
REVOKE ALL ON FUNCTION marts.grant_portal(name) FROM PUBLIC;

-- The same function as V100, plus the grant to the portal.
CREATE OR REPLACE FUNCTION marts.create_supervisor(p_login name, p_division text, p_password text DEFAULT NULL,
                                                   p_person text DEFAULT NULL)
RETURNS TABLE (login name, division_code text, level text, division_name text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_code text := btrim(p_division);
    v_found text;
    v_level text;
    v_name text;
BEGIN
    SELECT x.code, x.level, x.name INTO v_found, v_level, v_name FROM ref.division x WHERE x.code = v_code;
    IF v_found IS NULL AND v_code ~ '^\d{2}0000$' THEN  -- 410000: the province written as six digits
        SELECT x.code, x.level, x.name INTO v_found, v_level, v_name FROM ref.division x
        WHERE x.code = left(v_code, 2) AND x.level = 'province';
    END IF;
    IF v_found IS NULL AND v_code ~ '^\d{4}00$' THEN  -- 411000: the city written as six digits
        SELECT x.code, x.level, x.name INTO v_found, v_level, v_name FROM ref.division x
        WHERE x.code = left(v_code, 4) AND x.level = 'city';
    END IF;
    IF v_found IS NULL THEN
        RAISE EXCEPTION 'division % is not in ref.division: give a province (41), city (4110), county (411002) or '
                        'township (411002001) code', p_division;
    END IF;
    IF p_login !~ '^[a-z][a-z0-9_]{2,62}$' THEN
        RAISE EXCEPTION 'login % must be 3-63 characters: lower-case letters, digits and _, starting with a letter',
                        p_login;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = p_login) THEN
        RAISE EXCEPTION 'role % already exists', p_login;
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                   'IN ROLE %I', p_login, 'supervision_supervisor_' || v_level);
    IF p_password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', p_login, p_password);
    END IF;
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', p_login);
    EXECUTE format('ALTER ROLE %I SET search_path = marts', p_login);
    EXECUTE format('COMMENT ON ROLE %I IS %L', p_login,
                   format('supervisor of %s %s (%s) in database %s', v_level, v_found, v_name, current_database()));
    INSERT INTO marts.supervisor_scope (role_name, division_code, level, person)
    VALUES (p_login, v_found, v_level, p_person);
    PERFORM marts.grant_portal(p_login);
    RETURN QUERY SELECT p_login, v_found, v_level, v_name;
END $$;
REVOKE ALL ON FUNCTION marts.create_supervisor(name, text, text, text) FROM PUBLIC;

-- Logins created before this migration.
DO $backfill$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT s.role_name FROM marts.supervisor_scope s JOIN pg_roles p ON p.rolname = s.role_name LOOP
        BEGIN
            PERFORM marts.grant_portal(r.role_name);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'supervisor % not granted to supervision_portal: run GRANT % TO supervision_portal as an '
                         'administrator', r.role_name, r.role_name;
        END;
    END LOOP;
END
$backfill$;

-- The plans' targets (include/supervision/targets.yaml, loaded by supervision.targets). scope_code '' applies
-- everywhere; a province or city code overrides it for that area (the most specific one wins).
CREATE TABLE marts.kpi_target (
    kpi          text NOT NULL,
    scope_code   text NOT NULL DEFAULT '',
    comparator   text NOT NULL CHECK (comparator IN ('>=', '<=')),
    target       numeric NOT NULL,
    target_label text NOT NULL,
    source       text NOT NULL,
    PRIMARY KEY (kpi, scope_code)
);
COMMENT ON TABLE marts.kpi_target IS
    '指标目标: the plans'' target of a measure (comparator and value) and its source; scope_code = a province or '
    'city overriding the default ('''')';
GRANT SELECT ON marts.kpi_target TO supervision_supervisor, supervision_pipeline;  -- no division data

CREATE VIEW marts.kpi_vs_target WITH (security_invoker = true) AS
SELECT k.*, t.comparator, t.target, t.target_label, t.source AS target_source,
       CASE WHEN t.target IS NULL OR k.denominator IS NULL OR k.denominator = 0 THEN NULL
            WHEN t.comparator = '>=' THEN k.numerator >= t.target * k.denominator
            ELSE k.numerator <= t.target * k.denominator END AS target_met
FROM marts.kpi k
LEFT JOIN LATERAL (
    SELECT x.comparator, x.target, x.target_label, x.source FROM marts.kpi_target x
    WHERE x.kpi = k.kpi AND x.scope_code IN ('', k.province_code, k.city_code)
    ORDER BY length(x.scope_code) DESC LIMIT 1) t ON true;
COMMENT ON VIEW marts.kpi_vs_target IS
    '指标与目标: marts.kpi with the applicable target (the city''s, else the province''s, else the default) and '
    'target_met (达标) compared on numerator and denominator; NULL without a target or without cases';
SELECT marts.expose_view('marts.kpi_vs_target');
