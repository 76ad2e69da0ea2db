"""The plans' targets as data (issue 16): ``targets.yaml`` beside this module, loaded into ``marts.kpi_target``.

``SUPERVISION_TARGETS`` may name another file of the same shape (a province's own plan). A target is a comparator
(``>=`` or ``<=``), a value (a fraction of 1 for ratios; ``"1/3"`` allowed) and its source. ``overrides`` holds
the same per province or city code; the view ``marts.kpi_vs_target`` applies the most specific one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import psycopg
import yaml

DEFAULT_FILE = Path(__file__).with_name("targets.yaml")


@dataclass(frozen=True)
class Target:
    kpi: str
    scope_code: str  # '' = everywhere
    comparator: str
    target: Decimal
    label: str
    source: str


def _value(raw) -> tuple[Decimal, str]:
    frac = Fraction(str(raw))
    # rounded down, so that exactly 1 of 3 still meets ">= 1/3" (numerator >= target * denominator)
    value = Decimal(frac.numerator) / Decimal(frac.denominator)
    value = value.quantize(Decimal("1e-10"), rounding="ROUND_DOWN")
    label = str(raw) if isinstance(raw, str) and "/" in raw else f"{float(frac) * 100:g}%"
    return value, label


def read_targets(path: Path | str | None = None) -> list[Target]:
    from supervision import resources

    path = Path(path or resources.variables().targets or DEFAULT_FILE)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[Target] = []
    from supervision.marts.kpis import catalog

    known = {k.kpi for k in catalog()}
    scopes = [("", doc.get("defaults") or {})] + [(str(c), v or {}) for c, v in (doc.get("overrides") or {}).items()]
    for scope, entries in scopes:
        for kpi, t in entries.items():
            if kpi not in known:
                raise ValueError(f"{path}: target for unknown measure {kpi!r} (scope {scope or 'default'})")
            base = (doc.get("defaults") or {}).get(kpi, {})
            comparator = t.get("comparator", base.get("comparator", ">="))
            if comparator not in (">=", "<="):
                raise ValueError(f"{path}: {kpi}: comparator must be >= or <=, not {comparator!r}")
            if "target" not in t or not t.get("source"):
                raise ValueError(f"{path}: {kpi} (scope {scope or 'default'}) needs a target and its source")
            value, label = _value(t["target"])
            out.append(Target(kpi, scope, comparator, value, ("≥ " if comparator == ">=" else "≤ ") + label,
                              str(t["source"])))
    return out


def load_targets(conn: psycopg.Connection, path: Path | str | None = None) -> int:
    """Replace marts.kpi_target by the file's targets, and marts.enum_label by supervision.labels (the warehouse
    owner runs this: demo, portal start)."""
    targets = read_targets(path)
    with conn.transaction():
        conn.execute("DELETE FROM marts.kpi_target")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO marts.kpi_target (kpi, scope_code, comparator, target, target_label, source) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(t.kpi, t.scope_code, t.comparator, t.target, t.label, t.source) for t in targets])
    from supervision.labels import load_labels

    load_labels(conn)  # the Chinese labels travel with the targets: both are reference data the portal reads
    return len(targets)
