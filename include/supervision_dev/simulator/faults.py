"""Faults a county can suffer, and the bad rows injected for each validation rule.

Rule ids are derived from the contract (field types and ``RecordType.rules``), the same ids the validator
reports. A bad row starts from a neutral, valid row (no cross-field rule applicable by accident) and
breaks exactly one rule; the truth file lists it with that rule id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from supervision.contract import (
    BOOL,
    CODE6,
    CODE9,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    RIC,
    TIMESTAMP,
    USCC,
    RecordType,
)
from supervision.identifiers import RIC_CHECK, USCC_ALPHABET, make_ric, make_uscc, ric_check_char
from supervision_dev.simulator.county import CountyCtx
from supervision_dev.simulator.records import Table, timestamps

FAULTS = ("bad_rows", "late", "missing_type", "manifest_rows", "manifest_sha256", "duplicate_record_id",
          "foreign_rows", "unreadable", "no_manifest")
FORMAT_CHECKED = (DATE, TIMESTAMP, MONEY, BOOL, CODE6, CODE9)
IDENTIFIER_TYPES = (USCC, RIC, PARTY_ID)
# Share of the reject threshold that injected bad rows may use, so a file meant to load does load.
THRESHOLD_USE = 0.75


@dataclass
class FaultProfile:
    """Which county suffers which fault (at most one each): ``{county_code: fault}``."""

    by_county: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = {f for f in self.by_county.values() if f not in FAULTS}
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; faults are {', '.join(FAULTS)}")

    @classmethod
    def none(cls) -> FaultProfile:
        return cls({})

    @classmethod
    def default(cls, county_codes, seed: int = 20261122) -> FaultProfile:
        """Every fault on its own county, picked by seed, never the first county (tests keep a clean one).

        With fewer than len(FAULTS) + 1 counties, the faults at the end of FAULTS are left out.
        """
        pool = list(county_codes)[1:]
        order = np.random.default_rng([seed, 0xFA17]).permutation(len(pool))
        return cls({pool[int(j)]: f for f, j in zip(FAULTS, order, strict=False)})

    def fault_of(self, county_code: str) -> str | None:
        return self.by_county.get(county_code)

    def counties_with(self, fault: str) -> list[str]:
        return [c for c, f in self.by_county.items() if f == fault]

    def to_dict(self) -> dict[str, str]:
        return dict(sorted(self.by_county.items()))


# ---------------------------------------------------------------------------------------------- rule catalogue


# A bad value that necessarily breaks a second rule too: a case number over 100 characters cannot have the
# 1-6 digit serial of a real 案号, so it fails the format rule as well as max_length.
ALSO_FAILS: dict[str, tuple[str, ...]] = {"court_case_number.max_length": ("court_case_number_format",)}

def rule_ids_for(rt: RecordType) -> list[str]:
    """Every rule id the validator can report for a record type, in contract order."""
    ids = []
    for f in rt.fields:
        if f.required:
            ids.append(f"{f.name}.required")
        if f.type == ENUM:
            ids.append(f"{f.name}.enum")
        if f.type in FORMAT_CHECKED:
            ids.append(f"{f.name}.format")
        if f.max_length:
            ids.append(f"{f.name}.max_length")
        if f.type in IDENTIFIER_TYPES:
            ids.append(f"{f.name}.identifier")
        if f.type == MONEY:
            ids.append(f"{f.name}.non_negative")
        if f.type == DATE:
            ids.append(f"{f.name}.not_future")
        if f.type == CODE9:
            ids.append(f"{f.name}.in_county")
        if f.name == "county_code":
            ids.append("county_code.matches_submitter")
        if f.name == "record_id":
            ids.append("record_id.unique_in_file")
    return ids + [r.id for r in rt.rules]


def bad_row_plan(rt: RecordType) -> list[tuple[str, int]]:
    """(rule id, variant) per injected bad row; party ids are broken once as a person, once as an organization,
    and record_id.unique_in_file takes two rows (both fail it)."""
    plan = []
    for rid in rule_ids_for(rt):
        fname, _, check = rid.partition(".")
        if check == "identifier" and rt.field(fname).type == PARTY_ID:
            plan += [(rid, 0), (rid, 1)]
        elif rid == "record_id.unique_in_file":
            plan += [(rid, 0), (rid, 1)]
        else:
            plan.append((rid, 0))
    return plan


def rows_needed(bad: int, threshold: float) -> int:
    """Rows a file needs so that ``bad`` rejected rows stay safely within the county's reject threshold."""
    if bad == 0:
        return 0
    if threshold <= 0:
        return bad  # any bad row rejects the file; do not pad
    return min(math.ceil(bad / (threshold * THRESHOLD_USE)), 100_000)


# ---------------------------------------------------------------------------------------------- mutations

_ENUM_LABELS = {  # what a county system sends when it exports labels instead of codes
    "action_type": "行政处罚", "domain": "市场监管", "party_type": "自然人", "applicant_type": "法人",
    "plaintiff_type": "个人", "status": "已结案", "procedure": "普通程序", "trial_level": "一审",
    "channel": "12345热线", "result": "属实",
}
_OUTCOME_LABELS = {"reconsideration_cases": "维持", "litigation_cases": "胜诉"}


def _day(night: int, offset: int) -> str:
    return date.fromordinal(night + offset).isoformat()


def _date_orders(rt: RecordType) -> list[tuple[str, str]]:
    return [(r.args[0], r.args[1]) for r in rt.rules if r.kind == "date_order"]


class Injector:
    """Builds bad rows for one county's file from neutral copies of valid rows."""

    def __init__(self, ctx: CountyCtx, night: int, rng: np.random.Generator):
        self.ctx, self.night, self.rng = ctx, night, rng
        self.variant_counter = 0

    # -- valid building blocks
    def _ric(self) -> str:
        born = date.fromordinal(self.night - int(self.rng.integers(20 * 365, 70 * 365)))
        return make_ric(self.ctx.code, born.strftime("%Y%m%d"), f"{int(self.rng.integers(0, 1000)):03d}")

    def _uscc(self) -> str:
        return make_uscc("91", self.ctx.code, "MA" + "".join(self.rng.choice(list("0123456789ABCDEFGHJKLMNPQRTUWXY"), 6)))

    def _bad_ric(self, variant: int) -> str:
        good = self._ric()
        if variant % 3 == 0:  # wrong check character
            return good[:17] + RIC_CHECK[(RIC_CHECK.index(good[17]) + 1) % 11]
        if variant % 3 == 1:  # month 13, check character recomputed: only the birth date is wrong
            body = good[:10] + "13" + good[12:17]
            return body + ric_check_char(body)
        return good[:17]  # 17 characters

    def _bad_uscc(self, variant: int) -> str:
        good = self._uscc()
        if variant % 3 == 0:
            return good[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(good[17]) + 1) % 31]
        if variant % 3 == 1:
            return good[:10] + "O" + good[11:]  # O is not in the USCC alphabet
        return good[:17]

    # -- neutral rows: every optional rule made inapplicable or satisfied
    def neutral(self, rt: RecordType, row: dict) -> dict:
        n, r = self.night, int(self.rng.integers(0, 20))
        row = dict(row)
        row["county_code"] = self.ctx.code
        if rt.name == "enforcement_cases":
            year = date.fromordinal(n - 30 - r).year
            row.update(action_type="licensing", fine_amount=None, confiscated_amount=None, is_major=False,
                       legal_review_done=True, full_process_recorded=True, filed_date=_day(n, -30 - r),
                       decided_date=_day(n, -10 - r), closed_date=None, status="decided", publicized_date=None)
            row["case_number"] = row["case_number"] or f"{self.ctx.doc_abbr}市监许〔{year}〕{r + 1}号"
        elif rt.name == "reconsideration_cases":
            row.update(received_date=_day(n, -40 - r), accepted_date=_day(n, -38 - r), decided_date=_day(n, -10 - r),
                       outcome="upheld", procedure="normal", extended=False)
        elif rt.name == "litigation_cases":
            row.update(filed_date=_day(n, -60 - r), hearing_date=_day(n, -30 - r), judgment_date=_day(n, -10 - r),
                       outcome="won", head_appearance_required=False, head_appeared=False, judicial_suggestion=False,
                       suggestion_replied_date=None)
        elif rt.name == "complaints":
            row.update(received_date=_day(n, -20 - r), handled_date=_day(n, -5 - r), result="unsubstantiated",
                       replied=True)
            if row["complainant_id"] is None:
                row.update(complainant_id=self._ric(), complainant_name="王建国")
        return row

    def harmonize(self, rt: RecordType, row: dict) -> None:
        """Keep statuses in step with dates after a date was moved (not a rule; realism)."""
        if rt.name == "enforcement_cases":
            row["status"] = "closed" if row["closed_date"] else "decided" if row["decided_date"] else "open"
            if not row["decided_date"]:
                row["publicized_date"] = None
        elif rt.name == "reconsideration_cases" and row["decided_date"] is None:
            row["outcome"] = "pending"
        elif rt.name == "litigation_cases":
            if row["hearing_date"] and row["hearing_date"] > _day(self.night, 0):
                row["judgment_date"] = None
            if row["judgment_date"] is None:
                row["outcome"] = "pending"
        elif rt.name == "complaints" and row["handled_date"] is None:
            row["result"] = "pending"
            row["replied"] = False

    def _downstream(self, rt: RecordType, name: str) -> set[str]:
        out, todo = set(), [name]
        while todo:
            a = todo.pop()
            for x, y in _date_orders(rt):
                if x == a and y not in out:
                    out.add(y)
                    todo.append(y)
        return out

    def break_rule(self, rt: RecordType, row: dict, rule_id: str, variant: int) -> dict:
        """A copy of row that fails exactly rule_id."""
        row = self.neutral(rt, row)
        n = self.night
        v = self.variant_counter
        self.variant_counter += 1
        fname, _, check = rule_id.partition(".")
        rules = {r.id: r for r in rt.rules}
        if rule_id in rules:
            self._break_cross(rt, row, rules[rule_id], v)
            return row
        f = rt.field(fname)
        if check == "required":
            row[fname] = None
        elif check == "enum":
            row[fname] = _ENUM_LABELS.get(fname) or _OUTCOME_LABELS.get(rt.name, "其他")
        elif check == "format":
            row[fname] = self._bad_format(f.type, row[fname], v)
            if f.type == MONEY:
                row["action_type"] = "penalty"
        elif check == "max_length":
            row[fname] = self._too_long(rt, fname, row[fname], f.max_length)
        elif check == "identifier":
            if f.type == PARTY_ID:
                person = variant == 0
                row[f.kind_field] = "person" if person else "organization"
                row[fname] = self._bad_ric(v) if person else self._bad_uscc(v)
            elif f.type == RIC:
                row[fname] = self._bad_ric(v)
            else:
                row[fname] = self._bad_uscc(v)
        elif check == "non_negative":
            row["action_type"] = "penalty"
            row[fname] = -float(self.rng.integers(1, 50) * 100)
        elif check == "not_future":
            row[fname] = _day(n, int(self.rng.integers(1, 11)))
            for later in self._downstream(rt, fname):
                row[later] = None
            if fname == "suggestion_replied_date":
                row["judicial_suggestion"] = True
            self.harmonize(rt, row)
        elif check == "in_county":
            row[fname] = self.ctx.foreign_townships[v % len(self.ctx.foreign_townships)]
        elif check == "matches_submitter":
            row[fname] = self.ctx.neighbours[0]
            if "township_code" in row:
                row["township_code"] = None
        else:
            raise NotImplementedError(f"no bad row for rule {rule_id}")
        if fname == "suggestion_replied_date" and check == "format":
            row["judicial_suggestion"] = True
        return row

    def _bad_format(self, ftype: str, value, v: int):
        n = self.night
        if ftype == DATE:
            good = value if isinstance(value, str) else _day(n, -15)
            return [good.replace("-", "/"), good.replace("-", ""), f"{good[:4]}-02-30"][v % 3]
        if ftype == TIMESTAMP:
            good = value or timestamps(n, [36000])[0]
            return [good[:19].replace("T", " "), good[:19]][v % 2]
        if ftype == MONEY:
            return ["1200.555", "1,200.00"][v % 2]
        if ftype == BOOL:
            return ["yes", "2", "对"][v % 3]
        if ftype == CODE6:
            return [self.ctx.code[:5], self.ctx.code[:4] + "O" + self.ctx.code[5]][v % 2]
        if ftype == CODE9:
            town = value or f"{self.ctx.code}001"
            return [town[:8], town[:8] + "A"][v % 2]
        raise NotImplementedError(ftype)

    def _too_long(self, rt: RecordType, fname: str, value, limit: int) -> str:
        if fname == "record_id" or fname.startswith("related_"):
            base = value or f"{rt.name[:3].upper()}-{self.ctx.code}"
            return (base + "-" + "0" * limit)[: limit + 1]
        if fname == "court_case_number":  # well-formed but for a serial far longer than courts use (see ALSO_FAILS)
            head = f"（{date.fromordinal(self.night).year}）{self.ctx.province_abbr}{self.ctx.code[2:]}行初"
            return head + "1" * (limit - len(head)) + "号"
        base = value or "某"
        return base + "某" * (limit + 1 - len(base))

    def _break_cross(self, rt: RecordType, row: dict, rule, v: int) -> None:
        n = self.night
        if rule.kind == "required_unless":
            target, cond, value = rule.args
            if row[cond] == value:
                row[cond] = "licensing"
            row[target] = None
        elif rule.kind == "date_order":
            a, b = rule.args
            row[a], row[b] = _day(n, -10), _day(n, -20)
            for x, y in _date_orders(rt):
                if (x, y) == (a, b) or row[x] is None or row[y] is None or row[y] >= row[x]:
                    continue
                if y not in (a, b):
                    row[y] = None
                else:
                    row[x] = _day(n, -40)
            self.harmonize(rt, row)
        elif rule.kind == "amount_only_for":
            cond, value, *amounts = rule.args
            if row[cond] == value:
                row[cond] = "licensing"
            row[amounts[v % len(amounts)]] = float(self.rng.integers(1, 50) * 100)
        elif rule.kind == "major_needs_review":
            major, decided, review = rule.args
            row[major], row[review] = True, False
            row[decided] = row[decided] or _day(n, -10)
        elif rule.kind == "court_case_number":
            year, serial = date.fromordinal(n).year, int(self.rng.integers(1, 500))
            court = self.ctx.province_abbr + self.ctx.code[2:]
            row[rule.args[0]] = [f"{year}行初{serial}号", f"（{year}）{court}第{serial}号"][v % 2]
        else:
            raise NotImplementedError(f"no bad row for rule kind {rule.kind} ({rule.id})")


def inject_bad_rows(table: Table, ctx: CountyCtx, night: int, rng: np.random.Generator) -> None:
    """Turn the table's extra rows into one bad row per planned rule (the rest stay as valid padding)."""
    rt = table.record_type
    extras = [i for i, e in enumerate(table.is_extra) if e]
    plan = bad_row_plan(rt)
    if len(extras) < len(plan):
        raise ValueError(f"{rt.name}: {len(extras)} extra rows for {len(plan)} bad rows")
    inj = Injector(ctx, night, rng)
    pair_id = None
    for (rule_id, variant), i in zip(plan, extras, strict=False):
        if rule_id == "record_id.unique_in_file":
            row = inj.neutral(rt, table.row(i))
            if pair_id is None:
                pair_id = row["record_id"]
            else:
                row["record_id"] = pair_id
        else:
            row = inj.break_rule(rt, table.row(i), rule_id, variant)
        table.set_row(i, row)
        table.expect[i] = [rule_id, *ALSO_FAILS.get(rule_id, ())]
