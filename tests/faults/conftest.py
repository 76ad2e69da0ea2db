"""Shared, generic helpers of the fault-matrix tests (tests/faults/test_*.py): a registry of a few real Henan
counties, one night of their files as UTF-8 CSV with a correct manifest, a run of the pipeline for that night
(no Airflow), and the accounting every fault test asserts. Each test then breaks what it is about.

``fault_night`` (fixture): an empty migrated warehouse (``warehouse``), the project's data folder (lake, Data
Docs, validation results) in the test's tmp_path, the registry and the drop folder. Helpers are plain
functions, so a test may also call them on its own folders.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import yaml

from supervision.contract import RECORD_TYPES
from supervision.nightly import prepare_run, run_shard
from supervision.reconcile import Report, reconcile
from supervision.registry import Registry, load_registry
from supervision.sources import ROW_NUMBER
from supervision.sources.filereader import read_file
from supervision_dev.simulator import FaultProfile, simulate_night

DAY = date(2026, 11, 20)
COUNTIES = ("411002", "411003", "411024")  # 魏都区, 建安区, 鄢陵县 (许昌市)


def write_registry(path: Path, codes: tuple[str, ...] = COUNTIES) -> Registry:
    doc = {"name": "faults", "defaults": {"deadline": "06:00", "transport": "file_drop", "reject_threshold": 0.2},
           "counties": [{"code": c, "contact": {"name": f"{c} 数据管理员", "email": f"data-{c}@county.example"}}
                        for c in codes]}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_registry(path)


def write_day(drop: Path, registry: Registry, day: date = DAY, counties: tuple[str, ...] | None = None,
              seed: int = 7) -> dict[str, Path]:
    """One clean night of the simulator, every file rewritten as UTF-8 CSV (read back by the pipeline's own reader,
    so the values are exactly what it accepts) with a manifest that matches. Returns {county: day folder}."""
    codes = list(counties or registry.codes)
    simulate_night(registry, day, drop, seed=seed, faults=FaultProfile.none(), counties=codes)
    folders = {}
    for code in codes:
        folder = drop / code / day.isoformat()
        for path in sorted(folder.iterdir()):
            stem = path.name.partition(".")[0]
            if stem in RECORD_TYPES:
                frame = read_file(path).frame.drop(columns=[ROW_NUMBER])
                path.unlink()
                write_csv(folder / f"{stem}.csv", frame)
        folders[code] = folder
    return folders


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def write_csv(path: Path, frame: pd.DataFrame, *, manifest: bool = True) -> None:
    """Write a county file (UTF-8, header line) and, with ``manifest``, its correct manifest entry."""
    frame.to_csv(path, index=False, encoding="utf-8")
    if manifest:
        set_manifest(path, rows=len(frame), sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def set_manifest(path: Path, *, rows: int | None, sha256: str | None) -> None:
    folder = path.parent
    mpath = folder / "manifest.json"
    doc = json.loads(mpath.read_text(encoding="utf-8")) if mpath.is_file() else {
        "county_code": folder.parent.name, "business_date": folder.name, "files": {}}
    doc["encoding"] = "utf-8"
    doc["files"][path.name.partition(".")[0]] = {"rows": rows, "sha256": sha256}
    mpath.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def run_day(registry: Registry, drop: Path, day: date = DAY, counties: list[str] | None = None
            ) -> tuple[list[dict], list[Exception]]:
    """The nightly run's steps without Airflow: prepare, every shard. Returns the outcomes and the errors the
    shards raised (a shard raises at its end when a file failed in the pipeline itself)."""
    outcomes, errors = [], []
    for shard in prepare_run(day, str(registry.path), str(drop), counties=counties):
        try:
            outcomes += run_shard(shard)
        except RuntimeError as e:
            errors.append(e)
    return outcomes, errors


def current(conn: psycopg.Connection, day: date = DAY, county: str | None = None) -> dict[tuple[str, str], dict]:
    """{(county, record type): the current ledger row as a dict} for the day."""
    cur = conn.execute(
        "SELECT * FROM ops.submission_current WHERE business_date = %s AND (%s::text IS NULL OR county_code = %s)",
        (day, county, county))
    names = [d.name for d in cur.description]
    return {(r["county_code"], r["record_type"]): r for r in (dict(zip(names, row, strict=True)) for row in cur)}


def assert_accounted(conn: psycopg.Connection, day: date = DAY, counties: list[str] | None = None) -> Report:
    """Every file of the day: received = loaded + quarantined in the ledger, as many quarantine rows as the ledger
    says, and reconcile's three checks pass."""
    for key, row in current(conn, day).items():
        if counties is None or key[0] in counties:
            assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"], (key, row)
    report = reconcile(day, counties)
    assert report.ok, report.problems
    return report



@pytest.fixture(autouse=True)
def _warehouse_left_empty(request):
    """Faults leave nights of their own behind (often the same counties and dates as the integration suite's
    nights, which do not empty the warehouse first): each fault test that used the shared warehouse empties it."""
    yield
    if "warehouse_url" in request.fixturenames:
        with psycopg.connect(request.getfixturevalue("warehouse_url"), autocommit=True) as conn:
            request.getfixturevalue("empty_tables")(conn)

@dataclass
class FaultNight:
    registry: Registry
    drop: Path
    data: Path
    conn: psycopg.Connection  # autocommit, on the test's migrated warehouse


@pytest.fixture
def fault_night(warehouse, tmp_path, monkeypatch) -> FaultNight:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(data))  # lake, validation results, GX project
    for var in ("SUPERVISION_DROP_ROOT", "SUPERVISION_LAKE_ROOT", "SUPERVISION_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    drop = tmp_path / "drop"
    drop.mkdir()
    return FaultNight(write_registry(tmp_path / "registry.yaml"), drop, data, warehouse)


def data_rows(path: Path) -> int:
    """Data rows of a CSV file as the county counts them."""
    return len(read_csv(path))


__all__ = ["COUNTIES", "DAY", "FaultNight", "assert_accounted", "current", "data_rows", "read_csv", "run_day",
           "set_manifest", "write_csv", "write_day", "write_registry"]
