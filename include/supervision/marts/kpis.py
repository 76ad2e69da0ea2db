"""The catalog of supervision measures (domain.md, "Supervision measures"): names, units and what they count.

The SQL of each measure is the view ``marts.kpi_case`` (sql/migrations/V103__marts_kpis.sql); this catalog fills
``marts.kpi_definition`` and docs/kpis.md. Volume breakdowns (acts by action type and by domain) follow the
contract's enums, so a new enum value gets its measure without an edit here (its label falls back to the code).
"""

from __future__ import annotations

from dataclasses import dataclass

from supervision.contract import ACTION_TYPES, ACTION_TYPES_ZH, DOMAINS, DOMAINS_ZH

RATIO, COUNT, YUAN = "ratio", "count", "yuan"

# Chinese labels come from the contract (one definition beside the fields)
ACTION_TYPE_ZH = dict(zip(ACTION_TYPES, ACTION_TYPES_ZH, strict=True))
DOMAIN_ZH = dict(zip(DOMAINS, DOMAINS_ZH, strict=True))


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

    @property
    def township_level(self) -> bool:
        return self.record_type in ("enforcement_cases", "complaints")  # the record types with a township code


_DECIDED_REC = "cases decided in the period (outcome not pending, decided_date set)"
_CONCLUDED = "cases concluded in the period (outcome not pending; period of judgment_date), all concluded outcomes"
_PENALTY = "penalty decisions (action_type penalty, not withdrawn) by decided_date"

BASE: tuple[Kpi, ...] = (
    Kpi("enforcement_acts", "enforcement_acts", "行政执法行为数", "Enforcement acts", COUNT, "enforcement_cases",
        "filed_date", "enforcement acts filed in the period (any status)"),
    Kpi("full_process_record_rate", "full_process_record_rate", "全过程记录率", "Full-process recording rate", RATIO,
        "enforcement_cases", "filed_date", "acts with full_process_recorded", "enforcement acts filed in the period"),
    Kpi("publicity_rate", "publicity_rate", "执法决定公示率(按期)", "Decisions publicized on time", RATIO,
        "enforcement_cases", "publicity_due_date",
        "decisions publicized on or before their deadline (7 working days after decided_date for licensing and "
        "penalty, 20 for other decisions)",
        "decisions (not withdrawn) whose publicity deadline falls in the period, counted once publicized or once "
        "the deadline has passed (before as_of_date)"),
    Kpi("legal_review_rate", "legal_review_rate", "重大执法决定法制审核率", "Legal review of major decisions", RATIO,
        "enforcement_cases", "decided_date", "decided major decisions with legal_review_done",
        "major decisions (is_major, not withdrawn) decided in the period, including those reported without legal "
        "review and quarantined for it"),
    Kpi("penalty_decisions", "penalty_decisions", "行政处罚决定数", "Penalty decisions", COUNT, "enforcement_cases",
        "decided_date", _PENALTY),
    Kpi("fine_amount", "fine_amount", "罚款金额(元)", "Fines (yuan)", YUAN, "enforcement_cases", "decided_date",
        "sum of fine_amount of " + _PENALTY),
    Kpi("confiscated_amount", "confiscated_amount", "没收金额(元)", "Confiscations (yuan)", YUAN, "enforcement_cases",
        "decided_date", "sum of confiscated_amount of " + _PENALTY),
    Kpi("reconsideration_received", "reconsideration_received", "行政复议收案数", "Reconsideration applications",
        COUNT, "reconsideration_cases", "received_date", "applications received in the period"),
    Kpi("reconsideration_decided", "reconsideration_decided", "行政复议审结数", "Reconsideration cases decided", COUNT,
        "reconsideration_cases", "decided_date", _DECIDED_REC),
    Kpi("reconsideration_correction_rate", "reconsideration_correction_rate", "行政复议直接纠错率",
        "Reconsideration correction rate", RATIO, "reconsideration_cases", "decided_date",
        "decided cases with outcome revoked, altered, confirmed_illegal, ordered_performance or confirmed_invalid",
        _DECIDED_REC),
    Kpi("reconsideration_on_time_rate", "reconsideration_on_time_rate", "行政复议按期审结率",
        "Reconsideration decided on time", RATIO, "reconsideration_cases", "decided_date",
        "decided cases with decided_date <= deadline: accepted_date (else received_date) + 60 days (30 for the "
        "simplified procedure), +30 when extended, moved to the next working day if it falls on a rest day",
        _DECIDED_REC),
    Kpi("litigation_filed", "litigation_filed", "行政应诉收案数", "Lawsuits filed", COUNT, "litigation_cases",
        "filed_date", "lawsuits filed in the period"),
    Kpi("litigation_concluded", "litigation_concluded", "行政应诉审结数", "Lawsuits concluded", COUNT,
        "litigation_cases", "judgment_date", _CONCLUDED),
    Kpi("litigation_loss_rate", "litigation_loss_rate", "行政诉讼败诉率", "Litigation loss rate", RATIO,
        "litigation_cases", "judgment_date", "concluded cases with outcome lost", _CONCLUDED),
    Kpi("head_appearance_rate", "head_appearance_rate", "负责人出庭应诉率", "Head appearance rate", RATIO,
        "litigation_cases", "hearing_date", "heard cases where the agency head appeared",
        "cases heard in the period (hearing_date); the plans demand at least 1/3"),
    Kpi("head_appearance_rate_required", "head_appearance_rate_required", "负责人出庭应诉率(通知出庭)",
        "Head appearance where required", RATIO, "litigation_cases", "hearing_date",
        "heard cases with head_appearance_required where the head appeared",
        "cases heard in the period where the court required the head to appear; the plans demand 100%"),
    Kpi("judicial_suggestion_reply_rate", "judicial_suggestion_reply_rate", "司法建议按期办复率",
        "Judicial suggestions answered on time", RATIO, "litigation_cases", "suggestion_due_date",
        "suggestions replied within 60 days (suggestion_replied_date <= due)",
        "suggestions whose 60 days end in the period (from judgment_date, else hearing_date, else filed_date), "
        "counted once replied or once the 60 days have passed"),
    Kpi("complaints_received", "complaints_received", "投诉举报收件数", "Complaints received", COUNT, "complaints",
        "received_date", "complaints received in the period"),
    Kpi("complaints_handled", "complaints_handled", "投诉举报办结数", "Complaints handled", COUNT, "complaints",
        "handled_date", "complaints handled in the period"),
    Kpi("complaint_on_time_rate", "complaint_on_time_rate", "投诉举报按期办结率", "Complaints handled on time", RATIO,
        "complaints", "handled_date, else due_date", "complaints handled within 60 days of receipt",
        "complaints handled in the period (on time or late), and complaints still open whose 60 days ran out in "
        "the period (overdue, never on time); withdrawn complaints never handled are left out"),
)


def catalog() -> list[Kpi]:
    out = list(BASE[:1])
    for a in ACTION_TYPES:
        out.append(Kpi(f"enforcement_acts.action.{a}", "enforcement_acts.action",
                       f"行政执法行为数: {ACTION_TYPE_ZH.get(a, a)}", f"Enforcement acts: {a}", COUNT,
                       "enforcement_cases", "filed_date", f"acts with action_type {a} filed in the period"))
    for d in DOMAINS:
        out.append(Kpi(f"enforcement_acts.domain.{d}", "enforcement_acts.domain",
                       f"行政执法行为数: {DOMAIN_ZH.get(d, d)}领域", f"Enforcement acts: {d}", COUNT,
                       "enforcement_cases", "filed_date", f"acts in domain {d} filed in the period"))
    out += BASE[1:]
    return out


def definition_rows() -> list[tuple]:
    return [(k.kpi, k.family, k.name_zh, k.name_en, k.unit, k.record_type, k.period_by, k.numerator, k.denominator,
             k.township_level, i) for i, k in enumerate(catalog(), 1)]


DEFINITION_COLUMNS = ("kpi", "family", "name_zh", "name_en", "unit", "record_type", "period_by", "numerator",
                      "denominator", "township_level", "sort")
