"""Judging: from what the warehouse and the drop folder say (``Evidence``) and the clock (``now``), which
problems exist right now (``Finding``) and how each county x record type x business date did (``Verdict``).

Pure functions: no database, no clock, no files; ``evidence.py`` gathers the inputs, ``lifecycle.py`` turns
findings into alerts. Every rule is documented in docs/alerting.md ("How each alert kind is judged").

Received means: the ledger holds a file for it, or (file-drop counties) the drop folder holds one now.
Arrival time: when the pipeline first saw the file (``received_at``: the nightly run's or the monitor's scan,
ops.file_arrival), else when the pipeline first processed it, else when the monitor's scan first saw it in the
drop folder; the earliest wins. The file's modification time is set by the county and never used.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from supervision.alerting.kinds import COUNTY_WIDE, KINDS
from supervision.alerting.settings import AlertSettings
from supervision.calendar import day_type
from supervision.contract import RECORD_TYPES
from supervision.registry import County
from supervision.settings import TIMEZONE

TZ = ZoneInfo(TIMEZONE)
LOADED = ("loaded", "loaded_with_quarantine")
THRESHOLD_RULE = "file.reject_threshold"
# Queries quoted in messages for the reader (codes and ids come from the registry and the ledger).
PULL_FIX = ("make the county system ({transport}) answer again (service up, network, credentials: the ledger reason "
            "says what failed); the next nightly pull catches up from its watermark.")
PULL_REJECTED_FIX = ("fix what the county system ({transport}) returns for this record type (the ledger reason and "
                     "the kept response say what was wrong); the next nightly pull fetches it again.")
READER_LEDGER_ROW = "SELECT * FROM ops.submission WHERE submission_id = {};"
READER_QUARANTINE = ("SELECT row_number, record_id, failed_rules, messages FROM ops.quarantine "
                     "WHERE submission_id = {} ORDER BY row_number;")
UNEXPECTED = "unexpected"
UNEXPECTED_FIX = ("look at the entries (who put them there, and why): remove them, or have the county send plain files "
                  "named <record_type>.<csv|json|xlsx|parquet> and manifest.json in its own folder; a county that "
                  "should report is added to the registry. Links, pipes and odd names are never read.")
READER_UNEXPECTED = ("SELECT county_code, reason FROM ops.submission_current "
                     "WHERE status = 'unexpected' AND business_date = '{}';")
READER_LEDGER_DAY = ("SELECT record_type, status, reason FROM ops.submission_current "
                     "WHERE county_code = '{}' AND business_date = '{}';")


# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Attempt:
    """One row of ops.submission (an attempt: a received file, or 'nothing received'), with its quarantine."""

    submission_id: int
    county_code: str
    record_type: str
    business_date: date
    status: str
    has_file: bool
    current: bool  # not superseded
    received_at: datetime | None = None
    first_processed_at: datetime | None = None
    source_file: str | None = None
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    validation_ref: str | None = None
    bad_rows: int = 0  # quarantined rows that break a row rule (not only a whole-file rule)
    rules: tuple[tuple[str, int], ...] = ()  # (rule id, rows) in its quarantine, most frequent first

    @property
    def arrival(self) -> datetime | None:
        return self.received_at or self.first_processed_at

    @property
    def file_rules(self) -> list[str]:
        return [r for r, _ in self.rules if r.startswith("file.")]


@dataclass(frozen=True)
class DropProbe:
    """What a file-drop county's folder for one business date holds right now."""

    folder_exists: bool
    files: dict[str, datetime] = field(default_factory=dict)  # record type -> first seen by a scan


@dataclass(frozen=True)
class Grant:
    """A deadline extension or an exemption (ops.submission_exception), active at the time of judging."""

    exception_id: int
    kind: str  # extension | exemption
    county_code: str
    record_type: str | None  # None: every record type
    date_from: date
    date_to: date
    deadline_until: datetime | None = None
    extra_hours: float | None = None
    approved_by: str = ""
    reason: str = ""

    def covers(self, county_code: str, record_type: str, business_date: date) -> bool:
        if self.county_code != county_code or not self.date_from <= business_date <= self.date_to:
            return False
        # A county-wide question (late) is answered only by county-wide grants.
        return self.record_type is None or self.record_type == record_type != COUNTY_WIDE

    def describe(self) -> str:
        terms = ("exempted" if self.kind == "exemption" else
                 f"deadline extended to {self.deadline_until.astimezone(TZ):%Y-%m-%d %H:%M}" if self.deadline_until
                 else f"deadline extended by {self.extra_hours:g} h")
        what = self.record_type or "all record types"
        return (f"{terms} ({what}, {self.date_from}..{self.date_to}; grant #{self.exception_id} approved by "
                f"{self.approved_by}: {self.reason})")


@dataclass
class Evidence:
    now: datetime
    dates: list[date]  # business dates judged (verdicts), ascending
    alert_dates: set[date]  # business dates of unresolved alerts: always judged for per-date alerts
    first_seen: dict[str, date]  # county -> first business date in the ledger (judged from then on)
    system_start: date | None  # first business date in the ledger at all
    attempts: dict[tuple[str, date], list[Attempt]] = field(default_factory=dict)
    probes: dict[tuple[str, date], DropProbe] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    volumes: dict[tuple[str, str], dict[date, int]] = field(default_factory=dict)  # rows received, loaded files
    changes: dict[tuple[str, str], dict[date, int]] = field(default_factory=dict)  # new versions in core history
    full_registry: bool = True  # judged every county of the registry (pipeline_late needs that)
    # current 'unexpected' ledger rows of drop-root entries that are no registered county (full registry only)
    strays: list[Attempt] = field(default_factory=list)
    lookback: timedelta = timedelta(days=3)  # per-date alerts for dates whose deadline is at most this old

    def alertable(self, business_date: date, due: datetime) -> bool:
        """Per-date alerts are raised for recent deadlines (and kept up to date for unresolved alerts)."""
        return business_date in self.alert_dates or self.now - due <= self.lookback


# ---------------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Finding:
    kind: str
    county_code: str | None
    record_type: str
    business_date: date
    evidence: str  # what the verdict rests on; a change means a new notification round
    summary: str  # what is wrong
    fix: str  # how to fix it
    details: dict = field(default_factory=dict, hash=False, compare=False)
    submission_id: int | None = None

    @property
    def key(self) -> tuple:
        if KINDS[self.kind].ongoing:
            return (self.kind, self.county_code, self.record_type)
        return (self.kind, self.county_code, self.record_type, self.business_date)


@dataclass(frozen=True)
class Verdict:
    county_code: str
    record_type: str
    business_date: date
    due_at: datetime
    first_received_at: datetime | None
    on_time: bool
    status: str
    valid: bool
    exempt: bool


@dataclass
class Judgement:
    findings: list[Finding]
    verdicts: list[Verdict]
    counties: list[str]
    evidence: Evidence

    def by_key(self) -> dict[tuple, Finding]:
        return {f.key: f for f in self.findings}


# ---------------------------------------------------------------------------------------------- deadlines


def due_at(county: County, record_type: str, business_date: date, grants: Iterable[Grant]) -> tuple[datetime, Grant | None]:
    """The deadline, extensions applied (the most generous one wins), and the grant that set it."""
    base = county.deadline_at(business_date)
    best, used = base, None
    for g in grants:
        if g.kind != "extension" or not g.covers(county.code, record_type, business_date):
            continue
        candidate = g.deadline_until or base + timedelta(hours=float(g.extra_hours or 0))
        if candidate > best:
            best, used = candidate, g
    return best, used


def exemption(county_code: str, record_type: str, business_date: date, grants: Iterable[Grant]) -> Grant | None:
    return next((g for g in grants if g.kind == "exemption" and g.covers(county_code, record_type, business_date)),
                None)


def pipeline_due(business_date: date, settings: AlertSettings) -> datetime:
    hh, mm = (int(x) for x in settings.pipeline_deadline.split(":"))
    return datetime.combine(business_date + timedelta(days=1), time(hh, mm), tzinfo=TZ)


def local(ts: datetime | None) -> str:
    return ts.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if ts else "-"


# ---------------------------------------------------------------------------------------------- judging


@dataclass
class _Day:
    """One county-day as the judge sees it."""

    county: County
    business_date: date
    due: datetime
    extension: Grant | None
    exempt: Grant | None
    attempts: list[Attempt]
    probe: DropProbe | None
    arrivals: dict[str, datetime]  # record type -> earliest arrival

    @property
    def received_any(self) -> bool:
        return bool(self.arrivals)

    @property
    def first_arrival(self) -> datetime | None:
        return min(self.arrivals.values()) if self.arrivals else None

    @property
    def looked(self) -> bool:
        """Whether absence can be told: the drop folder was looked at, or the pipeline recorded the day."""
        return self.probe is not None or bool(self.attempts)

    def current(self, record_type: str) -> Attempt | None:
        cur = [a for a in self.attempts if a.record_type == record_type and a.current]
        return max(cur, key=lambda a: a.submission_id) if cur else None


def _arrivals(attempts: list[Attempt], probe: DropProbe | None, now: datetime) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for a in attempts:
        if a.has_file and a.arrival:
            out[a.record_type] = min(out.get(a.record_type, a.arrival), a.arrival)
    for rt, ts in (probe.files.items() if probe else ()):
        out[rt] = min(out.get(rt, ts), ts)
    return {rt: min(ts, now) for rt, ts in out.items()}  # nothing arrives after the moment of judging


def judge(counties: list[County], settings: AlertSettings, ev: Evidence) -> Judgement:
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    now = ev.now
    for county in counties:
        first = ev.first_seen.get(county.code)
        if first is None:
            continue  # never seen by the pipeline: not on the books yet
        county_late: dict[date, bool] = {}  # judged dates (deadline passed, not exempt): nothing on time?
        last_judged: date | None = None
        for d in ev.dates:
            if d < first:
                continue
            attempts = ev.attempts.get((county.code, d), [])
            probe = ev.probes.get((county.code, d))
            due, ext = due_at(county, COUNTY_WIDE, d, ev.grants)
            day = _Day(county, d, due, ext, exemption(county.code, COUNTY_WIDE, d, ev.grants), attempts, probe,
                       _arrivals(attempts, probe, now))
            if now >= due and day.looked:
                last_judged = d
                if not day.exempt:
                    county_late[d] = not (day.first_arrival and day.first_arrival <= due)
            verdicts += _verdicts(day, ev)
            if ev.alertable(d, due):
                findings += _day_findings(day, settings, ev)
        if last_judged:
            findings += _chronic(county, settings, county_late, last_judged)
            findings += _stale(county, settings, ev, last_judged)
    if ev.full_registry:
        findings += _pipeline_late(counties, settings, ev)
        findings += _strays(settings, ev)
    return Judgement(findings, verdicts, [c.code for c in counties], ev)


def _verdicts(day: _Day, ev: Evidence) -> list[Verdict]:
    out = []
    for rt in RECORD_TYPES:
        due, _ = due_at(day.county, rt, day.business_date, ev.grants)
        cur = day.current(rt)
        if ev.now < due and not (cur and cur.status in LOADED):
            continue  # not due yet and nothing final to say
        if not day.looked:
            continue
        arrived = day.arrivals.get(rt)
        if cur and cur.has_file:
            status = cur.status
        elif arrived:
            status = "awaiting_load"  # in the drop folder, not loaded yet
        else:
            status = cur.status if cur and cur.status in ("rejected", "failed", "source_error") else "not_received"
        valid = bool(cur and cur.status in LOADED and not _over_threshold(cur, day.county))
        out.append(Verdict(day.county.code, rt, day.business_date, due, arrived, bool(arrived and arrived <= due),
                           status, valid, exemption(day.county.code, rt, day.business_date, ev.grants) is not None))
    return out


def _share(a: Attempt) -> float:
    return a.bad_rows / a.rows_received if a.rows_received else 0.0


def _over_threshold(a: Attempt, county: County) -> bool:
    return THRESHOLD_RULE in a.file_rules or (a.rows_received > 0 and _share(a) > county.reject_threshold)


def _where(a: Attempt) -> dict:
    """Where the details are: ledger row, quarantine query, validation result."""
    # Queries for the reader of the message (ids are integers from the ledger), never run here.
    out = {"submission_id": a.submission_id, "source_file": a.source_file, "ledger_reason": a.reason,
           "ledger_query": READER_LEDGER_ROW.format(a.submission_id), "ledger_status": a.status,
           "rows_received": a.rows_received, "bad_rows": a.bad_rows}
    if a.rows_quarantined or a.rules:
        out["quarantine_query"] = READER_QUARANTINE.format(a.submission_id)
    if a.validation_ref:
        out["validation_result"] = a.validation_ref
    if a.rules:
        out["rules"] = dict(a.rules)
    return out


def _day_findings(day: _Day, settings: AlertSettings, ev: Evidence) -> list[Finding]:
    c, d, now = day.county, day.business_date, ev.now
    out: list[Finding] = []
    folder = f"{c.code}/{d.isoformat()}/"
    pull = c.transport != "file_drop"
    for a in day.attempts:
        if a.current and a.status == UNEXPECTED:  # the ledger reason names every entry (escaped)
            out.append(Finding(
                "drop_unexpected", c.code, COUNTY_WIDE, d, f"submission {a.submission_id}",
                f"the drop folder {folder} holds entries that are no contract file (not read): {a.reason}",
                UNEXPECTED_FIX, _where(a), a.submission_id))
    if not day.exempt and now >= day.due and day.looked and not day.received_any:
        ext = f" (extended: {day.extension.describe()})" if day.extension else ""
        errors = [a for a in day.attempts if a.current and a.status == "source_error"]
        why = f"; the county system could not be read: {errors[0].reason}" if errors else ""
        out.append(Finding(
            "late", c.code, COUNTY_WIDE, d, "nothing received",
            f"nothing received for business date {d} by the deadline {local(day.due)} Asia/Shanghai{ext}{why}",
            (PULL_FIX.format(transport=c.transport) if pull else
             f"send the day's files now: {folder}manifest.json and one file per record type ("
             + ", ".join(RECORD_TYPES) + "); a type with nothing to report is a file with just the header line. "
             "They are loaded by the next run of the nightly pipeline."),
            {"deadline": day.due.isoformat(), "transport": c.transport, **({} if pull else {"drop_folder": folder}),
             **({"source_error": errors[0].reason} if errors else {}),
             "ledger_query": READER_LEDGER_DAY.format(c.code, d)}))
    for rt in RECORD_TYPES:
        if exemption(c.code, rt, d, ev.grants):
            continue
        due, ext = due_at(c, rt, d, ev.grants)
        cur = day.current(rt)
        if now >= due and day.received_any and rt not in day.arrivals and not (cur and cur.status == "failed"):
            why = (f"; the county system could not be read: {cur.reason}"
                   if cur and cur.status == "source_error" else "")
            out.append(Finding(
                "missing", c.code, rt, d, "not received",
                f"no {rt} ({RECORD_TYPES[rt].zh}) for business date {d} by the deadline {local(due)}, "
                f"although other record types arrived{why}",
                (PULL_FIX.format(transport=c.transport) if pull else
                 f"send {folder}{rt}.<csv|json|xlsx|parquet> and its manifest line; a day with nothing to report "
                 "still needs a file with just the header line."),
                {"deadline": due.isoformat(), **({} if pull else {"drop_folder": folder}),
                 **(_where(cur) if cur else {})},
                cur.submission_id if cur else None))
        if cur is None:
            continue
        if cur.status == "failed":
            out.append(Finding(
                "pipeline_failed", c.code, rt, d, f"submission {cur.submission_id}",
                f"the pipeline failed on {rt} of county {c.code} for {d}: {cur.reason or 'see the task log'}",
                "fix the pipeline error (task log of supervision_nightly), then re-run the date: "
                f"supervision run --date {d} --counties {c.code}",
                _where(cur), cur.submission_id))
        elif cur.status == "rejected" or (cur.status == "loaded_with_quarantine" and _over_threshold(cur, c)):
            if _over_threshold(cur, c):
                top = ", ".join(f"{r} x{n}" for r, n in cur.rules if not r.startswith("file."))[:400]
                out.append(Finding(
                    "invalid", c.code, rt, d, f"submission {cur.submission_id}",
                    (f"{cur.source_file}: {cur.bad_rows} of {cur.rows_received} rows ({_share(cur):.0%}) break "
                     f"validation rules, over the county's threshold of {c.reject_threshold:.0%}; the whole file "
                     f"was rejected. Rules broken: {top or '-'}"),
                    ("correct the rows listed by the quarantine query below (each row names the rules it breaks) "
                     "and re-send the whole file with its manifest line."),
                    _where(cur), cur.submission_id))
            else:
                out.append(Finding(
                    "rejected", c.code, rt, d, f"submission {cur.submission_id}",
                    f"{cur.source_file or rt}: the file was rejected: {_rejection(cur)}",
                    (PULL_REJECTED_FIX.format(transport=c.transport) if pull else _rejection_fix(cur)),
                    _where(cur), cur.submission_id))
        elif cur.status in LOADED:
            if (f := _volume(c, rt, d, cur, settings, ev)) is not None:
                out.append(f)
    return out


def _rejection(a: Attempt) -> str:
    rules = a.file_rules
    if "file.readable" in rules:
        return "unreadable (not a valid file of its format)"
    if "file.manifest_sha256" in rules or "file.manifest_rows" in rules:
        return "damaged transfer: the file does not match its manifest line (" + ", ".join(rules) + ")"
    if "file.schema" in rules:
        return "schema drift: its columns are not those of contract v1"
    return a.reason or "see the ledger"


def _rejection_fix(a: Attempt) -> str:
    rules = a.file_rules
    if "file.manifest_sha256" in rules or "file.manifest_rows" in rules:
        return "re-send the file and its manifest.json line (rows and sha256 of exactly the bytes sent)."
    if "file.schema" in rules:
        return "export the columns of contract v1 for this record type (names as in the contract) and re-send."
    return "re-send a valid, readable file of this record type."


def _volume(c: County, rt: str, d: date, cur: Attempt, settings: AlertSettings, ev: Evidence) -> Finding | None:
    v = settings.volume
    history = ev.volumes.get((c.code, rt), {})
    kind_of_day = day_type(d)
    same = [n for day, n in history.items()
            if d - timedelta(days=v.history_days) <= day < d and day_type(day) == kind_of_day]
    if len(same) < v.min_history:
        return None
    x = cur.rows_received
    med = statistics.median(same)
    mad = statistics.median(abs(n - med) for n in same)
    spread = 1.4826 * mad or max(1.0, 0.1 * med)
    dev = abs(x - med)
    low, high = med / v.ratio, med * v.ratio
    if not (dev >= v.min_rows and dev > v.z * spread and (x < low or x > high)):
        return None
    direction = "far fewer" if x < med else "far more"
    return Finding(
        "volume_anomaly", c.code, rt, d, f"submission {cur.submission_id}",
        (f"{cur.source_file or rt}: {x} rows, {direction} than usual for a {kind_of_day}: median {med:g} over the "
         f"county's last {len(same)} {kind_of_day}s (range {min(same)}-{max(same)})"),
        ("check that the export is complete (date range, filters, paging) and re-send the whole file; if the "
         "volume is real, reply so the supervisor can acknowledge the alert."),
        {**_where(cur), "rows": x, "median": med, "mad": mad, "history_days": len(same), "day_type": kind_of_day},
        cur.submission_id)


def _stale(county: County, settings: AlertSettings, ev: Evidence, last: date) -> list[Finding]:
    out = []
    first = ev.first_seen[county.code]
    if exemption(county.code, COUNTY_WIDE, last, ev.grants):
        return out
    for rt in RECORD_TYPES:
        n = settings.stale_days[rt]
        start = last - timedelta(days=n - 1)
        if start < first:
            continue  # not enough history
        changes = ev.changes.get((county.code, rt), {})
        loaded_days = [d for d in ev.volumes.get((county.code, rt), {}) if start <= d <= last]
        if not loaded_days or any(changes.get(start + timedelta(days=i), 0) for i in range(n)):
            continue
        before = [d for d, k in changes.items() if k and d < start]
        since = max(before) if before else None
        out.append(Finding(
            "stale_source", county.code, rt, start, "no changes",
            (f"no new or changed {rt} records in the {n} business dates {start}..{last}, although files arrived "
             f"on {len(loaded_days)} of them" + (f"; last change on {since}" if since else "")),
            ("check that the county system's export picks up new and changed records (the updated_at watermark, "
             "filters) and re-send the missing changes; if there really were none, tell the supervisor."),
            {"window": [start.isoformat(), last.isoformat()], "days_with_files": len(loaded_days),
             "last_change": since.isoformat() if since else None}))
    return out


def _chronic(county: County, settings: AlertSettings, late: dict[date, bool], last: date) -> list[Finding]:
    window = sorted(d for d in late if d <= last)[-settings.chronic_n:]
    late_days = [d for d in window if late[d]]
    if len(late_days) < settings.chronic_k:
        return []
    return [Finding(
        "chronic_late", county.code, COUNTY_WIDE, last, "chronic",
        (f"late on {len(late_days)} of the last {len(window)} business dates "
         f"(threshold {settings.chronic_k} of {settings.chronic_n}): " + ", ".join(map(str, late_days))),
        ("schedule the county's export to finish well before the deadline; if the deadline cannot be met, ask the "
         "province to change it in the registry or to grant an extension."),
        {"late_dates": [d.isoformat() for d in late_days], "window": [d.isoformat() for d in window]})]


def _pipeline_late(counties: list[County], settings: AlertSettings, ev: Evidence) -> list[Finding]:
    out = []
    if ev.system_start is None:
        return out
    for d in ev.dates:
        due = pipeline_due(d, settings)
        if d < ev.system_start or ev.now < due or not ev.alertable(d, due):
            continue
        # a county is recorded when every record type is ('unexpected' rows of type '*' do not count)
        unrecorded = [c.code for c in counties
                      if not set(RECORD_TYPES) <= {a.record_type for a in ev.attempts.get((c.code, d), [])}]
        if unrecorded:
            shown = ", ".join(unrecorded[:30]) + (f" ... ({len(unrecorded)} in all)" if len(unrecorded) > 30 else "")
            out.append(Finding(
                "pipeline_late", None, COUNTY_WIDE, d, "unfinished",
                (f"by {local(due)} the nightly run had not recorded {len(unrecorded)} of {len(counties)} counties "
                 f"for business date {d}: {shown}"),
                (f"look at supervision_nightly in Airflow (did it run? is a task failed or stuck?), then re-run: "
                 f"supervision run --date {d}"),
                {"unrecorded": unrecorded, "pipeline_deadline": due.isoformat()}))
    return out


def _strays(settings: AlertSettings, ev: Evidence) -> list[Finding]:
    """Drop-root entries of no registered county (unknown county folders, other names): one engineers' alert per
    business date, naming every entry (escaped names, from the ledger)."""
    by_date: dict[date, list[Attempt]] = {}
    for a in ev.strays:
        by_date.setdefault(a.business_date, []).append(a)
    out = []
    for d, rows in sorted(by_date.items()):
        if not ev.alertable(d, pipeline_due(d, settings)):
            continue
        rows.sort(key=lambda a: a.county_code)
        out.append(Finding(
            "drop_unexpected", None, COUNTY_WIDE, d, "submissions " + ",".join(str(a.submission_id) for a in rows),
            (f"the drop folder holds entries of no county in the registry (not read) for business date {d}: "
             + " | ".join(a.reason or a.county_code for a in rows))[:4000],
            UNEXPECTED_FIX, {"ledger_query": READER_UNEXPECTED.format(d),
                             "counties": [a.county_code for a in rows]}))
    return out


# ---------------------------------------------------------------------------------------------- resolutions


def clearance(kind: str, county: County | None, record_type: str, business_date: date, ev: Evidence) -> str:
    """Why an unresolved alert no longer holds (its problem was not found in this judgement)."""
    if county is None:
        return "the nightly run has recorded every county" if kind == "pipeline_late" else "no longer found"
    rt, d = record_type, business_date
    if kind not in ("stale_source", "chronic_late"):
        if g := exemption(county.code, rt, d, ev.grants):
            return g.describe()
    attempts = ev.attempts.get((county.code, d), [])
    probe = ev.probes.get((county.code, d))
    arrivals = _arrivals(attempts, probe, ev.now)
    due, ext = due_at(county, rt, d, ev.grants)
    if kind in ("late", "missing"):
        got = min(arrivals.values()) if kind == "late" and arrivals else arrivals.get(rt)
        if got:
            when = "on time" if got <= due else "after the deadline"
            loaded = any(a.has_file for a in attempts if kind == "late" or a.record_type == rt)
            return f"received at {local(got)} ({when}){'' if loaded else ', awaiting the next load'}"
        if ev.now < due and ext:
            return ext.describe()
        return "no longer found"
    if kind in ("rejected", "invalid", "volume_anomaly", "pipeline_failed"):
        cur = next((a for a in sorted(attempts, key=lambda a: -a.submission_id)
                    if a.record_type == rt and a.current), None)
        if cur and cur.status in LOADED:
            return (f"re-submission {cur.submission_id} ({cur.source_file}) loaded: {cur.rows_loaded} rows, "
                    f"{cur.rows_quarantined} quarantined")
        return f"current submission is {cur.status} (submission {cur.submission_id})" if cur else "no longer found"
    if kind == "stale_source":
        changed = [day for day, n in ev.changes.get((county.code, rt), {}).items() if n]
        return f"changed records received (business date {max(changed)})" if changed else "no longer found"
    if kind == "chronic_late":
        return "late on fewer business dates of the window than the threshold"
    return "no longer found"
