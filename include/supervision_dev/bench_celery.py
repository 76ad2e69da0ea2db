"""The national night (or every N-th county of it) on the CeleryExecutor stack with 1, 2, ... workers.

    .venv/bin/python -m supervision_dev.bench_celery [--every 30] [--workers 1,2] [--concurrency 1] [--json out.json]

For each worker count: a fresh warehouse and a fresh process stack (supervision_dev.celery_stack: metadata in the
local PostgreSQL, the local Redis as broker, scheduler, dag-processor, api-server, N Celery workers with
``--concurrency`` slots each, the pool warehouse_loads sized to all slots so it never binds), the same simulated
night triggered through the REST API, timed from trigger to the run's end. The simulated drop folder is the one of
``supervision_dev.bench_national`` (same registry, date and scale), kept between runs. On one machine, workers beyond
its cores cannot speed anything up: the figures show the executor's overhead and the distribution over workers;
docs/benchmarks.md states the model beyond one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from supervision import settings
from supervision_dev.bench import create_db, drop_db, machine
from supervision_dev.bench_national import DAY, task_stats


def run_one(root: Path, admin: str, registry: Path, drop: Path, codes: list[str] | None, workers: int,
            concurrency: int, shard_size: int, timeout: float) -> dict:
    from supervision_dev.celery_stack import Stack

    name = f"bench_celery_wh_{os.getpid()}_{workers}"
    warehouse = create_db(admin, name)
    home = root / f"workers-{workers}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    stack = Stack(home, warehouse, workers=workers, concurrency=concurrency, pool_slots=workers * concurrency,
                  heartbeat_timeout=300, admin_url=admin)
    try:
        stack.up()
        conf = {"business_date": DAY.isoformat(), "registry": str(registry), "drop_root": str(drop),
                "shard_size": shard_size, "counties": codes}
        t0 = time.perf_counter()
        run_id = stack.api.trigger("supervision_nightly", conf, run_id=f"manual__{DAY}__bench_{workers}")
        state = stack.api.wait("supervision_nightly", run_id, every=5, timeout=timeout)
        wall = time.perf_counter() - t0
        tis = stack.api.task_instances("supervision_nightly", run_id)
        hosts: dict[str, int] = {}
        for t in tis:
            if t["task_id"] == "load_shard":
                hosts[t["hostname"]] = hosts.get(t["hostname"], 0) + 1
        return {"workers": workers, "concurrency": concurrency, "state": state, "wall_seconds": wall,
                "load_shard_per_worker": hosts, "tasks": task_stats(stack.meta_url, run_id)}
    finally:
        stack.down()
        drop_db(admin, name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench_celery", description=__doc__.split("\n\n")[0])
    p.add_argument("--every", type=int, default=1, help="every N-th county of the national registry (1 = all)")
    p.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    p.add_argument("--concurrency", type=int, default=1, help="task slots per worker")
    p.add_argument("--shard-size", type=int, default=10)
    p.add_argument("--scale", type=float, default=80.0)
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--json", type=Path)
    p.add_argument("--timeout", type=float, default=8 * 3600)
    a = p.parse_args(argv)

    from supervision.registry import load_registry
    from supervision_dev.celery_stack import LOCAL_ADMIN_URL
    from supervision_dev.simulator import simulate_night

    root = (a.root or settings.data_dir() / "bench-celery").resolve()
    registry = settings.INCLUDE_DATA / "registries" / "china.yaml"
    reg = load_registry(registry)
    codes = reg.codes[::a.every]
    drop = root / "drop"
    stamp = root / f".simulated-{a.scale}-{a.every}"
    if not stamp.exists():
        shutil.rmtree(drop, ignore_errors=True)
        simulate_night(reg, DAY, drop, counties=codes, scale=a.scale)
        stamp.write_text("ok")
    result = {"machine": machine(), "counties": len(codes), "scale": a.scale, "shard_size": a.shard_size, "runs": []}
    for n in (int(x) for x in a.workers.split(",")):
        r = run_one(root, LOCAL_ADMIN_URL, registry, drop, codes if a.every > 1 else None, n, a.concurrency,
                    a.shard_size, a.timeout)
        print(json.dumps({k: v for k, v in r.items() if k != "tasks"}, default=str), flush=True)
        result["runs"].append(r)
    print(json.dumps(result, indent=1, default=str))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1, default=str))
    return 0 if all(r["state"] == "success" for r in result["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
