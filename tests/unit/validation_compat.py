"""The pandas view of the rule engine, for tests only: :func:`compute_rules` runs ``check_batch`` over a frame
of raw strings and returns :class:`Checked` (typed values as pandas, one nullable-boolean column per rule)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from supervision import arrow_text
from supervision.contract import BOOL, DATE, MONEY, SOURCE_ROW, TIMESTAMP, RecordType
from supervision.validation import NOT_APPLICABLE, PASS, CheckedBatch, check_batch


@dataclass
class Checked:
    """A file after the rule columns were computed (pandas view of a :class:`CheckedBatch`).

    For callers that work with pandas: typed values, rule columns (nullable booleans, NA = not applicable),
    and the split.
    """

    typed: pd.DataFrame  # contract fields in warehouse types + _source_row
    rules: pd.DataFrame  # one nullable-boolean column per rule id
    failed: np.ndarray  # bool per row: breaks at least one error rule
    warning_rules: tuple[str, ...] = ()
    batch: CheckedBatch | None = dataclass_field(default=None, repr=False, compare=False)

    @property
    def valid_rows(self) -> pd.DataFrame:
        return self.typed.loc[~self.failed]

    def _broken(self, rule_ids: list[str], rows: np.ndarray) -> list[tuple[int, list[str]]]:
        cols = np.array(rule_ids)
        matrix = self.rules[rule_ids].eq(False).fillna(False).to_numpy(dtype=bool) if rule_ids else None
        return [(int(i), cols[matrix[i]].tolist()) for i in rows] if rule_ids else []

    def failures(self) -> list[tuple[int, list[str]]]:
        """(row position, [error rule ids]) for every failing row: these rows go to quarantine."""
        if self.batch is not None:
            return self.batch.failures()
        errors = [c for c in self.rules.columns if c not in self.warning_rules]
        return self._broken(errors, np.flatnonzero(self.failed))

    def warnings(self) -> list[tuple[int, list[str]]]:
        """(row position, [warning rule ids]) for rows that load but carry a finding (e.g. a dangling related id)."""
        if self.batch is not None:
            return self.batch.warnings()
        rules = list(self.warning_rules)
        if not rules:
            return []
        hit = self.rules[rules].eq(False).fillna(False).to_numpy(dtype=bool).any(axis=1)
        return self._broken(rules, np.flatnonzero(hit))

    def rule_matrix(self) -> np.ndarray:
        """The int8 rule matrix (PASS / FAIL / NOT_APPLICABLE) in the order of the rule columns."""
        if self.batch is not None:
            return self.batch.rules
        m = np.full(self.rules.shape, NOT_APPLICABLE, dtype=np.int8, order="F")
        for j, c in enumerate(self.rules.columns):
            col = self.rules[c]
            m[:, j] = np.where(col.isna().to_numpy(), NOT_APPLICABLE, col.fillna(False).to_numpy(dtype=bool))
        return m

def compute_rules(raw: pd.DataFrame, rt: RecordType, county_code: str, business_date: date,
                  known_ids: dict[str, set[str]] | None = None) -> Checked:
    """:func:`check_batch` for a pandas frame of raw strings (the contract's columns, ``_row_number``), with the
    result as pandas: typed values (dates and timestamps as datetime64[us], money as Float64, booleans as
    ``boolean``, text as ``string``) and one nullable-boolean rule column per rule id (NA = not applicable).

    ``known_ids``: per referenced record type, the record ids of the county known in the warehouse or the same
    night (sets or Arrow arrays); without it the cross-record (warning) rules are not applicable.
    """
    columns = {}
    for c in raw.columns:
        s = raw[c]
        if c == "_row_number":
            try:
                columns[c] = pa.array(s.to_numpy(dtype=np.int64))
            except (TypeError, ValueError):  # not row numbers: typed rows take the raw values as they are
                pass
        else:
            arr = pa.array(s.astype("string"), from_pandas=True)
            columns[str(c)] = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    batch = pa.table(columns) if columns else pa.table({"_row_number": pa.array([], pa.int64())})
    if len(raw) and "_row_number" not in columns:
        batch = batch.append_column("_row_number", pa.array(np.arange(1, len(raw) + 1)))
    known = None if known_ids is None else {
        k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(sorted(v), type=pa.string()))
        for k, v in known_ids.items()}
    checked = check_batch(batch, rt, county_code, business_date, known_ids=known)
    typed = _typed_frame(checked.typed, rt, raw.index)
    if "_row_number" in raw.columns:
        typed[SOURCE_ROW] = raw["_row_number"].to_numpy()
    return Checked(typed, _rules_frame(checked, raw.index), checked.failed, checked.warning_rules, batch=checked)


def _typed_frame(typed: pa.Table, rt: RecordType, index: pd.Index) -> pd.DataFrame:
    out = {}
    for f in rt.fields:
        a = typed.column(f.name)
        if f.type == DATE:
            s = pd.Series(a.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False), index=index)
        elif f.type == TIMESTAMP:
            s = pd.Series(a.to_pandas(), index=index)
        elif f.type == MONEY:
            s = pd.Series(_money_floats(a), index=index)
        elif f.type == BOOL:
            s = pd.Series(pd.array(a, dtype="boolean"), index=index)
        else:
            s = pd.Series(pd.array(a, dtype="string"), index=index)
        out[f.name] = s
    frame = pd.DataFrame(out, index=index)
    frame[SOURCE_ROW] = typed.column(SOURCE_ROW).to_numpy().astype(np.int64)
    return frame


def _money_floats(amounts) -> pd.arrays.FloatingArray:
    """decimal128(14, 2) as Float64, correctly rounded (cents / 100, as float('12.34') reads the text; Arrow's
    decimal-to-float cast is off by one unit in the last place on values such as 1.15)."""
    a = arrow_text.as_array(amounts)
    if not len(a):
        return pd.array([], dtype="Float64")
    words = np.frombuffer(a.buffers()[1], dtype=np.int64)[2 * a.offset: 2 * (a.offset + len(a))]
    return pd.arrays.FloatingArray(words[0::2] / 100.0, ~arrow_text.valid_mask(a))


def _rules_frame(checked: CheckedBatch, index: pd.Index) -> pd.DataFrame:
    m = checked.rules
    return pd.DataFrame({rule: pd.arrays.BooleanArray(m[:, j] == PASS, m[:, j] == NOT_APPLICABLE)
                         for j, rule in enumerate(checked.rule_ids)}, index=index)

