"""The dev commands of the `supervision` CLI: ``demo`` and ``simulate``. ``supervision.cli.main`` registers them
when this package is installed; ``python -m supervision_dev demo`` is the same command line."""

from __future__ import annotations

from supervision.cli import COUNTIES_HELP, _common


def register_cli(sub) -> None:
    from supervision_dev import demo

    p = sub.add_parser("simulate", help="write a simulated night of county submissions (dev tool)")
    _common(p)
    p.add_argument("--counties", help=COUNTIES_HELP)
    p.add_argument("--faults", choices=["default", "none"], default="default")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--scale", type=float, default=1.0, help="volume multiplier")
    p.set_defaults(func=demo.cmd_simulate)

    p = sub.add_parser("demo", help="simulate one night with faults and run it end to end (dev tool)")
    _common(p)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--verbose", action="store_true", help="show Airflow's own output")
    p.set_defaults(func=demo.cmd_demo)


def main(argv: list[str] | None = None) -> int:
    from supervision.cli import main as supervision_main

    return supervision_main(argv)
