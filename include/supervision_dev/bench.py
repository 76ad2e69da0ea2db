"""``make bench``: how fast one county file goes through the pipeline, against what a user would write and the
physical limit, on the same generated data.

    python -m supervision_dev.bench [--rows 1000000] [--url postgresql://...] [--keep]

Five measurements, each in its own fresh process (so each peak RSS is its own), on the same CSV file:

* **ours**: ``ingest.run.process_file`` on the file, exactly as the nightly DAG runs it: read (pyarrow CSV) →
  raw Parquet → rule columns → Great Expectations suite (cross-checked) → quarantine split → ledger +
  quarantine rows → row hash + binary COPY into core (or stage + merge). Stage times come from timers wrapped around the
  pipeline's own functions. A small file goes through first (GX context and suite set-up, imports): that
  one-time cost per worker process is reported separately, not hidden.
* **baseline**: what a user would write: ``pandas.read_csv`` + ``DataFrame.to_sql`` (SQLAlchemy + psycopg 3).
* **floor**: the rows ours loaded, as pre-encoded binary COPY bytes sorted by key, COPYed into an empty twin of
  ``core.enforcement_case`` (its primary key and submission index): what writing them costs the server alone.
* **dlt**: the loader a user would pick instead of ours: dlt (a dev dependency, never the product's) loading the same
  file with ``write_disposition="merge"`` on (county_code, record_id) into a table with that primary key, from Arrow
  batches through its COPY (csv) path; reading the file is timed too.
* **ceiling**: raw ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the file's bytes into an empty table of text
  columns: no parsing in Python, no validation, no index. Nothing that loads these rows can be faster.

The data: one simulated county file (``simulate_night``), tiled to ``--rows`` with record ids renumbered, and
one row in 200 given an impossible ``filed_date`` so the quarantine path does real work.
The database: ``--url`` (a server where we may CREATE DATABASE), else the local server at 127.0.0.1:5432 when it
answers, else the embedded one; a throw-away database ``bench_<pid>`` is created, migrated and dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

BUSINESS_DATE = date(2026, 11, 22)
WARMUP_DATE = date(2026, 11, 21)
COUNTY = "410102"
RT = "enforcement_cases"
LOCAL_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- data ---------------------------------------------------------------------------------------------------


def make_data(root: Path, rows: int, seed_scale: float = 50.0, scatter: bool = False) -> Path:
    """<root>/drop/<county>/<date>/enforcement_cases.csv with ``rows`` rows (+ manifest); cached by size."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from supervision.registry import load_registry
    from supervision_dev.simulator import simulate_night

    drop = root / f"drop-{rows}{'-scattered' if scatter else ''}"  # one folder per size and id order
    folder = drop / COUNTY / BUSINESS_DATE.isoformat()
    target = folder / f"{RT}.csv"
    stamp = folder / ".rows"
    if target.exists() and stamp.exists() and stamp.read_text() == str(rows):
        return target
    reg = load_registry()
    seed_drop = root / "seed"
    simulate_night(reg, WARMUP_DATE, seed_drop, counties=[COUNTY], scale=seed_scale)
    seed_file = seed_drop / COUNTY / WARMUP_DATE.isoformat() / f"{RT}.csv"
    # the warm-up day: the simulated file as it is
    warm = drop / COUNTY / WARMUP_DATE.isoformat()
    warm.mkdir(parents=True, exist_ok=True)
    (warm / f"{RT}.csv").write_bytes(seed_file.read_bytes())
    cols = seed_file.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    seed = pacsv.read_csv(seed_file, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in cols}, strings_can_be_null=True))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    n_seed = seed.num_rows
    written = 0
    with pacsv.CSVWriter(tmp, seed.schema) as writer:
        tile = 0
        while written < rows:
            t = seed.slice(0, min(n_seed, rows - written))
            # ENF-410102-20261121-0285 -> ENF-410102-00012-20261121-0285: each tile is a later block of the county's
            # ids (a county system numbers cases as they come); --scatter-ids puts the tile last instead, so
            # every tile spreads over the whole key range (the worst case for the primary key index)
            ids = (pc.binary_join_element_wise(t["record_id"], pa.scalar(f"{tile:05d}"), "-") if scatter else
                   pc.replace_substring_regex(t["record_id"], pattern=r"^([A-Z]+-[0-9]{6}-)",
                                              replacement=f"\\1{tile:05d}-"))
            t = t.set_column(t.schema.get_field_index("record_id"), "record_id", ids)
            pos = pa.array(range(written, written + t.num_rows))
            bad = pc.equal(pc.remainder(pos, 200), 7)  # one row in 200: an impossible filed date
            t = t.set_column(t.schema.get_field_index("filed_date"), "filed_date",
                             pc.if_else(bad, pa.scalar("2026-13-45"), t["filed_date"]))
            writer.write_table(t)
            written += t.num_rows
            tile += 1
    digest = hashlib.sha256()
    with open(tmp, "rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    os.replace(tmp, target)
    (folder / "manifest.json").write_text(json.dumps({
        "county_code": COUNTY, "business_date": BUSINESS_DATE.isoformat(), "encoding": "utf-8",
        "files": {RT: {"rows": rows, "sha256": digest.hexdigest()}}}))
    stamp.write_text(str(rows))
    return target


def national_registry_yaml() -> str:
    """A registry of every county-level unit in the division reference (same format as henan.yaml)."""
    from supervision import divisions

    df = divisions.load_divisions()
    provinces = df[df.level == "province"].sort_values("code")
    cities = df[df.level == "city"].set_index("code")["name"].to_dict()
    lines = [
        "# County registry: all of China, every county-level unit of the division reference "
        f"({divisions.EDITION}).",
        "# Generated by `python -m supervision_dev.bench --write-registry include/data/registries/china.yaml`;",
        "# used for the national-scale measurements of docs/benchmarks.md. Same format as henan.yaml.",
        "name: china", "defaults:", '  deadline: "06:00"', "  transport: file_drop", "  reject_threshold: 0.2",
        "alerting:", "  engineers:", "    - {name: 数据工程值班, email: data-engineers@supervision.example}",
        "  supervisors:"]
    lines += [f'    "{r.code}": [{{name: {r.name}司法厅行政执法协调监督处, email: supervision-{r.code}@supervision.example}}]'
              for r in provinces.itertuples()]
    lines.append("counties:")
    for r in divisions.counties().sort_values("code").itertuples():
        lines += [f'  - code: "{r.code}"', f"    name: {r.name}", f"    city: {cities[r.city_code]}",
                  f"    contact: {{name: {r.name}司法局数据专员, email: data-{r.code}@supervision.example}}"]
    return "\n".join(lines) + "\n"


# --- database -----------------------------------------------------------------------------------------------


def _admin_url(url: str | None) -> str:
    import psycopg

    if url:
        return url
    try:
        psycopg.connect(LOCAL_ADMIN, connect_timeout=2).close()
        return LOCAL_ADMIN
    except psycopg.OperationalError:
        from supervision.warehouse.connection import start_embedded

        return start_embedded(keep_running=False)


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_db(admin: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    from supervision.warehouse.migrate import deploy_warehouse

    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_db(admin, name)
    with psycopg.connect(url, autocommit=True) as c:
        deploy_warehouse(c)
    return url


def drop_db(admin: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- phases (each in its own process) -------------------------------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _server_cpu() -> dict[int, float] | None:
    """CPU seconds used so far by each process of the local PostgreSQL server (backends, WAL writer,
    checkpointer), read from /proc; None where that is not visible (another host, another OS)."""
    seen: dict[int, float] = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name.startswith("postgres"):
            seen[int(d.name)] = (int(rest[11]) + int(rest[12])) / _TICK  # utime, stime
    return seen or None


class _Cpu:
    """CPU used during a timed phase: this process (user, system) and the server. Two cores bound a phase at
    (client + server CPU) / 2: the figure that says whether a phase waits on work or on something else.

    The server's processes are sampled every 0.1 s (a backend that starts and ends inside the phase is not
    visible to a before/after reading); a process seen first during the phase counts from zero."""

    def __enter__(self):
        import threading

        self._self, self._first = resource.getrusage(resource.RUSAGE_SELF), _server_cpu()
        self._last = dict(self._first or {})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.1):
            self._last.update(_server_cpu() or {})

    def __exit__(self, *exc):
        now = resource.getrusage(resource.RUSAGE_SELF)
        self._stop.set()
        self._thread.join()
        self._last.update(_server_cpu() or {})
        server = None if self._first is None else sum(v - self._first.get(pid, 0.0) for pid, v in self._last.items())
        self.result = {"client_user": now.ru_utime - self._self.ru_utime,
                       "client_sys": now.ru_stime - self._self.ru_stime, "server": server,
                       "minor_faults": now.ru_minflt - self._self.ru_minflt}


class _Stages:
    """Wall time per pipeline stage, from timers wrapped around the functions ingest/consume.py calls (main thread),
    plus the loader thread's own clock (sort, row hash, encode, COPY, merge): the two run at the same time."""

    NAMES = {"read_file": "read (whole, or first pass over ids)", "tables": "parse batches (while loading)", "check_batch": "rule columns (validation)",
             "gx_check": "Great Expectations", "_store": "validation result (GX store, JSON)", "_quarantine_rows": "quarantine rows (build)",
             "write_quarantine": "quarantine rows (COPY)", "record_submission": "ledger",
             "add": "waiting for the loader (queue full)", "finish": "waiting for the loader (last batch)",
             "resolve_quarantine": "resolve earlier quarantine",
             "_known_ids": "cross-record look-ups", "write": "waiting for the Parquet writer",
             "land_all": "land raw Parquet (whole)"}

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, owner, name: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)

    def wrap_generator(self, owner, name: str) -> None:
        """Time spent inside a generator's steps (e.g. parsing the next batch of an overlapped read)."""
        fn = getattr(owner, name)

        def timed(*a, **kw):
            it = fn(*a, **kw)
            try:
                while True:
                    t = time.perf_counter()
                    try:
                        item = next(it)
                    except StopIteration:
                        return
                    finally:
                        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
                    yield item
            finally:
                it.close()

        setattr(owner, name, timed)


def phase_ours(root: Path, file: Path) -> dict:
    import shutil

    from supervision import landing, settings
    from supervision.contract import RECORD_TYPES
    from supervision.ingest import consume
    from supervision.ingest import run as ingest_run
    from supervision.ingest.outcome import RunContext
    from supervision.registry import load_registry
    from supervision.sources import RawBatch, filedrop
    from supervision.sources.filedrop import discover
    from supervision.validation import gx_run
    from supervision.warehouse import load

    county = load_registry().county(COUNTY)
    rt = RECORD_TYPES[RT]
    drop = file.parents[2]
    shutil.rmtree(settings.lake_root(), ignore_errors=True)  # else the file is "already landed" from a former run

    def run(day_date):
        ctx = RunContext.default(day_date, drop_root=drop, run_id="bench")
        day = discover(ctx.drop_root, COUNTY, day_date)
        t = time.perf_counter()
        out = ingest_run.process_file(county, rt, day, ctx)
        return time.perf_counter() - t, out

    t0 = time.perf_counter()
    warm_s, warm = run(WARMUP_DATE)
    warm_total = time.perf_counter() - t0
    stages = _Stages()
    stages.wrap(filedrop, "read_file")
    for name in ("check_batch", "_quarantine_rows", "write_quarantine",
                 "record_submission", "resolve_quarantine", "_known_ids"):
        stages.wrap(consume, name)
    for name in ("gx_check", "_store"):  # one file alone: its own GX run when it is done (validation.gx_run)
        stages.wrap(gx_run.ShardValidation, name)
    stages.wrap(load.RecordLoader, "add")
    stages.wrap(load.RecordLoader, "finish")
    stages.wrap(landing.Lander, "write")
    stages.wrap_generator(RawBatch, "tables")
    clocks: list[dict] = []
    finish = load.RecordLoader.finish

    def finish_and_keep_clock(self, *a, **kw):
        out = finish(self, *a, **kw)
        clocks.append(dict(getattr(self, "timings", {})))
        return out

    load.RecordLoader.finish = finish_and_keep_clock
    started = time.monotonic()
    with _Cpu() as cpu:
        seconds, out = run(BUSINESS_DATE)
    window = (started, time.monotonic())
    if out.status not in ("loaded", "loaded_with_quarantine"):
        raise SystemExit(f"bench file was not loaded: {out.status}: {out.reason}")
    return {"seconds": seconds, "rows": out.rows_received, "loaded": out.rows_loaded,
            "quarantined": out.rows_quarantined, "status": out.status, "stages": stages.seconds,
            "loader": clocks[-1] if clocks else {}, "batch_rows": consume.batch_rows(),
            "first_batch_rows": min(consume.FIRST_BATCH_ROWS, consume.batch_rows()),
            "warmup_seconds": warm_total, "warmup_rows": warm.rows_received, "peak_mib": _peak_mib(),
            "cpu": cpu.result,
            "monotonic": window}  # the timed window on CLOCK_MONOTONIC: perf record -k CLOCK_MONOTONIC, report --time


def phase_baseline(root: Path, file: Path) -> dict:
    import pandas as pd

    from supervision.warehouse.connection import sqlalchemy_engine

    engine = sqlalchemy_engine()
    t = time.perf_counter()
    with _Cpu() as cpu:
        frame = pd.read_csv(file)
        read_s = time.perf_counter() - t
        frame.to_sql("baseline_" + RT, engine, schema="public", if_exists="replace", index=False)
    seconds = time.perf_counter() - t
    engine.dispose()
    return {"seconds": seconds, "rows": len(frame), "stages": {"read_csv": read_s, "to_sql": seconds - read_s},
            "peak_mib": _peak_mib(), "cpu": cpu.result}


def phase_ceiling(root: Path, file: Path) -> dict:
    import psycopg
    from psycopg import sql

    from supervision.warehouse.connection import warehouse_url

    header = file.open(encoding="utf-8").readline().strip().split(",")
    cols = [h.strip('"') for h in header]
    with psycopg.connect(warehouse_url()) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS public.ceiling"))
        conn.execute(sql.SQL("CREATE TABLE public.ceiling ({})").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in cols)))
        conn.commit()
        t = time.perf_counter()
        with _Cpu() as cpu:
            with conn.cursor().copy("COPY public.ceiling FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                    open(file, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            conn.commit()
        seconds = time.perf_counter() - t
        rows = conn.execute("SELECT count(*) FROM public.ceiling").fetchone()[0]
        conn.execute("DROP TABLE public.ceiling")
        conn.commit()
    return {"seconds": seconds, "rows": rows, "stages": {"COPY": seconds}, "peak_mib": _peak_mib(), "cpu": cpu.result}


def phase_floor(root: Path, file: Path) -> dict:
    """The warehouse's own floor: the rows ``ours`` loaded, pre-encoded (binary COPY bytes, sorted by key), COPYed
    into an empty twin of ``core.enforcement_case`` with its primary key and submission index. No Python work is
    timed: this is what writing these rows costs the server, whatever the client does."""
    import psycopg

    from supervision.warehouse.connection import warehouse_url

    with psycopg.connect(warehouse_url()) as conn:
        conn.execute("DROP TABLE IF EXISTS public.floor")
        conn.execute("CREATE TABLE public.floor (LIKE core.enforcement_case INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        data = bytearray()
        with conn.cursor().copy("COPY (SELECT * FROM core.enforcement_case WHERE submission_id = "
                                "(SELECT max(submission_id) FROM core.enforcement_case) ORDER BY county_code, record_id) "
                                "TO STDOUT (FORMAT binary)") as copy:
            for chunk in copy:
                data += chunk
        if not data:
            raise SystemExit("phase floor runs after phase ours (it copies the rows ours loaded)")
        conn.execute("CHECKPOINT")
        t = time.perf_counter()
        with _Cpu() as cpu:
            with conn.cursor().copy("COPY public.floor FROM STDIN (FORMAT binary)") as copy:
                view = memoryview(data)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i:i + (1 << 20)])
            conn.commit()
        seconds = time.perf_counter() - t
        rows = conn.execute("SELECT count(*) FROM public.floor").fetchone()[0]
        conn.execute("DROP TABLE public.floor")
        conn.commit()
    return {"seconds": seconds, "rows": rows, "stages": {"COPY binary, indexed": seconds}, "peak_mib": _peak_mib(),
            "cpu": cpu.result}


def phase_dlt(root: Path, file: Path) -> dict:
    """What a user would pick instead of our loader: dlt (a dev dependency only) loading the same file into the
    warehouse's server with ``write_disposition="merge"`` on (county_code, record_id), the file read with pyarrow
    (types as pyarrow infers them) and handed over as Arrow batches on dlt's fast path for postgres
    (``loader_file_format="csv"``: COPY). dlt declares no composite key in postgres (its ``create_indexes`` makes
    single-column UNIQUE constraints only), so, like ours, the warm-up file goes first (creating dlt's table and
    state, timed apart) and the table then gets core's primary key (county_code, record_id): the timed load merges
    into the same kind of table as ours. Reading, extract, normalize and load are all timed."""
    from urllib.parse import urlsplit

    import dlt
    import psycopg
    import pyarrow.csv as pacsv

    from supervision.warehouse.connection import warehouse_url

    url = warehouse_url()
    parts = urlsplit(url)
    # dlt insists on a password; a server with trust authentication (the local one, the embedded one) ignores it
    creds = url if parts.password else url.replace(f"//{parts.username}@", f"//{parts.username}:unused@", 1)
    pipeline = dlt.pipeline(pipeline_name=f"bench_dlt_{os.getpid()}", pipelines_dir=str(root / "dlt"),
                            destination=dlt.destinations.postgres(credentials=creds), dataset_name="dlt_bench",
                            progress=None)

    def load(table, stages: dict[str, float]) -> None:
        @dlt.resource(name=RT, write_disposition="merge", primary_key=("county_code", "record_id"))
        def records():
            yield from table.to_batches(max_chunksize=100_000)

        for step in ("extract", "normalize", "load"):
            t = time.perf_counter()
            if step == "extract":
                pipeline.extract(records(), loader_file_format="csv")
            else:
                getattr(pipeline, step)()
            stages[step] = time.perf_counter() - t

    t = time.perf_counter()
    schema = pacsv.read_csv(file).schema  # the main file's inferred types, for both files (one table schema)
    warm = file.parents[2] / COUNTY / WARMUP_DATE.isoformat() / f"{RT}.csv"
    load(pacsv.read_csv(warm, convert_options=pacsv.ConvertOptions(column_types=schema)), {})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE dlt_bench.{RT} ADD PRIMARY KEY (county_code, record_id)")  # noqa: S608 - constant
        warm_rows = conn.execute(f"SELECT count(*) FROM dlt_bench.{RT}").fetchone()[0]  # noqa: S608 - constant
    warm_total = time.perf_counter() - t

    stages: dict[str, float] = {}
    t = time.perf_counter()
    with _Cpu() as cpu:
        table = pacsv.read_csv(file)
        stages["read (pyarrow CSV)"] = time.perf_counter() - t
        load(table, stages)
    seconds = time.perf_counter() - t
    with psycopg.connect(url, autocommit=True) as conn:
        # the timed file's rows (its record ids are not the warm-up file's)
        rows = conn.execute(f"SELECT count(*) FROM dlt_bench.{RT}").fetchone()[0] - warm_rows  # noqa: S608 - constant
        keys = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                            "AND contype = 'p'", (f"dlt_bench.{RT}",)).fetchall()
        conn.execute("DROP SCHEMA dlt_bench CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS dlt_bench_staging CASCADE")
    return {"seconds": seconds, "rows": rows, "stages": stages, "peak_mib": _peak_mib(), "cpu": cpu.result,
            "keys": [k[0] for k in keys], "warmup_seconds": warm_total, "dlt": dlt.__version__}


PHASES = {"ours": phase_ours, "baseline": phase_baseline, "ceiling": phase_ceiling, "floor": phase_floor,
          "dlt": phase_dlt}


def _run_phase(phase: str, root: Path, file: Path, env: dict) -> dict:
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-m", "supervision_dev.bench", "--phase", phase, "--root", str(root),
                           "--file", str(file)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    return result


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--url", help="admin URL of a PostgreSQL server (default: local 127.0.0.1:5432, else embedded)")
    p.add_argument("--root", type=Path, default=None, help="work folder (default: <data>/bench)")
    p.add_argument("--phases", default="ours,floor,dlt,baseline,ceiling")
    p.add_argument("--keep", action="store_true", help="keep the bench database")
    p.add_argument("--scatter-ids", action="store_true",
                   help="record ids spread over the whole key range in every block (worst case for the index)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--write-registry", type=Path, help="write the national registry (all county-level units) and exit")
    p.add_argument("--phase", help=argparse.SUPPRESS)
    p.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.write_registry:
        from supervision.registry import load_registry

        a.write_registry.write_text(national_registry_yaml(), encoding="utf-8")
        print(f"{a.write_registry}: {len(load_registry(a.write_registry).counties)} counties")
        return 0
    if a.phase:  # child process
        print(json.dumps(PHASES[a.phase](a.root, a.file)))
        return 0

    from supervision import settings

    root = (a.root or settings.data_dir() / "bench").resolve()
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    file = make_data(root, a.rows, scatter=a.scatter_ids)
    print(f"data: {file} ({file.stat().st_size / 2**20:.0f} MiB, {a.rows:,} rows; ready in "
          f"{time.perf_counter() - t:.1f} s)", flush=True)
    admin = _admin_url(a.url)
    name = f"bench_{os.getpid()}"
    url = create_db(admin, name)
    env = {**os.environ, "SUPERVISION_WAREHOUSE_URL": url, "SUPERVISION_DATA_DIR": str(root / "data")}
    results = {}
    try:
        for phase in a.phases.split(","):
            results[phase] = r = _run_phase(phase, root, file, env)
            print(f"{phase:9s} {r['rows']:>10,} rows  {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>9,.0f} rows/s"
                  f"  peak {r['peak_mib']:6.0f} MiB  (load {r['load_before']:.2f}){_cpu_text(r)}", flush=True)
    finally:
        if not a.keep:
            drop_db(admin, name)
    report(results, a.rows, sys.argv)
    if a.json:
        a.json.write_text(json.dumps({"rows": a.rows, "machine": machine(), "results": results}, indent=1))
    return 0


def _cpu_text(r: dict) -> str:
    c = r.get("cpu")
    if not c:
        return ""
    server = "" if c["server"] is None else f", server {c['server']:.1f} s"
    return f"  cpu: client {c['client_user']:.1f} s user + {c['client_sys']:.1f} s sys{server}"


def report(results: dict, rows: int, argv) -> None:
    print(f"\nmachine: {machine()}")
    print(f"command: make bench ROWS={rows}   (python -m supervision_dev.bench {' '.join(argv[1:])})")
    if "ours" in results:
        ours = results["ours"]
        print(f"\nours, per stage ({ours['rows']:,} rows: {ours['loaded']:,} loaded, {ours['quarantined']:,} "
              f"quarantined; one-time worker warm-up {ours['warmup_seconds']:.1f} s, not included):")
        print(f"  main thread (batches of {ours.get('batch_rows', 0):,} rows, the first "
              f"{ours.get('first_batch_rows', ours.get('batch_rows', 0)):,}):")
        for k, v in sorted(ours["stages"].items(), key=lambda kv: -kv[1]):
            print(f"    {_Stages.NAMES.get(k, k):38s} {v:7.2f} s")
        other = ours["seconds"] - sum(ours["stages"].values())
        print(f"    {'other (discover, manifest, split, ...)':38s} {other:7.2f} s")
        if ours.get("loader"):
            print("  loader thread (at the same time as the main thread):")
            for k, v in sorted(ours["loader"].items(), key=lambda kv: -kv[1]):
                print(f"    {k:38s} {v:7.2f} s")
        rate = ours["rows"] / ours["seconds"]
        print()
        for ref, target in (("baseline", 6.0), ("ceiling", 0.6)):
            if ref in results:
                r = results[ref]["rows"] / results[ref]["seconds"]
                ratio = rate / r
                ok = "met" if ratio >= target else "NOT met"
                print(f"ours / {ref:8s} = {ratio:5.2f}   (target >= {target:g}: {ok})")
        if "dlt" in results:
            d = results["dlt"]
            ratio = rate / (d["rows"] / d["seconds"])
            print(f"ours / dlt      = {ratio:5.2f}   (target >= 2: {'met' if ratio >= 2 else 'NOT met'}; dlt {d['dlt']} merge "
                  f"on (county_code, record_id), Arrow batches + csv COPY, {d['seconds']:.2f} s: "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in d["stages"].items()) + ")")
        if "floor" in results:
            f = results["floor"]
            print(f"ours / floor    = {rate / (f['rows'] / f['seconds']):5.2f}   (floor: the server's binary COPY of "
                  f"the loaded rows into the indexed table, {f['seconds']:.2f} s; no target)")
        cores = os.cpu_count() or 1
        for name, r in results.items():
            c = r.get("cpu")
            if c and c.get("server") is not None:
                work = c["client_user"] + c["client_sys"] + c["server"]
                print(f"cpu {name:9s} {work:6.1f} core-s (client {c['client_user'] + c['client_sys']:.1f}, server "
                      f"{c['server']:.1f}): no faster than {work / cores:.2f} s on {cores} cores; "
                      f"{r['seconds']:.2f} s = {work / cores / r['seconds']:.0%} busy")
        ok = "met" if ours["seconds"] < 10 * rows / 1_000_000 else "NOT met"
        print(f"end to end: {ours['seconds']:.2f} s for {ours['rows']:,} rows   (target < 10 s per 1M rows: {ok})")


if __name__ == "__main__":
    raise SystemExit(main())
