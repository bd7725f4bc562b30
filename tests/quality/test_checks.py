"""The vectorised check characters agree with python-stdnum on every code the sandbox makes."""

from __future__ import annotations

import random

import pandas as pd
from stdnum.cn import ric, uscc

from hub.core.checks import ric_valid, uscc_valid
from sandbox.codes import RIC_CHARSET, corrupt_check
from sandbox.province import Province, departments


def _with_corrupted(codes: list[str], charset: str | None = None) -> list[str]:
    rng = random.Random(5)
    spoiled = [corrupt_check(c, rng, charset) if charset else corrupt_check(c, rng) for c in codes]
    return codes + spoiled


def test_credit_codes_of_the_whole_sandbox_province() -> None:
    province = Province(seed=20261103)
    codes = [s.credit_code for group in province.subjects.values() for s in group if s.credit_code]
    codes += [d.credit_code for d in departments().values()]
    sample = [*_with_corrupted(codes), "91310110666007217t", "9131011066600721", "", "９１"]
    ours = uscc_valid(pd.Series(sample, dtype="str")).tolist()
    assert ours == [uscc.is_valid(c) and uscc.compact(c) == c for c in sample]
    assert sum(ours) == len(codes)  # every made code valid, every corrupted one not


def test_id_numbers_of_the_whole_sandbox_province() -> None:
    province = Province(seed=20261103)
    numbers = [
        n
        for group in province.subjects.values()
        for s in group
        for n in (s.id_number, s.legal_rep_id_number)
        if n
    ]
    sample = [*_with_corrupted(numbers, RIC_CHARSET), "110105194902300021", "11010519491231002"]
    ours = ric_valid(pd.Series(sample, dtype="str")).tolist()
    # The sandbox's regions are in python-stdnum's table, so its full check agrees here.
    assert ours == [ric.is_valid(n) for n in sample]
    assert sum(ours) == len(numbers)


def test_where_the_checks_deliberately_differ_from_stdnum() -> None:
    # Region 440882 is not in stdnum's table, yet the check character and birth date are right.
    assert ric_valid(pd.Series(["440882198503293017"], dtype="str")).tolist() == [True]
    assert not ric.is_valid("440882198503293017")
    # The pilot-era example fails the check character in both.
    assert uscc_valid(pd.Series(["91350211M00013FA1N"], dtype="str")).tolist() == [False]
    assert not uscc.is_valid("91350211M00013FA1N")
