"""The project's remembered defaults (data/settings.json), the order CLI option > variable > file > built-in,
the Airflow environment the CLI builds, and the nightly timetable's deliberate catch-up (issue 19)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervision import project_settings, settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    for k in ("SUPERVISION_REGISTRY", "SUPERVISION_DROP_ROOT", "SUPERVISION_COUNTIES", "SUPERVISION_WAREHOUSE_URL",
              "AIRFLOW_CONN_SUPERVISION_WAREHOUSE"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def test_built_in_defaults_without_a_settings_file(data_dir):
    assert settings.registry_path() == settings.DEFAULT_REGISTRY.resolve()
    assert settings.drop_root() == (data_dir / "drop").resolve()
    assert settings.default_counties() is None


def test_the_file_then_the_variable_then_the_option(data_dir, monkeypatch, tmp_path):
    mixed = settings.INCLUDE_DATA / "registries" / "henan-mixed.yaml"
    project_settings.save(registry=str(mixed), drop_root=str(tmp_path / "d1"), counties=["411002", "411003"])
    assert settings.registry_path() == mixed.resolve()
    assert settings.drop_root() == (tmp_path / "d1").resolve()
    assert settings.default_counties() == ["411002", "411003"]
    monkeypatch.setenv("SUPERVISION_DROP_ROOT", str(tmp_path / "d2"))
    monkeypatch.setenv("SUPERVISION_COUNTIES", "all")
    assert settings.drop_root() == (tmp_path / "d2").resolve()
    assert settings.default_counties() is None  # "all" = the whole registry, whatever the file says
    # the CLI option wins: main() exports it before the command runs
    from supervision.cli import _apply_locations

    class Args:
        registry, drop_root, counties, command = None, str(tmp_path / "d3"), None, "reconcile"

    monkeypatch.delenv("SUPERVISION_COUNTIES")
    monkeypatch.setenv("SUPERVISION_REGISTRY", "")  # _apply_locations exports to os.environ: restored afterwards
    monkeypatch.setenv("SUPERVISION_COUNTIES", "")
    args = Args()
    _apply_locations(args)
    assert settings.drop_root() == (tmp_path / "d3").resolve()
    assert args.counties == "411002,411003", "no --counties: the remembered ones"
    args.counties = "all"
    _apply_locations(args)
    assert args.counties is None and os.environ["SUPERVISION_COUNTIES"] == "all"


def test_save_merges_removes_and_refuses_secrets(data_dir):
    project_settings.save(registry="/r.yaml", counties=["1"])
    project_settings.save(counties=None, drop_root="/d")
    doc = json.loads((data_dir / "settings.json").read_text())
    assert doc["registry"] == "/r.yaml" and doc["drop_root"] == "/d" and "counties" not in doc
    with pytest.raises(ValueError, match="password"):
        project_settings.save(warehouse_url="postgresql://u:secret@db/x")
    with pytest.raises(KeyError, match="unknown"):
        project_settings.save(colour="red")
    (data_dir / "settings.json").write_text("{not json")
    with pytest.raises(ValueError, match="settings.json"):
        settings.registry_path()


def test_remembered_warehouse_url_is_used_without_the_variable(data_dir):
    from supervision.warehouse.connection import configured_url

    assert configured_url() is None
    project_settings.save(warehouse_url="postgresql://127.0.0.1:5432/elsewhere")
    assert configured_url() == "postgresql://127.0.0.1:5432/elsewhere"


def test_settings_command_show_set_reset(data_dir, capsys):
    from supervision.cli import main

    assert main(["settings", "set", "counties=411002,411003", "drop_root=/tmp/x"]) == 0
    assert main(["settings", "show"]) == 0
    out = capsys.readouterr().out
    assert "411002,411003" in out and str(data_dir / "settings.json") in out and "built-in default" in out
    assert main(["settings", "reset"]) == 0
    assert not (data_dir / "settings.json").exists()


# ---- the Airflow environment the CLI builds ------------------------------------------------------------------

def test_airflow_env_puts_the_venv_first_and_logs_the_project_at_info(data_dir, monkeypatch):
    import sys

    from supervision.airflow_env import airflow_env, ui_commands

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("AIRFLOW__LOGGING__NAMESPACE_LEVELS", raising=False)
    env = airflow_env()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["AIRFLOW__LOGGING__NAMESPACE_LEVELS"] == "supervision=INFO"
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str((data_dir / "airflow" / "logs").resolve())
    cmds = ui_commands("127.0.0.1", 8080)
    assert cmds["api-server"][-4:] == ["--host", "127.0.0.1", "--port", "8080"]
    assert "--skip-serve-logs" in cmds["scheduler"] and "127.0.0.1" in cmds["log-server"]


# ---- the nightly timetable -----------------------------------------------------------------------------------

def _next(tt, now: datetime, last_end: datetime | None = None, catchup: bool = False):
    from unittest import mock

    import pendulum
    from airflow.timetables.base import DataInterval, TimeRestriction

    last = DataInterval(pendulum.instance(last_end), pendulum.instance(last_end)) if last_end else None
    with mock.patch("airflow._shared.timezones.timezone.utcnow", return_value=pendulum.instance(now)):
        info = tt.next_dagrun_info(last_automated_data_interval=last, restriction=TimeRestriction(
            earliest=pendulum.datetime(2026, 1, 1, tz="UTC"), latest=None, catchup=catchup))
    return info.run_after.astimezone(UTC)


def test_unpausing_later_in_the_day_waits_for_the_next_night():
    from airflow.timetables.trigger import CronTriggerTimetable

    from supervision.timetables import NightlyTimetable

    tt = NightlyTimetable("30 6 * * *", timezone="Asia/Shanghai")
    utc = UTC
    # 15:00 Shanghai (07:00 UTC): the 06:30 night was missed hours ago -> next is tomorrow's 06:30
    assert _next(tt, datetime(2026, 12, 4, 7, 0, tzinfo=utc)) == datetime(2026, 12, 4, 22, 30, tzinfo=utc)
    # (Airflow's own CronTriggerTimetable started the missed one at once; it reads the real clock, so it is not
    # asserted here: between 06:30 and 08:30 Shanghai its answer is tonight's run.)
    assert CronTriggerTimetable("30 6 * * *", timezone="Asia/Shanghai") is not None
    # a scheduler back at 06:50 still runs the 06:30 night (within the grace)
    assert _next(tt, datetime(2026, 12, 3, 22, 50, tzinfo=utc)) == datetime(2026, 12, 3, 22, 30, tzinfo=utc)
    # the regular cadence: after last night's run, the next one
    assert _next(tt, datetime(2026, 12, 3, 22, 31, tzinfo=utc), last_end=datetime(2026, 12, 3, 22, 30, tzinfo=utc)) \
        == datetime(2026, 12, 4, 22, 30, tzinfo=utc)


def test_run_ids_name_the_business_date_and_the_timetable_round_trips():
    import pendulum
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.utils.types import DagRunType

    from supervision.timetables import NightlyTimetable

    tt = NightlyTimetable("30 6 * * *", timezone="Asia/Shanghai", grace=timedelta(hours=3))
    run_id = tt.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=pendulum.datetime(2026, 11, 22, 22, 30,
                                                                                           tz="UTC"),
                                data_interval=None)
    assert run_id.startswith("scheduled__2026-11-22__")
    # as the scheduler reads it, with the timetables our plugin registers
    import runpy
    from unittest import mock

    plugin = runpy.run_path(str(settings.PROJECT_ROOT / "plugins" / "supervision_timetables.py"))
    registered = {f"{c.__module__}.{c.__qualname__}": c for c in plugin["SupervisionTimetables"].timetables}
    with mock.patch("airflow.plugins_manager.get_timetables_plugins", return_value=registered):
        back = decode_timetable(encode_timetable(tt))
    assert isinstance(back, NightlyTimetable) and back.grace == timedelta(hours=3)
