"""The project's remembered defaults: ``data/settings.json``, written by ``supervision demo`` (or by hand with
``supervision settings set``), read by every command and by Airflow's task processes.

Order for each value: the CLI option, else the ``SUPERVISION_*`` variable, else this file, else the built-in
default (README, "Operations"). Keys:

    registry      county registry YAML                         (SUPERVISION_REGISTRY)
    drop_root     drop folder                                  (SUPERVISION_DROP_ROOT)
    counties      county codes every command covers by default (SUPERVISION_COUNTIES; "all" = the registry)
    warehouse_url a PostgreSQL URL without a password          (SUPERVISION_WAREHOUSE_URL; empty = embedded)
    demo_date     the business date the demo simulated (informative)
    demo_county_systems  {"root", "seed", "registry"} of the demo's simulated API and database counties:
                  `supervision run` on that registry brings them up again while it runs

Nothing secret is written here: a warehouse URL with a password stays in the environment.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

KEYS = ("registry", "drop_root", "counties", "warehouse_url", "demo_date", "demo_county_systems")
ENV = {"registry": "SUPERVISION_REGISTRY", "drop_root": "SUPERVISION_DROP_ROOT", "counties": "SUPERVISION_COUNTIES",
       "warehouse_url": "SUPERVISION_WAREHOUSE_URL"}


def path() -> Path:
    from supervision import settings

    return settings.data_dir() / "settings.json"


def load() -> dict:
    """The file's values ({} when there is none). A broken file is an error that names it, not a silent reset."""
    p = path()
    if not p.exists():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{p} is not valid JSON ({e}); fix it or delete it (supervision settings reset)") from e
    if not isinstance(doc, dict):
        raise ValueError(f"{p} must hold a JSON object")
    return {k: v for k, v in doc.items() if k in KEYS and v not in (None, "", [])}


def get(key: str):
    return load().get(key)


def save(**values) -> Path:
    """Merge ``values`` into the file (None removes a key); written atomically."""
    unknown = set(values) - set(KEYS)
    if unknown:
        raise KeyError(f"unknown setting(s) {sorted(unknown)}; known: {', '.join(KEYS)}")
    url = values.get("warehouse_url")
    if url and urlsplit(url).password:
        raise ValueError("a warehouse URL with a password stays in the environment (SUPERVISION_WAREHOUSE_URL)")
    doc = load()
    for k, v in values.items():
        if v in (None, "", []):
            doc.pop(k, None)
        else:
            doc[k] = v
    doc["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p


def reset() -> None:
    path().unlink(missing_ok=True)


def counties() -> list[str] | None:
    """The counties commands cover by default: SUPERVISION_COUNTIES, else the file, else None (the registry)."""
    from supervision import resources

    return resources.default_counties()


def effective() -> list[tuple[str, str, str]]:
    """(key, value, where it comes from) for ``supervision settings show``."""
    from supervision import resources, settings

    doc = load()
    env_values = resources.variables().model_dump()
    out = []
    builtin = {"registry": str(settings.DEFAULT_REGISTRY), "drop_root": str(settings.data_dir() / "drop"),
               "counties": "all of the registry", "warehouse_url": "embedded PostgreSQL under data/pg",
               "demo_date": "-", "demo_county_systems": "-"}
    for key in KEYS:
        env = ENV.get(key)
        if env and env_values.get(key):
            value = str(env_values[key])
            if key == "warehouse_url":
                from supervision.warehouse.connection import redacted

                value = redacted(value)
            out.append((key, value, f"${env}"))
        elif key in doc:
            value = doc[key]
            shown = ",".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, dict) \
                else str(value)
            out.append((key, shown, str(path())))
        else:
            out.append((key, builtin[key], "built-in default"))
    return out


def cmd_settings(args) -> int:
    if args.action == "show":
        rows = effective()
        width = max(len(k) for k, _, _ in rows)
        for key, value, where in rows:
            print(f"{key.ljust(width)}  {value}    ({where})")
        print(f"\nOrder: CLI option, then the variable, then {path()}, then the built-in default.")
    elif args.action == "set":
        values: dict = {}
        for item in args.values:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected KEY=VALUE, got {item!r}")
            if key == "counties":
                value = None if value.strip() in ("", "all") else [c.strip() for c in value.split(",") if c.strip()]
            elif key in ("registry", "drop_root") and value:
                value = str(Path(value).resolve())
            values[key] = value
        print(f"saved {', '.join(values)} in {save(**values)}")
    elif args.action == "reset":
        reset()
        print(f"removed {path()}: every command is back to the built-in defaults")
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("settings", help="the project's remembered defaults (data/settings.json): "
                                               "show | set KEY=VALUE ... | reset")
    p.add_argument("action", choices=["show", "set", "reset"])
    p.add_argument("values", nargs="*", help="for set: registry=PATH drop_root=PATH counties=A,B|all "
                                             "warehouse_url=URL (no password)")
    p.set_defaults(func=cmd_settings)
