"""Each version stored once (V400): fast path and fallback, the streaming loader, the invariants of
core ∪ superseded, the migration of old history, the advisory lock, and the merge's plan."""

import random
import shutil
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from psycopg import errors, sql

from supervision.contract import ENFORCEMENT
from supervision.warehouse import load
from supervision.warehouse.ddl import row_hash_sql
from supervision.warehouse.load import LoadResult, RecordLoader, load_records, merge_sql, to_arrow
from supervision.warehouse.migrate import MIGRATIONS_DIR, migrate

pytestmark = pytest.mark.integration
T0 = pd.Timestamp("2026-11-20T09:00:00Z")


def versions(conn, relation):
    return sorted(conn.execute(sql.SQL(
        "SELECT record_id, updated_at, status, submission_id FROM core.{}").format(sql.Identifier(relation))))


def check_invariants(conn, table="enforcement_case", hashes=True):
    """Every superseded key has a current row; no version is in both; the view holds each version once."""
    core, sup, hist = (sql.Identifier("core", table + s) for s in ("", "_superseded", "_history"))
    orphans, both, dupes = conn.execute(sql.SQL("""
        SELECT (SELECT count(*) FROM {sup} s WHERE NOT EXISTS (SELECT FROM {core} c
                    WHERE (c.county_code, c.record_id) = (s.county_code, s.record_id))),
               (SELECT count(*) FROM {sup} s JOIN {core} c USING (county_code, record_id, updated_at, row_hash)),
               (SELECT count(*) - count(DISTINCT (county_code, record_id, updated_at, row_hash)) FROM {hist})
        """).format(core=core, sup=sup, hist=hist)).fetchone()
    assert (orphans, both, dupes) == (0, 0, 0)
    if not hashes:
        return
    stale = conn.execute(sql.SQL("SELECT count(*) FROM {} c WHERE c.row_hash <> {}").format(
        core, sql.SQL(row_hash_sql(ENFORCEMENT, "c")))).fetchone()[0]
    assert stale == 0  # the client hash is the SQL one


def test_fresh_keys_take_the_fast_path(warehouse, make_frame):
    frame = pd.concat([make_frame(ENFORCEMENT, 20), make_frame(ENFORCEMENT, 2, updated_at=T0, status="open")],
                      ignore_index=True)  # r0, r1 twice: the older version is a loser of the batch
    frame["_source_row"] = range(1, 23)
    loader = RecordLoader(warehouse, ENFORCEMENT, 1)
    loader.add(frame)
    assert loader.finish() == LoadResult(22, 20, 0, 0, 22, duplicates=2)
    assert "copy_core" in loader.timings and "merge" not in loader.timings
    assert [v[:3] for v in versions(warehouse, "enforcement_case_superseded")] == [
        ("r0", T0.to_pydatetime(), "open"), ("r1", T0.to_pydatetime(), "open")]
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case_history").fetchone()[0] == 22
    check_invariants(warehouse)


@pytest.mark.parametrize("probe", [True, False], ids=["probed", "unique-violation fallback"])
def test_a_batch_mixing_new_and_existing_keys(warehouse, make_frame, monkeypatch, probe):
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 10, updated_at=T0), 1)
    if not probe:
        monkeypatch.setattr(load, "PROBE_KEYS", 0)  # the fast path is tried, fails, rolls back to its savepoint
    mixed = make_frame(ENFORCEMENT, 10, start=5, updated_at=T0 + timedelta(hours=1), status="closed")  # r5..r14
    loader = RecordLoader(warehouse, ENFORCEMENT, 2)
    loader.add(mixed)
    assert loader.finish() == LoadResult(10, 5, 5, 0, 10)
    assert ("fast_path_failed" in loader.timings) is not probe
    assert "merge" in loader.timings
    current = versions(warehouse, "enforcement_case")
    assert [(r, s, sid) for r, _, s, sid in current] == [
        (f"r{i}", "closed" if i >= 5 else ENFORCEMENT.field("status").enum[i % 4], 2 if i >= 5 else 1)
        for i in sorted(range(15), key=lambda i: f"r{i}")]
    assert [v[0] for v in versions(warehouse, "enforcement_case_superseded")] == [f"r{i}" for i in range(5, 10)]
    check_invariants(warehouse)


def test_streaming_batches_with_a_key_sent_again(warehouse, make_frame):
    first = make_frame(ENFORCEMENT, 100, updated_at=T0)
    again_newer = make_frame(ENFORCEMENT, 1, start=50, updated_at=T0 + timedelta(hours=2), status="closed")
    again_same = make_frame(ENFORCEMENT, 1, start=150, updated_at=T0)
    again_older = make_frame(ENFORCEMENT, 1, start=10, updated_at=T0 - timedelta(days=1), status="withdrawn")
    second = pd.concat([make_frame(ENFORCEMENT, 100, start=100, updated_at=T0), again_newer], ignore_index=True)
    third = pd.concat([make_frame(ENFORCEMENT, 100, start=200, updated_at=T0), again_same, again_older],
                      ignore_index=True)
    for i, f in enumerate((first, second, third)):
        f["_source_row"] = range(i * 1000 + 1, i * 1000 + 1 + len(f))
    with RecordLoader(warehouse, ENFORCEMENT, 7) as loader:
        for f in (first, pa.Table.from_pandas(second, preserve_index=False), to_arrow(ENFORCEMENT, third)):
            loader.add(f)
        result = loader.finish()
    # batch 1: 100 new (fast); batch 2: 100 new + r50 updated (conflict -> slow from here on);
    # batch 3: 100 new, r150 identical (unchanged), r10 older (unchanged, stored as a superseded version)
    assert result == LoadResult(303, 300, 1, 2, 302)
    assert loader.timings["copy_core"] > 0 and loader.timings["merge"] > 0  # fast, then slow from batch 2 on
    rows = dict((r, (s, sid)) for r, _, s, sid in versions(warehouse, "enforcement_case"))
    assert len(rows) == 300 and rows["r50"] == ("closed", 7)
    assert [v[:3] for v in versions(warehouse, "enforcement_case_superseded")] == [
        ("r10", (T0 - timedelta(days=1)).to_pydatetime(), "withdrawn"), ("r50", T0.to_pydatetime(),
                                                                        ENFORCEMENT.field("status").enum[50 % 4])]
    check_invariants(warehouse)


def test_same_key_same_updated_at_in_a_later_batch_later_row_wins(warehouse, make_frame):
    a = make_frame(ENFORCEMENT, 1, agency_name="甲")
    b = make_frame(ENFORCEMENT, 1, agency_name="乙")
    b["_source_row"] = [5]
    loader = RecordLoader(warehouse, ENFORCEMENT, 3)
    loader.add(a)
    loader.add(b)
    assert loader.finish() == LoadResult(2, 1, 1, 0, 2)
    assert warehouse.execute("SELECT agency_name FROM core.enforcement_case").fetchall() == [("乙",)]
    check_invariants(warehouse)


def test_a_worker_error_surfaces_and_rolls_back(warehouse, make_frame):
    good = make_frame(ENFORCEMENT, 10)
    bad = make_frame(ENFORCEMENT, 3, start=10)
    bad["agency_name"] = pd.array(["x" * 201] * 3, dtype="str")  # varchar(200): the COPY fails in the worker
    loader = RecordLoader(warehouse, ENFORCEMENT, 1)
    loader.add(good)
    loader.add(bad)
    with pytest.raises(errors.StringDataRightTruncation) as info:
        for _ in range(200):  # add() raises too once the worker has failed
            loader.add(make_frame(ENFORCEMENT, 1, start=100))
            time.sleep(0.01)
        loader.finish()
    assert "_run" in "".join(traceback.format_tb(info.value.__traceback__))  # the worker's frames
    loader.abort()  # never raises
    with pytest.raises(RuntimeError):
        loader.add(good)
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case").fetchone()[0] == 0


def test_finish_reraises_and_abort_rolls_back(warehouse, make_frame):
    loader = RecordLoader(warehouse, ENFORCEMENT, 1)
    bad = make_frame(ENFORCEMENT, 2)
    bad["county_code"] = pd.array([None, None], dtype="str")
    loader.add(bad)
    with pytest.raises(errors.NotNullViolation):
        loader.finish()
    loader = RecordLoader(warehouse, ENFORCEMENT, 1)
    loader.add(make_frame(ENFORCEMENT, 5))
    loader.abort()
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case").fetchone()[0] == 0
    with pytest.raises(KeyError), RecordLoader(warehouse, ENFORCEMENT, 1) as loader:  # an exception aborts
        loader.add(make_frame(ENFORCEMENT, 5))
        raise KeyError
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case").fetchone()[0] == 0
    with RecordLoader(warehouse, ENFORCEMENT, 1) as loader:  # else the block's end finishes
        loader.add(make_frame(ENFORCEMENT, 5))
        assert loader._queue.maxsize == 2  # bounded: at most two batches wait for the worker
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case").fetchone()[0] == 5


def test_a_version_that_becomes_current_again_is_stored_once(warehouse, make_frame):
    v = make_frame(ENFORCEMENT, 1, agency_name="甲")
    w = make_frame(ENFORCEMENT, 1, agency_name="乙")  # same updated_at, other content
    assert load_records(warehouse, ENFORCEMENT, v, 1).history_added == 1
    assert load_records(warehouse, ENFORCEMENT, w, 2) == LoadResult(1, 0, 1, 0, 1)
    assert load_records(warehouse, ENFORCEMENT, v, 3) == LoadResult(1, 0, 1, 0, 0)  # back, not new
    assert warehouse.execute("SELECT agency_name, submission_id FROM core.enforcement_case").fetchall() == [("甲", 3)]
    assert warehouse.execute("SELECT agency_name FROM core.enforcement_case_superseded").fetchall() == [("乙",)]
    assert warehouse.execute("SELECT count(*) FROM core.enforcement_case_history").fetchone()[0] == 2
    check_invariants(warehouse)


def test_random_loads_keep_every_version_exactly_once(warehouse, make_frame):
    """A model of the rule (newest updated_at; tie: later submission, then later row, with other content)
    against random loads of a few keys, versions and contents."""
    rng = random.Random(11)
    model_current: dict[str, tuple] = {}
    model_versions: set[tuple] = set()
    sid = 0
    for _ in range(12):
        sid += 1
        n = rng.randint(1, 25)
        keys = [rng.randrange(8) for _ in range(n)]
        frame = pd.concat([make_frame(ENFORCEMENT, 1, start=k, updated_at=T0 + timedelta(hours=rng.randrange(3)),
                                      status=rng.choice(["open", "closed"])) for k in keys], ignore_index=True)
        frame["_source_row"] = range(1, n + 1)
        result = load_records(warehouse, ENFORCEMENT, frame, sid)
        new_versions = 0
        for row in frame.to_dict("records"):
            version = (row["record_id"], row["updated_at"].to_pydatetime(), row["status"])
            new_versions += version not in model_versions
            model_versions.add(version)
            rank = (row["updated_at"], sid, row["_source_row"])
            cur = model_current.get(row["record_id"])
            if cur is None or rank[0] > cur[0][0] or (
                    rank[0] == cur[0][0] and row["status"] != cur[1] and rank[1:] > cur[0][1:]):
                model_current[row["record_id"]] = (rank, row["status"])
        assert result.history_added == new_versions
        got = {r: (t, s) for r, t, s, _ in versions(warehouse, "enforcement_case")}
        assert got == {k: (v[0][0].to_pydatetime(), v[1]) for k, v in model_current.items()}
        hist = sorted(warehouse.execute("SELECT record_id, updated_at, status FROM core.enforcement_case_history"))
        assert hist == sorted(model_versions)
        check_invariants(warehouse)


def test_concurrent_loads_of_one_county_serialise(warehouse, migrated_url, make_frame):
    first = psycopg.connect(migrated_url)
    try:
        first.execute("SELECT 1")  # the caller's transaction is open: the load's lock lasts until it commits
        load_records(first, ENFORCEMENT, make_frame(ENFORCEMENT, 5), 1)
        done: list = []

        def second(county):
            with psycopg.connect(migrated_url, autocommit=True) as c:
                done.append((county, load_records(c, ENFORCEMENT, make_frame(ENFORCEMENT, 5, county=county), 2)))

        other = threading.Thread(target=second, args=("411003",))
        other.start()
        other.join(30)
        assert [d[0] for d in done] == ["411003"]  # another county does not wait
        same = threading.Thread(target=second, args=("411002",))
        same.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = warehouse.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                        "AND NOT granted").fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting == 1 and len(done) == 1
        first.commit()
        same.join(30)
        assert done[1] == ("411002", LoadResult(5, 0, 0, 5, 0))  # it saw the first load's rows
    finally:
        first.close()


def test_merge_joins_core_by_its_index_for_a_small_stage(warehouse, make_frame):
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 20_000), 1)
    warehouse.execute("ANALYZE core.enforcement_case")
    loader = RecordLoader(warehouse, ENFORCEMENT, 2)
    with warehouse.transaction(force_rollback=True):
        stage = loader._ensure_stage()
        warehouse.execute(sql.SQL("INSERT INTO {} SELECT {}, true FROM core.enforcement_case LIMIT 20").format(
            stage, sql.SQL(", ").join(map(sql.Identifier, [*ENFORCEMENT.field_names, *load.META]))))
        warehouse.execute(sql.SQL("ANALYZE {}").format(stage))
        plan = "\n".join(r[0] for r in warehouse.execute(sql.SQL("EXPLAIN ") + merge_sql(
            ENFORCEMENT, stage, sql.Identifier("core", "enforcement_case"),
            sql.Identifier("core", "enforcement_case_superseded"))))
    assert "Index Scan using enforcement_case_pk" in plan, plan
    assert "Seq Scan on enforcement_case " not in plan, plan


def test_v400_moves_old_history(fresh_database, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name != "V400__core_versions_once.sql":
            shutil.copy(path, before)
    with psycopg.connect(fresh_database(), autocommit=True) as conn:
        migrate(conn, before, reference=False)
        cols = ", ".join([*ENFORCEMENT.field_names, "submission_id", "source_row", "row_hash"])
        t = datetime(2026, 11, 20, tzinfo=UTC)
        base = ("411002", "411002001", "11411002MB0000000X", "甲局", "penalty", "transport", "organization",
                "91411002MA00000000", "乙公司", "2026-11-01", None, None)
        tail = (None, None, False, False, True, None)

        def row(rid, hours, status, sid, digest):
            return (rid, base[0], t + timedelta(hours=hours), "案1", *base[1:], status, *tail, sid, 1, digest)

        history = [row("a", 0, "open", 1, "h1"), row("a", 1, "decided", 2, "h2"), row("a", 2, "closed", 3, "h3"),
                   row("b", 0, "open", 1, "h4"),
                   row("c", 0, "open", 1, "h5"), row("c", 0, "decided", 2, "h6")]  # c: h5 current again (sid 3)
        current = [row("a", 2, "closed", 3, "h3"), row("b", 0, "open", 1, "h4"), row("c", 0, "open", 3, "h5")]
        with conn.transaction():
            for table, rows in (("enforcement_case_history", history), ("enforcement_case", current)):
                with conn.cursor().copy(f"COPY core.{table} ({cols}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
        assert migrate(conn, reference=False) == ["V400__core_versions_once"]
        sup = conn.execute("SELECT record_id, row_hash, submission_id FROM core.enforcement_case_superseded "
                           "ORDER BY 1, 2").fetchall()
        assert sup == [("a", "h1", 1), ("a", "h2", 2), ("c", "h6", 2)]
        view = conn.execute("SELECT record_id, row_hash FROM core.enforcement_case_history ORDER BY 1, 2").fetchall()
        assert view == sorted((r[0], r[-1]) for r in history)
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'core.enforcement_case_history'::regclass")
        assert kind.fetchone()[0] == "v"
        assert conn.execute("SELECT obj_description('core.enforcement_case_superseded'::regclass)").fetchone()[0]
        check_invariants(conn, hashes=False)
