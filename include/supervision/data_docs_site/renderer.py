"""The validation page of one county file, as a supervisor reads it (configured in ``site_config``).

GX's page says "Success Percent 0%" for a file that loaded 219 of 257 rows (its figures count rules, not rows)
and shows the rule-matrix value ``0`` as "Sampled Unexpected Values". This renderer keeps GX's header and run
info and replaces the rest: the file and its ledger counts first (the result's ``meta``, written by the GX run),
GX's statistics labelled as rule checks, and one section per rule with, for a broken rule, its failing rows
(spreadsheet row, record_id: GX's ``unexpected_index_column_names``). Chinese first, English after ``|``.
"""

from __future__ import annotations

import html

from great_expectations.render.components import (
    RenderedHeaderContent,
    RenderedSectionContent,
    RenderedStringTemplateContent,
    RenderedTableContent,
)
from great_expectations.render.renderer import ValidationResultsPageRenderer

from supervision.contract import RECORD_TYPES, rule_zh

OK_ICON = '<i class="fas fa-check-circle text-success" aria-hidden="true"></i>'
BROKEN_ICON = '<i class="fas fa-times text-danger" aria-hidden="true"></i>'
_TABLE_STYLE = {"classes": ["col-12", "table-responsive", "mt-1"],
                "body": {"classes": ["table", "table-sm"]}}


def _text(template: str, params: dict | None = None, tag: str = "p", classes=("mb-1",)) -> RenderedStringTemplateContent:
    """A line of text; ``params`` are HTML-escaped by GX's view (a record_id or file name may hold anything)."""
    return RenderedStringTemplateContent(content_block_type="string_template", string_template={
        "template": template, "params": params or {}, "tag": tag, "styling": {"classes": list(classes)}})


def _cell(value) -> str:
    # table cells are written into the page as they are: escape them here
    return html.escape("" if value is None else str(value))


def counts_line(meta: dict) -> str | None:
    """收到 257 行，入库 219 行，隔离 38 行 | received 257, loaded 219, quarantined 38 (what the meta knows)."""
    parts = [(key, zh, en) for key, zh, en in (("rows_received", "收到", "received"), ("rows_loaded", "入库", "loaded"),
                                               ("rows_quarantined", "隔离", "quarantined")) if meta.get(key) is not None]
    if not parts:
        return None
    zh = "，".join(f"{zh} {int(meta[key])} 行" for key, zh, _ in parts)
    en = ", ".join(f"{en} {int(meta[key])}" for key, _, en in parts)
    return f"{zh} | {en}"


def failing_rows(result: dict) -> list[dict]:
    """The failing rows GX listed (all of them with COMPLETE, the first ones with SUMMARY)."""
    rows = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list") or []
    return [r for r in rows if isinstance(r, dict)]


class RuleSectionRenderer:
    """GX's column section renderer, replaced (``column_section_renderer``): one rule per column, as a
    supervisor reads it."""

    def render(self, validation_results, suite_parameters=None) -> RenderedSectionContent:
        evr = validation_results[0]  # the suite has one expectation per rule column
        meta = (evr.expectation_config.meta or {}) if evr.expectation_config is not None else {}
        return rule_section(evr, RECORD_TYPES.get(meta.get("record_type") or ""))


class FileValidationPageRenderer(ValidationResultsPageRenderer):
    """GX's validation results page with the file, its ledger counts and each broken rule's failing rows."""

    def __init__(self, column_section_renderer=None, run_info_at_end: bool = False, data_context=None) -> None:
        super().__init__(column_section_renderer=column_section_renderer or {
            "module_name": __name__, "class_name": "RuleSectionRenderer"},
            run_info_at_end=run_info_at_end, data_context=data_context)

    def render(self, validation_results, suite_parameters=None):
        doc = super().render(validation_results, suite_parameters)
        meta = dict(validation_results.meta or {})
        overview, *rules = doc.sections
        run_info = overview.content_blocks[2:]  # GX's header and statistics (0, 1) are replaced
        blocks = [self._header(validation_results)]
        if meta.get("source_file") or meta.get("rows_received") is not None:
            blocks.append(self._file_block(meta))
        blocks.append(self._rule_checks(validation_results))
        overview.content_blocks = blocks + run_info
        # broken rules first (the reason a supervisor opens the page), the rest in the suite's order
        broken = {r.expectation_config.meta.get("rule") for r in validation_results.results
                  if not r.success and r.expectation_config is not None}
        doc.sections = [overview] + sorted(rules, key=lambda section: section.section_name not in broken)
        if meta.get("source_file"):
            doc.page_title = f"{meta.get('county_code', '')} {meta.get('business_date', '')} {meta['source_file']}"
        return doc

    @staticmethod
    def _header(validation_results) -> RenderedHeaderContent:
        """GX's "Status: Failed" means "some rule is broken by some row", not that the file failed to load."""
        status = ("全部规则通过 | no rule broken" if validation_results.success
                  else "有规则被违反（违反的行见下）| some rule broken (rows below)")
        return RenderedHeaderContent(
            header=_text("概览 | Overview", tag="h5", classes=("m-0",)),
            subheader=_text("规则集 | suite: $suite · 状态 | status: $html_success_icon $status",
                            {"suite": validation_results.suite_name, "status": status,
                             "html_success_icon": OK_ICON if validation_results.success else BROKEN_ICON},
                            classes=("mb-0", "mt-1")),
            styling={"classes": ["col-12", "p-0"], "header": {"classes": ["alert", "alert-secondary"]}})

    @staticmethod
    def _file_block(meta: dict) -> RenderedTableContent:
        rt = RECORD_TYPES.get(meta.get("record_type") or "")
        kind = f"{rt.zh}（{rt.name}）" if rt else meta.get("record_type")
        sha = meta.get("file_sha256") or ""
        rows = [["县（区）| county", meta.get("county_code")], ["数据类型 | record type", kind],
                ["业务日期 | business date", meta.get("business_date")], ["源文件 | source file", meta.get("source_file")],
                ["SHA-256", sha[:16] + ("…" if len(sha) > 16 else "")]]
        if meta.get("part"):
            rows.append(["部分 | part", meta["part"]])
        line = counts_line(meta)
        return RenderedTableContent(
            content_block_type="table",
            header=_text("文件 | File", tag="h5", classes=("m-0",)),
            subheader=_text("$counts", {"counts": line}, tag="p", classes=("sv-counts", "font-weight-bold", "mt-2"))
            if line else None,
            table=[[_cell(k), _cell(v)] for k, v in rows if v not in (None, "")],
            styling={"classes": ["col-12", "table-responsive", "mt-1", "sv-file-summary"],
                     "body": {"classes": ["table", "table-sm"]}})

    @staticmethod
    def _rule_checks(validation_results) -> RenderedTableContent:
        s = validation_results.statistics or {}
        pct = s.get("success_percent")
        rows = [["检查的规则 | rules checked", s.get("evaluated_expectations")],
                ["没有行违反的规则 | rules no row breaks", s.get("successful_expectations")],
                ["有行违反的规则 | rules broken by some row", s.get("unsuccessful_expectations")],
                ["无违反规则占比 | share of rules with no breaking row",
                 None if pct is None else f"{pct:.1f}%"]]
        return RenderedTableContent(
            content_block_type="table",
            header=_text("规则检查（按规则计，不是按行）| Rule checks (counted per rule, not per row)",
                         tag="h6", classes=("m-0",)),
            table=[[_cell(k), _cell(v)] for k, v in rows if v is not None],
            styling={"classes": ["col-12", "table-responsive", "mt-1"], "body": {"classes": ["table", "table-sm"]}})


def rule_section(evr, rt) -> RenderedSectionContent:
    config = evr.expectation_config
    meta = dict(config.meta or {}) if config is not None else {}
    rule = meta.get("rule") or (config.kwargs.get("column") if config is not None else "?")
    described = rule_zh(rt, rule) if rt else (config.description if config is not None else "") or ""
    result = evr.result or {}
    broken, checked = int(result.get("unexpected_count") or 0), result.get("element_count")
    severity = meta.get("severity") or "error"
    severity_text = "错误：违反的行被隔离 | error: breaking rows are quarantined" if severity == "error" \
        else "警告：违反的行照常入库 | warning: breaking rows load with a finding"
    blocks = [RenderedHeaderContent(
        header=_text("$html_success_icon $rule", {"html_success_icon": OK_ICON if evr.success else BROKEN_ICON,
                                                  "rule": rule}, tag="h5", classes=("m-0",)),
        subheader=_text("$described", {"described": described}, classes=("mb-0", "mt-1")),
        styling={"classes": ["col-12", "p-0"], "header": {"classes": ["alert", "alert-secondary"]}})]
    if evr.success:
        blocks.append(_text("没有行违反此规则（检查 $checked 行）| no row breaks this rule ($checked rows checked)",
                            {"checked": checked}))
    else:
        blocks.append(_text("违反此规则 $broken 行（检查 $checked 行）| $broken of $checked rows break this rule",
                            {"broken": broken, "checked": checked}, classes=("mb-1", "text-danger")))
    blocks.append(_text("$severity · GX：规则列 $column 的取值须为 1（通过）或 2（不适用）"
                        "| GX: values of $column in {1 passes, 2 n/a}",
                        {"severity": severity_text, "column": config.kwargs.get("column") if config else rule},
                        classes=("mb-1", "small", "text-muted")))
    rows = failing_rows(result)
    if rows:
        listed = "" if len(rows) >= broken else f"（列出前 {len(rows)} 行 | the first {len(rows)} listed）"
        blocks.append(RenderedTableContent(
            content_block_type="table",
            header=_text("违反此规则的行$listed | rows that break it", {"listed": listed},
                         tag="h6", classes=("m-0",)),
            header_row=["表格行号（表头为第 1 行）| row (header = row 1)", "record_id"],
            table=[[_cell(r.get("row_number")), _cell(r.get("record_id"))] for r in rows],
            styling={"classes": ["col-12", "table-responsive", "mt-1", "sv-failing-rows"],
                     "body": {"classes": ["table", "table-sm", "table-striped"]}}))
    return RenderedSectionContent(section_name=rule, content_blocks=blocks)
