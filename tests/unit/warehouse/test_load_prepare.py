"""Client-side batch preparation of the loader: sort order, winners and losers (no database)."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from supervision.contract import ENFORCEMENT
from supervision.warehouse.load import _prepare, _sort_order, typed_table


def table(keys, stamps, rows, counties=None):
    n = len(keys)
    cols = {f.name: pa.nulls(n, f.arrow_type) for f in ENFORCEMENT.fields}
    cols["record_id"] = pa.array(keys, pa.string())
    cols["county_code"] = pa.array(counties or ["411002"] * n, pa.string())
    cols["updated_at"] = pa.array(stamps, pa.timestamp("us", tz="UTC"))
    cols["_source_row"] = pa.array(rows, pa.int32())
    return typed_table(ENFORCEMENT, pa.table(cols))


@pytest.mark.parametrize("counties", [False, True])
def test_sort_order_is_arrows_byte_order(counties):
    rng = random.Random(5)
    alphabet = ["a", "b", "A", "0", "9", "-", " ", "中", "豫", "é", "\x7f", "z"]
    keys = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 7, 8, 9, 16, 17, 40])))
            for _ in range(3000)]
    keys += keys[:500]  # duplicates
    n = len(keys)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [t0 + timedelta(hours=rng.randrange(3)) for _ in range(n)]
    rows = [rng.choice([None, rng.randrange(100)]) for _ in range(n)]
    cc = [rng.choice(["411002", "411003", "410102"]) for _ in range(n)] if counties else None
    t = table(keys, stamps, rows, cc)
    expected = pc.sort_indices(t, sort_keys=[("county_code", "ascending", "at_end"),
                                             ("record_id", "ascending", "at_end"),
                                             ("updated_at", "descending", "at_end"),
                                             ("_source_row", "descending", "at_end")]).to_numpy()
    got = _sort_order(t)
    # equal keys may come in any order among themselves only if all sort keys are equal
    key = lambda i: (t["county_code"][i].as_py(), t["record_id"][i].as_py().encode(),  # noqa: E731
                     -t["updated_at"][i].value, -(t["_source_row"][i].as_py() if t["_source_row"][i].is_valid
                                                  else -1))
    assert [key(i) for i in got] == [key(i) for i in expected]


def test_winners_and_distinct_losers():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    keys = ["b", "a", "b", "b", "a", "c"]
    stamps = [t0, t0, t0 + timedelta(1), t0, t0, t0]
    rows = [1, 2, 3, 4, 5, 6]
    batch = _prepare(ENFORCEMENT, table(keys, stamps, rows))
    winners = batch.table.take(pa.array(batch.winners))
    assert winners["record_id"].to_pylist() == ["a", "b", "c"]
    assert winners["_source_row"].to_pylist() == [5, 3, 6]  # a: same version twice -> the later row
    # b at t0 came twice (rows 1 and 4, same content): one loser version; a's other row equals its winner
    assert batch.losers["record_id"].to_pylist() == ["b"]
    assert batch.losers["_source_row"].to_pylist() == [4]
    assert batch.duplicates == 3


def test_money_from_floats_rounds_like_numeric_input():
    cols = {f.name: pa.nulls(4, f.arrow_type) for f in ENFORCEMENT.fields}
    cols["fine_amount"] = pa.array([0.1 + 0.2, -0.125, float("nan"), 999999999999.99])
    t = typed_table(ENFORCEMENT, pa.table(cols))
    assert t["fine_amount"].to_pylist() == [Decimal("0.30"), Decimal("-0.13"), None, Decimal("999999999999.99")]
    cols["fine_amount"] = pa.array([1e12, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="out of range"):
        typed_table(ENFORCEMENT, pa.table(cols))


def test_varchar_excess_spaces_are_cut_like_postgres():
    cols = {f.name: pa.nulls(3, f.arrow_type) for f in ENFORCEMENT.fields}
    cols["agency_name"] = pa.array(["x" * 200 + "   ", "y" * 199 + " z", None])
    t = typed_table(ENFORCEMENT, pa.table(cols))
    assert t["agency_name"].to_pylist() == ["x" * 200, "y" * 199 + " z", None]  # the 2nd is an error in COPY
    assert np.asarray(pc.utf8_length(t["agency_name"]).fill_null(0)).max() == 201
