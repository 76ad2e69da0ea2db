"""The Great Expectations side of the catalogue: the GX file project (under the data directory), and per record
type an expectation suite built from :func:`rule_specs` (one ``ExpectColumnValuesToBeInSet([1, 2])`` over the column
``rule__<rule id>`` of the rule matrix, with the rule's id, field and description in ``meta``) and its validation
definition over an in-memory pandas batch.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from supervision import data_docs_site, resources
from supervision.contract import RecordType
from supervision.validation.rules import NOT_APPLICABLE, PASS, RULE_PREFIX, RULE_VALUES, rule_specs


def gx_root() -> Path:
    """The Great Expectations project root: GX keeps suites, results and Data Docs in <data>/gx/."""
    return resources.gx_project_root()


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
        data_docs_site.configure(ctx)  # offline Data Docs: local assets, the file's page (data_docs_site/)
    return ctx


@lru_cache(maxsize=16)
def _validation_definition(rt: RecordType, root: str):
    """Set up (or reuse) the suite and validation definition of a record type in the shared GX file project.

    Mapped tasks run in parallel processes; each set-up used to rewrite the suite, which made GX refuse every
    other process's definition ("ExpectationSuite ... has changed since it has last been saved") on the next
    run. The suite carries a fingerprint of the rules it was built from: an equal stored suite is reused as it
    is, and only a changed contract rewrites it (under the lock).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    ctx = _gx_context(root)
    expectations = [dict(
        column=RULE_PREFIX + spec.id, value_set=[PASS, NOT_APPLICABLE], description=spec.description,
        severity="critical" if spec.severity == "error" else "warning",
        meta={"rule": spec.id, "field": spec.field, "record_type": rt.name, "severity": spec.severity,
              "values": RULE_VALUES}) for spec in rule_specs(rt)]
    fingerprint = hashlib.sha256(json.dumps(expectations, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    suite_name, vd_name = f"{rt.name}_contract_v1", f"{rt.name}_file_validation"
    with _gx_lock():
        try:
            datasource = ctx.data_sources.get("county_files")
        except (KeyError, ValueError):
            datasource = ctx.data_sources.add_pandas("county_files")
        batch = _batch(_asset(datasource, rt.name), f"{rt.name}_file")
        try:
            stored = ctx.validation_definitions.get(vd_name)
        except Exception:  # noqa: BLE001 - GX raises several kinds for "not there" / "not readable"
            stored = None
        if stored is not None and stored.suite.meta.get("rules_fingerprint") == fingerprint:
            return stored
        suite = gx.ExpectationSuite(name=suite_name, meta={"record_type": rt.name, "zh": rt.zh,
                                                           "rules_fingerprint": fingerprint})
        for e in expectations:
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(**e))
        suite = ctx.suites.add_or_update(suite)
        return ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=vd_name, data=batch, suite=suite))


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


def rule_frame(rules: np.ndarray, rt: RecordType) -> pd.DataFrame:
    """The rule matrix as the frame GX validates: one int8 column ``rule__<id>`` per rule, all in ONE block over
    the matrix's memory (no copy per column).

    GX's pandas engine filters the whole frame on every map expectation (``df[df[col].notnull()]``): over one
    consolidated int8 block that costs a fraction of what 50 separate nullable-boolean columns cost.
    """
    ids = [s.id for s in rule_specs(rt)]
    if rules.ndim != 2 or rules.shape[1] != len(ids):
        raise ValueError(f"{rt.name}: a rule matrix has {len(ids)} columns (one per rule), got {rules.shape}")
    if rules.dtype != np.int8:
        raise TypeError(f"the rule matrix is int8, got {rules.dtype}")
    # Fortran order: the (rules, rows) block pandas keeps is then the matrix's own memory
    return pd.DataFrame(np.asfortranarray(rules), columns=[RULE_PREFIX + i for i in ids], copy=False)
