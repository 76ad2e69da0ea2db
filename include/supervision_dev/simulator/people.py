"""Parties: persons (names, resident IDs) and organizations (names, USCCs), vectorised.

Identifiers follow supervision.identifiers (same alphabets, weights and check characters); the tests
compare them with make_ric / make_uscc and validate every one with ric_valid / uscc_valid.
"""

from __future__ import annotations

import numpy as np

from supervision.identifiers import (
    ORG_ALPHABET,
    ORG_WEIGHTS,
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)
from supervision_dev.simulator.rng import Draw

# Common surnames (rough frequency order, weights from the census share) and given-name characters.
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
                "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_SURNAME_W = 1.0 / (np.arange(len(SURNAMES)) + 4.0)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玉兰萍红鹏辉建国文峰斌波宇浩凯秀桂林燕飞雪梅琳晨欣"
             "佳怡子涵思雨宁博昊然俊帆志勤振海亮东阳成春生新民福荣云凤丹莉慧颖婷倩蕾瑞祥德利永庆宏")
_WORDS = ["恒信", "宏达", "鑫源", "华瑞", "金诺", "兴隆", "顺通", "永盛", "博远", "中原", "天成", "润丰", "嘉禾",
          "万通", "联创", "德昌", "汇丰", "新宇", "宏图", "盛世", "豫达", "丰泽", "瑞祥", "广源", "长青"]
_INDUSTRIES = ["商贸", "建筑工程", "食品", "餐饮管理", "物流", "科技", "农业开发", "化工", "医药", "建材", "机械制造",
               "汽车销售", "房地产开发", "物业服务", "环保科技", "纺织", "装饰工程", "电子", "钢结构", "发制品"]
_SHOPS = ["便利店", "烩面馆", "五金店", "超市", "汽修部", "副食店", "理发店", "诊所", "饭店", "建材门市", "烟酒店", "药店"]
_UNITS = ["第一人民医院", "中医院", "实验中学", "第二高级中学", "妇幼保健院", "自来水公司", "职业教育中心", "疾病预防控制中心"]
_VILLAGES = ["王庄", "李营", "张湾", "后河", "前岗", "刘寨", "马庄", "陈楼", "东关", "西岗", "北街", "南湖"]
_ASSOCS = ["个体劳动者协会", "建筑业协会", "餐饮行业协会", "物流协会", "慈善总会"]
_CROPS = ["种植", "养殖", "农机", "蔬菜", "花木", "中药材", "小麦", "烟叶"]

_U_LUT = np.full(256, -1, dtype=np.int64)
_U_LUT[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(USCC_ALPHABET))
_O_LUT = np.full(256, -1, dtype=np.int64)
_O_LUT[np.frombuffer(ORG_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ORG_ALPHABET))
_U_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_RIC_CHECK = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
# New-style org codes are "MA" + 6 characters; I, O, S, V, Z never appear in a USCC.
_NEW_ORG = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digit bytes of non-negative integers."""
    v = np.asarray(values, dtype=np.int64)[:, None]
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (v // powers % 10 + ord("0")).astype(np.uint8)


def _strings(mat: np.ndarray) -> list[str]:
    n, w = mat.shape
    return np.ascontiguousarray(mat).view(f"S{w}").ravel().astype(f"U{w}").tolist() if n else []


def rics(division: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> list[str]:
    body = np.hstack([_digits(division, 6), _digits(birth_yyyymmdd, 8), _digits(seq, 3)])
    total = ((body.astype(np.int64) - ord("0")) * RIC_WEIGHTS).sum(axis=1)
    return _strings(np.hstack([body, _RIC_CHECK[total % 11][:, None]]))


def usccs(authority: np.ndarray, division: np.ndarray, org8: np.ndarray) -> list[str]:
    """authority: (n, 2) ASCII bytes; division: six-digit ints; org8: (n, 8) ASCII bytes."""
    org = _O_LUT[org8]
    c = 11 - (org * ORG_WEIGHTS).sum(axis=1) % 11
    org_check = np.where(c == 11, ord("0"), np.where(c == 10, ord("X"), c + ord("0"))).astype(np.uint8)
    body = np.hstack([authority.astype(np.uint8), _digits(division, 6), org8.astype(np.uint8), org_check[:, None]])
    check = (31 - (_U_LUT[body] * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    return _strings(np.hstack([body, _U_BYTES[check][:, None]]))


def person_names(d: Draw, tag: str) -> list[str]:
    sur = np.asarray(SURNAMES, dtype=object)[d.pick(f"{tag}.sur", _SURNAME_W)]
    g = np.asarray(GIVEN, dtype=object)
    g1 = g[d.int(f"{tag}.g1", 0, len(GIVEN))]
    g2 = np.where(d.bern(f"{tag}.two", 0.7), g[d.int(f"{tag}.g2", 0, len(GIVEN))], "")
    return (sur + g1 + g2).tolist()


def persons(d: Draw, tag: str, ref_ordinal: np.ndarray, birthplace: np.ndarray) -> tuple[list[str], list[str]]:
    """Adults aged 18-80 at ref_ordinal, registered in birthplace (six-digit division codes)."""
    div = birthplace
    born = ref_ordinal - d.int(f"{tag}.age", 18 * 365 + 5, 80 * 365)
    ymd = (born - 719163).astype("datetime64[D]")
    y = ymd.astype("datetime64[Y]").astype(np.int64) + 1970
    m = ymd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (ymd - ymd.astype("datetime64[M]")).astype(np.int64) + 1
    ids = rics(div, y * 10000 + m * 100 + day, d.int(f"{tag}.seq", 0, 1000))
    return ids, person_names(d, tag)


# Registration authority / type of organizations: (code, weight).
# 91 company, 92 individual business, 93 farmers' cooperative, 12 public institution, 51 association,
# N2 village collective (python-stdnum rejects N..., the standard does not).
ORG_KINDS = (("91", 0.72), ("92", 0.12), ("93", 0.04), ("12", 0.05), ("51", 0.03), ("N2", 0.04))


def organizations(d: Draw, tag: str, county_code: np.ndarray, city_code: np.ndarray, county_label: np.ndarray,
                  city_stem: np.ndarray, county_stem: np.ndarray) -> tuple[list[str], list[str]]:
    """Organizations registered in the county (or its city); per-row county attributes."""
    n = len(d)
    kind = d.pick(f"{tag}.kind", [w for _, w in ORG_KINDS])
    auth = np.frombuffer("".join(k for k, _ in ORG_KINDS).encode(), dtype=np.uint8).reshape(-1, 2)[kind]
    # Most register with the county, some with the city (its code is city + "00").
    division = np.where(d.bern(f"{tag}.citylevel", 0.2), city_code * 100, county_code)
    new_style = d.bern(f"{tag}.new", 0.8) & (kind <= 2)
    bits = d.bits(f"{tag}.chars")
    rnd = np.stack([(bits >> np.uint64(5 * i)) % np.uint64(len(_NEW_ORG)) for i in range(6)], axis=1).astype(np.int64)
    old = np.stack([(bits >> np.uint64(30 + 4 * i)) % np.uint64(10) for i in range(8)], axis=1).astype(np.int64)
    org8 = np.where(new_style[:, None],
                    np.hstack([np.tile(np.frombuffer(b"MA", dtype=np.uint8), (n, 1)), _NEW_ORG[rnd]]),
                    _DIGITS[old])
    ids = usccs(auth, division, org8)
    w1 = d.int(f"{tag}.w1", 0, len(_WORDS))
    w2 = d.int(f"{tag}.w2", 0, len(_INDUSTRIES))
    w3 = d.int(f"{tag}.w3", 0, len(_SHOPS))
    sur = d.int(f"{tag}.sur", 0, 40)
    place = np.where(d.bern(f"{tag}.place", 0.5), city_stem, county_stem)
    county_label = county_label.tolist()
    names = []
    for i in range(n):
        k = ORG_KINDS[kind[i]][0]
        if k == "91":
            suffix = "有限公司" if w1[i] % 3 else "有限责任公司"
            names.append(f"{place[i]}{_WORDS[w1[i]]}{_INDUSTRIES[w2[i]]}{suffix}")
        elif k == "93":
            names.append(f"{county_label[i]}{_WORDS[w1[i]]}{_CROPS[w2[i] % len(_CROPS)]}专业合作社")
        elif k == "92":
            names.append(f"{county_label[i]}{SURNAMES[sur[i]]}记{_SHOPS[w3[i]]}")
        elif k == "12":
            names.append(f"{county_label[i]}{_UNITS[w3[i] % len(_UNITS)]}")
        elif k == "51":
            names.append(f"{county_label[i]}{_ASSOCS[w3[i] % len(_ASSOCS)]}")
        else:
            names.append(f"{county_label[i]}{_VILLAGES[w3[i] % len(_VILLAGES)]}村股份经济合作社")
    return ids, names


def phone_numbers(d: Draw, tag: str) -> list[str]:
    prefix = np.array([138, 139, 137, 136, 150, 151, 152, 158, 159, 182, 183, 187, 188, 131, 132, 155, 156, 185,
                       186, 133, 153, 177, 180, 181, 189, 199])[d.int(f"{tag}.p", 0, 26)]
    return [f"{p}{r:08d}" for p, r in zip(prefix.tolist(), d.int(f"{tag}.r", 0, 10**8).tolist(), strict=True)]
