"""docs/contract.md, rendered from the contract and the rule list (one source: contract.py + validation.rule_specs).

`python -m supervision.contract_docs > docs/contract.md` regenerates it; a test fails when the committed page
and the code disagree.
"""

from __future__ import annotations

from supervision.contract import CONTRACT_VERSION, RECORD_TYPES, RecordType
from supervision.validation import rule_specs

FILE_RULES = [
    ("file.readable", "the file can be parsed in its format (CSV in UTF-8/BOM/GBK, JSON array, XLSX first sheet, Parquet)"),
    ("file.schema", "the columns are exactly the contract's (missing, added and renamed columns are reported)"),
    ("file.manifest_rows", "the number of data rows equals the manifest's `rows`"),
    ("file.manifest_sha256", "the file's sha256 equals the manifest's `sha256` (damaged transfer otherwise)"),
    ("file.reject_threshold", "the share of rows breaking error rules is at most the county's `reject_threshold` "
                              "(default 20%); otherwise the whole file is rejected and all its rows quarantined"),
]


def _pii(f) -> str:
    return {True: "yes", "person": "when the party is a person"}.get(f.pii, "")


def render_record_type(rt: RecordType) -> str:
    lines = [f"## `{rt.name}` ({rt.zh})", "", f"Warehouse table: `core.{rt.table}` (current version), "
             f"`core.{rt.table}_superseded` (older versions) and the view `core.{rt.table}_history` "
             "(every version, each once).", "",
             "| field | 中文 | type | required | PII | notes |", "|---|---|---|---|---|---|"]
    for f in rt.fields:
        notes = []
        if f.enum:
            notes.append("one of " + ", ".join(f"`{v}`" for v in f.enum))
        if f.max_length:
            notes.append(f"at most {f.max_length} characters")
        if f.kind_field:
            notes.append(f"resident ID or USCC by `{f.kind_field}`")
        if f.references:
            notes.append(f"record_id of a `{f.references}` record of the same county, compared in NFKC form")
        if f.doc:
            notes.append(f.doc)
        lines.append(f"| `{f.name}` | {f.zh} | {f.type} (`{f.sql_type}`) | {'yes' if f.required else ''} | "
                     f"{_pii(f)} | {'; '.join(notes)} |")
    lines += ["", "Rules (each is one Great Expectations expectation in the suite "
              f"`{rt.name}_contract_{CONTRACT_VERSION}`):", "", "| rule id | severity | meaning |", "|---|---|---|"]
    lines += [f"| `{s.id}` | {s.severity} | {s.description} |" for s in rule_specs(rt)]
    return "\n".join(lines)


def render() -> str:
    head = [
        f"# County submission contract {CONTRACT_VERSION}: fields and rules",
        "",
        "Generated from `include/supervision/contract.py` by `python -m supervision.contract_docs`; do not edit by hand.",
        "",
        "Every value arrives as text. Empty = NULL. Dates `YYYY-MM-DD`; timestamps ISO 8601 with a UTC offset; money in",
        "yuan with at most 2 decimals; booleans `true/false`, `1/0` or `是/否`; digits are ASCII (`0-9`).",
        "",
        "Keys (`record_id` and every `related_*_id`) are the exception: they are compared, checked (length, unique in",
        "the file, references) and stored in Unicode NFKC form, so full-width `ＥＮＦ－４１１００２－００１` and ASCII",
        "`ENF-411002-001` name the same record (no case folding; Han characters unchanged). The lake keeps the key as",
        "received; quarantine keeps the row as received and files it under the NFKC key.",
        "",
        "A row breaking an **error** rule is quarantined (`ops.quarantine`) with every rule it broke; a **warning**",
        "is recorded (`ops.validation_warning`) and the row still loads.",
        "",
        "## Whole-file rules",
        "",
        "| rule id | meaning |",
        "|---|---|",
        *[f"| `{rid}` | {text} |" for rid, text in FILE_RULES],
        "",
    ]
    return "\n".join(head + [render_record_type(rt) + "\n" for rt in RECORD_TYPES.values()])


if __name__ == "__main__":
    print(render(), end="")
