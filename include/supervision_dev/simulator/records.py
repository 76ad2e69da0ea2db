"""Records of one county and night: new ones, and re-sends of earlier ones whose status moved today.

Each record is keyed by (seed, county, record type, creation night, index). Its whole life is drawn at
creation: when it was filed, when it will be decided, closed, heard... Events after the creation night are
snapped onto creation + one of ``LIFE_STEPS`` days, so a night only has to look back at ``len(LIFE_STEPS)``
earlier creation nights to find every record that changes today (and is re-sent with a newer updated_at).
Dates are Python date ordinals (ints) until rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from supervision.contract import (
    ACTION_TYPES,
    COMPLAINT_CHANNELS,
    COMPLAINT_RESULTS,
    DOMAINS,
    LITIGATION_OUTCOMES,
    RECONSIDERATION_OUTCOMES,
    RECORD_TYPES,
    RecordType,
)
from supervision_dev.simulator.county import BIRTHPLACE_SHARES, DOMAIN_DEPTS, N_DEPT, CountySet
from supervision_dev.simulator.people import organizations, persons, phone_numbers
from supervision_dev.simulator.rng import Draw, iso_dates, key, mix, poisson, weekday

LIFE_STEPS = np.array([1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60], dtype=np.int64)
NEVER = 10**9  # an event that does not happen within the look-back window
WEEKEND_FACTOR = 0.55


@dataclass(frozen=True)
class Spec:
    record_type: RecordType
    prefix: str
    type_no: int
    base: float  # mean new records per county-night at scale 1 and an average county


SPECS = {
    "enforcement_cases": Spec(RECORD_TYPES["enforcement_cases"], "ENF", 1, 32.0),
    "reconsideration_cases": Spec(RECORD_TYPES["reconsideration_cases"], "REC", 2, 1.3),
    "litigation_cases": Spec(RECORD_TYPES["litigation_cases"], "LIT", 3, 0.9),
    "complaints": Spec(RECORD_TYPES["complaints"], "CMP", 4, 6.0),
}


@dataclass
class Table:
    """One file's rows as logical values (str/None; bool for booleans; float for money) in contract order."""

    record_type: RecordType
    columns: dict[str, list]
    secs: list[int]  # updated_at as seconds into the business day (sort key)
    is_new: list[bool]
    is_extra: list[bool]  # added for a fault, beyond the night's regular volume
    expect: list[list[str] | None] = field(default_factory=list)  # rule ids a row must fail

    def __post_init__(self):
        if not self.expect:
            self.expect = [None] * len(self.secs)

    def __len__(self) -> int:
        return len(self.secs)

    def row(self, i: int) -> dict:
        return {f: col[i] for f, col in self.columns.items()}

    def set_row(self, i: int, row: dict) -> None:
        for f, col in self.columns.items():
            col[i] = row[f]

    def append(self, row: dict, secs: int, expect: list[str] | None) -> None:
        for f, col in self.columns.items():
            col.append(row[f])
        self.secs.append(secs)
        self.is_new.append(True)
        self.is_extra.append(True)
        self.expect.append(expect)

    def sort(self) -> None:
        """File order: by updated_at, then record_id (stable)."""
        ids = self.columns["record_id"]
        order = sorted(range(len(self)), key=lambda i: (self.secs[i], ids[i] or "", i))
        self.columns = {f: [col[i] for i in order] for f, col in self.columns.items()}
        self.secs = [self.secs[i] for i in order]
        self.is_new = [self.is_new[i] for i in order]
        self.is_extra = [self.is_extra[i] for i in order]
        self.expect = [self.expect[i] for i in order]


# ---------------------------------------------------------------------------------------------- volumes

def counts(cs: CountySet, spec: Spec, cix: np.ndarray, nights: np.ndarray, scale: float) -> np.ndarray:
    """New records created by county cix on each night (a pure function of seed, county, type, night)."""
    nights = np.asarray(nights, dtype=np.int64)
    if scale <= 0 or len(nights) == 0:
        return np.zeros(len(nights), dtype=np.int64)
    type_key = key(cs.seed, cs.code_int, spec.type_no)
    type_factor = np.exp(0.3 * Draw(type_key).normal("type.size") - 0.045)
    d = Draw(mix(type_key[cix] ^ mix(nights.view(np.uint64))))
    lam = (scale * spec.base * cs.size[cix] * type_factor[cix] * np.where(weekday(nights) >= 5, WEEKEND_FACTOR, 1.0)
           * np.exp(0.25 * d.normal("night.noise") - 0.031))
    return poisson(lam, d.u("night.count"), d.normal("night.z"))


def _snap(natural: np.ndarray, created: np.ndarray) -> np.ndarray:
    """An event on or before the creation night keeps its date; a later one moves to created + a life step."""
    delta = natural - created
    pos = np.searchsorted(LIFE_STEPS, np.clip(delta, 0, None), side="left")
    later = created + LIFE_STEPS[np.minimum(pos, len(LIFE_STEPS) - 1)]
    return np.where(delta <= 0, natural, np.where(pos >= len(LIFE_STEPS), NEVER, later))


def _lag(d: Draw, name: str, bounds: tuple[int, ...], shares: tuple[float, ...]) -> np.ndarray:
    """Days between the event and its first extract: a mixture of uniform ranges (mostly short)."""
    u = d.u(f"{name}.mix")
    cum = np.cumsum(shares)
    out = np.zeros(len(d), dtype=np.int64)
    for i in range(len(shares)):
        lo, hi = bounds[i], bounds[i + 1]
        pick = (u < cum[i]) & (u >= (cum[i - 1] if i else 0.0))
        out = np.where(pick, d.int(f"{name}.{i}", lo, hi), out)
    return out


# ---------------------------------------------------------------------------------------------- rendering helpers

def _dates(ords: np.ndarray, show: np.ndarray) -> list[str | None]:
    strs = iso_dates(np.where(show, ords, 719163)).tolist()
    return [s if m else None for s, m in zip(strs, show.tolist(), strict=True)]


def _years(ords: np.ndarray) -> np.ndarray:
    return (np.asarray(ords) - 719163).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _when(d: Draw, night: int) -> np.ndarray:
    """Seconds into the night's day at which the county system last touched each record."""
    dn = Draw(mix(d.keys ^ np.uint64(night)))
    u = dn.u("upd.band")
    office = dn.int("upd.office", 8 * 3600, 18 * 3600)
    evening = dn.int("upd.evening", 18 * 3600, 24 * 3600)
    early = dn.int("upd.early", 0, 8 * 3600)
    return np.where(u < 0.8, office, np.where(u < 0.95, evening, early))


def timestamps(night: int, secs) -> list[str]:
    day = date.fromordinal(int(night)).isoformat()
    return [f"{day}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in np.asarray(secs).tolist()]


def record_ids(prefix: str, county, created: np.ndarray, idx: np.ndarray) -> list[str]:
    """ENF-411002-20261120-0007: type, county, creation night, sequence (county may be one code or per row)."""
    days = [s.replace("-", "") for s in iso_dates(created).tolist()]
    counties = [county] * len(days) if isinstance(county, str) else list(county)
    return [f"{prefix}-{c}-{dd}-{i + 1:04d}" for c, dd, i in zip(counties, days, idx.tolist(), strict=True)]


def _money(d: Draw, name: str) -> np.ndarray:
    x = np.exp(7.3 + 1.3 * d.normal(f"{name}.amount"))
    x = np.clip(x, 50, 5_000_000)
    return np.where(d.bern(f"{name}.round", 0.75), np.maximum(np.round(x, -2), 50.0), np.round(x, 2))


def _agency(cs: CountySet, cix: np.ndarray, d: Draw, name: str, domain: np.ndarray | None = None) -> np.ndarray:
    """Global agency indexes: by domain (its department mostly; township governments share urban management),
    or any department, a township government now and then, when domain is None."""
    u = d.u(f"{name}.agency")
    u2 = d.u(f"{name}.rest")
    towns = cs.town_ag_len[cix]
    if domain is None:
        local = np.minimum((u * N_DEPT).astype(np.int64), N_DEPT - 1)
        use_town = d.bern(f"{name}.town", 0.15) & (towns > 0)
        local = np.where(use_town, N_DEPT + np.floor(u2 * towns).astype(np.int64), local)
        return cs.ag_off[cix] + local
    local = np.zeros(len(d), dtype=np.int64)
    for di, depts in enumerate(DOMAIN_DEPTS):
        m = domain == di
        if not m.any():
            continue
        n_town = np.minimum(towns[m], 8) if DOMAINS[di] == "urban_management" else np.zeros(m.sum(), dtype=np.int64)
        n_rest = len(depts) - 1 + n_town
        j = np.floor(u2[m] * n_rest).astype(np.int64)
        rest = np.where(j < len(depts) - 1, np.asarray(depts + [0])[np.minimum(1 + j, len(depts))],
                        N_DEPT + j - (len(depts) - 1))
        local[m] = np.where((u[m] < 0.6) | (n_rest == 0), depts[0], rest)
    return cs.ag_off[cix] + local


def _persons(cs: CountySet, cix: np.ndarray, d: Draw, tag: str, created: np.ndarray) -> tuple[list, list]:
    group = d.pick(f"{tag}.bpg", BIRTHPLACE_SHARES)
    n = cs.bp_len[cix, group]
    group = np.where(n > 0, group, 0)  # a county alone in its city or province
    n = cs.bp_len[cix, group]
    birthplace = cs.bp[cs.bp_off[cix, group] + np.floor(d.u(f"{tag}.bp") * n).astype(np.int64)]
    return persons(d, tag, created, birthplace)


def _party(cs: CountySet, cix: np.ndarray, d: Draw, tag: str, created: np.ndarray, p_person) -> tuple:
    is_person = d.bern(f"{tag}.person", p_person)
    pid, pname = _persons(cs, cix, d, tag, created)
    oid, oname = organizations(d, f"{tag}.org", cs.code_int[cix], cs.city_int[cix], cs.label[cix],
                               cs.city_stem[cix], cs.stem[cix])
    m = is_person.tolist()
    return ([("person" if p else "organization") for p in m],
            [a if p else b for a, b, p in zip(pid, oid, m, strict=True)],
            [a if p else b for a, b, p in zip(pname, oname, m, strict=True)])


def _townships(cs: CountySet, cix: np.ndarray, d: Draw, p: float) -> tuple[list, np.ndarray]:
    """Township codes (None for some rows) and global township indexes (-1 for none)."""
    n = cs.tw_len[cix]
    has = d.bern("township.has", p) & (n > 0)
    g = np.where(has, cs.tw_off[cix] + np.floor(d.u("township.idx") * n).astype(np.int64), -1)
    codes = cs.tw_code[np.maximum(g, 0)].tolist() if len(cs.tw_code) else [None] * len(g)
    return [c if h else None for c, h in zip(codes, has.tolist(), strict=True)], g


def _related(cs: CountySet, cix: np.ndarray, d: Draw, name: str, target: str, created: np.ndarray, p: float,
             scale: float) -> list[str | None]:
    """Ids of records of another type created by the same county a few nights earlier, when there are any."""
    spec = SPECS[target]
    then = created - LIFE_STEPS[d.int(f"{name}.step", 0, len(LIFE_STEPS))]
    n = counts(cs, spec, cix, then, scale)
    idx = np.floor(d.u(f"{name}.idx") * n).astype(np.int64)
    ok = (d.bern(f"{name}.has", p) & (n > 0)).tolist()
    ids = record_ids(spec.prefix, cs.code[cix], then, idx)
    return [i if k else None for i, k in zip(ids, ok, strict=True)]


def _choice(values: tuple[str, ...], idx: np.ndarray) -> list[str]:
    return np.asarray(values, dtype=object)[idx].tolist()


def _opt(values: list, show) -> list:
    return [v if s else None for v, s in zip(values, np.asarray(show).tolist(), strict=True)]


# ---------------------------------------------------------------------------------------------- enforcement

_ACTION_W = dict(licensing=.20, penalty=.22, coercion=.06, inspection=.33, levy=.02, payment=.05, confirmation=.05,
                 adjudication=.02, other=.05)
_DECIDE = dict(licensing=(0, 20), penalty=(3, 75), coercion=(0, 10), inspection=(0, 4), levy=(5, 60),
               payment=(2, 30), confirmation=(1, 30), adjudication=(10, 60), other=(0, 30))
_CLOSE = dict(licensing=(0, 10), penalty=(5, 60), coercion=(1, 30), inspection=(0, 3), levy=(0, 20),
              payment=(0, 20), confirmation=(0, 20), adjudication=(0, 20), other=(0, 20))
_ACT_CHAR = dict(licensing="许", penalty="罚", coercion="强", inspection="检", levy="征", payment="给",
                 confirmation="确", adjudication="裁", other="决")
_DOMAIN_W = dict(market_regulation=25, ecology_environment=8, transport=10, emergency_management=6, agriculture=5,
                 culture_tourism=4, urban_management=15, health=6, natural_resources=5, public_security=12, other=4)
_PENALTY = ACTION_TYPES.index("penalty")
_INSPECTION = ACTION_TYPES.index("inspection")


def _plan_enforcement(d: Draw, c: np.ndarray) -> dict:
    action = d.pick("action", [_ACTION_W[a] for a in ACTION_TYPES])
    filed = c - _lag(d, "filed", (0, 3, 21, 121, 331), (.55, .30, .12, .03))
    lo = np.array([_DECIDE[a][0] for a in ACTION_TYPES])[action]
    hi = np.array([_DECIDE[a][1] for a in ACTION_TYPES])[action]
    dec_nat = filed + d.int("decide", lo, hi)
    lo = np.array([_CLOSE[a][0] for a in ACTION_TYPES])[action]
    hi = np.array([_CLOSE[a][1] for a in ACTION_TYPES])[action]
    withdrawn = d.bern("withdrawn", 0.02)
    clo_nat = np.where(d.bern("never.closed", 0.1) | withdrawn, NEVER, dec_nat + d.int("close", lo, hi))
    dec = _snap(dec_nat, c)
    clo = np.where(dec >= NEVER, NEVER, np.maximum(_snap(clo_nat, c), dec))
    return dict(action=action, filed=filed, dec=dec, clo=clo, withdrawn=withdrawn, events=(dec, clo))


def _render_enforcement(cs: CountySet, cix: np.ndarray, d: Draw, p: dict, c: np.ndarray, night: int,
                        scale: float) -> dict:
    action, filed, dec, clo, withdrawn = p["action"], p["filed"], p["dec"], p["clo"], p["withdrawn"]
    decided = (dec <= night) & ~withdrawn
    closed = decided & (clo <= night)
    status = np.where(withdrawn & (dec <= night), "withdrawn",
                      np.where(closed, "closed", np.where(decided, "decided", "open")))
    domain = d.pick("domain", [_DOMAIN_W[x] for x in DOMAINS])
    agency = _agency(cs, cix, d, "enf", domain)
    ptype, pid, pname = _party(cs, cix, d, "party", c,
                               np.where(action == _INSPECTION, 0.25, np.where(action == _PENALTY, 0.6, 0.5)))
    serial = d.int("case.serial", 1, 1000)
    years = _years(filed)
    no_case = (action == _INSPECTION) & d.bern("case.none", 0.5)
    case = [None if nc else f"{ab}{sh}{_ACT_CHAR[ACTION_TYPES[act]]}〔{y}〕{s}号"
            for nc, ab, sh, act, y, s in zip(no_case.tolist(), cs.doc_abbr[cix].tolist(), cs.ag_short[agency].tolist(),
                                             action.tolist(), years.tolist(), serial.tolist(), strict=True)]
    heavy = np.isin(action, [_PENALTY, ACTION_TYPES.index("coercion"), ACTION_TYPES.index("levy")])
    major = d.bern("major", np.where(heavy, 0.06, 0.01))
    review = np.where(major & decided, True, d.bern("review", np.where(major, 0.5, 0.3)))
    penalty_decided = (action == _PENALTY) & decided
    fine = np.where(penalty_decided & d.bern("fine.has", 0.85), _money(d, "fine"), np.nan)
    conf = np.where(penalty_decided & d.bern("conf.has", 0.15), _money(d, "conf"), np.nan)
    public_kind = np.isin(action, [_PENALTY, ACTION_TYPES.index("licensing")])
    pub = dec + np.where(public_kind, d.int("pub.days", 0, 10), d.int("pub.days2", 0, 25))
    show_pub = decided & d.bern("pub.has", np.where(public_kind, 0.93, 0.4)) & (pub <= night)
    return {
        "case_number": case,
        "township_code": _townships(cs, cix, d, 0.88)[0],
        "agency_code": cs.ag_code[agency].tolist(),
        "agency_name": cs.ag_name[agency].tolist(),
        "action_type": _choice(ACTION_TYPES, action),
        "domain": _choice(DOMAINS, domain),
        "party_type": ptype, "party_id": pid, "party_name": pname,
        "filed_date": _dates(filed, np.ones(len(d), dtype=bool)),
        "decided_date": _dates(dec, decided),
        "closed_date": _dates(clo, closed),
        "status": status.tolist(),
        "fine_amount": [None if np.isnan(x) else float(x) for x in fine.tolist()],
        "confiscated_amount": [None if np.isnan(x) else float(x) for x in conf.tolist()],
        "is_major": major.tolist(),
        "legal_review_done": review.astype(bool).tolist(),
        "full_process_recorded": d.bern("recorded", 0.87).tolist(),
        "publicized_date": _dates(pub, show_pub),
    }


# ---------------------------------------------------------------------------------------------- reconsideration

_REC_OUTCOME_W = dict(upheld=45, rejected=15, revoked=8, altered=2, confirmed_illegal=6, ordered_performance=3,
                      confirmed_invalid=1, mediated=6, settled=4, terminated=10)


def _plan_reconsideration(d: Draw, c: np.ndarray) -> dict:
    received = c - _lag(d, "received", (0, 3, 15, 61), (.7, .25, .05))
    simplified = d.bern("simplified", 0.18)
    acc_nat = received + d.int("accept", 0, 6)
    extended = ~simplified & d.bern("extended", 0.12)
    dur = np.where(simplified, d.int("dur.s", 10, 31), np.where(extended, d.int("dur.e", 61, 91),
                                                                 d.int("dur.n", 20, 61)))
    acc = _snap(acc_nat, c)
    dec = np.maximum(_snap(acc_nat + dur, c), acc)
    return dict(received=received, simplified=simplified, acc_nat=acc_nat, extended=extended, acc=acc, dec=dec,
                events=(acc, dec))


def _render_reconsideration(cs: CountySet, cix: np.ndarray, d: Draw, p: dict, c: np.ndarray, night: int,
                            scale: float) -> dict:
    acc, dec = p["acc"], p["dec"]
    accepted, decided = acc <= night, dec <= night
    outcomes = [o for o in RECONSIDERATION_OUTCOMES if o != "pending"]
    outcome = np.where(decided, np.asarray(outcomes, dtype=object)[d.pick("outcome", [_REC_OUTCOME_W[o] for o in outcomes])],
                       "pending")
    agency = _agency(cs, cix, d, "rec")
    atype, aid, aname = _party(cs, cix, d, "applicant", c, 0.8)
    years, serial = _years(p["received"]).tolist(), d.int("case.serial", 1, 400).tolist()
    return {
        "case_number": [f"{ab}政复〔{y}〕{s}号" for ab, y, s in zip(cs.doc_abbr[cix].tolist(), years, serial, strict=True)],
        "respondent_agency_code": cs.ag_code[agency].tolist(),
        "respondent_agency_name": cs.ag_name[agency].tolist(),
        "applicant_type": atype, "applicant_id": aid, "applicant_name": aname,
        "received_date": _dates(p["received"], np.ones(len(d), dtype=bool)),
        "accepted_date": _dates(acc, accepted),
        "decided_date": _dates(dec, decided),
        "procedure": np.where(p["simplified"], "simplified", "normal").tolist(),
        "extended": (p["extended"] & (decided | (night - p["acc_nat"] >= 50))).tolist(),
        "outcome": outcome.tolist(),
        "related_enforcement_id": _related(cs, cix, d, "rel.enf", "enforcement_cases", c, 0.65, scale),
    }


# ---------------------------------------------------------------------------------------------- litigation

_LIT_OUTCOME_W = dict(won=64, lost=10, withdrawn=7, mediated=3, dismissed=14, other=2)
_TRIALS = ("first", "second", "retrial")


def _plan_litigation(d: Draw, c: np.ndarray) -> dict:
    filed = c - _lag(d, "filed", (0, 5, 30, 91), (.6, .3, .1))
    early = d.bern("withdrawn.early", 0.12)
    hear_nat = np.where(early, NEVER, filed + d.int("hear", 20, 76))
    judg_nat = np.where(early, filed + d.int("judge.early", 10, 41), hear_nat + d.int("judge", 0, 46))
    hear = _snap(hear_nat, c)
    judg = np.where(early, _snap(judg_nat, c), np.maximum(_snap(judg_nat, c), hear))
    return dict(filed=filed, early=early, hear=hear, judg=judg, events=(hear, judg))


def court_case_numbers(court: list[str], d: Draw, years: np.ndarray, trial: np.ndarray) -> list[str]:
    """（2026）豫1002行初123号: year filed, court code (province abbreviation + county digits), type, serial."""
    kind = np.where(trial == 0, np.where(d.bern("ccn.comp", 0.05), "行赔初", "行初"),
                    np.where(trial == 1, "行终", np.where(d.bern("ccn.re", 0.5), "行再", "行申")))
    half = d.bern("ccn.half", 0.1).tolist()
    serial = d.int("ccn.serial", 1, 1500).tolist()
    return [f"{'(' if h else '（'}{y}{')' if h else '）'}{ct}{k}{s}号"
            for h, y, ct, k, s in zip(half, years.tolist(), court, kind.tolist(), serial, strict=True)]


def _render_litigation(cs: CountySet, cix: np.ndarray, d: Draw, p: dict, c: np.ndarray, night: int,
                       scale: float) -> dict:
    hear, judg, early = p["hear"], p["judg"], p["early"]
    heard, judged = hear <= night, judg <= night
    outcomes = [o for o in LITIGATION_OUTCOMES if o != "pending"]
    drawn = np.asarray(outcomes, dtype=object)[d.pick("outcome", [_LIT_OUTCOME_W[o] for o in outcomes])]
    outcome = np.where(judged, np.where(early, "withdrawn", drawn), "pending")
    trial = d.pick("trial", [.78, .18, .04])
    required = d.bern("head.required", 0.25)
    appeared = heard & d.bern("head.appeared", np.where(required, 0.93, 0.42))
    suggestion = judged & d.bern("suggestion", 0.06)
    replied = judg + d.int("suggestion.reply", 10, 60)
    agency = _agency(cs, cix, d, "lit")
    ptype, pid, pname = _party(cs, cix, d, "plaintiff", c, 0.72)
    return {
        "court_case_number": court_case_numbers(cs.court[cix].tolist(), d, _years(p["filed"]), trial),
        "defendant_agency_code": cs.ag_code[agency].tolist(),
        "defendant_agency_name": cs.ag_name[agency].tolist(),
        "plaintiff_type": ptype, "plaintiff_id": pid, "plaintiff_name": pname,
        "trial_level": _choice(_TRIALS, trial),
        "filed_date": _dates(p["filed"], np.ones(len(d), dtype=bool)),
        "hearing_date": _dates(hear, heard),
        "head_appearance_required": required.tolist(),
        "head_appeared": appeared.tolist(),
        "judgment_date": _dates(judg, judged),
        "outcome": outcome.tolist(),
        "related_reconsideration_id": _related(cs, cix, d, "rel.rec", "reconsideration_cases", c, 0.35, scale),
        "related_enforcement_id": _related(cs, cix, d, "rel.enf", "enforcement_cases", c, 0.55, scale),
        "judicial_suggestion": suggestion.tolist(),
        "suggestion_replied_date": _dates(replied, suggestion & (replied <= night) & d.bern("suggestion.has", 0.8)),
    }


# ---------------------------------------------------------------------------------------------- complaints

_CHANNEL_W = dict(hotline_12345=55, online=25, letter=5, visit=10, other=5)
_RESULT_W = dict(substantiated=25, partially_substantiated=12, unsubstantiated=36, referred=17, withdrawn=10)
_SUMMARIES = (
    "反映{agency}执法人员在{place}检查时态度粗暴，要求核实处理。",
    "举报{place}某商户无证经营，{agency}未及时查处。",
    "投诉{agency}作出的罚款决定程序不当，未告知陈述申辩权利。",
    "反映{place}夜间施工噪音扰民，多次向{agency}反映未果。",
    "举报{place}一处加油站存在安全隐患，请{agency}依法检查。",
    "投诉{agency}办理许可事项超过法定期限，联系电话{phone}。",
    "反映{agency}重复检查、多头执法，影响正常经营。",
    "举报{place}有人非法占用耕地建房，{agency}未予制止。",
    "投诉{agency}扣押车辆后未出具法律文书，联系人{name}，电话{phone}。",
    "反映{place}小区违规搭建，{agency}处理不及时。",
    "投诉{agency}工作人员索要好处费。",
    "反映{place}餐馆油烟扰民，请{agency}处理。",
)


def _plan_complaints(d: Draw, c: np.ndarray) -> dict:
    received = c - _lag(d, "received", (0, 2, 10, 31), (.75, .2, .05))
    overdue = d.bern("overdue", 0.12)
    han = _snap(received + np.where(overdue, d.int("handle.late", 61, 91), d.int("handle", 1, 59)), c)
    return dict(received=received, han=han, events=(han,))


def _render_complaints(cs: CountySet, cix: np.ndarray, d: Draw, p: dict, c: np.ndarray, night: int,
                       scale: float) -> dict:
    han = p["han"]
    handled = han <= night
    results = [r for r in COMPLAINT_RESULTS if r != "pending"]
    result = np.where(handled, np.asarray(results, dtype=object)[d.pick("result", [_RESULT_W[r] for r in results])],
                      "pending")
    replied = handled & (result != "withdrawn") & d.bern("replied", 0.85)
    anonymous = d.bern("anonymous", 0.22)
    cid, cname = _persons(cs, cix, d, "complainant", c)
    agency = _agency(cs, cix, d, "cmp")
    towns, tix = _townships(cs, cix, d, 0.85)
    places = np.where(tix >= 0, cs.tw_name[np.maximum(tix, 0)] if len(cs.tw_name) else None, cs.label[cix]).tolist()
    tmpl = d.int("summary", 0, len(_SUMMARIES)).tolist()
    phones = phone_numbers(d, "phone")
    summary = [_SUMMARIES[t].format(agency=a, place=pl, phone=ph, name=nm)
               for t, a, pl, ph, nm in zip(tmpl, cs.ag_name[agency].tolist(), places, phones, cname, strict=True)]
    return {
        "township_code": towns,
        "target_agency_code": cs.ag_code[agency].tolist(),
        "channel": _choice(COMPLAINT_CHANNELS, d.pick("channel", [_CHANNEL_W[x] for x in COMPLAINT_CHANNELS])),
        "complainant_name": _opt(cname, ~anonymous),
        "complainant_id": _opt(cid, ~anonymous),
        "received_date": _dates(p["received"], np.ones(len(d), dtype=bool)),
        "handled_date": _dates(han, handled),
        "result": result.tolist(),
        "replied": replied.tolist(),
        "summary": summary,
    }


_PLANS = {
    "enforcement_cases": (_plan_enforcement, _render_enforcement),
    "reconsideration_cases": (_plan_reconsideration, _render_reconsideration),
    "litigation_cases": (_plan_litigation, _render_litigation),
    "complaints": (_plan_complaints, _render_complaints),
}


def build_tables(cs: CountySet, record_type: str, night: int, scale: float,
                 extra: np.ndarray | None = None) -> list[Table]:
    """Each county's rows of one type for one night: new records, re-sends, and ``extra[i]`` more new records."""
    spec = SPECS[record_type]
    steps = np.concatenate([[0], LIFE_STEPS])
    n_c, n_s = len(cs), len(steps)
    pair_cix = np.repeat(np.arange(n_c, dtype=np.int64), n_s)
    pair_night = np.tile(night - steps, n_c)
    n = counts(cs, spec, pair_cix, pair_night, scale).reshape(n_c, n_s)
    n_today = n[:, 0].copy()
    if extra is not None:
        n[:, 0] += extra
    n = n.ravel()
    cix, created = np.repeat(pair_cix, n), np.repeat(pair_night, n)
    idx = np.arange(n.sum(), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    d = Draw(key(cs.seed, cs.code_int[cix], spec.type_no, created, idx))
    plan_fn, render_fn = _PLANS[record_type]
    plan = plan_fn(d, created)
    sent = created == night
    for ev in plan.pop("events"):
        sent |= ev == night
    sel = np.flatnonzero(sent)  # sorted by county, so each county's rows are one slice
    plan = {k: v[sel] for k, v in plan.items()}
    d, cix, created, idx = d.take(sel), cix[sel], created[sel], idx[sel]
    secs = _when(d, night)
    cols = {
        "record_id": record_ids(spec.prefix, cs.code[cix], created, idx),
        "county_code": cs.code[cix].tolist(),
        "updated_at": timestamps(night, secs),
        **render_fn(cs, cix, d, plan, created, night, scale),
    }
    names = spec.record_type.field_names
    assert list(cols) == names, (record_type, list(cols), names)
    is_new = created == night
    is_extra = is_new & (idx >= n_today[cix])
    bounds = np.searchsorted(cix, np.arange(n_c + 1))
    tables = []
    for i in range(n_c):
        a, b = int(bounds[i]), int(bounds[i + 1])
        tables.append(Table(spec.record_type, {f: col[a:b] for f, col in cols.items()}, secs[a:b].tolist(),
                            is_new[a:b].tolist(), is_extra[a:b].tolist()))
    return tables
