"""Two provinces' registries monitored on one deployment (issue 17): each monitor run keeps to its own county-wide
alerts. A Henan registry's judgement must neither update nor resolve the Hubei registry's `pipeline_late` of the
same date (the alert's key is kind and date, with no county)."""

from __future__ import annotations

from datetime import date

import pytest

from supervision.alerting.monitor import run_monitor

from .alerting_support import alerts, at, registry_file, submit_day

pytestmark = pytest.mark.integration
D = date(2026, 11, 22)
ON_TIME = at(2026, 11, 23, 2, 0)
HENAN, HUBEI = ["411002", "411003"], ["420102", "420103"]


def _registry(tmp_path, smtp, hook, codes, name):
    path = registry_file(tmp_path, smtp, hook, codes, name=f"{name}.yaml")
    text = path.read_text(encoding="utf-8").replace("name: alerting-test", f"name: {name}")
    path.write_text(text.replace("/engineers", f"/engineers-{name}"), encoding="utf-8")  # each province's own
    return path


def test_each_registrys_pipeline_late_is_its_own(alert_db, sinks, tmp_path):
    conn, (smtp, hook) = alert_db, sinks
    henan, hubei = (_registry(tmp_path, smtp, hook, HENAN, "henan"), _registry(tmp_path, smtp, hook, HUBEI, "hubei"))
    drop = tmp_path / "drop"
    drop.mkdir()
    submit_day(conn, "411002", D, ON_TIME)  # one county of each registry unrecorded by the pipeline deadline
    submit_day(conn, "420102", D, ON_TIME)
    for reg in (henan, hubei):
        run_monitor(at(2026, 11, 23, 8, 1), reg, None, drop)
    late = {a["details"]["registry"]: a for a in alerts(conn) if a["kind"] == "pipeline_late"}
    assert set(late) == {"henan", "hubei"} and all(a["state"] != "resolved" for a in late.values())
    assert late["henan"]["details"]["unrecorded"] == ["411003"] and late["hubei"]["details"]["unrecorded"] == ["420103"]
    told = {p: [m["message"] for m in hook.at(f"/engineers-{p}")] for p in ("henan", "hubei")}
    assert len(told["henan"]) == 1 and "411003" in told["henan"][0] and "420103" not in told["henan"][0]
    assert len(told["hubei"]) == 1 and "420103" in told["hubei"][0] and "411003" not in told["hubei"][0]

    submit_day(conn, "411003", D, ON_TIME)  # Henan's night recorded every county; Hubei's still not
    run_monitor(at(2026, 11, 23, 9, 0), henan, None, drop)
    state = {a["details"]["registry"]: (a["state"], a["details"]["unrecorded"]) for a in alerts(conn)
             if a["kind"] == "pipeline_late"}
    assert state["henan"][0] == "resolved"
    assert state["hubei"] == (late["hubei"]["state"], ["420103"]), "Henan's monitor left Hubei's alert alone"
    submit_day(conn, "420103", D, ON_TIME)
    run_monitor(at(2026, 11, 23, 9, 30), hubei, None, drop)
    assert {a["state"] for a in alerts(conn) if a["kind"] == "pipeline_late"} == {"resolved"}
