"""Validation of county files against the contract: the rule catalogue (:mod:`.rules`), the rule engine over
Arrow batches (:mod:`.engine`), the Great Expectations suite built from the catalogue (:mod:`.gx_suite`), GX run
once per shard and record type over the rule matrix and split per file (:mod:`.gx_run`), and the Data Docs site
(:mod:`.data_docs`). The names below are the package's public surface.
"""

from supervision.validation.data_docs import build_data_docs, index_results, page_link, render_data_docs_pages
from supervision.validation.engine import CheckedBatch, check_batch
from supervision.validation.gx_run import (
    FileValidation,
    ShardValidation,
    gx_part_rows,
    run_gx,
    run_gx_rules,
)
from supervision.validation.gx_suite import gx_root, rule_frame, validation_definition
from supervision.validation.rules import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    RULE_PREFIX,
    RULE_VALUES,
    RuleSpec,
    SchemaDrift,
    check_schema,
    rule_specs,
)

__all__ = [
    "FAIL", "NOT_APPLICABLE", "PASS", "RULE_PREFIX", "RULE_VALUES", "CheckedBatch", "FileValidation", "RuleSpec",
    "SchemaDrift", "ShardValidation", "build_data_docs", "check_batch", "check_schema",
    "gx_part_rows", "gx_root", "index_results", "page_link", "render_data_docs_pages", "rule_frame",
    "rule_specs", "run_gx", "run_gx_rules", "validation_definition",
]
