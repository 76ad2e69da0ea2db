"""The truth about a simulated night: what each county sent, what is wrong with it, what must happen."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

OUTCOMES = ("loaded", "rejected", "missing", "late")


@dataclass
class FileTruth:
    record_type: str
    file: str | None  # name inside the county's day folder; None when nothing was written
    rows: int  # data rows written (header excluded)
    expected_outcome: str  # loaded | rejected | missing | late
    expected_bad_rows: dict[int, list[str]] = field(default_factory=dict)  # row_number -> rule ids it fails
    sha256: str | None = None  # of the file as written
    manifest_rows: int | None = None  # as the manifest states it (None: not in a manifest)
    manifest_sha256: str | None = None
    new_records: int = 0
    resent_records: int = 0
    detail: str | None = None  # why a file must be rejected

    @classmethod
    def from_dict(cls, d: dict) -> FileTruth:
        d = dict(d)
        d["expected_bad_rows"] = {int(k): list(v) for k, v in d.get("expected_bad_rows", {}).items()}
        return cls(**d)


@dataclass
class CountyTruth:
    county_code: str
    county_name: str
    fault: str | None
    format: str  # csv | xlsx | json
    encoding: str  # as the manifest says: utf-8 | utf-8-sig | gbk
    bool_style: str  # true/false | 1/0 | 是/否 | json
    manifest: bool  # manifest.json written
    generated_at: str | None
    files: dict[str, FileTruth]
    detail: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> CountyTruth:
        d = dict(d)
        d["files"] = {k: FileTruth.from_dict(v) for k, v in d["files"].items()}
        return cls(**d)


@dataclass
class SimulationReport:
    business_date: date
    seed: int
    scale: float
    contract_version: str
    faults: dict[str, str]  # county_code -> fault
    counties: dict[str, CountyTruth]

    @property
    def totals(self) -> dict:
        files = [f for c in self.counties.values() for f in c.files.values()]
        rows_by_type: Counter = Counter()
        for f in files:
            rows_by_type[f.record_type] += f.rows
        return {
            "counties": len(self.counties),
            "counties_with_fault": sum(1 for c in self.counties.values() if c.fault),
            "files_written": sum(1 for f in files if f.file),
            "rows": sum(f.rows for f in files),
            "rows_by_type": dict(sorted(rows_by_type.items())),
            "new_records": sum(f.new_records for f in files),
            "resent_records": sum(f.resent_records for f in files),
            "expected_bad_rows": sum(len(f.expected_bad_rows) for f in files),
            "expected_outcomes": {o: sum(1 for f in files if f.expected_outcome == o) for o in OUTCOMES},
        }

    def county(self, code: str) -> CountyTruth:
        return self.counties[code]

    def to_dict(self) -> dict:
        return {
            "business_date": self.business_date.isoformat(),
            "seed": self.seed,
            "scale": self.scale,
            "contract_version": self.contract_version,
            "faults": self.faults,
            "totals": self.totals,
            "counties": {
                code: {**asdict(c), "files": {rt: {**asdict(f), "expected_bad_rows": {
                    str(k): v for k, v in sorted(f.expected_bad_rows.items())}} for rt, f in c.files.items()}}
                for code, c in self.counties.items()
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, source: str | Path) -> SimulationReport:
        """From a truth file path, or from the JSON text itself."""
        text = source if isinstance(source, str) and source.lstrip().startswith("{") else Path(source).read_text(
            encoding="utf-8")
        d = json.loads(text)
        return cls(
            business_date=date.fromisoformat(d["business_date"]), seed=d["seed"], scale=d["scale"],
            contract_version=d["contract_version"], faults=d["faults"],
            counties={k: CountyTruth.from_dict(v) for k, v in d["counties"].items()},
        )
