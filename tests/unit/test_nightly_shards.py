"""How the nightly run cuts the registry into mapped tasks (nightly.cut_shards)."""

import pytest

from supervision.nightly import MAX_AUTO_SHARDS, MAX_MAP_LENGTH, cut_shards
from supervision.registry import load_registry
from supervision.settings import INCLUDE_DATA


def test_a_province_gets_one_county_per_task():
    codes = load_registry().codes  # Henan, ~180 county-level units
    shards = cut_shards(codes)
    assert shards == [[c] for c in codes]


def test_the_national_registry_gets_ten_counties_per_task():
    codes = load_registry(INCLUDE_DATA / "registries" / "china.yaml").codes
    assert len(codes) == 2978
    shards = cut_shards(codes)
    assert len(shards) == 298 <= MAX_AUTO_SHARDS
    assert {len(s) for s in shards[:-1]} == {10} and len(shards[-1]) == 8
    assert [c for s in shards for c in s] == codes  # every county once, in registry order


def test_an_explicit_shard_size_wins():
    codes = [f"41{i:04d}" for i in range(25)]
    assert [len(s) for s in cut_shards(codes, 10)] == [10, 10, 5]
    assert len(cut_shards(codes, 1)) == 25


def test_more_tasks_than_airflow_maps_is_refused_with_the_fix():
    codes = [f"{i:06d}" for i in range(MAX_MAP_LENGTH + 1)]
    with pytest.raises(ValueError, match=r"1025 mapped tasks, more than Airflow's max_map_length 1024.*at least 2"):
        cut_shards(codes, 1)
    assert len(cut_shards(codes, 2)) == 513
