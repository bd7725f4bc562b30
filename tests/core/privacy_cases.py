"""The one table of privacy cases, tried against every surface that leaves the platform.

Each case is a piece of text as a person might type it into any field, what the privacy policy
(``hub.core.privacy``) must make of it, and, for a resident ID number, the digits that must never
be seen whole. The checks here are written apart from the hub's masking code, from the cases
themselves, so a fault there cannot hide here.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class PrivacyCase:
    """One way an ID number (or something that only looks like one) stands in text.

    Attributes:
        label: what the case is (no digits, so it never touches the number).
        text: the text as typed.
        masked: what the policy makes of ``text``; equal to ``text`` when it is not an ID.
        secret: the ID number whole, which no surface may show; ``None`` for a non-ID.
    """

    label: str
    text: str
    masked: str
    secret: str | None

    @property
    def is_id(self) -> bool:
        """Whether the case is a resident ID number, to be masked."""
        return self.secret is not None


CASES: list[PrivacyCase] = [
    PrivacyCase(
        "姓名紧挨字母", "张三ID330106199001014211", "张三ID330106********4211", "330106199001014211"
    ),
    PrivacyCase(
        "前后都是字母", "NO330302198503120031A", "NO330302********0031A", "330302198503120031"
    ),
    PrivacyCase("校验位错误", "320102197806151234", "320102********1234", "320102197806151234"),
    PrivacyCase("校验位正确", "11010519491231002X", "110105********002X", "11010519491231002X"),
    PrivacyCase("小写x结尾", "33010219921101074x", "330102********074x", "33010219921101074x"),
    PrivacyCase("十五位旧号", "330106850320031", "330106*****0031", "330106850320031"),
    PrivacyCase(
        "全角数字",
        "３５０２０３１９７５０７０４００２０",
        "３５０２０３********００２０",
        "３５０２０３１９７５０７０４００２０",
    ),
    PrivacyCase("十五位日期不存在", "330106851332031", "330106851332031", None),
    PrivacyCase("十九位长号", "4403051988010112345", "4403051988010112345", None),
    PrivacyCase("统一社会信用代码", "91330106MA2KXXXX1L", "91330106MA2KXXXX1L", None),
    PrivacyCase(
        "记录标识",
        "a1520102198808080808bcdef0123456",
        "a1520102198808080808bcdef0123456",
        None,
    ),
]
"""Every case; ``PLANTED`` carries them all in one piece of free text."""

RECORD_KEY_CASE = CASES[-1]
"""A 32-hex record key with an 18-digit stretch inside: a machine identifier, never masked."""

SEPARATOR = "；"
PLANTED = SEPARATOR.join(f"{case.label}：{case.text}" for case in CASES)
"""Free text carrying every case, none touching a digit of another."""
PLANTED_MASKED = SEPARATOR.join(f"{case.label}：{case.masked}" for case in CASES)
"""``PLANTED`` as the policy must leave it."""


def readable(data: bytes | str) -> str:
    """What a user reads in ``data``: the text, and JSON's ``\\uXXXX`` escapes decoded too."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        decoded = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text
    return text + "\n" + decoded


def _forms(text: str) -> set[str]:
    """``text`` as typed, and as the hub may have normalised it (full-width digits to ASCII)."""
    return {text, unicodedata.normalize("NFKC", text)}


def leaked(data: bytes | str) -> list[str]:
    """The ID numbers of ``CASES`` that ``data`` shows whole, as typed or normalised."""
    text = readable(data)
    return [
        case.secret
        for case in CASES
        if case.secret and any(form in text for form in _forms(case.secret))
    ]


def assert_masked(data: bytes | str, *, cases: list[PrivacyCase] = CASES) -> None:
    """No case's ID number shows whole in ``data``; each case shows as the policy leaves it."""
    text = readable(data)
    assert leaked(text) == []
    missing = [
        case.label for case in cases if not any(form in text for form in _forms(case.masked))
    ]
    assert missing == [], f"not shown as the policy leaves them: {missing}"
