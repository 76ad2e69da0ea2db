"""Does a night cost the rows that changed, or the warehouse's history? The same night against 1× and 10× history.

    python -m supervision_dev.bench_incremental [--history 1000000] [--scale 30] [--nights 3] [--url ADMIN_URL]

1. Simulates ``--nights`` nights (the last one is "tonight") for Xuchang's 7 counties at ``--scale`` (new records
   and re-sends of earlier ones whose status moved: the simulator's own version history).
2. Loads every night but tonight through the real pipeline (``ingest.run.process_county``) into a template warehouse.
3. Copies the template twice and pads each copy with old records of the same counties (other record ids, half of
   them with an older superseded version): ``--history`` versions in the first, 10× as many in the second.
4. Loads tonight into each copy, timing every file, and prints the night's cost next to the history size.

The night is identical in both copies (same files, same rows to insert and update), so any difference is what the
history costs. Each copy is a throw-away database on the local server (127.0.0.1:5432), else the embedded one.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from supervision_dev.bench import _admin_url, _with_db, create_db, drop_db, machine

XUCHANG = ["411002", "411003", "411024", "411025", "411071", "411081", "411082"]
TONIGHT = date(2026, 11, 22)

# Old records of the same counties: the real enforcement rows, copied under other ids and pushed back in time.
_PAD_CORE = sql.SQL("""
INSERT INTO core.{t} SELECT {cols_pad} FROM core.{t} c CROSS JOIN generate_series(1, %(copies)s) AS g(n)
WHERE c.submission_id <= %(max_sid)s""")
_PAD_SUPERSEDED = sql.SQL("""
INSERT INTO core.{ts} SELECT {cols_old} FROM core.{t} c
WHERE c.record_id LIKE 'PAD%%' AND right(c.record_id, 1) IN ('0', '2', '4', '6', '8')""")


def _pad_sql(conn, table: str, copies: int, max_sid: int) -> int:
    cols = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (f"core.{table}",))]

    def select(old: bool):
        out = []
        for c in cols:
            if c == "record_id":
                out.append(sql.SQL("'PAD' || g.n || '-' || c.record_id") if not old else sql.Identifier("c", c))
            elif c == "updated_at":
                out.append(sql.SQL("c.updated_at - interval '400 days' - g.n * interval '1 day'") if not old
                           else sql.SQL("c.updated_at - interval '30 days'"))
            elif c == "row_hash" and old:
                out.append(sql.SQL("md5(c.row_hash)"))
            else:
                out.append(sql.Identifier("c", c))
        return sql.SQL(", ").join(out)

    n = conn.execute(_PAD_CORE.format(t=sql.Identifier(table), cols_pad=select(False)),
                     {"copies": copies, "max_sid": max_sid}).rowcount
    n += conn.execute(_PAD_SUPERSEDED.format(t=sql.Identifier(table), ts=sql.Identifier(table + "_superseded"), cols_old=select(True))).rowcount
    return n


def versions(url: str) -> dict[str, int]:
    from supervision.contract import RECORD_TYPES

    with psycopg.connect(url) as conn:
        return {rt.table: conn.execute(sql.SQL("SELECT count(*) FROM core.{}").format(
            sql.Identifier(rt.table + "_history"))).fetchone()[0] for rt in RECORD_TYPES.values()}


def pad(url: str, target_versions: int) -> dict[str, int]:
    """Add old versions until the enforcement history holds about ``target_versions``."""
    with psycopg.connect(url) as conn:
        have = versions(url)["enforcement_case"]
        max_sid = conn.execute("SELECT max(submission_id) FROM ops.submission").fetchone()[0]
        base = conn.execute("SELECT count(*) FROM core.enforcement_case").fetchone()[0]
        copies = max(1, round((target_versions - have) / (1.5 * base)))  # each copy adds 1.5 versions per row
        for table in ("enforcement_case", "complaint", "reconsideration_case", "litigation_case"):
            _pad_sql(conn, table, copies, max_sid)
        conn.commit()
        conn.execute("CHECKPOINT")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return versions(url)


# the steps whose cost could follow the warehouse's size: the load itself, look-ups of referenced records,
# the ledger and the quarantine resolution (timed by wrapping the pipeline's own functions)
_WAREHOUSE_STEPS = (("consume", "_known_ids"), ("consume", "record_submission"), ("consume", "resolve_quarantine"),
                    ("consume", "write_quarantine"), ("load.RecordLoader", "add"), ("load.RecordLoader", "finish"))


def load_night(url: str, registry, day: date, drop: Path, data_dir: Path, steps: dict | None = None) -> dict:
    from supervision.ingest import consume
    from supervision.ingest.outcome import RunContext
    from supervision.ingest.run import process_county
    from supervision.warehouse import load
    from supervision_dev.bench import _Stages

    os.environ["SUPERVISION_WAREHOUSE_URL"] = url
    os.environ["SUPERVISION_DATA_DIR"] = str(data_dir)
    ctx = RunContext.default(day, drop_root=drop, run_id=f"incremental-{day}")
    stages = _Stages()
    saved = []
    if steps is not None:
        for owner_name, name in _WAREHOUSE_STEPS:
            owner = consume if owner_name == "consume" else load.RecordLoader
            saved.append((owner, name, getattr(owner, name)))
            stages.wrap(owner, name)
    t0 = time.perf_counter()
    rows = loaded = 0
    try:
        for code in XUCHANG:
            for o in process_county(registry.county(code), ctx):
                rows += o.rows_received
                loaded += o.rows_loaded
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    if steps is not None:
        steps.update(stages.seconds)
    return {"seconds": time.perf_counter() - t0, "rows": rows, "loaded": loaded,
            "warehouse_steps": stages.seconds, "warehouse_seconds": sum(stages.seconds.values())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench_incremental", description=__doc__.split("\n\n")[0])
    p.add_argument("--history", type=int, default=1_000_000, help="enforcement versions in the smaller warehouse")
    p.add_argument("--scale", type=float, default=30.0)
    p.add_argument("--nights", type=int, default=3)
    p.add_argument("--url", help="admin URL of a PostgreSQL server")
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)

    from supervision import settings
    from supervision.registry import load_registry
    from supervision_dev.simulator import simulate_night

    root = (a.root or settings.data_dir() / "bench-incremental").resolve()
    drop = root / "drop"
    registry = load_registry()
    days = [TONIGHT - timedelta(days=i) for i in range(a.nights - 1, -1, -1)]
    for d in days:
        simulate_night(registry, d, drop, counties=XUCHANG, scale=a.scale)
    admin = _admin_url(a.url)
    names = {k: f"bench_incr_{k}_{os.getpid()}" for k in ("template", "1x", "10x")}
    results: dict = {"machine": machine(), "history": a.history, "scale": a.scale, "nights": a.nights}
    try:
        template = create_db(admin, names["template"])
        for d in days[:-1]:
            r = load_night(template, registry, d, drop, root / "data-template")
            print(f"template: night {d}: {r['rows']:,} rows in {r['seconds']:.1f} s", flush=True)
        with psycopg.connect(admin, autocommit=True) as c:
            for k in ("1x", "10x"):
                c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(names[k]), sql.Identifier(names["template"])))
        for k, factor in (("1x", 1), ("10x", 10)):
            url = _with_db(admin, names[k])
            t = time.perf_counter()
            hist = pad(url, a.history * factor)
            print(f"{k}: history padded to {hist['enforcement_case']:,} enforcement versions "
                  f"({sum(hist.values()):,} in all) in {time.perf_counter() - t:.0f} s", flush=True)
            data = root / f"data-{k}"
            r = load_night(url, registry, days[-1], drop, data, steps={})
            r["history_versions"] = hist
            results[k] = r
            print(f"{k}: tonight {r['rows']:,} rows ({r['loaded']:,} loaded) in {r['seconds']:.2f} s, of which "
                  f"{r['warehouse_seconds']:.2f} s in the warehouse steps", flush=True)
    finally:
        for name in names.values():
            drop_db(admin, name)
    one, ten = results["1x"], results["10x"]
    ratio = ten["seconds"] / one["seconds"]
    print(f"\nmachine: {results['machine']}")
    print(f"same night ({one['rows']:,} rows, {len(XUCHANG)} counties × 4 files), history 1× = "
          f"{sum(one['history_versions'].values()):,} versions, 10× = {sum(ten['history_versions'].values()):,}:")
    print(f"  night, end to end: 1×: {one['seconds']:.2f} s   10×: {ten['seconds']:.2f} s   10× / 1× = {ratio:.2f}")
    w1, w10 = one["warehouse_seconds"], ten["warehouse_seconds"]
    print(f"  warehouse steps:   1×: {w1:.2f} s   10×: {w10:.2f} s   10× / 1× = {w10 / w1:.2f}")
    for step in sorted(set(one["warehouse_steps"]) | set(ten["warehouse_steps"])):
        print(f"    {step:22s} 1×: {one['warehouse_steps'].get(step, 0):6.3f} s   "
              f"10×: {ten['warehouse_steps'].get(step, 0):6.3f} s")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
