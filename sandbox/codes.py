"""Valid and deliberately corrupted identifiers: credit codes (GB 32100) and ID numbers (GB 11643).

Every generator takes the caller's ``random.Random`` so the sandbox stays reproducible.
"""

from __future__ import annotations

import random
from datetime import date

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECKS = "10X98765432"
RIC_CHARSET = "0123456789X"

# Zhejiang county-level divisions that python-stdnum's table knows for births 1985-2009.
ZHEJIANG_REGIONS = (
    "330102", "330103", "330104", "330105", "330106", "330122", "330203", "330204", "330205",
    "330206", "330211", "330226", "330302", "330402", "330421", "330521", "330602", "330621",
    "330702", "330802",
)  # fmt: skip
BIRTH_YEARS = (1985, 2004)


def org_code_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_check(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def make_org_code(rng: random.Random) -> str:
    """A 9-character organisation code (body from the credit-code charset, GB 11714 check).

    Bodies whose check would be ``X`` are drawn again: ``X`` is a credit-code character, but
    keeping codes numeric-checked reads more like the codes agencies hold.
    """
    body_chars = USCC_CHARSET[:10] * 3 + USCC_CHARSET[10:]  # mostly digits, like real codes
    while True:
        body = "".join(rng.choice(body_chars) for _ in range(8))
        check = org_code_check(body)
        if check != "X":
            return body + check


def make_uscc(rng: random.Random, region: str, authority: str = "9", category: str = "1") -> str:
    """A valid unified social credit code.

    Args:
        rng: the random source.
        region: the 6-digit administrative division (positions 3-8).
        authority: registration authority (position 1): ``9`` market supervision, ``1`` 机构编制.
        category: organisation category (position 2): ``1`` enterprise / organ, ``2`` 个体工商户.
    """
    first17 = authority + category + region + make_org_code(rng)
    return first17 + uscc_check(first17)


def ric_check(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECKS[total % 11]


def make_resident_id(rng: random.Random, region: str | None = None) -> str:
    """A valid resident ID number of someone born in Zhejiang between 1985 and 2004."""
    region = region or rng.choice(ZHEJIANG_REGIONS)
    start = date(BIRTH_YEARS[0], 1, 1).toordinal()
    birth = date.fromordinal(rng.randint(start, date(BIRTH_YEARS[1], 12, 31).toordinal()))
    first17 = f"{region}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return first17 + ric_check(first17)


def corrupt_check(code: str, rng: random.Random, charset: str = USCC_CHARSET) -> str:
    """``code`` with its last (check) character replaced by a different, wrong one."""
    return code[:-1] + rng.choice([c for c in charset if c != code[-1]])
