"""Records change over nights: re-sends keep their record_id, with a newer updated_at and a later status."""

from __future__ import annotations

from datetime import date

from sim_rowcheck import read_rows

from supervision_dev.simulator import SimulationReport, simulate_nights
from supervision_dev.simulator.night import TRUTH_DIR

_ORDER = {"open": 0, "pending": 0, "decided": 1, "closed": 2}


def test_resends_across_nights(registry, xuchang, tmp_path):
    start, end = date(2026, 11, 16), date(2026, 11, 22)
    reports = simulate_nights(registry, start, end, tmp_path, counties=xuchang)
    assert [r.business_date for r in reports] == [date(2026, 11, d) for d in range(16, 23)]
    assert sorted(p.name for p in (tmp_path / TRUTH_DIR).iterdir()) == [f"2026-11-{d}.json" for d in range(16, 23)]
    assert SimulationReport.from_json(tmp_path / TRUTH_DIR / "2026-11-20.json").business_date == date(2026, 11, 20)
    seen: dict[tuple, list[dict]] = {}
    for rep in reports:
        for code, t in rep.counties.items():
            for rt, f in t.files.items():
                path = tmp_path / code / rep.business_date.isoformat() / f.file
                for row in read_rows(path, t.encoding):
                    seen.setdefault((rt, row["record_id"]), []).append(row)
    resent = {k: v for k, v in seen.items() if len(v) > 1}
    assert len(resent) > 50
    statics = {"enforcement_cases": ("party_id", "agency_code", "filed_date", "action_type"),
               "reconsideration_cases": ("applicant_id", "received_date", "case_number"),
               "litigation_cases": ("plaintiff_id", "filed_date", "court_case_number"),
               "complaints": ("received_date", "target_agency_code", "summary")}
    advanced = 0
    for (rt, rid), versions in resent.items():
        stamps = [v["updated_at"] for v in versions]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), rid
        for fld in statics[rt]:
            assert len({v[fld] for v in versions}) == 1, (rid, fld)
        created = date(int(rid[11:15]), int(rid[15:17]), int(rid[17:19]))
        assert versions[0]["updated_at"][:10] >= created.isoformat()
        if rt == "enforcement_cases" and "withdrawn" not in {v["status"] for v in versions}:
            ranks = [_ORDER[v["status"]] for v in versions]
            assert ranks == sorted(ranks), rid
            advanced += ranks[-1] > ranks[0]
        if rt == "complaints":
            assert [v["result"] == "pending" for v in versions] in ([True, False], [True] * len(versions),
                                                                    [False] * len(versions), [True, False, False])
    assert advanced > 20
    # a record is sent on its creation night, then only when it changes
    firsts = [v[0] for (rt, rid), v in seen.items() if rt == "enforcement_cases"]
    new_on_first_night = sum(r["updated_at"][:10] == "2026-11-16" and r["record_id"][11:19] == "20261116"
                             for r in firsts)
    assert new_on_first_night > 0
