from __future__ import annotations

import random

from stdnum.cn import ric, uscc

from sandbox.codes import (
    RIC_CHARSET,
    ZHEJIANG_REGIONS,
    corrupt_check,
    make_resident_id,
    make_uscc,
    org_code_check,
)
from sandbox.province import departments


def test_generated_credit_codes_are_valid_and_corrupted_ones_are_not() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        code = make_uscc(rng, rng.choice(ZHEJIANG_REGIONS), category=rng.choice("12"))
        assert uscc.is_valid(code), code
        assert org_code_check(code[8:16]) == code[16]
        assert not uscc.is_valid(corrupt_check(code, rng))


def test_generated_id_numbers_are_valid_and_corrupted_ones_are_not() -> None:
    rng = random.Random(2)
    for _ in range(2000):
        number = make_resident_id(rng)
        assert ric.is_valid(number), number
        assert not ric.is_valid(corrupt_check(number, rng, RIC_CHARSET))


def test_known_examples() -> None:
    assert uscc.is_valid("91310110666007217T")
    assert org_code_check("66600721") == "7"


def test_departments_have_valid_distinct_credit_codes() -> None:
    codes = [d.credit_code for d in departments().values()]
    assert len(codes) == 41 == len(set(codes))
    assert all(uscc.is_valid(c) and c.startswith("11330000") for c in codes)
