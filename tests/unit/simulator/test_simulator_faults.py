"""Each fault is present in the files exactly as the truth declares it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile

import pytest
from sim_rowcheck import DAY, read_rows

from supervision.contract import RECORD_TYPES
from supervision_dev.simulator import FAULTS, FaultProfile


def test_default_profile(fault_counties, xuchang):
    fp = FaultProfile.default(fault_counties)
    assert sorted(fp.by_county.values()) == sorted(FAULTS)
    assert fault_counties[0] not in fp.by_county
    assert fp == FaultProfile.default(fault_counties)
    assert fp != FaultProfile.default(fault_counties, seed=7)
    small = FaultProfile.default(xuchang)  # 7 counties: the first 6 faults, in FAULTS order
    assert sorted(small.by_county.values()) == sorted(FAULTS[:6]) and xuchang[0] not in small.by_county
    assert FaultProfile.none().by_county == {}
    with pytest.raises(ValueError):
        FaultProfile({"411002": "sunspots"})


def _folder(root, code):
    return root / code / DAY.isoformat()


def _county(report, fault):
    [(code, truth)] = [(c, t) for c, t in report.counties.items() if t.fault == fault]
    return code, truth


def test_every_fault_is_present(faulty_night):
    root, report = faulty_night
    assert sorted(report.faults.values()) == sorted(FAULTS)
    assert report.counties[next(iter(report.counties))].fault is None

    code, t = _county(report, "late")
    assert not (root / code).exists() and {f.expected_outcome for f in t.files.values()} == {"late"}

    code, t = _county(report, "missing_type")
    [missing] = [rt for rt, f in t.files.items() if f.expected_outcome == "missing"]
    manifest = json.loads((_folder(root, code) / "manifest.json").read_text(encoding="utf-8"))
    assert missing not in manifest["files"] and len(manifest["files"]) == 3
    assert not list(_folder(root, code).glob(f"{missing}.*"))

    for fault in ("manifest_rows", "manifest_sha256"):
        code, t = _county(report, fault)
        [bad] = [rt for rt, f in t.files.items() if f.expected_outcome == "rejected"]
        f = t.files[bad]
        entry = json.loads((_folder(root, code) / "manifest.json").read_text(encoding="utf-8"))["files"][bad]
        data = (_folder(root, code) / f.file).read_bytes()
        rows = len(read_rows(_folder(root, code) / f.file, t.encoding))
        if fault == "manifest_rows":
            assert entry["rows"] != rows and entry["sha256"] == hashlib.sha256(data).hexdigest()
        else:
            assert entry["rows"] == rows and entry["sha256"] != hashlib.sha256(data).hexdigest()

    code, t = _county(report, "duplicate_record_id")
    [(rt, f)] = [(rt, f) for rt, f in t.files.items() if f.expected_bad_rows]
    rows = read_rows(_folder(root, code) / f.file, t.encoding)
    dup = [n for n, r in enumerate(rows, 1) if sum(x["record_id"] == r["record_id"] for x in rows) > 1]
    assert dup == sorted(f.expected_bad_rows) and len(dup) == 2 and f.expected_outcome == "loaded"
    assert all(v == ["record_id.unique_in_file"] for v in f.expected_bad_rows.values())

    code, t = _county(report, "foreign_rows")
    [(rt, f)] = [(rt, f) for rt, f in t.files.items() if f.expected_bad_rows]
    rows = read_rows(_folder(root, code) / f.file, t.encoding)
    foreign = [n for n, r in enumerate(rows, 1) if r["county_code"] != code]
    assert foreign == sorted(f.expected_bad_rows) and 1 <= len(foreign) <= 3 and f.expected_outcome == "loaded"
    assert {rows[n - 1]["county_code"] for n in foreign} <= set(report.counties) | {c for c in t.detail.split()
                                                                                      if c.isdigit()}

    code, t = _county(report, "unreadable")
    [(rt, f)] = [(rt, f) for rt, f in t.files.items() if f.expected_outcome == "rejected"]
    path = _folder(root, code) / f.file
    data = path.read_bytes()
    entry = json.loads((_folder(root, code) / "manifest.json").read_text(encoding="utf-8"))["files"][rt]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    with pytest.raises(Exception):  # noqa: B017 - any parser error will do
        read_rows(path, t.encoding)
    if t.format == "csv":
        assert gzip.decompress(data)  # what the county really sent
    if t.format == "xlsx":
        assert not zipfile.is_zipfile(io.BytesIO(data))

    code, t = _county(report, "no_manifest")
    folder = _folder(root, code)
    assert not (folder / "manifest.json").exists()
    assert sorted(p.stem for p in folder.iterdir()) == sorted(RECORD_TYPES)
    assert {f.expected_outcome for f in t.files.values()} == {"loaded"}


def test_rejected_only_where_meant(faulty_night):
    _, report = faulty_night
    for t in report.counties.values():
        rejected = [rt for rt, f in t.files.items() if f.expected_outcome == "rejected"]
        if t.fault in ("manifest_rows", "manifest_sha256", "unreadable"):
            assert len(rejected) == 1
        else:
            assert rejected == [], (t.county_code, t.fault)


def test_the_project_reader_agrees(faulty_night):
    filedrop = pytest.importorskip("supervision.sources.filedrop")
    filereader = pytest.importorskip("supervision.sources.filereader")
    root, report = faulty_night
    for code, t in report.counties.items():
        day = filedrop.discover(root, code, DAY)
        if t.fault == "late":
            assert not day.exists
            continue
        assert (day.manifest is None) == (t.fault == "no_manifest")
        for rt, f in t.files.items():
            if f.file is None:
                assert rt not in day.files
                continue
            if f.detail and f.detail.startswith("unreadable"):
                with pytest.raises(filereader.UnreadableFile):
                    filereader.read_file(day.files[rt], day.encoding)
                continue
            raw = filereader.read_file(day.files[rt], day.encoding)
            assert raw.rows == f.rows and raw.sha256 == f.sha256
            if f.rows or t.format != "json":  # an empty JSON array names no columns
                assert list(raw.frame.columns[1:]) == RECORD_TYPES[rt].field_names
