"""Typed record frames built from the contract, as the loader receives them after validation."""

from __future__ import annotations

import pandas as pd
import pytest

from supervision.contract import (
    BOOL,
    CODE6,
    CODE9,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    RIC,
    TIMESTAMP,
    USCC,
    RecordType,
)

UPDATED = pd.Timestamp("2026-11-22T10:00:00+08:00")


def typed_frame(rt: RecordType, n: int, *, county: str = "411002", start: int = 0, updated_at=UPDATED,
                **overrides) -> pd.DataFrame:
    """``n`` valid-looking rows: record ids r<start>..; every column typed as the contract says."""
    idx = range(start, start + n)
    cols: dict[str, object] = {}
    for f in rt.fields:
        if f.name == "record_id":
            v = pd.array([f"r{i}" for i in idx], dtype="str")
        elif f.type == CODE6:
            v = pd.array([county] * n, dtype="str")
        elif f.type == CODE9:
            v = pd.array([county + "001"] * n, dtype="str")
        elif f.type in (USCC, RIC, PARTY_ID):
            v = pd.array([f"{i:018d}"[-18:] for i in idx], dtype="str")
        elif f.type == ENUM:
            v = pd.array([f.enum[i % len(f.enum)] for i in idx], dtype="str")
        elif f.type == DATE:
            v = pd.Series(pd.Timestamp("2026-10-01") + pd.to_timedelta([i % 40 for i in idx], unit="D"))
        elif f.type == TIMESTAMP:
            v = pd.Series([pd.Timestamp(updated_at).tz_convert("UTC")] * n)
        elif f.type == MONEY:
            v = pd.Series([round(i * 10.25, 2) for i in idx], dtype="float64")
        elif f.type == BOOL:
            v = pd.array([i % 2 == 0 for i in idx], dtype="boolean")
        else:
            v = pd.array([f"{f.name} {i}" for i in idx], dtype="str")
        cols[f.name] = v
    frame = pd.DataFrame(cols)
    frame["_source_row"] = list(range(1, n + 1))
    for k, v in overrides.items():
        frame[k] = v
    return frame


@pytest.fixture
def make_frame():
    return typed_frame
