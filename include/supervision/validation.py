"""Validation of one county file against the contract, through Great Expectations.

How it works (and why): every rule of the contract becomes one vectorised *rule column*
``rule__<rule id>`` (True = passes, False = fails, NA = not applicable, e.g. a date-order rule when a date
is missing). Great Expectations checks each rule column with a built-in expectation
(``ExpectColumnValuesToBeInSet([True])``, which skips NA as map expectations do), so every rule appears in
the GX result and Data Docs with its id, field and description in ``meta``. The row split reads the same
columns, and the GX unexpected counts are cross-checked against it: the split can never disagree with
what GX reported. ``BASIC`` results (counts, a few examples) keep validation fast whatever the number of failures (``COMPLETE``
results cost minutes on a million failing rows).

Rule ids: ``<field>.required | .enum | .format | .max_length | .identifier | .non_negative | .not_future``,
``township_code.in_county``, ``county_code.matches_submitter``, ``record_id.unique_in_file`` and the
cross-field ``Rule.id``s of contract.py.
"""

from __future__ import annotations

import fcntl
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from supervision import divisions, settings
from supervision.contract import (
    BOOL,
    BOOL_FALSE,
    BOOL_TRUE,
    CODE6,
    CODE9,
    COURT_CASE_TYPES,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    PROVINCE_ABBREVIATIONS,
    RIC,
    TEXT,
    TIMESTAMP,
    USCC,
    RecordType,
)
from supervision.identifiers import ric_valid, uscc_valid

log = logging.getLogger(__name__)

RULE_PREFIX = "rule__"
# ASCII digits only ([0-9], never \d): a full-width "５００" must fail the format, not slip through as NULL.
_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_MONEY = r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?"
_COURT = re.compile(r"^[（(]([0-9]{4})[）)]([\u4e00-\u9fa5])([0-9]{0,6})(" + "|".join(
    sorted(COURT_CASE_TYPES, key=len, reverse=True)) + r")([0-9]{1,6})号$")


class SchemaDrift(ValueError):
    """The file's columns are not the contract's; the whole file is rejected."""

    def __init__(self, missing: list[str], added: list[str], renamed: dict[str, str]):
        self.missing, self.added, self.renamed = missing, added, renamed
        parts = []
        if renamed:
            parts.append("renamed " + ", ".join(f"{old}→{new}" for old, new in renamed.items()))
        if missing:
            parts.append("missing " + ", ".join(missing))
        if added:
            parts.append("added " + ", ".join(added))
        super().__init__("schema drift: " + "; ".join(parts))


@dataclass(frozen=True)
class RuleSpec:
    id: str
    field: str | None
    description: str
    severity: str = "error"  # error: the row is quarantined; warning: the row loads, the finding is recorded


def rule_specs(rt: RecordType) -> list[RuleSpec]:
    """Every rule that applies to a record type, in a stable order (drives the GX suite and the docs)."""
    specs: list[RuleSpec] = []
    for f in rt.fields:
        add = lambda check, text, f=f: specs.append(RuleSpec(f"{f.name}.{check}", f.name, text))  # noqa: E731
        if f.required:
            add("required", f"{f.name} ({f.zh}) is required")
        if f.max_length:
            add("max_length", f"{f.name} is at most {f.max_length} characters")
        if f.type == ENUM:
            add("enum", f"{f.name} is one of {', '.join(f.enum)}")
        elif f.type in (CODE6, CODE9):
            add("format", f"{f.name} is a {6 if f.type == CODE6 else 9}-digit division code")
        elif f.type == DATE:
            add("format", f"{f.name} is a real date written YYYY-MM-DD")
            add("not_future", f"{f.name} is not after the business date")
        elif f.type == TIMESTAMP:
            add("format", f"{f.name} is an ISO 8601 timestamp with a UTC offset")
        elif f.type == MONEY:
            add("format", f"{f.name} is an amount in yuan with at most 2 decimals")
            add("non_negative", f"{f.name} is not negative")
        elif f.type == BOOL:
            add("format", f"{f.name} is true/false (also 1/0, 是/否)")
        elif f.type == USCC:
            add("identifier", f"{f.name} is a valid unified social credit code (GB 32100 check characters)")
        elif f.type == RIC:
            add("identifier", f"{f.name} is a valid resident ID number (GB 11643 check digit, birth date)")
        elif f.type == PARTY_ID:
            add("identifier", f"{f.name} is a valid resident ID when {f.kind_field} is person, a valid USCC "
                              "when organization")
    specs.append(RuleSpec("record_id.unique_in_file", "record_id", "record_id appears once in the file"))
    specs.append(RuleSpec("county_code.matches_submitter", "county_code", "county_code is the submitting county"))
    if "township_code" in rt.field_names:
        specs.append(RuleSpec("township_code.in_county", "township_code",
                              "township_code is a township of the submitting county"))
    specs.extend(RuleSpec(r.id, r.args[0], r.description) for r in rt.rules)
    specs.extend(RuleSpec(f"{f.name}.exists", f.name, f"{f.name} names a {f.references} record of the same county "
                          "(in the warehouse or the same night)", severity="warning")
                 for f in rt.fields if f.references)
    return specs


def check_schema(columns: list[str], rt: RecordType) -> None:
    got = [c for c in columns if not c.startswith("_")]
    missing = [c for c in rt.field_names if c not in got]
    added = [c for c in got if c not in rt.field_names]
    if not missing and not added:
        return
    renamed = {}
    import difflib

    for m in list(missing):
        close = difflib.get_close_matches(m, added, n=1, cutoff=0.75)
        if close:
            renamed[m] = close[0]
            missing.remove(m)
            added.remove(close[0])
    raise SchemaDrift(missing, added, renamed)


@dataclass
class Checked:
    """A file after the rule columns were computed: typed values, rule columns, and the split."""

    typed: pd.DataFrame  # contract fields in warehouse types + _source_row
    rules: pd.DataFrame  # one nullable-boolean column per rule id
    failed: np.ndarray  # bool per row: breaks at least one error rule
    warning_rules: tuple[str, ...] = ()

    @property
    def valid_rows(self) -> pd.DataFrame:
        return self.typed.loc[~self.failed]

    def _broken(self, rule_ids: list[str], rows: np.ndarray) -> list[tuple[int, list[str]]]:
        cols = np.array(rule_ids)
        matrix = self.rules[rule_ids].eq(False).fillna(False).to_numpy(dtype=bool) if rule_ids else None
        return [(int(i), cols[matrix[i]].tolist()) for i in rows] if rule_ids else []

    def failures(self) -> list[tuple[int, list[str]]]:
        """(row position, [error rule ids]) for every failing row: these rows go to quarantine."""
        errors = [c for c in self.rules.columns if c not in self.warning_rules]
        return self._broken(errors, np.flatnonzero(self.failed))

    def warnings(self) -> list[tuple[int, list[str]]]:
        """(row position, [warning rule ids]) for rows that load but carry a finding (e.g. a dangling related id)."""
        rules = list(self.warning_rules)
        if not rules:
            return []
        hit = self.rules[rules].eq(False).fillna(False).to_numpy(dtype=bool).any(axis=1)
        return self._broken(rules, np.flatnonzero(hit))


def compute_rules(raw: pd.DataFrame, rt: RecordType, county_code: str, business_date: date,
                  known_ids: dict[str, set[str]] | None = None) -> Checked:
    """Type the raw strings and evaluate every rule, vectorised. ``raw`` has the contract's columns.

    ``known_ids``: per referenced record type, the record ids of the county known in the warehouse or the same
    night; without it the cross-record (warning) rules are not applicable.
    """
    if len(raw) == 0 and not [c for c in raw.columns if not c.startswith("_")]:
        raw = pd.DataFrame({c: pd.Series(dtype="string") for c in ["_row_number", *rt.field_names]})  # JSON []
    check_schema(list(raw.columns), rt)
    n = len(raw)
    bd = pd.Timestamp(business_date)
    typed: dict[str, pd.Series] = {}
    rules: dict[str, pd.Series] = {}
    fmt_ok: dict[str, pd.Series] = {}  # where a field's value is usable by later rules

    def na_where(mask: pd.Series, missing: pd.Series) -> pd.Series:
        return pd.Series(mask, index=raw.index, dtype="boolean").mask(missing)

    for f in rt.fields:
        v = raw[f.name].astype("string")
        absent = v.isna()
        if f.required:
            rules[f"{f.name}.required"] = pd.Series(~absent, dtype="boolean")
        if f.max_length:
            rules[f"{f.name}.max_length"] = na_where(v.str.len() <= f.max_length, absent)
        if f.type in (TEXT,):
            ok = ~absent
            typed[f.name] = v
        elif f.type == ENUM:
            ok = v.isin(f.enum).fillna(False)
            rules[f"{f.name}.enum"] = na_where(ok, absent)
            typed[f.name] = v.where(ok)
        elif f.type in (CODE6, CODE9):
            ok = v.str.fullmatch(r"[0-9]{6}" if f.type == CODE6 else r"[0-9]{9}").fillna(False)
            rules[f"{f.name}.format"] = na_where(ok, absent)
            typed[f.name] = v.where(ok)
        elif f.type == DATE:
            parsed = pd.to_datetime(v, format="%Y-%m-%d", errors="coerce")
            ok = parsed.notna() & v.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False)
            rules[f"{f.name}.format"] = na_where(ok, absent)
            rules[f"{f.name}.not_future"] = na_where(parsed <= bd, ~ok)
            typed[f.name] = parsed.where(ok)
        elif f.type == TIMESTAMP:
            shaped = v.str.fullmatch(_TIMESTAMP).fillna(False)
            parsed = pd.to_datetime(v.where(shaped), utc=True, format="ISO8601", errors="coerce")
            ok = shaped & parsed.notna()
            rules[f"{f.name}.format"] = na_where(ok, absent)
            typed[f.name] = parsed.where(ok)
        elif f.type == MONEY:
            ok = v.str.fullmatch(_MONEY).fillna(False)
            num = pd.to_numeric(v.where(ok), errors="coerce")
            rules[f"{f.name}.format"] = na_where(ok, absent)
            rules[f"{f.name}.non_negative"] = na_where(num >= 0, ~ok)
            typed[f.name] = num.where(ok)
        elif f.type == BOOL:
            truthy, falsy = v.isin(BOOL_TRUE).fillna(False), v.isin(BOOL_FALSE).fillna(False)
            ok = truthy | falsy
            rules[f"{f.name}.format"] = na_where(ok, absent)
            typed[f.name] = pd.Series(truthy, dtype="boolean").mask(~ok)
        elif f.type == USCC:
            ok = uscc_valid(v).fillna(False)
            rules[f"{f.name}.identifier"] = na_where(ok, absent)
            typed[f.name] = v.str.upper().where(ok)
        elif f.type == RIC:
            ok = ric_valid(v, not_after=business_date.isoformat()).fillna(False)
            rules[f"{f.name}.identifier"] = na_where(ok, absent)
            typed[f.name] = v.str.upper().where(ok)
        elif f.type == PARTY_ID:
            kind = raw[f.kind_field].astype("string")
            # each check only on the rows it applies to (half the work of checking every row both ways)
            person = (kind == "person").fillna(False).to_numpy(dtype=bool)
            org = (kind == "organization").fillna(False).to_numpy(dtype=bool)
            ok_np = np.zeros(n, bool)
            ok_np[person] = ric_valid(v[person], not_after=business_date.isoformat()).fillna(False).to_numpy(bool)
            ok_np[org] = uscc_valid(v[org]).fillna(False).to_numpy(dtype=bool)
            ok = pd.Series(ok_np, index=raw.index)
            rules[f"{f.name}.identifier"] = na_where(ok, absent | ~kind.isin(("person", "organization")).fillna(False))
            typed[f.name] = v.str.upper().where(ok)
        else:  # pragma: no cover - contract.py and this module move together
            raise ValueError(f"no validation for field type {f.type}")
        fmt_ok[f.name] = pd.Series(ok, index=raw.index).fillna(False).astype(bool)

    rid = raw["record_id"].astype("string")
    rules["record_id.unique_in_file"] = na_where(~rid.duplicated(keep=False), rid.isna())
    cc = typed["county_code"]
    rules["county_code.matches_submitter"] = na_where((cc == county_code).fillna(False), ~fmt_ok["county_code"])
    if "township_code" in rt.field_names:
        tc = typed["township_code"]
        inside = tc.isin(_townships(county_code)).fillna(False)
        rules["township_code.in_county"] = na_where(inside, ~fmt_ok["township_code"])
    for r in rt.rules:
        rules[r.id] = _cross_rule(r.kind, r.args, typed, fmt_ok, county_code, raw.index)
    for f in rt.fields:
        if f.references:
            v = typed[f.name]
            known = (known_ids or {}).get(f.references)
            usable = v.notna() & (v.str.len() <= (f.max_length or 10**6)).fillna(False)
            ok = v.isin(known).fillna(False) if known is not None else pd.Series(True, index=raw.index)
            rules[f"{f.name}.exists"] = na_where(ok, ~usable if known is not None else pd.Series(True, index=raw.index))

    specs = rule_specs(rt)
    rule_frame = pd.DataFrame({s.id: rules[s.id] for s in specs}, index=raw.index)
    errors = [s.id for s in specs if s.severity == "error"]
    failed = rule_frame[errors].eq(False).fillna(False).to_numpy(dtype=bool).any(axis=1) if n else np.zeros(0, bool)
    out = pd.DataFrame({name: typed[name] for name in rt.field_names}, index=raw.index)
    out["_source_row"] = raw["_row_number"].to_numpy() if "_row_number" in raw else np.arange(1, n + 1)
    return Checked(out, rule_frame, failed, tuple(s.id for s in specs if s.severity == "warning"))


def _cross_rule(kind, args, typed, fmt_ok, county_code, index) -> pd.Series:
    def result(ok, applicable):
        return pd.Series(ok, index=index, dtype="boolean").mask(~pd.Series(applicable, index=index).fillna(False))

    if kind == "date_order":
        first, then = args
        return result(typed[then] >= typed[first], fmt_ok[first] & fmt_ok[then])
    if kind == "required_unless":
        field_, cond, value = args
        return result(fmt_ok[field_] | (typed[cond] == value), fmt_ok[cond])
    if kind == "amount_only_for":
        type_field, value, *amounts = args
        has_amount = np.zeros(len(index), bool)
        for a in amounts:
            has_amount |= (typed[a].fillna(0) != 0).to_numpy(dtype=bool)
        return result((typed[type_field] == value).fillna(False) | ~has_amount, fmt_ok[type_field])
    if kind == "major_needs_review":
        major, decided, review = args
        applicable = fmt_ok[major] & (typed[major] == True).fillna(False) & fmt_ok[decided] & fmt_ok[review]  # noqa: E712
        return result((typed[review] == True).fillna(False), applicable)  # noqa: E712
    if kind == "court_case_number":
        (field_,) = args
        parts = typed[field_].str.extract(_COURT)
        abbr = PROVINCE_ABBREVIATIONS.get(county_code[:2], "?")
        ok = parts[0].notna() & (parts[1] == abbr).fillna(False)
        return result(ok, fmt_ok[field_])
    raise ValueError(f"unknown rule kind {kind}")  # pragma: no cover


@lru_cache(maxsize=4096)
def _townships(county_code: str) -> frozenset[str]:
    return frozenset(divisions.townships_of(county_code))


# --- Great Expectations --------------------------------------------------------------------------------------


def gx_root() -> Path:
    """The Great Expectations project root: GX keeps suites, results and Data Docs in <data>/gx/."""
    return settings.data_dir()


@contextmanager
def _gx_lock():
    """Mapped tasks run in parallel processes that share one GX file project: set-up and docs are serialized."""
    root = gx_root() / "gx"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@lru_cache(maxsize=4)
def _gx_context(root: str):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _gx_lock():
        ctx = gx.get_context(mode="file", project_root_dir=root)
        if ctx.variables.progress_bars != ProgressBarsConfig(globally=False):
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            ctx.variables.save()
    return ctx


@lru_cache(maxsize=16)
def _validation_definition(rt: RecordType, root: str):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    ctx = _gx_context(root)
    with _gx_lock():
        try:
            datasource = ctx.data_sources.get("county_files")
        except (KeyError, ValueError):
            datasource = ctx.data_sources.add_pandas("county_files")
        batch = _batch(_asset(datasource, rt.name), f"{rt.name}_file")
        suite = gx.ExpectationSuite(name=f"{rt.name}_contract_v1", meta={"record_type": rt.name, "zh": rt.zh})
        for spec in rule_specs(rt):
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
                column=RULE_PREFIX + spec.id, value_set=[True], description=spec.description,
                severity="critical" if spec.severity == "error" else "warning",
                meta={"rule": spec.id, "field": spec.field, "record_type": rt.name, "severity": spec.severity}))
        suite = ctx.suites.add_or_update(suite)
        return ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{rt.name}_file_validation", data=batch, suite=suite))


def _asset(datasource, name: str):
    try:
        return datasource.get_asset(name)
    except LookupError:
        return datasource.add_dataframe_asset(name)


def _batch(asset, name: str):
    try:
        return asset.get_batch_definition(name)
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe(name)


def validation_definition(rt: RecordType):
    """The GX suite for a record type (one expectation per rule), cached per process."""
    return _validation_definition(rt, str(gx_root()))


def run_gx(checked: Checked, rt: RecordType, run_name: str | None = None, run_time: datetime | None = None) -> dict:
    """Run the suite over the rule columns; return a compact, JSON-able result and cross-check the split.

    The full GX result is kept in the GX project's validation store under ``run_name`` (one per county file,
    so a re-run rewrites the same result) and rendered into Data Docs by :func:`build_data_docs`.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    frame = checked.rules.add_prefix(RULE_PREFIX)
    run_id = RunIdentifier(run_name=run_name, run_time=run_time) if run_name else None
    res = validation_definition(rt).run(batch_parameters={"dataframe": frame}, run_id=run_id,
                                        result_format={"result_format": "BASIC", "partial_unexpected_count": 5})
    per_rule = {}
    for r in res.results:
        rule = r.expectation_config.meta["rule"]
        count = int(r.result.get("unexpected_count") or 0)
        ours = int(checked.rules[rule].eq(False).sum())
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"GX failed on {rule}: {r.exception_info.get('exception_message')}")
        if count != ours:
            raise RuntimeError(f"GX counted {count} failures of {rule}, the split {ours}: refusing to load")
        per_rule[rule] = {"success": bool(r.success), "unexpected_count": count,
                          "severity": r.expectation_config.meta.get("severity", "error"),
                          "element_count": int(r.result.get("element_count") or 0)}
    rid = res.meta["run_id"]
    page = (gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations" / f"{rt.name}_contract_v1"
            / rid.run_name / rid.run_time.strftime("%Y%m%dT%H%M%S.%fZ") / f"county_files-{rt.name}.html"
            ) if rid.run_name else None
    return {"suite": f"{rt.name}_contract_v1", "success": bool(res.success), "data_docs_page": page and str(page),
            "statistics": {k: (float(v) if v is not None else None) for k, v in res.statistics.items()},
            "rules": per_rule}


def build_data_docs() -> Path:
    """Render Data Docs for every stored validation result; returns the site's index.html."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        ctx.build_data_docs()
    return gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
