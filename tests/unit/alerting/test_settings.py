"""The registry's optional ``alerting`` section: defaults, the shipped Henan file, errors naming file and key."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from supervision.alerting.settings import DEFAULT_STALE_DAYS, AlertSettings, parse_duration
from supervision.registry import RegistryError, load_registry
from supervision.settings import DEFAULT_REGISTRY

COUNTY = '- code: "411002"\n  contact: {name: 魏都区司法局数据专员, email: data-411002@supervision.example}\n'


def write(tmp_path, alerting: str = "", county_extra: str = ""):
    path = tmp_path / "r.yaml"
    path.write_text("name: t\n" + textwrap.dedent(alerting) + "counties:\n" + COUNTY + county_extra, encoding="utf-8")
    return path


def test_a_registry_without_alerting_gets_the_defaults(tmp_path):
    reg = load_registry(write(tmp_path))
    assert reg.alerting == AlertSettings()
    a = reg.alerting
    assert (a.city_after, a.province_after, a.pipeline_deadline, a.digest_time) == (
        timedelta(hours=2), timedelta(hours=4), "08:00", "08:30")
    assert a.stale_days == DEFAULT_STALE_DAYS and a.engineers == () and a.supervisors == {}
    assert reg.county("411002").deadline_on_rest_days == "keep"


def test_the_henan_registry_has_supervisors_for_the_province_and_every_city():
    reg = load_registry(DEFAULT_REGISTRY)
    a = reg.alerting
    assert set(a.supervisors) == {"41"} | {c.city_code for c in reg.counties}
    assert all(contacts and contacts[0].email for contacts in a.supervisors.values())
    assert a.engineers and a.engineers[0].email


def test_every_key(tmp_path):
    reg = load_registry(write(tmp_path, """\
        alerting:
          engineers: [{name: 值班, channels: ["json://127.0.0.1:9/engineers", "email"], email: e@x.example}]
          supervisors:
            "41": [{name: 省, email: p@x.example}]
            "4110": [{name: 市, channels: ["dingtalk://${DINGTALK_4110}/"]}]
          escalation: {city_after: 90m, province_after: 1d}
          pipeline_deadline: "07:45"
          digest_time: "09:00"
          lookback_days: 5
          chronic_late: {k: 2, n: 5}
          stale_days: {default: 10, litigation_cases: 60}
          volume: {history_days: 28, min_history: 3, ratio: 2.5, min_rows: 5, z: 3}
          retry: {first: 1m, max: 30m}
          smtp_url: "mailto://127.0.0.1:2525?smtp=127.0.0.1&mode=insecure&from=a@x.example"
        """, '  deadline_on_rest_days: next_working_day\n'))
    a = reg.alerting
    assert a.engineers[0].channels == ("json://127.0.0.1:9/engineers", "email")
    assert a.contacts_of("4110")[0].channels == ("dingtalk://${DINGTALK_4110}/",)
    assert (a.city_after, a.province_after) == (timedelta(minutes=90), timedelta(days=1))
    assert (a.pipeline_deadline, a.digest_time, a.lookback_days, a.chronic_k, a.chronic_n) == ("07:45", "09:00", 5, 2, 5)
    assert a.stale_days == {"enforcement_cases": 10, "reconsideration_cases": 10, "complaints": 10,
                            "litigation_cases": 60}
    assert (a.volume.history_days, a.volume.min_history, a.volume.ratio, a.volume.min_rows, a.volume.z) == (
        28, 3, 2.5, 5, 3.0)
    assert (a.retry_first, a.retry_max) == (timedelta(minutes=1), timedelta(minutes=30))
    assert a.smtp_url.startswith("mailto://127.0.0.1:2525")
    assert reg.county("411002").deadline_on_rest_days == "next_working_day"


@pytest.mark.parametrize("value, expected", [(90, timedelta(minutes=90)), ("30m", timedelta(minutes=30)),
                                             ("2h", timedelta(hours=2)), ("1d", timedelta(days=1))])
def test_durations(value, expected):
    assert parse_duration(value) == expected


BAD = {
    "unknown-key": ("alerting: {escalate: {}}\n", "alerting: unknown key 'escalate'"),
    "bad-duration": ("alerting: {escalation: {city_after: soon}}\n", "escalation.city_after: 'soon' is not a duration"),
    "city-after-province": ("alerting: {escalation: {city_after: 5h, province_after: 4h}}\n",
                            "city_after must not be later than province_after"),
    "not-a-division": ('alerting: {supervisors: {"4199": [{name: x, email: a@b.c}]}}\n',
                       "supervisors: 4199 is not a province or city code"),
    "county-as-supervisor-scope": ('alerting: {supervisors: {"411002": [{name: x, email: a@b.c}]}}\n',
                                   "411002 is not a province or city code"),
    "contact-without-email": ('alerting: {supervisors: {"4110": [{name: x}]}}\n',
                              "supervisors.4110[0]: a contact needs a name and an email or notification channels"),
    "bad-channel": ('alerting: {engineers: [{name: x, channels: ["127.0.0.1:8080/hook"]}]}\n',
                    "channel '127.0.0.1:8080/hook' is not an apprise URL"),
    "email-channel-without-email": ('alerting: {engineers: [{name: x, channels: [email]}]}\n',
                                    "channel 'email' needs the contact's email"),
    "k-over-n": ("alerting: {chronic_late: {k: 5, n: 3}}\n", "k (5) is larger than n (3)"),
    "bad-time": ('alerting: {digest_time: "8:30"}\n', "digest_time: '8:30' is not HH:MM"),
    "stale-unknown-type": ("alerting: {stale_days: {cases: 3}}\n", "'cases' is not a record type"),
    "not-a-number": ("alerting: {volume: {ratio: big}}\n", "volume.ratio: 'big' is not a number"),
}


@pytest.mark.parametrize("alerting, message", BAD.values(), ids=BAD.keys())
def test_errors_name_the_file_and_the_key(tmp_path, alerting, message):
    path = write(tmp_path, alerting)
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    assert f"{path}: alerting" in str(exc.value) and message in str(exc.value)


def test_bad_rest_day_policy_names_the_county(tmp_path):
    path = write(tmp_path, county_extra="  deadline_on_rest_days: skip\n")
    with pytest.raises(RegistryError, match=r"counties\[0\] \(code 411002\): deadline_on_rest_days: 'skip' is not one of keep, next_working_day"):
        load_registry(path)
