"""What the simulator knows about one county: its agencies, townships, file habits and size."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from supervision import divisions
from supervision.contract import DOMAINS, PROVINCE_ABBREVIATIONS
from supervision.identifiers import make_uscc
from supervision.registry import County, Registry
from supervision_dev.simulator.rng import Draw, key

FORMATS = (("csv", 0.70), ("xlsx", 0.15), ("json", 0.15))
CSV_ENCODINGS = (("utf-8", 0.55), ("utf-8-sig", 0.20), ("gbk", 0.25))
BOOL_STYLES = (("true/false", 0.70), ("1/0", 0.15), ("是/否", 0.15))

# County departments: (domain, name pattern, short form used in document numbers).
# {full}: 许昌市魏都区 / 鄢陵县; {city}: 许昌市; {branch}: 魏都 (city bureaus keep county branches).
_DEPARTMENTS = (
    ("market_regulation", "{full}市场监督管理局", "市监"),
    ("ecology_environment", "{city}生态环境局{branch}分局", "环"),
    ("transport", "{full}交通运输局", "交"),
    ("emergency_management", "{full}应急管理局", "应急"),
    ("agriculture", "{full}农业农村局", "农"),
    ("culture_tourism", "{full}文化广电和旅游局", "文旅"),
    ("urban_management", "{full}城市管理局", "城管"),
    ("health", "{full}卫生健康委员会", "卫健"),
    ("natural_resources", "{city}自然资源和规划局{branch}分局", "自然资源"),
    ("public_security", "{police}", "公"),
    ("other", "{full}人民政府", "政"),
    ("other", "{full}教育局", "教"),
    ("other", "{full}住房和城乡建设局", "住建"),
    ("other", "{full}人力资源和社会保障局", "人社"),
    ("other", "{full}水利局", "水"),
)


@dataclass(frozen=True)
class Agency:
    name: str
    code: str  # USCC, authority "11" (机关) registered in the county
    domain: str
    short: str
    township: bool = False


@dataclass
class CountyCtx:
    county: County
    seed: int
    code_int: int
    province_abbr: str
    full: str  # 许昌市魏都区
    label: str  # 魏都区
    stem: str  # 魏都
    city_stem: str  # 许昌
    doc_abbr: str  # 许魏 (prefix of document numbers)
    townships: np.ndarray  # township codes (str)
    township_names: list[str]
    agencies: list[Agency]
    domain_agencies: list[np.ndarray]  # per contract DOMAINS index: candidate agency indexes
    format: str
    encoding: str
    bool_style: str
    quote_all: bool
    line_terminator: str
    birthplace_groups: tuple[tuple[int, ...], ...]  # own county, same city, same province, elsewhere
    foreign_townships: list[str]  # 9-digit township codes of other counties
    neighbours: list[str]  # other registry counties, nearest first

    @property
    def code(self) -> str:
        return self.county.code

    @property
    def threshold(self) -> float:
        return self.county.reject_threshold


def _choose(rng: np.random.Generator, options) -> str:
    names, weights = zip(*options, strict=True)
    w = np.asarray(weights) / sum(weights)
    return names[int(rng.choice(len(names), p=w))]


def _gbk_safe(*texts: str) -> bool:
    try:
        for t in texts:
            t.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=1)
def _division_tables() -> tuple[dict, dict]:
    df = divisions.load_divisions()
    towns = df[df.level == "township"]
    by_county = {c: (g.code.to_numpy(dtype=str), g.name.tolist()) for c, g in towns.groupby("county_code", sort=True)}
    counties = df[df.level == "county"]
    by_city = {c: g.code.tolist() for c, g in counties.groupby("city_code", sort=True)}
    return by_county, {"by_city": by_city, "all": counties.code.tolist(),
                       "by_province": {p: g.code.tolist() for p, g in counties.groupby("province_code", sort=True)}}


def build_ctx(registry: Registry, county: County, seed: int) -> CountyCtx:
    by_county, cdiv = _division_tables()
    code = county.code
    rng = np.random.default_rng([seed, int(code), 11])
    name, city = county.name, county.city_name
    city_stem = city[:-1] if city.endswith("市") and len(city) > 2 else city
    district = name.endswith("区") and city_stem not in name
    full = f"{city}{name}" if district else name
    stem = name[:-1] if len(name) == 3 and name[-1] in "区县市" else name
    police = f"{city}公安局{stem}分局" if district else f"{name}公安局"
    doc_abbr = (city_stem[:1] + name[:1]) if district else name[:1]

    agencies: list[Agency] = []
    for i, (domain, pattern, short) in enumerate(_DEPARTMENTS):
        nm = pattern.format(full=full, city=city, branch=stem, police=police)
        agencies.append(Agency(nm, make_uscc("11", code, f"{int(code) % 97:02d}{(i * 7919 + int(code)) % 10**6:06d}"),
                               domain, short))
    t_codes, t_names = by_county.get(code, (np.array([], dtype=str), []))
    for j, (tc, tn) in enumerate(zip(t_codes.tolist(), t_names, strict=True)):
        if not _gbk_safe(tn):
            continue
        if tn.endswith(("镇", "乡")):
            nm = f"{tn}人民政府"
        elif tn.endswith("街道"):
            nm = f"{tn}办事处"
        else:
            continue
        agencies.append(Agency(nm, make_uscc("11", code, f"5{j:03d}{int(tc[-3:]):04d}"), "urban_management",
                               tn[:2] + "综执", township=True))
    domain_agencies = []
    for d in DOMAINS:
        dept = [i for i, a in enumerate(agencies) if a.domain == d and not a.township]
        if d == "urban_management":  # townships enforce too (综合行政执法 reform)
            dept += [i for i, a in enumerate(agencies) if a.township][:8]
        domain_agencies.append(np.asarray(dept, dtype=np.int64))

    fmt = _choose(rng, FORMATS)
    encoding = _choose(rng, CSV_ENCODINGS) if fmt == "csv" else "utf-8"
    if encoding == "gbk" and not _gbk_safe(name, city, *(a.name for a in agencies)):
        encoding = "utf-8"
    bool_style = _choose(rng, BOOL_STYLES) if fmt != "json" else "json"
    quote_all = fmt == "csv" and rng.random() < 0.2
    line_terminator = "\r\n" if encoding == "gbk" else "\n"

    same_city = [c for c in cdiv["by_city"].get(county.city_code, []) if c != code]
    same_prov = [c for c in cdiv["by_province"].get(county.province_code, []) if c != code]
    others = cdiv["all"]
    far = [others[i] for i in rng.choice(len(others), size=min(60, len(others)), replace=False)]
    groups = tuple(tuple(int(c) for c in g) for g in ([code], same_city, same_prov, far))
    foreign_towns = []
    for c in same_city + same_prov:
        if c in by_county:
            foreign_towns += by_county[c][0][:2].tolist()
        if len(foreign_towns) >= 6:
            break
    reg_codes = registry.codes
    neighbours = sorted((c for c in reg_codes if c != code),
                        key=lambda c: (c[:4] != code[:4], c[:2] != code[:2], abs(int(c) - int(code)), c))

    return CountyCtx(
        county=county, seed=seed, code_int=int(code),
        province_abbr=PROVINCE_ABBREVIATIONS.get(county.province_code, ""),
        full=full, label=name, stem=stem, city_stem=city_stem, doc_abbr=doc_abbr,
        townships=t_codes, township_names=t_names, agencies=agencies, domain_agencies=domain_agencies,
        format=fmt, encoding=encoding, bool_style=bool_style, quote_all=bool(quote_all),
        line_terminator=line_terminator, birthplace_groups=groups, foreign_townships=foreign_towns, neighbours=neighbours[:10],
    )


N_DEPT = len(_DEPARTMENTS)
# Per contract domain: positions of its departments in _DEPARTMENTS (the first is the usual enforcer).
DOMAIN_DEPTS = [[i for i, (d, _, _) in enumerate(_DEPARTMENTS) if d == dom] for dom in DOMAINS]
BIRTHPLACE_SHARES = (0.70, 0.15, 0.10, 0.05)  # own county, same city, same province, elsewhere


class CountySet:
    """Many counties flattened into arrays, so one night of all counties is drawn in a few vectorised calls.

    Values stay a function of each record's own key: a county draws the same rows alone or with others.
    """

    def __init__(self, ctxs: list[CountyCtx], seed: int):
        self.ctxs, self.seed = ctxs, seed
        obj = lambda xs: np.asarray(list(xs), dtype=object)  # noqa: E731
        self.code = obj(c.code for c in ctxs)
        self.code_int = np.asarray([c.code_int for c in ctxs], dtype=np.int64)
        self.city_int = np.asarray([int(c.county.city_code) for c in ctxs], dtype=np.int64)
        self.size = np.exp(0.7 * Draw(key(seed, self.code_int)).normal("county.size") - 0.245)
        self.doc_abbr = obj(c.doc_abbr for c in ctxs)
        self.label = obj(c.label for c in ctxs)
        self.stem = obj(c.stem for c in ctxs)
        self.city_stem = obj(c.city_stem for c in ctxs)
        self.court = obj(c.province_abbr + c.code[2:] for c in ctxs)
        self.ag_name = obj(a.name for c in ctxs for a in c.agencies)
        self.ag_code = obj(a.code for c in ctxs for a in c.agencies)
        self.ag_short = obj(a.short for c in ctxs for a in c.agencies)
        sizes = np.asarray([len(c.agencies) for c in ctxs], dtype=np.int64)
        self.ag_off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.town_ag_len = sizes - N_DEPT
        self.tw_code = obj(t for c in ctxs for t in c.townships.tolist())
        self.tw_name = obj(t for c in ctxs for t in c.township_names)
        sizes = np.asarray([len(c.townships) for c in ctxs], dtype=np.int64)
        self.tw_off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.tw_len = sizes
        groups = [c.birthplace_groups for c in ctxs]
        flat = [g for gs in groups for g in gs]
        self.bp = np.asarray([x for g in flat for x in g], dtype=np.int64)
        lens = np.asarray([len(g) for g in flat], dtype=np.int64).reshape(len(ctxs), len(BIRTHPLACE_SHARES))
        self.bp_len = lens
        self.bp_off = np.concatenate([[0], np.cumsum(lens.ravel())[:-1]]).astype(np.int64).reshape(lens.shape)

    def __len__(self) -> int:
        return len(self.ctxs)
