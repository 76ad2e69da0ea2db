"""Files parsed while they load (overlapped read) end exactly as files read whole, against a real PostgreSQL.

The same simulated county night (default faults: bad rows, GBK files, duplicates, ...) is run twice: read whole,
then with every CSV overlapped in tiny blocks and batches. Ledger and quarantine must be the same. A parse error
found while loading rolls the file back and reads it again whole: one ledger row, nothing loaded twice.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from psycopg import sql

from supervision import settings
from supervision.nightly import prepare_run, run_shard, summarize
from supervision.registry import load_registry
from supervision.sources import filereader
from supervision.warehouse.connection import connect
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 19)
# CSV counties of 郑州市: UTF-8 with BOM and duplicate ids, UTF-8, GBK with bad rows
COUNTIES = ["410102", "410103", "410105"]
FAULTS = FaultProfile({"410102": "duplicate_record_id", "410105": "bad_rows"})


@pytest.fixture()
def night(migrated_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    registry = load_registry()
    drop = tmp_path / "drop"
    simulate_night(registry, DAY, drop, seed=24, counties=COUNTIES, scale=2, faults=FAULTS)
    _empty()
    yield {"drop": drop, "registry": registry}
    _empty()


def _empty() -> None:
    with connect() as conn:
        tables = conn.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('core', 'staging')"
                              " OR (schemaname, tablename) IN (('ops', 'submission'), ('ops', 'quarantine'))").fetchall()
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(*t) for t in tables)))


def _run(ctx) -> dict:
    shutil.rmtree(settings.lake_root(), ignore_errors=True)  # land again, overlapped
    shards = prepare_run(DAY, str(ctx["registry"].path), str(ctx["drop"]), counties=COUNTIES)
    for shard in shards:
        run_shard(shard)
    summarize(shards)
    with connect() as conn:
        return {
            "ledger": conn.execute(
                "SELECT county_code, record_type, status, encoding, rows_received, rows_loaded, rows_quarantined,"
                " file_sha256 FROM ops.submission_current ORDER BY 1, 2").fetchall(),
            "submissions": conn.execute("SELECT count(*) FROM ops.submission").fetchone()[0],
            "quarantine": conn.execute(
                "SELECT county_code, record_type, row_number, record_id, failed_rules FROM ops.quarantine"
                " ORDER BY 1, 2, 3 NULLS FIRST, 4").fetchall(),
            "cases": conn.execute("SELECT count(*), count(DISTINCT record_id) FROM core.enforcement_case").fetchone(),
        }


def _overlapped(monkeypatch) -> None:
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    monkeypatch.setenv("SUPERVISION_BATCH_ROWS", "7")
    monkeypatch.setattr(filereader, "STREAM_BLOCK", 4096)


def test_overlapped_night_ends_as_the_whole_read(night, monkeypatch):
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", str(1 << 40))
    whole = _run(night)
    assert {row[3] for row in whole["ledger"]} == {"utf-8", "utf-8-sig", "gbk"}
    assert sum(row[4] > 14 for row in whole["ledger"]) >= 4  # files of several batches below
    assert {row[0] for row in whole["quarantine"]} == {"410102", "410105"}
    _empty()
    _overlapped(monkeypatch)
    assert _run(night) == whole


def test_parse_error_while_loading_reads_the_file_again_whole(night, monkeypatch):
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", str(1 << 40))
    whole = _run(night)
    _empty()
    _overlapped(monkeypatch)
    gathered, failed = filereader._gathered, []

    def fails_once_at_batch_3(reader, batch_rows, first_rows=None):
        for i, table in enumerate(gathered(reader, batch_rows, first_rows)):
            if i == 2 and not failed:
                failed.append(True)
                raise filereader.ReadAgain("a byte that is not UTF-8 (forced)")
            yield table

    monkeypatch.setattr(filereader, "_gathered", fails_once_at_batch_3)
    again = _run(night)
    assert failed, "no file had three batches"
    assert again == whole  # the first attempt left nothing: one ledger row per file, no row twice
