"""Supervisors log in and see their own area, everywhere, and nothing else; they cannot write; no personal data.

Logins are created for the province (41), Xuchang city (4110), 魏都区 (411002), its township 西大街道 (411002001),
建安区 (411003) and Zhengzhou city (4101); the world holds rows of 魏都区, 建安区 and 郑州市中原区.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from supervision.contract import RECORD_TYPES
from supervision.marts.access import list_supervisors

from .conftest import SCOPES
from .marts_support import ORG_ID, PERSON_ID, PERSON_NAME

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
DIVISION_COLUMNS = ("township_code", "division_code", "county_code", "city_code", "province_code")
# reference data, no area (kpi_target: the plans' public targets, scope_code names whose plan, not whose rows)
NO_DIVISION = {"marts.dim_date", "marts.kpi_definition", "marts.refresh_state", "marts.kpi_target", "marts.enum_label"}


def readable(conn) -> list[tuple[str, str]]:
    """(relation, relkind) of every table or view the connected role may SELECT from, outside the catalogs."""
    return conn.execute("""
        SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND has_table_privilege(c.oid, 'SELECT')
        ORDER BY 1""").fetchall()


def division_columns(conn, relation: str) -> list[str]:
    cols = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (relation,))]
    return [c for c in DIVISION_COLUMNS if c in cols]


def finest_codes(conn, relation: str) -> list[str]:
    """For each row: its finest division code (township, else the division, county, city, province)."""
    cols = division_columns(conn, relation)
    expr = sql.SQL("coalesce({})").format(sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c))
                                                              for c in cols))
    return [r[0] for r in conn.execute(sql.SQL("SELECT {} FROM {}").format(expr, sql.SQL(relation)))]


@pytest.fixture(scope="module")
def lineage(world) -> dict[str, set[str]]:
    """division code -> the code itself and its county, city and province codes."""
    return {r[0]: set(r) for r in world.execute(
        "SELECT division_code, county_code, city_code, province_code FROM marts.dim_division")}


@pytest.mark.parametrize("scope", ["province", "city", "county", "township", "other_county", "other_city"])
def test_every_readable_relation_shows_exactly_the_area(world, lineage, as_supervisor, scope):
    """Each supervisor sees, in every relation it can read, exactly the owner's rows of its area."""
    code = SCOPES[scope]
    conn = as_supervisor(scope)
    relations = readable(conn)
    names = {r for r, _ in relations}
    assert {"marts.kpi", "marts.watchlist", "marts.fact_enforcement_case", "marts.kpi_case"} <= names
    if scope != "township":  # submission scorecards are kept per county
        assert {"marts.compliance_county_month", "ops.alert", "ops.submission_verdict"} <= names
    assert "ops.alert_notification" not in names and "ops.alert_event" not in names
    seen_any = 0
    for relation, _ in relations:
        if relation in NO_DIVISION:
            assert not division_columns(conn, relation)
            continue
        assert division_columns(conn, relation), f"{relation} is readable but has no division column"
        mine = sorted(finest_codes(conn, relation))
        assert all(code in lineage[c] for c in mine), f"{relation}: rows outside {code} visible to {scope}"
        # rows without a division (alerts about the pipeline as a whole) are the engineers' only
        expected = sorted(c for c in finest_codes(world, relation) if c is not None and code in lineage[c])
        assert mine == expected, f"{relation}: {scope} supervisor does not see all of its area"
        seen_any += len(mine)
    assert seen_any > 0


def test_the_area_is_not_empty_and_outside_is(world, as_supervisor):
    def count(scope, relation):
        return as_supervisor(scope).execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(relation))).fetchone()[0]

    assert count("county", "marts.fact_enforcement_case") == 5
    assert count("township", "marts.fact_enforcement_case") == 2  # E1, E2 in 西大街道
    assert count("township", "marts.fact_reconsideration_case") == 0  # no township on these records
    assert count("city", "marts.fact_enforcement_case") == 6
    assert count("province", "marts.fact_enforcement_case") == 7
    assert count("other_city", "marts.fact_enforcement_case") == 1  # Zhengzhou's E9 only
    county = as_supervisor("county")
    assert county.execute("SELECT count(*) FROM marts.kpi WHERE division_code IN ('4110', '41', '411003')"
                          ).fetchone()[0] == 0
    assert county.execute("SELECT DISTINCT level FROM marts.kpi ORDER BY 1").fetchall() == [("county",), ("township",)]


def test_supervisor_sees_its_own_scope_and_nobody_elses(world, as_supervisor, supervisors):
    conn = as_supervisor("county")
    login = supervisors["county"][0]
    assert conn.execute("SELECT role_name, division_code, level, division_name FROM marts.my_scope()").fetchall() == [
        (login, "411002", "county", "魏都区")]
    other = supervisors["province"][0]
    assert conn.execute("SELECT count(*) FROM marts.visible_codes('division', %s)", (other,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM marts.my_scope(%s)", (other,)).fetchone()[0] == 0
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM marts.supervisor_scope")


@pytest.mark.parametrize("relation", ["core.enforcement_case", "core.complaint_history", "ops.quarantine",
                                      "ops.submission", "ref.division", "marts.supervisor_scope",
                                      "ops.marts_refresh"])
def test_raw_data_is_out_of_reach(as_supervisor, relation):
    conn = as_supervisor("province")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.SQL(relation)))


WRITES = [
    "INSERT INTO marts.fact_enforcement_case SELECT * FROM marts.fact_enforcement_case LIMIT 1",
    "UPDATE marts.kpi_value SET numerator = 0",
    "DELETE FROM marts.fact_complaint",
    "TRUNCATE marts.kpi_value",
    "UPDATE marts.refresh_state SET as_of_date = '2000-01-01'",
    "INSERT INTO marts.dim_date (date) VALUES ('1999-01-01')",
    "CREATE TABLE marts.mine (x int)",
    "CREATE TABLE public.mine (x int)",
    "CREATE VIEW marts.mine AS SELECT 1",
    "SELECT marts.create_supervisor('t_sneaky', '41')",
    "SELECT marts.protect_by_division('marts.kpi_value', 'division_code')",
    "ALTER TABLE marts.kpi_value DISABLE ROW LEVEL SECURITY",
]


@pytest.mark.parametrize("statement", WRITES)
@pytest.mark.parametrize("read_only", [True, False], ids=["default", "read_only_off"])
def test_writes_fail(as_supervisor, statement, read_only):
    conn = as_supervisor("province", autocommit=True)
    if not read_only:
        conn.execute("SET default_transaction_read_only = off")  # even then: no privilege
    with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
        conn.execute(statement)


def test_read_only_is_the_default_and_privileges_hold_without_it(as_supervisor):
    conn = as_supervisor("county", autocommit=True)
    assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
    conn.execute("SET default_transaction_read_only = off")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("DELETE FROM marts.fact_enforcement_case")


def test_no_personal_data_in_clear_anywhere_a_supervisor_can_read(world, as_supervisor, pii_key):
    conn = as_supervisor("province")
    found, organizations = [], 0
    for relation, _ in readable(conn):
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "AND atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)", (relation,))]
        if not cols:
            continue
        row_text = sql.SQL("concat_ws('|', {})").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in cols))
        clear, orgs = conn.execute(sql.SQL(
            "SELECT count(*) FILTER (WHERE strpos({t}, %s) > 0 OR strpos({t}, %s) > 0), "
            "count(*) FILTER (WHERE strpos({t}, %s) > 0) FROM {r}").format(t=row_text, r=sql.SQL(relation)),
            (PERSON_ID, PERSON_NAME, ORG_ID)).fetchone()
        if clear:
            found.append((relation, clear))
        organizations += orgs
    assert found == []
    assert organizations > 0  # an organization's USCC is not personal data and stays readable
    # Pseudonyms: the keyed hash of the value, the same for the same person everywhere.
    pseudonyms = conn.execute("SELECT DISTINCT party_id_pseudonym FROM marts.fact_enforcement_case "
                              "WHERE party_type = 'person'").fetchall()
    assert pseudonyms == [(pii_key.pseudonym(PERSON_ID),)]
    applicants = {r[0] for r in conn.execute("SELECT applicant_id_pseudonym FROM marts.fact_reconsideration_case")}
    complainants = {r[0] for r in conn.execute("SELECT complainant_id_pseudonym FROM marts.fact_complaint")}
    assert applicants == complainants == {pii_key.pseudonym(PERSON_ID)}


def test_pii_columns_follow_the_contract(world):
    for rt in RECORD_TYPES.values():
        cols = {r[0] for r in world.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f"marts.fact_{rt.table}",))}
        for f in rt.fields:
            if f.pii is True:
                assert f.name not in cols and f"{f.name}_pseudonym" in cols
            elif f.pii == "person":
                assert {f.name, f"{f.name}_pseudonym"} <= cols
                person_values = world.execute(sql.SQL("SELECT count({}) FROM {} WHERE {} = 'person'").format(
                    sql.Identifier(f.name), sql.Identifier("marts", f"fact_{rt.table}"),
                    sql.Identifier(f.name.rsplit("_", 1)[0] + "_type"))).fetchone()[0]
                assert person_values == 0


def test_every_exposed_view_is_security_invoker_and_every_exposed_table_has_rls(world):
    rows = world.execute("""
        SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text, c.relrowsecurity,
               coalesce((SELECT o.option_value::boolean FROM pg_options_to_table(c.reloptions) o
                         WHERE o.option_name = 'security_invoker'), false)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE has_table_privilege('supervision_supervisor', c.oid, 'SELECT')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')""").fetchall()
    assert rows
    for relation, kind, rls, invoker in rows:
        if kind == "v":
            assert invoker, f"{relation} would bypass row-level security"
        elif relation not in NO_DIVISION:
            assert kind == "r" and rls, f"{relation} is exposed without row-level security"


def test_other_teams_can_protect_their_own_tables(world, as_supervisor):
    """What the alerting team does for its scorecards: protect an ops table, build an invoker view, expose it."""
    world.execute("CREATE TABLE ops.t_scorecard_probe (county_code char(6), late_days int)")
    try:
        world.execute("INSERT INTO ops.t_scorecard_probe VALUES ('411002', 1), ('411003', 2), ('410102', 3)")
        world.execute("SELECT marts.protect_by_division('ops.t_scorecard_probe', 'county_code')")
        world.execute("CREATE VIEW marts.t_scorecard_probe WITH (security_invoker = true) AS "
                      "SELECT county_code, sum(late_days) AS late_days FROM ops.t_scorecard_probe GROUP BY 1")
        world.execute("SELECT marts.expose_view('marts.t_scorecard_probe')")
        world.execute("CREATE VIEW marts.t_leaky_probe AS SELECT * FROM ops.t_scorecard_probe")
        with pytest.raises(errors.RaiseException, match="security_invoker"):
            world.execute("SELECT marts.expose_view('marts.t_leaky_probe')")
        with pytest.raises(errors.RaiseException, match="not a table"):
            world.execute("SELECT marts.protect_by_division('marts.t_leaky_probe', 'county_code')")
        with pytest.raises(errors.RaiseException, match="has no column"):
            world.execute("SELECT marts.protect_by_division('ops.t_scorecard_probe', 'county')")
        q = "SELECT county_code, late_days FROM marts.t_scorecard_probe ORDER BY 1"
        assert as_supervisor("county").execute(q).fetchall() == [("411002", 1)]
        assert as_supervisor("city").execute(q).fetchall() == [("411002", 1), ("411003", 2)]
        assert len(as_supervisor("province").execute(q).fetchall()) == 3
    finally:
        world.execute("DROP VIEW IF EXISTS marts.t_scorecard_probe, marts.t_leaky_probe")
        world.execute("DROP TABLE IF EXISTS ops.t_scorecard_probe")


def test_pipeline_role_sees_everything(world, migrated_url):
    import secrets

    from .marts_support import TEST_PASSWORD, login_url

    login = f"t{secrets.token_hex(3)}_pipeline"
    world.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE supervision_pipeline").format(
        sql.Identifier(login), sql.Literal(TEST_PASSWORD)))
    try:
        with psycopg.connect(login_url(migrated_url, login)) as conn:
            assert conn.execute("SELECT count(*) FROM marts.fact_enforcement_case").fetchone()[0] == 7
            assert conn.execute("SELECT count(DISTINCT level) FROM marts.kpi").fetchone()[0] == 4
    finally:
        world.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
        world.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_a_role_outside_the_supervision_groups_sees_nothing(world, migrated_url):
    import secrets

    from .marts_support import TEST_PASSWORD, login_url

    login = f"t{secrets.token_hex(3)}_stranger"
    world.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(login), sql.Literal(TEST_PASSWORD)))
    world.execute(sql.SQL("GRANT USAGE ON SCHEMA marts TO {0}; GRANT SELECT ON marts.fact_enforcement_case TO {0}")
                  .format(sql.Identifier(login)))
    try:
        with psycopg.connect(login_url(migrated_url, login)) as conn:  # granted SELECT, but no policy applies
            assert conn.execute("SELECT count(*) FROM marts.fact_enforcement_case").fetchone()[0] == 0
    finally:
        world.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
        world.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_supervisor_listing(world, supervisors):
    mine = {s.login for s in list_supervisors(world)} & {v[0] for v in supervisors.values()}
    assert mine == {v[0] for v in supervisors.values()}
    in_xuchang = {s.login for s in list_supervisors(world, "4110")} & mine
    assert in_xuchang == {supervisors[k][0] for k in ("city", "county", "township", "other_county")}


def test_documented_command_creates_a_working_login(world, migrated_url, monkeypatch, capsys):
    """`supervision supervisor create` (README "Supervisors"): a SCRAM password, the county's rows only."""
    import io
    import secrets

    from supervision.cli import main

    from .marts_support import login_url

    login = f"t{secrets.token_hex(3)}_cli"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    assert main(["supervisor", "create", "--division", "411003", "--login", login, "--person", "测试",
                 "--password-stdin"]) == 0
    try:
        assert f"created login {login}: county supervisor of 411003 建安区" in capsys.readouterr().out
        verifier = world.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (login,)).fetchone()[0]
        assert verifier.startswith("SCRAM-SHA-256$") and "horse" not in verifier
        with psycopg.connect(login_url(migrated_url, login), password="correct horse battery staple") as conn:
            counties = {r[0] for r in conn.execute("SELECT DISTINCT county_code FROM marts.kpi WHERE county_code "
                                                   "IS NOT NULL")}
            assert counties == {"411003"}
        assert main(["supervisor", "list", "--division", "411003"]) == 0
        assert login in capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["supervisor", "create", "--login", login])  # --division is required
        assert main(["supervisor", "create", "--division", "999999", "--login", login + "x", "--no-password"]) == 2
        assert "not in ref.division" in capsys.readouterr().err
    finally:
        assert main(["supervisor", "drop", "--login", login]) == 0
    assert world.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (login,)).fetchone()[0] == 0


def test_submission_scorecards_by_area(as_supervisor):
    """The issue-6 scorecards: a county supervisor gets its county row and no partial city row; the city supervisor
    gets its city summed over its counties; the pipeline-wide alert is nobody's area."""
    county = as_supervisor("county")
    rows = county.execute("SELECT county_code, county_name, business_days, on_time_days, alerts_late "
                          "FROM marts.compliance_county_month").fetchall()
    assert rows == [("411002", "魏都区", 2, 2, 1)]
    assert county.execute("SELECT count(*) FROM marts.compliance_city_month").fetchone()[0] == 0
    assert county.execute("SELECT count(*) FROM ops.alert WHERE county_code IS NULL").fetchone()[0] == 0
    city = as_supervisor("city")
    assert city.execute("SELECT city_code, city_name, counties, business_days, on_time_days, alerts_late "
                        "FROM marts.compliance_city_month").fetchall() == [("4110", "许昌市", 2, 4, 2, 2)]
    assert city.execute("SELECT count(*) FROM marts.compliance_province_month").fetchone()[0] == 0
    province = as_supervisor("province")
    assert province.execute("SELECT province_code, counties, business_days FROM marts.compliance_province_month"
                            ).fetchall() == [("41", 3, 6)]
    with pytest.raises(errors.InsufficientPrivilege):
        province.execute("SELECT count(*) FROM ops.alert_notification")
    with pytest.raises(errors.ReadOnlySqlTransaction):  # logins are read-only by default ...
        province.execute("UPDATE ops.alert SET state = 'acknowledged', acknowledged_at = now()")
    province.execute("SET default_transaction_read_only = off")
    with pytest.raises(errors.InsufficientPrivilege):  # ... and have no write privilege when they lift that
        province.execute("UPDATE ops.alert SET state = 'acknowledged', acknowledged_at = now()")
