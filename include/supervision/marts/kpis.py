"""The catalog of supervision measures (domain.md, "Supervision measures"): names, units and what they count.

Each measure has one home: the model file of the view that computes it, ``sql/models/marts/kpi_contribution_<record
type>.sql``, whose ``/* kpis: ... */`` block gives its metadata (name, Chinese label, unit, period, numerator and
denominator in words) right above the SQL (its row of the view's VALUES). This module reads those blocks: the
catalog fills ``marts.kpi_definition`` and docs/kpis.md (``python -m supervision.marts.kpis docs/kpis.md``
rewrites its generated parts). Volume breakdowns (acts by action type and by domain) follow the contract's enums
(an entry with ``each``), so a new enum value gets its measure without an edit (its label falls back to the code).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from supervision.contract import ACTION_TYPES, ACTION_TYPES_ZH, DOMAINS, DOMAINS_ZH, RECORD_TYPES
from supervision.warehouse.models import Model, models

RATIO, COUNT, YUAN = "ratio", "count", "yuan"

# Chinese labels come from the contract (one definition beside the fields)
ACTION_TYPE_ZH = dict(zip(ACTION_TYPES, ACTION_TYPES_ZH, strict=True))
DOMAIN_ZH = dict(zip(DOMAINS, DOMAINS_ZH, strict=True))
EACH = {"action_type": ACTION_TYPE_ZH, "domain": DOMAIN_ZH}  # enums a measure can be broken down by

_BLOCK = re.compile(r"^/\* kpis:\n(.*?)^\*/", re.S | re.M)
_RECORD_TYPE = re.compile(r"'(\w+)'::text AS record_type")
_FIELDS = ("kpi", "family", "each", "name_zh", "name_en", "unit", "period_by", "numerator", "denominator")


@dataclass(frozen=True)
class Kpi:
    kpi: str
    family: str
    name_zh: str
    name_en: str
    unit: str
    record_type: str
    period_by: str
    numerator: str
    denominator: str | None = None
    model: str = ""  # the model file that defines it, relative to the repository's sql/ directory

    @property
    def township_level(self) -> bool:
        return self.record_type in ("enforcement_cases", "complaints")  # the record types with a township code


@dataclass(frozen=True)
class Entry:
    """One measure as its model file declares it (``each``: one measure per value of that contract enum)."""
    model: Model
    record_type: str
    kpi: str
    name_zh: str
    name_en: str
    unit: str
    period_by: str
    numerator: str
    denominator: str | None = None
    family: str | None = None
    each: str | None = None

    def expand(self) -> list[Kpi]:
        rel = self.model.path.relative_to(self.model.path.parents[2]).as_posix()
        fields = dict(name_zh=self.name_zh, name_en=self.name_en, numerator=self.numerator,
                      denominator=self.denominator)
        if self.each is None:
            return [Kpi(self.kpi, self.family or self.kpi, unit=self.unit, record_type=self.record_type,
                        period_by=self.period_by, model=rel, **fields)]
        out = []
        for value, zh in EACH[self.each].items():
            f = {k: v if v is None else v.format(value=value, zh=zh) for k, v in fields.items()}
            out.append(Kpi(self.kpi.format(value=value), self.family or self.kpi, unit=self.unit,
                           record_type=self.record_type, period_by=self.period_by, model=rel, **f))
        return out

    @property
    def sql_key(self) -> str:
        """How the model's SQL names the measure: 'publicity_rate', or 'enforcement_acts.action.' || ..."""
        return "'" + (self.kpi.split("{")[0] if self.each else self.kpi + "'")


def entries(directory: Path | None = None) -> list[Entry]:
    """The measures declared by the model files, in catalog order: by record type as the contract orders them,
    then as each block lists them."""
    out = []
    for m in models(directory):
        block = _BLOCK.search(m.sql)
        if block is None:
            continue
        rt = _RECORD_TYPE.search(m.sql)
        if rt is None:
            raise ValueError(f"{m.path}: a view defining measures names its record_type ('...'::text AS record_type)")
        for d in yaml.safe_load(block.group(1)):
            unknown = set(d) - set(_FIELDS)
            if unknown or d.get("unit") not in (RATIO, COUNT, YUAN) or (d.get("each") not in (None, *EACH)):
                raise ValueError(f"{m.path}: measure {d.get('kpi')}: unknown fields {sorted(unknown)}, a unit among "
                                 f"{RATIO}/{COUNT}/{YUAN}, each among {sorted(EACH)}")
            e = Entry(model=m, record_type=rt.group(1), **d)
            if e.sql_key not in m.sql[block.end():]:
                raise ValueError(f"{m.path}: measure {e.kpi} is declared but its SQL ({e.sql_key}) is not there")
            out.append(e)
    order = list(RECORD_TYPES)
    return sorted(out, key=lambda e: order.index(e.record_type) if e.record_type in order else len(order))


@cache
def _catalog() -> tuple[Kpi, ...]:
    return tuple(k for e in entries() for k in e.expand())


def catalog() -> list[Kpi]:
    return list(_catalog())


def definition_rows() -> list[tuple]:
    return [(k.kpi, k.family, k.name_zh, k.name_en, k.unit, k.record_type, k.period_by, k.numerator, k.denominator,
             k.township_level, i) for i, k in enumerate(catalog(), 1)]


DEFINITION_COLUMNS = ("kpi", "family", "name_zh", "name_en", "unit", "record_type", "period_by", "numerator",
                      "denominator", "township_level", "sort")


# docs/kpis.md: the parts between these markers are generated from the model files (a test compares).
_DOC_PART = re.compile(r"(<!-- generated: (\w+) -->\n).*?(<!-- end: \2 -->)", re.S)


def _cell(text: str | None) -> str:
    return "" if text is None else text.replace("|", "\\|").replace("\n", " ")


def _measures_table() -> str:
    rows = ["| kpi | 名称 | unit | period by | numerator | denominator | model |", "|---|---|---|---|---|---|---|"]
    for e in entries():
        kpi, name_zh, numerator = e.kpi, e.name_zh, e.numerator
        if e.each:
            labels = list(EACH[e.each].values())
            kpi = kpi.format(value=f"<{e.each}>")
            name_zh = name_zh.format(zh=" / ".join(labels[:2]) + " / …", value=f"<{e.each}>")
            numerator = numerator.format(value=f"`<{e.each}>`") + " (one measure per value of the contract's enum)"
        rows.append(f"| `{kpi}` | {_cell(name_zh)} | {e.unit} | {_cell(e.period_by)} | {_cell(numerator)} | "
                    f"{_cell(e.denominator)} | [{e.model.name}](../sql/models/{e.model.schema}/{e.model.name}.sql) |")
    return "\n".join(rows) + "\n"


def _view_sql(m: Model) -> str:
    body = re.search(r"^CREATE (?:OR REPLACE )?VIEW .*?;$", m.sql, re.S | re.M).group(0)
    return f"`{m.qualified}` ([{m.path.name}](../sql/models/{m.schema}/{m.path.name})):\n\n```sql\n{body}\n```\n"


def _sql_section() -> str:
    """Each contribution view (by record type), after the *_derived views it reads."""
    everything = models()
    names = {m.qualified for m in everything}
    order = list(RECORD_TYPES)

    def rank(m: Model) -> int:
        rt = _RECORD_TYPE.search(m.sql)
        return order.index(rt.group(1)) if rt and rt.group(1) in order else len(order)

    shown: list[Model] = []
    # by record type; the view that declares the measures first
    for m in sorted((m for m in everything if m.name.startswith("kpi_contribution_")),
                    key=lambda m: (rank(m), _BLOCK.search(m.sql) is None)):
        shown += [d for d in everything if d.qualified in m.reads(names) and d.name.endswith("_derived")
                  and d not in shown] + [m]
    return "\n".join(_view_sql(m) for m in shown)


def render_docs(text: str) -> str:
    """docs/kpis.md with its generated parts (``measures``, ``sql``) rewritten from the model files."""
    parts = {"measures": _measures_table, "sql": _sql_section}

    def sub(m: re.Match) -> str:
        return m.group(1) + parts[m.group(2)]() + m.group(3)

    out, n = _DOC_PART.subn(sub, text)
    if n != len(parts):
        raise ValueError(f"docs/kpis.md needs the markers <!-- generated: NAME --> ... <!-- end: NAME --> of "
                         f"{sorted(parts)}")
    return out


if __name__ == "__main__":  # python -m supervision.marts.kpis docs/kpis.md
    doc = Path(sys.argv[1])
    doc.write_text(render_docs(doc.read_text(encoding="utf-8")), encoding="utf-8")
