"""Simulated nights shared by the simulator tests (Xuchang 4110, plus Luohe 4111 where all nine faults need a county)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from supervision.registry import load_registry
from supervision.settings import INCLUDE_DATA
from supervision_dev.simulator import FaultProfile, simulate_night

# pytest runs with --import-mode=importlib: make the sibling helper module importable by the tests.
sys.path.insert(0, str(Path(__file__).parent))
from sim_rowcheck import DAY  # noqa: E402


@pytest.fixture(scope="session")
def registry():
    return load_registry(INCLUDE_DATA / "registries" / "henan.yaml")


@pytest.fixture(scope="session")
def xuchang(registry) -> list[str]:
    return [c for c in registry.codes if c.startswith("4110")]


@pytest.fixture(scope="session")
def fault_counties(registry) -> list[str]:
    """13 counties: enough for every fault on its own county and a clean first one."""
    return [c for c in registry.codes if c.startswith(("4110", "4111"))]


@pytest.fixture(scope="session")
def faulty_night(registry, fault_counties, tmp_path_factory):
    root = tmp_path_factory.mktemp("drop_faulty")
    report = simulate_night(registry, DAY, root, faults=FaultProfile.default(fault_counties), counties=fault_counties)
    return root, report


@pytest.fixture(scope="session")
def bad_rows_nights(registry, tmp_path_factory):
    """bad_rows on one county of each format (CSV in GBK, XLSX, JSON), so each writer carries every bad value."""
    root = tmp_path_factory.mktemp("drop_bad_rows")
    counties = ["411002", "411003", "411122"]  # csv/gbk, xlsx, json under the default seed
    report = simulate_night(registry, DAY, root, counties=counties,
                            faults=FaultProfile({c: "bad_rows" for c in counties}))
    return root, report
