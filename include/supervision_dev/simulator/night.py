"""simulate_night: one night of county file drops (contract v1) plus the truth file for tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from supervision.contract import CONTRACT_VERSION, RECORD_TYPES
from supervision.registry import Registry
from supervision_dev.simulator.county import CountyCtx, CountySet, build_ctx
from supervision_dev.simulator.faults import (
    FaultProfile,
    bad_row_plan,
    inject_bad_rows,
    rows_needed,
)
from supervision_dev.simulator.records import Table, build_tables, timestamps
from supervision_dev.simulator.report import CountyTruth, FileTruth, SimulationReport
from supervision_dev.simulator.writers import (
    EXTENSIONS,
    file_bytes,
    manifest_bytes,
    sha256,
    unreadable_bytes,
)

TRUTH_DIR = "_simulation"
_CTX_CACHE: dict[tuple, CountyCtx] = {}


def _ctx(registry: Registry, code: str, seed: int) -> CountyCtx:
    k = (seed, code, tuple(registry.codes), registry.county(code).reject_threshold)
    if k not in _CTX_CACHE:
        _CTX_CACHE[k] = build_ctx(registry, registry.county(code), seed)
    return _CTX_CACHE[k]


def _generated_at(ctx: CountyCtx, business_date: date, rng: np.random.Generator) -> datetime:
    """The next morning, well before the county's deadline."""
    due = ctx.county.deadline_at(business_date)
    return due - timedelta(minutes=int(rng.integers(20, 290)), seconds=int(rng.integers(0, 60)))


def _extras_for(fault: str | None, ctx: CountyCtx, sizes: dict[str, int]) -> dict[str, int]:
    """Extra new records a fault needs per record type (bad rows and padding, or room for a few odd rows)."""
    if fault == "bad_rows":
        return {rt: rows_needed(len(bad_row_plan(RECORD_TYPES[rt])), ctx.threshold) for rt in RECORD_TYPES}
    need = {"foreign_rows": rows_needed(3, ctx.threshold), "duplicate_record_id": rows_needed(2, ctx.threshold) - 1,
            "unreadable": 5}.get(fault or "", 0)
    biggest = max(sizes, key=lambda rt: (sizes[rt], rt == "enforcement_cases"))
    return {biggest: max(0, need - sizes[biggest])} if need > sizes[biggest] else {}


def _outcome(bad: int, rows: int, threshold: float) -> str:
    return "rejected" if rows and bad / rows > threshold else "loaded"


def _apply_row_fault(fault: str | None, tables: dict[str, Table], ctx: CountyCtx, night: int,
                     rng: np.random.Generator) -> tuple[str | None, str | None]:
    """Mutate rows for row-level faults; returns (record type affected, detail)."""
    if fault == "bad_rows":
        for t in tables.values():
            inject_bad_rows(t, ctx, night, rng)
        return None, "a bad row for every rule of every record type"
    if fault not in ("foreign_rows", "duplicate_record_id"):
        return None, None
    rt = max(tables, key=lambda r: (len(tables[r]), r == "enforcement_cases"))
    t = tables[rt]
    if fault == "foreign_rows":
        k = min(3, max(1, int(len(t) * ctx.threshold * 0.75)))
        other = ctx.neighbours[0]
        for i in sorted(rng.choice(len(t), size=k, replace=False).tolist()):
            t.columns["county_code"][i] = other
            if "township_code" in t.columns:
                t.columns["township_code"][i] = None
            t.expect[i] = ["county_code.matches_submitter"]
        return rt, f"{k} rows of county {other}"
    i = int(rng.integers(0, len(t)))
    row = t.row(i)
    secs = min(t.secs[i] + int(rng.integers(60, 3600)), 86399)
    row["updated_at"] = timestamps(night, [secs])[0]
    t.append(row, secs, ["record_id.unique_in_file"])
    t.expect[i] = ["record_id.unique_in_file"]
    return rt, f"record_id {row['record_id']} sent twice"


def _write(path: Path, data: bytes, mtime: float) -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def simulate_night(registry: Registry, business_date: date, drop_root: Path, *, seed: int = 20261122,
                   faults: FaultProfile | None = None, counties: list[str] | None = None, scale: float = 1.0,
                   progress: Callable[[str], None] | None = None) -> SimulationReport:
    """Write one night of county submissions under drop_root and the truth file under drop_root/_simulation.

    faults=None means no faults (pass FaultProfile.default(codes, seed) for the standard set). Each county
    folder for the date is replaced. Same arguments, same bytes.
    """
    drop_root = Path(drop_root)
    faults = faults or FaultProfile.none()
    codes = list(counties) if counties is not None else registry.codes
    ctxs = [_ctx(registry, c, seed) for c in codes]
    night = business_date.toordinal()
    day = business_date.isoformat()
    all_tables = {rt: build_tables(CountySet(ctxs, seed), rt, night, scale) for rt in RECORD_TYPES} if ctxs else {}
    report = SimulationReport(business_date, seed, scale, CONTRACT_VERSION,
                              {c: f for c, f in faults.to_dict().items() if c in codes}, {})

    for i, ctx in enumerate(ctxs):
        code = ctx.code
        fault = faults.fault_of(code)
        rng = np.random.default_rng([seed, ctx.code_int, night, 0x51])
        folder = drop_root / code / day
        if folder.exists():
            shutil.rmtree(folder)
        truth = CountyTruth(code, ctx.county.name, fault, ctx.format, ctx.encoding, ctx.bool_style,
                            manifest=False, generated_at=None, files={})
        report.counties[code] = truth
        if fault == "late":
            truth.files = {rt: FileTruth(rt, None, 0, "late") for rt in RECORD_TYPES}
            truth.detail = "nothing sent for the date"
            if progress:
                progress(f"{code} {ctx.county.name}: late (nothing written)")
            continue

        tables = {rt: all_tables[rt][i] for rt in RECORD_TYPES}
        extras = _extras_for(fault, ctx, {rt: len(t) for rt, t in tables.items()})
        for rt, n in extras.items():
            if n:
                tables[rt] = build_tables(CountySet([ctx], seed), rt, night, scale, np.array([n]))[0]
        affected, detail = _apply_row_fault(fault, tables, ctx, night, rng)
        truth.detail = detail

        generated = _generated_at(ctx, business_date, rng)
        mtime = generated.timestamp()
        folder.mkdir(parents=True, exist_ok=True)
        missing = str(rng.choice(list(RECORD_TYPES))) if fault == "missing_type" else None
        broken_manifest = str(rng.choice(list(RECORD_TYPES))) if fault in ("manifest_rows", "manifest_sha256") else None
        unreadable = (max(tables, key=lambda r: (len(tables[r]), r == "enforcement_cases"))
                      if fault == "unreadable" else None)
        entries: dict[str, dict] = {}
        for rt, t in tables.items():
            if rt == missing:
                truth.files[rt] = FileTruth(rt, None, 0, "missing", detail="file not sent")
                truth.detail = f"{rt} not sent"
                continue
            t.sort()
            data = file_bytes(t, ctx, generated)
            name = f"{rt}.{EXTENSIONS[ctx.format]}"
            bad = {n + 1: e for n, e in enumerate(t.expect) if e}
            ft = FileTruth(rt, name, len(t), _outcome(len(bad), len(t), ctx.threshold), bad,
                           new_records=sum(t.is_new), resent_records=len(t) - sum(t.is_new))
            if ft.expected_outcome == "rejected":
                ft.detail = f"{len(bad)} of {len(t)} rows fail, above the reject threshold {ctx.threshold}"
            if rt == unreadable:
                data, how = unreadable_bytes(t, ctx, data)
                ft.expected_outcome, ft.expected_bad_rows, ft.detail = "rejected", {}, f"unreadable: {how}"
                truth.detail = f"{rt}: {how}"
            ft.sha256 = sha256(data)
            ft.manifest_rows, ft.manifest_sha256 = len(t), ft.sha256
            if rt == broken_manifest:
                if fault == "manifest_rows":
                    ft.manifest_rows = len(t) + int(rng.integers(1, 4))
                    ft.detail = f"manifest says {ft.manifest_rows} rows, the file has {len(t)}"
                else:
                    ft.manifest_sha256 = sha256(data + b"\n")
                    ft.detail = "manifest sha256 is not the file's"
                ft.expected_outcome, ft.expected_bad_rows = "rejected", {}
                truth.detail = f"{rt}: {ft.detail}"
            if rt == affected and fault in ("foreign_rows", "duplicate_record_id"):
                truth.detail = f"{rt}: {detail}"
            _write(folder / name, data, mtime)
            entries[rt] = {"rows": ft.manifest_rows, "sha256": ft.manifest_sha256}
            truth.files[rt] = ft
        truth.generated_at = generated.isoformat()
        if fault != "no_manifest":
            _write(folder / "manifest.json", manifest_bytes(code, day, truth.generated_at, ctx.encoding, entries), mtime)
            truth.manifest = True
        else:
            for ft in truth.files.values():
                ft.manifest_rows = ft.manifest_sha256 = None
            truth.detail = "files sent without manifest.json"
        if progress:
            rows = sum(f.rows for f in truth.files.values())
            progress(f"{code} {ctx.county.name}: {rows} rows, {ctx.format}/{ctx.encoding}"
                     + (f", fault {fault}" if fault else ""))

    truth_dir = drop_root / TRUTH_DIR
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / f"{day}.json").write_text(report.to_json(), encoding="utf-8")
    return report


def simulate_nights(registry: Registry, start: date, end: date, drop_root: Path, **kwargs) -> list[SimulationReport]:
    """simulate_night for every date from start to end inclusive (same keyword arguments)."""
    out, d = [], start
    while d <= end:
        out.append(simulate_night(registry, d, drop_root, **kwargs))
        d += timedelta(days=1)
    return out
