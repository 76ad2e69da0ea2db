"""Check characters of the resident ID (GB 11643-1999) and the USCC (GB 32100-2015).

The scalar builders (``make_ric``, ``make_uscc``, ``*_check_char``) and the vectorised validators
(``ric_valid``, ``uscc_valid``) are checked against textbook values, against python-stdnum where stdnum follows
the standard, and against each other on random codes.
"""

from __future__ import annotations

import random
from datetime import date

import pandas as pd
import pytest
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from supervision.identifiers import (
    ORG_ALPHABET,
    RIC_CHECK,
    USCC_ALPHABET,
    USCC_AUTHORITIES,
    make_ric,
    make_uscc,
    org_code_check_char,
    ric_check_char,
    ric_valid,
    uscc_check_char,
    uscc_valid,
)

TEXTBOOK_RIC = "11010519491231002X"  # the example of GB 11643-1999


def ric_ok(value: str) -> bool:
    return bool(ric_valid(pd.Series([value], dtype="string")).iloc[0])


def uscc_ok(value) -> bool:
    return bool(uscc_valid(pd.Series([value], dtype="string")).iloc[0])


def replace_at(code: str, i: int, ch: str) -> str:
    return code[:i] + ch + code[i + 1:]


# --- resident ID --------------------------------------------------------------------------------------------


def test_textbook_resident_id_is_valid():
    assert ric_check_char(TEXTBOOK_RIC[:17]) == "X"
    assert make_ric("110105", "19491231", "002") == TEXTBOOK_RIC
    assert ric_ok(TEXTBOOK_RIC)
    assert stdnum_ric.is_valid(TEXTBOOK_RIC)


def test_lower_case_x_is_accepted():
    assert ric_ok(TEXTBOOK_RIC.lower())


@pytest.mark.parametrize("wrong", [c for c in RIC_CHECK if c != "X"])
def test_wrong_check_digit_is_invalid(wrong):
    assert not ric_ok(TEXTBOOK_RIC[:17] + wrong)


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "18991231"],
                         ids=["feb-30", "month-13", "day-00", "before-1900"])
def test_impossible_birth_date_is_invalid_even_with_a_right_check_digit(birth):
    code = make_ric("110105", birth, "002")  # the check digit is right: only the date is wrong
    assert not ric_ok(code)


def test_birth_date_after_not_after_is_invalid():
    code = make_ric("411002", "20261201", "001")
    s = pd.Series([code], dtype="string")
    assert ric_valid(s).iloc[0]
    assert not ric_valid(s, not_after="2026-11-22").iloc[0]
    assert ric_valid(s, not_after="2026-12-01").iloc[0]


@pytest.mark.parametrize("value", ["11010519491231002", "11010519491231002X1", "1101051949123100 X",
                                   "1101O519491231002X", "１１010519491231002X", ""],
                         ids=["17-chars", "19-chars", "space", "letter-O", "full-width-digits", "empty"])
def test_wrong_shape_resident_id_is_invalid(value):
    assert not ric_ok(value)


def test_resident_id_na_stays_na():
    out = ric_valid(pd.Series([TEXTBOOK_RIC, None, "x"], dtype="string"))
    assert out.dtype == "boolean"
    assert out.isna().tolist() == [False, True, False]
    assert out.fillna(False).tolist() == [True, False, False]


# --- USCC ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("authority_type, org8", [("91", "MA3X7Q2K"), ("11", "00000001"), ("52", "12345678"),
                                                  ("93", "L0001234"), ("31", "7A8B9C0D")])
def test_make_uscc_is_valid_and_agrees_with_stdnum(authority_type, org8):
    code = make_uscc(authority_type, "411002", org8)
    assert len(code) == 18
    assert uscc_ok(code)
    # digit-led codes: python-stdnum follows the standard for these and must agree.
    assert stdnum_uscc.is_valid(code)
    assert stdnum_uscc.calc_check_digit(code[:17]) == code[17] == uscc_check_char(code[:17])


def test_stdnum_documented_example_is_valid():
    assert uscc_ok("91110000600037341L")


@pytest.mark.parametrize("authority_type", ["N1", "N2", "N3", "Y1", "A1"])
def test_codes_led_by_n_y_a_are_valid_per_the_standard(authority_type):
    code = make_uscc(authority_type, "411002", "MA000123")
    assert uscc_ok(code)
    # GB 32100-2015 allows A (other authorities), N (agriculture: village collectives 村经济合作社, ...)
    # and Y (other) as the registration authority. python-stdnum's cn.uscc insists that the first 8
    # characters are digits and rejects these valid codes: the reason identifiers.py exists.
    assert not stdnum_uscc.is_valid(code)


def test_wrong_org_code_check_char_is_invalid_even_with_right_final_check():
    code = make_uscc("91", "411002", "MA3X7Q2K")
    for wrong in "0123456789X":
        if wrong == code[16]:
            continue
        body = code[:16] + wrong
        forged = body + uscc_check_char(body)  # the final check char is recomputed: only char 17 is wrong
        assert stdnum_uscc.is_valid(forged)  # stdnum does not check the organization code
        assert not uscc_ok(forged), forged


def test_wrong_final_check_char_is_invalid():
    code = make_uscc("91", "411002", "MA3X7Q2K")
    for wrong in USCC_ALPHABET:
        if wrong != code[17]:
            assert not uscc_ok(code[:17] + wrong)


@pytest.mark.parametrize("bad", list("IOSVZ"))
def test_letters_outside_the_alphabet_are_invalid(bad):
    code = make_uscc("91", "411002", "MA3X7Q2K")
    assert not uscc_ok(replace_at(code, 9, bad))
    assert not uscc_ok(code[:17] + bad)


@pytest.mark.parametrize("value", ["9141100200000001", "91411002MA3X7Q2K1X9", "91411002MA3X7Q2K-X", "",
                                   "91411002MA3X7Q2K１X"],
                         ids=["16-chars", "19-chars", "dash", "empty", "full-width-digit"])
def test_wrong_length_or_charset_is_invalid(value):
    assert not uscc_ok(value)


def test_authority_zero_and_non_digit_division_are_invalid():
    assert not uscc_ok(_forge("0", "1", "411002", "MA3X7Q2K"))  # 0 is no registration authority
    assert not uscc_ok(_forge("9", "1", "4110A2", "MA3X7Q2K"))  # chars 3-8 are a division code


def test_lower_case_uscc_is_accepted():
    assert uscc_ok(make_uscc("91", "411002", "MA3X7Q2K").lower())


def test_uscc_na_stays_na():
    out = uscc_valid(pd.Series([make_uscc("91", "411002", "00000001"), None, "bad"], dtype="string"))
    assert out.dtype == "boolean"
    assert out.isna().tolist() == [False, True, False]
    assert out.fillna(False).tolist() == [True, False, False]


# --- vectorised vs scalar, property style -------------------------------------------------------------------


def _forge(authority: str, kind: str, division: str, org8: str) -> str:
    body = authority + kind + division + org8
    body += org_code_check_char(org8) if all(c in ORG_ALPHABET for c in org8) else "0"
    return body + (uscc_check_char(body) if all(c in USCC_ALPHABET for c in body) else "0")


def scalar_uscc_valid(value: str) -> bool:
    """The standard, one code at a time, written from the scalar check-char functions."""
    v = value.upper()
    return (len(v) == 18 and all(c in USCC_ALPHABET for c in v) and v[0] in USCC_AUTHORITIES
            and v[2:8].isdigit() and v[16] == org_code_check_char(v[8:16]) and v[17] == uscc_check_char(v[:17]))


def scalar_ric_valid(value: str) -> bool:
    v = value.upper()
    if len(v) != 18 or not v[:17].isascii() or not v[:17].isdigit() or v[17] != ric_check_char(v[:17]):
        return False
    try:
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14])) >= date(1900, 1, 1)
    except ValueError:
        return False


def _random_usccs(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        org8 = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
        code = make_uscc(rng.choice(USCC_AUTHORITIES + "0B") + rng.choice("123459"),
                         "".join(rng.choice("0123456789") for _ in range(6)), org8)
        roll = rng.random()
        if roll < 0.4:  # one character changed to anything (also outside the alphabet)
            code = replace_at(code, rng.randrange(18), rng.choice(USCC_ALPHABET + "IOSVZ-a"))
        elif roll < 0.5:
            code = code.lower()
        elif roll < 0.6:
            code = code[: rng.randrange(18)]
        out.append(code)
    return out


def _random_rics(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        birth = f"{rng.randint(1890, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
        code = make_ric("".join(rng.choice("0123456789") for _ in range(6)), birth, f"{rng.randrange(1000):03d}")
        roll = rng.random()
        if roll < 0.3:
            code = replace_at(code, rng.randrange(18), rng.choice("0123456789Xx"))
        elif roll < 0.35:
            code = code[:17]
        out.append(code)
    return out


def test_vectorised_uscc_agrees_with_scalar_on_random_codes():
    codes = _random_usccs(random.Random(20261122), 5000)
    vec = uscc_valid(pd.Series(codes, dtype="string")).tolist()
    scalar = [scalar_uscc_valid(c) for c in codes]
    assert vec == scalar
    assert 0.2 < sum(scalar) / len(scalar) < 0.8  # the sample really has both kinds


def test_vectorised_uscc_agrees_with_stdnum_on_digit_led_codes():
    """On codes whose first 8 chars are digits and whose org code is right, stdnum and we apply the same rule."""
    rng = random.Random(4110)
    codes = []
    for _ in range(3000):
        code = make_uscc(rng.choice("123456789") + rng.choice("0123456789"),
                         "".join(rng.choice("0123456789") for _ in range(6)),
                         "".join(rng.choice(USCC_ALPHABET) for _ in range(8)))
        if rng.random() < 0.5:
            code = code[:17] + rng.choice(USCC_ALPHABET)
        codes.append(code)
    vec = uscc_valid(pd.Series(codes, dtype="string")).tolist()
    assert vec == [stdnum_uscc.is_valid(c) for c in codes]
    assert 0.2 < sum(vec) / len(vec) < 0.8


def test_vectorised_ric_agrees_with_scalar_on_random_codes():
    codes = _random_rics(random.Random(11643), 5000)
    vec = ric_valid(pd.Series(codes, dtype="string")).tolist()
    scalar = [scalar_ric_valid(c) for c in codes]
    assert vec == scalar
    assert 0.2 < sum(scalar) / len(scalar) < 0.8


def test_vectorised_keeps_the_index():
    s = pd.Series([TEXTBOOK_RIC, "x"], index=[10, 20], dtype="string")
    assert ric_valid(s).index.tolist() == [10, 20]
    assert uscc_valid(s).index.tolist() == [10, 20]
