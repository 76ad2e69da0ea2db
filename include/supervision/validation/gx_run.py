"""Great Expectations over the rule matrix, once per (shard, record type), split per county file.

The rule engine has already decided every rule of every row (``CheckedBatch.rules``: PASS 1 / NOT_APPLICABLE 2 /
FAIL 0); GX checks that matrix with the suite of :mod:`validation.gx_suite`. A mapped task (a shard of
counties) collects the matrices of all its files in a :class:`ShardValidation` (held by the pipeline's
``RunContext``), then :meth:`ShardValidation.flush` runs GX ONCE per record type over all of those rows (the file
as a column) and stores one validation result per file in GX's validation results store, which Data Docs render:
GX's fixed cost per run (~0.3 s whatever the rows) is paid per shard instead of per file.

Per file the collector keeps, while the file's batches go by, its rule counts and its first failing rows
(:data:`INDEX_ROWS` per rule: ``row_number`` as a spreadsheet shows it, ``record_id``); the rows' matrices wait
for GX in a buffer of at most ``SUPERVISION_GX_PART_ROWS`` rows per record type (a bigger shard or file is
checked in several runs), so memory stays bounded. Each run is cross-checked: GX's unexpected count of every
rule must equal the matrix's FAIL count, and its first failing rows (file, row) must be the collector's.

Each file's ``validation_ref`` (its Data Docs page, from ``get_docs_sites_urls``) is known before GX runs, so
the file's ledger row is written in its own transaction as before. If the shard dies before its flush, those
pages' results do not exist yet: the task fails, and its retry (or the date's re-run) processes the files again
idempotently (same result keys, ``<county>-<date>-<type>-<sha256[:16]>``) and flushes. A flush that fails
raises, so a successful shard has stored every result its ledger rows link to. A file whose transaction rolls
back is :meth:`FileValidation.discard`-ed: nothing is stored for it.

A file's stored result (what Data Docs render): ``meta`` has county_code, record_type, business_date,
source_file, file_sha256, rows_received, rows_loaded, rows_quarantined and status (as the ledger says), beside
GX's own keys; each expectation result has this file's element_count and unexpected_count, and its failing rows
as ``unexpected_index_list`` (the first :data:`INDEX_ROWS`) and ``partial_unexpected_index_list`` (the first
:data:`PARTIAL_ROWS`), entries ``{"row_number": <row as a spreadsheet shows it>, "record_id": <NFKC key>}``;
its ``meta`` has ``not_applicable`` (rows the rule does not apply to).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from supervision import county_text as txt
from supervision import resources
from supervision.contract import SOURCE_ROW, RecordType
from supervision.validation.data_docs import page_link
from supervision.validation.engine import CheckedBatch
from supervision.validation.gx_suite import _gx_context, gx_root, rule_frame, validation_definition
from supervision.validation.rules import FAIL, NOT_APPLICABLE, rule_specs

log = logging.getLogger(__name__)

INDEX_ROWS = 200  # failing rows kept per rule per file (unexpected_index_list)
PARTIAL_ROWS = 20  # of which GX's partial lists show this many
INDEX_COLUMNS = ["row_number", "record_id"]
FILE_COLUMN, ROW_COLUMN = "file", "row_number"  # the extra columns of the shard's GX frame


def gx_part_rows() -> int:
    """Rows per Great Expectations run: a shard's rows of one record type are checked in runs of at most this many
    rows (memory stays bounded whatever the files' sizes)."""
    return resources.variables().gx_part_rows


def suite_name(rt: RecordType) -> str:
    return f"{rt.name}_contract_v1"


def batch_identifier(rt: RecordType) -> str:
    return f"county_files-{rt.name}"


def result_key(rt: RecordType, run_name: str, run_time: datetime):
    """The key of a file's validation result in GX's store (and of its Data Docs page)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(ExpectationSuiteIdentifier(suite_name(rt)),
                                      RunIdentifier(run_name=run_name, run_time=run_time), batch_identifier(rt))


@dataclass(eq=False)
class FileValidation:
    """One county file in the shard's collector: add its checked batches, then :meth:`finish` (its ledger row is
    written) or :meth:`discard` (its transaction rolled back)."""

    shard: ShardValidation
    id: int
    rt: RecordType
    key: object  # ValidationResultIdentifier, None = not stored (no run name)
    ref: str | None  # the Data Docs page of the result (the ledger's validation_ref)
    meta: dict
    write_summary: bool
    rows: int = 0
    gx_rows: int = 0  # of which GX has checked
    fails: np.ndarray = None
    not_applicable: np.ndarray = None
    failing: list[list[dict]] = field(default_factory=list)
    state: str = "open"  # open | finished | discarded | stored
    summary: dict | None = None  # the compact result, once stored

    def __post_init__(self):
        k = len(rule_specs(self.rt))
        self.fails = np.zeros(k, np.int64)
        self.not_applicable = np.zeros(k, np.int64)
        self.failing = [[] for _ in range(k)]

    def add(self, checked: CheckedBatch) -> None:
        """A batch of the file (in file order), after the rule engine."""
        if self.state != "open":
            raise RuntimeError(f"{self.meta.get('source_file')}: rows added after the file was {self.state}")
        rules = checked.rules
        fail = rules == FAIL
        counts = fail.sum(axis=0)
        self.fails += counts
        self.not_applicable += (rules == NOT_APPLICABLE).sum(axis=0)
        numbers = checked.typed.column(SOURCE_ROW)
        ids = checked.typed.column("record_id") if "record_id" in checked.typed.column_names else None
        for j in np.flatnonzero(counts):
            need = INDEX_ROWS - len(self.failing[j])
            if need <= 0:
                continue
            pos = np.flatnonzero(fail[:, j])[:need]
            take = pa.array(pos)
            rows = numbers.take(take).to_pylist()
            keys = ids.take(take).to_pylist() if ids is not None else [None] * len(pos)
            source = self.meta.get("source_file")
            self.failing[j] += [{"row_number": txt.sheet_row(source, int(r)), "record_id": i}
                                for r, i in zip(rows, keys, strict=True)]
        self.rows += len(rules)
        self.shard._buffer(self, rules, numbers)

    def finish(self, **meta) -> None:
        """The file's ledger row is written (in the transaction that ends now): store its result at the flush.
        ``meta``: rows_quarantined, rows_loaded, status (what the ledger says of it)."""
        self.meta.update({k: v for k, v in meta.items() if v is not None})
        self.state = "finished"

    def discard(self) -> None:
        if self.state in ("open", "finished"):
            self.state = "discarded"
            self.shard._drop(self)


@dataclass
class _Part:
    file: FileValidation
    rules: np.ndarray
    rows: pa.ChunkedArray | pa.Array  # data row numbers (_source_row)


class ShardValidation:
    """The GX side of a shard: collects every file's rule matrix, runs GX once per record type, stores the
    per-file results. Use as ``with ShardValidation(...) as shard:`` or call :meth:`flush` yourself."""

    def __init__(self, validation_root: Path | None = None):
        self.validation_root = validation_root
        self.files: list[FileValidation] = []
        self.pending: dict[str, list[_Part]] = {}
        self.templates: dict[str, object] = {}  # record type -> the last GX result (configs and meta)
        self.runs: list[dict] = []  # per GX run: record type, rows, files, seconds (for logs and benchmarks)

    def __enter__(self) -> ShardValidation:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()

    def file(self, rt: RecordType, *, run_name: str | None, run_time: datetime | None, county_code: str,
             business_date: date, source_file: str | None, file_sha256: str | None, rows_received: int,
             write_summary: bool = True) -> FileValidation:
        """Open a file: its result's key and Data Docs page are known from now on (``.ref``)."""
        run_time = (run_time or datetime.now(UTC)).astimezone(UTC)
        key = result_key(rt, run_name, run_time) if run_name else None
        meta = {"county_code": county_code, "record_type": rt.name, "business_date": str(business_date),
                "source_file": source_file, "file_sha256": file_sha256, "rows_received": rows_received}
        f = FileValidation(self, len(self.files), rt, key, page_link(key) if key else None, meta, write_summary)
        self.files.append(f)
        return f

    def _buffer(self, f: FileValidation, rules: np.ndarray, rows) -> None:
        parts = self.pending.setdefault(f.rt.name, [])
        parts.append(_Part(f, rules, rows))
        if sum(len(p.rules) for p in parts) >= gx_part_rows():
            self.gx_check(f.rt)

    def _drop(self, f: FileValidation) -> None:
        parts = self.pending.get(f.rt.name)
        if parts:
            self.pending[f.rt.name] = [p for p in parts if p.file is not f]

    def gx_check(self, rt: RecordType) -> None:
        """One GX run over the buffered rows of a record type (every file's, the file as a column)."""
        parts = self.pending.pop(rt.name, [])
        specs = rule_specs(rt)
        n = sum(len(p.rules) for p in parts)
        matrix = np.empty((n, len(specs)), np.int8, order="F")
        files = np.empty(n, np.int32)
        rows = np.empty(n, np.int32)
        at = 0
        for p in parts:
            k = len(p.rules)
            matrix[at:at + k] = p.rules
            files[at:at + k] = p.file.id
            rows[at:at + k] = np.asarray(p.rows.to_numpy() if hasattr(p.rows, "to_numpy") else p.rows, np.int32)
            at += k
        frame = rule_frame(matrix, rt)
        frame[FILE_COLUMN] = files
        frame[ROW_COLUMN] = rows
        t = time.perf_counter()
        definition = validation_definition(rt)
        batch = definition.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        res = batch.validate(definition.suite, result_format={
            "result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_ROWS,
            "unexpected_index_column_names": [FILE_COLUMN, ROW_COLUMN]})
        seconds = time.perf_counter() - t
        column = {s.id: j for j, s in enumerate(specs)}
        seen = set()
        for r in res.results:
            rule = r.expectation_config.meta["rule"]
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(f"GX failed on {rule}: {r.exception_info.get('exception_message')}")
            j = column[rule]
            seen.add(rule)
            fail = matrix[:, j] == FAIL
            count, ours = int(r.result.get("unexpected_count") or 0), int(np.count_nonzero(fail))
            if count != ours or int(r.result.get("element_count") or 0) != n:
                raise RuntimeError(f"GX counted {count} failures of {rule} in {n} rows, the split {ours}")
            first = np.flatnonzero(fail)[:PARTIAL_ROWS]
            theirs = [(int(e[FILE_COLUMN]), int(e[ROW_COLUMN])) for e in r.result.get("partial_unexpected_index_list") or []]
            if theirs != list(zip(files[first].tolist(), rows[first].tolist(), strict=True)):
                raise RuntimeError(f"GX's failing rows of {rule} are not the split's: {theirs[:3]}…")
        if set(column) - seen:
            raise RuntimeError(f"the GX suite has no expectation for rule(s) {sorted(set(column) - seen)}")
        for p in parts:
            p.file.gx_rows += len(p.rules)
        self.templates[rt.name] = res
        self.runs.append({"record_type": rt.name, "rows": n, "files": len({p.file.id for p in parts}),
                          "seconds": seconds})
        log.info("Great Expectations: %s, %d row(s) of %d file(s) in %.2f s", rt.name, n,
                 len({p.file.id for p in parts}), seconds)

    def flush(self) -> list[FileValidation]:
        """GX over what is still buffered, then one stored result (and summary JSON) per finished file. Returns
        the files stored. Raises if a result cannot be stored: the shard must not succeed without them."""
        for name in list(self.pending):
            if self.pending[name]:
                self.gx_check(self.pending[name][0].file.rt)
        stored = []
        for f in self.files:
            if f.state == "open":
                log.warning("%s: never finished nor discarded; no validation result stored", f.meta.get("source_file"))
                f.discard()
            if f.state != "finished":
                continue
            if f.gx_rows != f.rows:  # pragma: no cover - every buffered row is run above
                raise RuntimeError(f"{f.meta.get('source_file')}: GX checked {f.gx_rows} of {f.rows} rows")
            if f.rt.name not in self.templates:  # only empty files of this type: GX over no rows
                self._run_empty(f.rt)
            self._store(f)
            f.state = "stored"
            stored.append(f)
        self.files = [f for f in self.files if f.state == "open"]
        return stored

    def _run_empty(self, rt: RecordType) -> None:
        self.pending[rt.name] = []
        self.gx_check(rt)

    def _store(self, f: FileValidation) -> None:
        from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        template = self.templates[f.rt.name]
        column = {s.id: j for j, s in enumerate(rule_specs(f.rt))}
        n, results, rules = f.rows, [], {}
        for r in template.results:
            config = r.expectation_config
            rule = config.meta["rule"]
            j = column[rule]
            k, na, failing = int(f.fails[j]), int(f.not_applicable[j]), f.failing[j]
            share = (100.0 * k / n) if n else None
            results.append(ExpectationValidationResult(
                success=k == 0, expectation_config=config,
                result={"element_count": n, "unexpected_count": k, "unexpected_percent": share,
                        "partial_unexpected_list": [FAIL] * min(k, PARTIAL_ROWS), "missing_count": 0,
                        "missing_percent": 0.0 if n else None, "unexpected_percent_total": share,
                        "unexpected_percent_nonmissing": share,
                        "partial_unexpected_counts": [{"value": FAIL, "count": k}] if k else [],
                        "unexpected_index_column_names": INDEX_COLUMNS,
                        "partial_unexpected_index_list": failing[:PARTIAL_ROWS],
                        "unexpected_index_list": failing},
                meta={"not_applicable": na, "unexpected_index_list_limit": INDEX_ROWS},
                exception_info={"raised_exception": False, "exception_traceback": None, "exception_message": None}))
            rules[rule] = {"success": k == 0, "unexpected_count": k, "not_applicable": na,
                           "severity": config.meta.get("severity", "error"), "element_count": n}
        failing_rules = sum(1 for r in results if not r.success)
        statistics = {"evaluated_expectations": len(results), "successful_expectations": len(results) - failing_rules,
                      "unsuccessful_expectations": failing_rules,
                      "success_percent": 100.0 * (len(results) - failing_rules) / len(results) if results else None}
        success = failing_rules == 0
        if f.key is not None:
            meta = {k: v for k, v in template.meta.items() if k in (
                "great_expectations_version", "batch_spec", "batch_markers", "active_batch_definition")}
            meta.update(f.meta, run_id=f.key.run_id, validation_time=f.key.run_id.run_time)
            result = ExpectationSuiteValidationResult(success=success, results=results, suite_name=suite_name(f.rt),
                                                      statistics=statistics, meta=meta)
            _gx_context(str(gx_root())).validation_results_store.store_validation_results(
                suite_validation_result=result, suite_validation_result_identifier=f.key,
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name(f.rt)))
        f.summary = {"suite": suite_name(f.rt), "success": success, "data_docs_page": f.ref,
                     "statistics": statistics, "rules": rules}
        if f.write_summary and self.validation_root is not None and f.meta.get("file_sha256"):
            _write_summary(self.validation_root, f)


def _write_summary(root: Path, f: FileValidation) -> str:
    """The compact result beside the lake (``<validation root>/<date>/<county>/<type>-<sha16>.json``)."""
    m = f.meta
    path = Path(root) / m["business_date"] / m["county_code"] / f"{m['record_type']}-{m['file_sha256'][:16]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"source_file": m["source_file"], "sha256": m["file_sha256"], **f.summary},
                               ensure_ascii=False, indent=1), encoding="utf-8")
    return str(path)


def run_gx_rules(rules: np.ndarray, rt: RecordType, run_name: str | None = None,
                 run_time: datetime | None = None, **meta) -> dict:
    """GX over one rule matrix alone (one file, its own run): the compact result, the full one stored under
    ``run_name`` (not stored without one)."""
    shard = ShardValidation()
    f = shard.file(rt, run_name=run_name, run_time=run_time, county_code=meta.pop("county_code", None),
                   business_date=meta.pop("business_date", None), source_file=meta.pop("source_file", None),
                   file_sha256=meta.pop("file_sha256", None), rows_received=len(rules), write_summary=False)
    n = len(rules)
    typed = pa.table({SOURCE_ROW: pa.array(np.arange(1, n + 1, dtype=np.int32))})
    f.add(CheckedBatch(typed, rules, np.zeros(n, bool), tuple(s.id for s in rule_specs(rt))))
    f.finish(**meta)
    shard.flush()
    return f.summary


def run_gx(checked, rt: RecordType, run_name: str | None = None, run_time: datetime | None = None) -> dict:
    """:func:`run_gx_rules` over the rule matrix of a :class:`CheckedBatch` (or of anything with ``rule_matrix()``
    and its rule columns, e.g. the tests' pandas view)."""
    if isinstance(checked, CheckedBatch):
        return run_gx_rules(checked.rules, rt, run_name, run_time)
    ids = [s.id for s in rule_specs(rt)]
    if list(checked.rules.columns) != ids:
        raise ValueError(f"{rt.name}: the rule columns are not the rules of the contract")
    return run_gx_rules(checked.rule_matrix(), rt, run_name, run_time)
