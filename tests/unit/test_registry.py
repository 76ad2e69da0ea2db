"""The county registry: the shipped Henan file, validation against the division reference, deadlines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supervision.registry import DEFAULT_DEADLINE, DEFAULT_REJECT_THRESHOLD, RegistryError, load_registry
from supervision.settings import DEFAULT_REGISTRY

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTACT = "{name: 魏都区司法局数据专员, email: data-411002@supervision.example}"


def write_registry(tmp_path: Path, counties: str, defaults: str = "") -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text("name: test\n" + defaults + "counties:\n" + textwrap.indent(textwrap.dedent(counties), "  "),
                    encoding="utf-8")
    return path


# --- the shipped registry -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def henan():
    return load_registry(DEFAULT_REGISTRY)


def test_henan_registry_has_all_181_counties(henan):
    assert henan.name == "henan"
    assert len(henan.counties) == 181
    assert len(set(henan.codes)) == 181
    assert {c.province_code for c in henan.counties} == {"41"}


def test_xuchang_has_seven_counties(henan):
    xuchang = [c for c in henan.counties if c.city_code == "4110"]
    assert [c.code for c in xuchang] == ["411002", "411003", "411024", "411025", "411071", "411081", "411082"]
    assert {c.city_name for c in xuchang} == {"许昌市"}
    assert henan.county("411002").name == "魏都区"


def test_henan_defaults_and_contacts(henan):
    assert sum(c.deadline == DEFAULT_DEADLINE for c in henan.counties) >= 180  # one county is due at 05:00
    for c in henan.counties:
        assert c.transport == "file_drop" and c.reject_threshold == DEFAULT_REJECT_THRESHOLD
        assert c.contact.name and c.contact.email


def test_unknown_county_lookup_names_the_registry(henan):
    with pytest.raises(KeyError, match="420102"):
        henan.county("420102")


# --- deadlines ----------------------------------------------------------------------------------------------


def test_default_deadline_is_next_day_0600_shanghai(henan):
    due = henan.county("411002").deadline_at(date(2026, 11, 22))
    assert due == datetime(2026, 11, 23, 6, 0, tzinfo=SHANGHAI)
    assert due.utcoffset() == timedelta(hours=8)
    assert due.astimezone(ZoneInfo("UTC")) == datetime(2026, 11, 22, 22, 0, tzinfo=ZoneInfo("UTC"))


def test_deadline_crosses_month_and_year(henan):
    assert henan.county("411002").deadline_at(date(2026, 12, 31)) == datetime(2027, 1, 1, 6, 0, tzinfo=SHANGHAI)


def test_per_county_deadline_and_offset(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          deadline: "23:30"
          deadline_day_offset: 0
          contact: {CONTACT}
        - code: "411003"
          deadline: "09:15"
          deadline_day_offset: 2
          contact: {{name: 建安区, channels: ["mailto://a@b.example"]}}
        """)
    reg = load_registry(path)
    assert reg.county("411002").deadline_at(date(2026, 11, 22)) == datetime(2026, 11, 22, 23, 30, tzinfo=SHANGHAI)
    assert reg.county("411003").deadline_at(date(2026, 11, 22)) == datetime(2026, 11, 24, 9, 15, tzinfo=SHANGHAI)
    assert reg.county("411003").contact.channels == ("mailto://a@b.example",)


# --- adding a county ----------------------------------------------------------------------------------------


def test_adding_a_county_is_one_entry(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          contact: {CONTACT}
        """)
    reg = load_registry(path)
    (c,) = reg.counties
    assert (c.code, c.name, c.city_code, c.city_name, c.province_code) == ("411002", "魏都区", "4110", "许昌市", "41")
    assert (c.deadline, c.transport, c.reject_threshold) == ("06:00", "file_drop", 0.2)
    assert reg.path == path and reg.name == "test"


def test_defaults_apply_and_entries_override_them(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          contact: {CONTACT}
        - code: "411003"
          transport: database
          contact: {CONTACT}
        """, defaults="defaults:\n  transport: http_api\n  reject_threshold: 0.05\n  source: {conn_id: county_conn}\n")
    reg = load_registry(path)
    assert [c.transport for c in reg.counties] == ["http_api", "database"]
    assert {c.reject_threshold for c in reg.counties} == {0.05}


def test_name_and_city_may_be_given_by_name_or_code(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          name: 魏都区
          city: 许昌市
          contact: {CONTACT}
        - code: "411003"
          city: "4110"
          contact: {CONTACT}
        """)
    assert load_registry(path).codes == ["411002", "411003"]


def test_unquoted_numeric_code_is_read_as_text(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: 411002
          contact: {CONTACT}
        """)
    assert load_registry(path).codes == ["411002"]


# --- errors name the file and the entry ---------------------------------------------------------------------

BAD_ENTRIES = {  # id: (fields of the second entry, what the error says)
    "unknown-code": ({"code": '"419999"'}, "419999 is not a county-level division"),
    "city-level-code": ({"code": '"4110"'}, "4110 is not a county-level division"),
    "province-level-code": ({"code": '"41"'}, "41 is not a county-level division"),
    "township-code": ({"code": '"411002001"'}, "411002001 is not a county-level division"),
    "name-mismatch": ({"name": "魏都县"}, "name: '魏都县' does not match the division reference '魏都区'"),
    "wrong-city": ({"city": "郑州市"}, "city: '郑州市' is not the parent of 411002 (许昌市, 4110)"),
    "wrong-city-code": ({"city": '"4101"'}, "city: '4101' is not the parent of 411002"),
    "bad-deadline-hour": ({"deadline": '"25:00"'}, "deadline: '25:00' is not HH:MM"),
    "bad-deadline-text": ({"deadline": '"6am"'}, "deadline: '6am' is not HH:MM"),
    "bad-transport": ({"transport": "ftp"}, "transport: 'ftp' is not one of file_drop, http_api, database"),
    "threshold-above-1": ({"reject_threshold": "1.5"}, "reject_threshold: 1.5 is not between 0 and 1"),
    "threshold-negative": ({"reject_threshold": "-0.1"}, "reject_threshold: -0.1 is not between 0 and 1"),
    "threshold-not-a-number": ({"reject_threshold": "high"}, "reject_threshold: 'high' is not a number"),
    "day-offset-not-a-number": ({"deadline_day_offset": "next"}, "deadline_day_offset: 'next' is not a whole number"),
}


@pytest.mark.parametrize("fields, message", BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_bad_entry_fails_naming_file_and_entry(tmp_path, fields, message):
    fields = {"code": '"411002"', **fields, "contact": CONTACT}
    entry = "\n".join(f"  {k}: {v}" for k, v in fields.items())
    path = tmp_path / "registry.yaml"
    path.write_text(f'counties:\n- code: "411003"\n  contact: {CONTACT}\n-{entry[1:]}\n', encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    text = str(exc.value)
    assert f"{path}: counties[1] (code {fields['code'].strip(chr(34))})" in text
    assert message in text
    assert "counties[0]" not in text  # the good entry is not blamed


CONTACTS = {
    "missing-contact": "",
    "contact-without-name": "\n  contact: {email: a@b.example}",
    "contact-without-email-or-channel": "\n  contact: {name: 张三}",
    "contact-not-a-mapping": "\n  contact: 张三",
}


@pytest.mark.parametrize("contact", CONTACTS.values(), ids=CONTACTS.keys())
def test_missing_contact_fails_naming_file_and_entry(tmp_path, contact):
    path = tmp_path / "registry.yaml"
    path.write_text(f'counties:\n- code: "411002"{contact}\n', encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    assert f"{path}: counties[0] (code 411002)" in str(exc.value)
    assert "contact needs a name and an email or notification channels" in str(exc.value)


def test_duplicate_county_fails_naming_both_places(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          contact: {CONTACT}
        - code: "411003"
          contact: {CONTACT}
        - code: "411002"
          contact: {CONTACT}
        """)
    with pytest.raises(RegistryError, match=r"counties\[2\] \(code 411002\): county 411002 is listed twice"):
        load_registry(path)


def test_every_error_is_reported_at_once(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "419999"
          contact: {CONTACT}
        - code: "411002"
          transport: ftp
        """)
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    lines = str(exc.value).splitlines()
    assert lines[0] == "invalid county registry:"
    assert sum("counties[0]" in line for line in lines) == 1
    assert sum("counties[1]" in line for line in lines) == 2  # transport and contact


def test_entry_without_code(tmp_path):
    path = write_registry(tmp_path, "- name: 魏都区\n")
    with pytest.raises(RegistryError, match=r"counties\[0\]: each entry needs at least a 'code'"):
        load_registry(path)


@pytest.mark.parametrize("text, message", [
    ("name: x\n", "expected a mapping with a 'counties' list"),
    ("counties: {a: 1}\n", "expected a mapping with a 'counties' list"),
    ("counties: [\n", "is not valid YAML"),
], ids=["no-counties", "counties-not-a-list", "broken-yaml"])
def test_malformed_file(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=message) as exc:
        load_registry(path)
    assert str(path) in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope.yaml")


def test_unquoted_deadline_is_rejected_with_a_hint(tmp_path):
    # YAML 1.1 (PyYAML) reads an unquoted 7:30 as the base-60 integer 450 (07:30 stays a string).
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          deadline: 7:30
          contact: {CONTACT}
        """)
    with pytest.raises(RegistryError, match=r"deadline: '450' is not HH:MM \(quote it"):
        load_registry(path)


# --- the source section is checked when the registry loads ----------------------------------------------------


def test_a_pull_county_without_its_source_section_fails_at_load(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          transport: database
          contact: {CONTACT}
        """)
    with pytest.raises(RegistryError, match=r"counties\[0\] \(code 411002\): source.conn_id: is required \(the Airflow"):
        load_registry(path)


def test_each_source_problem_is_one_line_naming_file_county_and_key(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          transport: http_api
          source: {{conn_id: c, paging: scroll, page_size: 0, timeout: {{connect: soon}}, auth: {{header: 7, realm: x}}}}
          contact: {CONTACT}
        - code: "411003"
          source: {{conn_id: leftover}}
          contact: {CONTACT}
        """)
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    lines = str(exc.value).splitlines()[1:]
    assert lines == [
        f"  {path}: counties[0] (code 411002): source.paging: 'scroll' is not one of page, offset, cursor",
        f"  {path}: counties[0] (code 411002): source.page_size: 0 is out of range (at least 1)",
        f"  {path}: counties[0] (code 411002): source.auth: unknown key 'realm' (known: header, scheme)",
        f"  {path}: counties[0] (code 411002): source.timeout.connect: 'soon' is not a duration (e.g. 30, '30s', "
        "'5m', '2h', '1d')",
        f"  {path}: counties[1] (code 411003): source: unknown key 'conn_id' for a file_drop source (it takes none)",
    ]
    assert "Traceback" not in str(exc.value) and "pydantic" not in str(exc.value)


def test_sources_load_as_their_transport_model(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          transport: http_api
          source: {{conn_id: county_411002_api, timeout: {{read: 2m}}, initial_watermark: "2026-08-01"}}
          contact: {CONTACT}
        - code: "411003"
          transport: database
          source: {{conn_id: county_411003_db, schema: zfjd, tables: {{complaints: zf_tsjb}}}}
          contact: {CONTACT}
        - code: "411024"
          contact: {CONTACT}
        """)
    api, db, drop = load_registry(path).counties
    assert (api.source.transport, api.source.conn_id, api.source.timeout.read, api.source.timeout.connect) == (
        "http_api", "county_411002_api", 120.0, 5.0)
    assert api.source.initial_watermark == datetime(2026, 8, 1)
    assert (db.source.transport, db.source.db_schema, db.source.table("complaints"), db.source.table("litigation_cases")
            ) == ("database", "zfjd", "zf_tsjb", "litigation_cases")
    assert drop.source.transport == "file_drop"


def test_unknown_entry_key_is_named(tmp_path):
    path = write_registry(tmp_path, f"""\
        - code: "411002"
          dealine: "05:00"
          contact: {CONTACT}
        """)
    with pytest.raises(RegistryError, match=r"counties\[0\] \(code 411002\): unknown key 'dealine' \(known: code, name"):
        load_registry(path)


def test_loading_the_registry_does_not_import_alerting():
    # the models live in supervision.config: registry and alerting.settings no longer import each other
    code = ("import sys; from supervision.registry import load_registry; from supervision.settings import "
            "DEFAULT_REGISTRY; load_registry(DEFAULT_REGISTRY); "
            "print(sorted(m for m in sys.modules if m.startswith('supervision.alerting')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_shard_loads_only_its_counties_and_the_same_entries(henan):
    """load_shard checks its own counties' entries only (prepare checked the file): same County objects."""
    codes = henan.codes[10:13]
    part = load_registry(DEFAULT_REGISTRY, only=codes)
    assert part.codes == codes
    assert [part.county(c) for c in codes] == [henan.county(c) for c in codes]
    assert part.alerting == henan.alerting


def test_a_shard_county_missing_from_the_file_is_an_error(henan):
    with pytest.raises(RegistryError, match="no entry for county 110101"):
        load_registry(DEFAULT_REGISTRY, only=[henan.codes[0], "110101"])
