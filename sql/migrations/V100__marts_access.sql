-- Supervisor access (issue 5): roles, division scopes and the row-level security helpers every
-- supervisor-facing table uses. Written for supervision.marts; see docs/security.md.
--
-- Roles (NOLOGIN groups; cluster-wide, so created only when absent):
--   supervision_supervisor             every supervisor: USAGE on marts, SELECT on what is exposed; read-only
--   supervision_supervisor_<level>     province | city | county | township; member of supervision_supervisor
--   supervision_pipeline               pipeline-side logins that are not the owner: see every row
-- A supervisor login (LOGIN, created by marts.create_supervisor / `supervision supervisor create`) is a member
-- of its level's group and has one row in marts.supervisor_scope naming its division.
--
-- Row-level security: marts.protect_by_division(table, county_column [, township_column]) and
-- marts.protect_by_division_code(table, division_column) enable RLS on any table with such a column and add
-- the policies; views over protected tables must be WITH (security_invoker = true) and are exposed with
-- marts.expose_view(view), which refuses any other view.

DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('supervision_supervisor', NULL,
         'Supervisors of the supervision warehouse: read-only, rows of their own division only (row-level security)'),
        ('supervision_supervisor_province', 'supervision_supervisor', 'Province-level supervisors (省级执法监督)'),
        ('supervision_supervisor_city', 'supervision_supervisor', 'City-level supervisors (市级执法监督)'),
        ('supervision_supervisor_county', 'supervision_supervisor', 'County-level supervisors (县级执法监督)'),
        ('supervision_supervisor_township', 'supervision_supervisor', 'Township-level supervisors (乡镇/街道)'),
        ('supervision_pipeline', NULL, 'Pipeline logins other than the owner: every row of protected tables'))
        AS v(name, parent, note)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', r.name);
                EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, r.note);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database on this server created it at the same moment
            END;
        END IF;
        IF r.parent IS NOT NULL AND NOT pg_has_role(r.name, r.parent, 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', r.parent, r.name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO supervision_supervisor, supervision_pipeline', current_database());
END
$roles$;

GRANT USAGE ON SCHEMA marts TO supervision_supervisor, supervision_pipeline;

-- Which division each supervisor login covers. Pipeline only: supervisors ask marts.my_scope().
CREATE TABLE marts.supervisor_scope (
    role_name     name PRIMARY KEY,
    division_code text NOT NULL,
    level         text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    person        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE marts.supervisor_scope IS
    'Supervisor logins and the division each may see (a province, city, county or township code of ref.division)';
REVOKE ALL ON marts.supervisor_scope FROM PUBLIC;

-- The division codes a role may see. p_kind:
--   county   county codes whose rows are wholly visible (scopes at county level or above)
--   township township codes visible to township-level scopes (rows carrying a township code)
--   division every code at or below the scope (province, cities, counties, townships, and each county's
--            '<county>999' bucket of rows without a township): for tables keyed on a division of any level
-- The caller must be (a member of) p_role, so nobody can read another login's scope. SECURITY DEFINER: the
-- scope table and ref.division stay unreadable to supervisors.
CREATE FUNCTION marts.visible_codes(p_kind text, p_role name DEFAULT current_user) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH scope AS (
        SELECT s.division_code, s.level
        FROM marts.supervisor_scope s JOIN pg_roles r ON r.rolname = s.role_name
        WHERE s.role_name = p_role AND pg_has_role(session_user, r.oid, 'MEMBER')
    )
    SELECT d.code
    FROM ref.division d JOIN scope s ON s.division_code IN (d.code, d.province_code, d.city_code, d.county_code)
    WHERE (p_kind = 'county' AND d.level = 'county' AND s.level <> 'township')
       OR (p_kind = 'township' AND d.level = 'township' AND s.level = 'township')
       OR p_kind = 'division'
    UNION ALL
    SELECT d.code || '999'
    FROM ref.division d JOIN scope s ON s.division_code IN (d.code, d.province_code, d.city_code)
    WHERE p_kind = 'division' AND d.level = 'county'
$$;
COMMENT ON FUNCTION marts.visible_codes(text, name) IS
    'Division codes the role may see (kind county | township | division); used by the row-level security policies';

CREATE FUNCTION marts.my_scope(p_role name DEFAULT current_user)
RETURNS TABLE (role_name name, division_code text, level text, division_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.role_name, s.division_code, s.level, d.name
    FROM marts.supervisor_scope s JOIN pg_roles r ON r.rolname = s.role_name
    LEFT JOIN ref.division d ON d.code = s.division_code
    WHERE s.role_name = p_role AND pg_has_role(session_user, r.oid, 'MEMBER')
$$;
COMMENT ON FUNCTION marts.my_scope(name) IS 'The division the calling supervisor login covers';

CREATE FUNCTION marts._require_column(tbl regclass, col text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION '% has no column %', tbl, col;
    END IF;
END $$;

CREATE FUNCTION marts._apply_area_policy(tbl regclass, area text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kind "char";
    nsp text;
BEGIN
    SELECT c.relkind, n.nspname INTO kind, nsp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table (relkind %): row-level security protects tables; build views on protected '
                        'tables WITH (security_invoker = true) and expose them with marts.expose_view', tbl, kind;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS supervisor_area ON %s', tbl);
    EXECUTE format('CREATE POLICY supervisor_area ON %s AS PERMISSIVE FOR SELECT TO supervision_supervisor USING (%s)',
                   tbl, area);
    EXECUTE format('DROP POLICY IF EXISTS pipeline_all ON %s', tbl);
    EXECUTE format('CREATE POLICY pipeline_all ON %s AS PERMISSIVE FOR ALL TO supervision_pipeline '
                   'USING (true) WITH CHECK (true)', tbl);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO supervision_supervisor, supervision_pipeline', nsp);
    EXECUTE format('GRANT SELECT ON %s TO supervision_supervisor, supervision_pipeline', tbl);
END $$;

-- The function other teams call on their own tables (e.g. the alerting scorecards' ops tables).
CREATE FUNCTION marts.protect_by_division(tbl regclass, county_column text, township_column text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    area text;
BEGIN
    PERFORM marts._require_column(tbl, county_column);
    area := format('(%I)::text IN (SELECT marts.visible_codes(''county'', current_user))', county_column);
    IF township_column IS NOT NULL THEN
        PERFORM marts._require_column(tbl, township_column);
        area := area || format(' OR (%I)::text IN (SELECT marts.visible_codes(''township'', current_user))',
                               township_column);
    END IF;
    PERFORM marts._apply_area_policy(tbl, area);
END $$;
COMMENT ON FUNCTION marts.protect_by_division(regclass, text, text) IS
    'Row-level security by division on any table with a county code column (and optionally a township code '
    'column): supervisors see the rows of their area only, supervision_pipeline every row; grants SELECT to both. '
    'See docs/security.md';

CREATE FUNCTION marts.protect_by_division_code(tbl regclass, division_column text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM marts._require_column(tbl, division_column);
    PERFORM marts._apply_area_policy(tbl,
        format('(%I)::text IN (SELECT marts.visible_codes(''division'', current_user))', division_column));
END $$;
COMMENT ON FUNCTION marts.protect_by_division_code(regclass, text) IS
    'Row-level security on a table keyed on a division code of any level (a province, city, county or township '
    'row): a supervisor sees the rows of its division and the divisions below it. See docs/security.md';

CREATE FUNCTION marts.expose_view(v regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kind "char";
    invoker boolean;
BEGIN
    SELECT c.relkind, coalesce((SELECT o.option_value::boolean FROM pg_options_to_table(c.reloptions) o
                                WHERE o.option_name = 'security_invoker'), false)
    INTO kind, invoker FROM pg_class c WHERE c.oid = v;
    IF kind <> 'v' THEN
        RAISE EXCEPTION '% is not a view: protect tables with marts.protect_by_division (materialized views cannot '
                        'have row-level security)', v;
    END IF;
    IF NOT invoker THEN
        RAISE EXCEPTION '% is not WITH (security_invoker = true): it would read its tables with its owner''s rights '
                        'and bypass row-level security', v;
    END IF;
    EXECUTE format('GRANT SELECT ON %s TO supervision_supervisor, supervision_pipeline', v);
END $$;
COMMENT ON FUNCTION marts.expose_view(regclass) IS
    'Grants supervisors SELECT on a view, provided it is WITH (security_invoker = true)';

-- Supervisor logins. The caller needs CREATEROLE (and, on PostgreSQL 16+, ADMIN on the level roles).
-- p_password: a SCRAM-SHA-256 verifier computed by the client (never the clear password), or NULL for
-- certificate / peer / trust authentication.
CREATE FUNCTION marts.create_supervisor(p_login name, p_division text, p_password text DEFAULT NULL,
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
    RETURN QUERY SELECT p_login, v_found, v_level, v_name;
END $$;
COMMENT ON FUNCTION marts.create_supervisor(name, text, text, text) IS
    'Creates a read-only supervisor login for a division (supervision supervisor create)';

CREATE FUNCTION marts.drop_supervisor(p_login name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM marts.supervisor_scope WHERE role_name = p_login) THEN
        RAISE EXCEPTION '% is not a supervisor login of this warehouse (marts.supervisor_scope)', p_login;
    END IF;
    DELETE FROM marts.supervisor_scope WHERE role_name = p_login;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = p_login) THEN
        EXECUTE format('DROP ROLE %I', p_login);
    END IF;
END $$;
COMMENT ON FUNCTION marts.drop_supervisor(name) IS 'Drops a supervisor login and its scope (supervision supervisor drop)';

REVOKE ALL ON FUNCTION marts.create_supervisor(name, text, text, text), marts.drop_supervisor(name),
    marts.protect_by_division(regclass, text, text), marts.protect_by_division_code(regclass, text),
    marts.expose_view(regclass), marts._apply_area_policy(regclass, text), marts._require_column(regclass, text)
    FROM PUBLIC;
