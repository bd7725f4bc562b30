"""The simulated province: its departments and the subjects its agencies decide about.

Departments are Zhejiang's provincial departments (``mappings/reference/departments.yaml``) with
synthetic but valid credit codes that do not depend on the seed, so source files can name them as
constants. Subjects (companies, individual businesses, natural persons) are drawn from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import yaml

from hub.core.model import SUBJECT_INDIVIDUAL_BUSINESS, SUBJECT_LEGAL, SUBJECT_PERSON
from hub.core.settings import MAPPINGS_DIR
from sandbox import vocab
from sandbox.codes import ZHEJIANG_REGIONS, make_resident_id, make_uscc

DEPARTMENTS_FILE = MAPPINGS_DIR / "reference" / "departments.yaml"


@dataclass(frozen=True)
class Department:
    """A provincial department: the platform's key, its name and its credit code."""

    key: str
    name: str
    credit_code: str


@dataclass(frozen=True)
class Subject:
    """Someone an agency decides about.

    Attributes:
        name: company, shop or person name.
        category: ``法人及非法人组织``, ``个体工商户`` or ``自然人``.
        credit_code: the credit code (organisations and individual businesses).
        id_number: the resident ID number (natural persons).
        legal_rep: legal representative or operator (organisations and individual businesses).
        legal_rep_id_number: the legal representative's resident ID number.
        city: the city the subject is registered in.
    """

    name: str
    category: str
    credit_code: str | None
    id_number: str | None
    legal_rep: str | None
    legal_rep_id_number: str | None
    city: str


@cache
def departments() -> dict[str, Department]:
    """The province's departments by name, each with a valid synthetic credit code."""
    data = yaml.safe_load(DEPARTMENTS_FILE.read_text(encoding="utf-8"))
    region = data["region_code"]
    result = {}
    for entry in data["departments"]:
        rng = random.Random(f"department:{entry['code']}")
        code = make_uscc(rng, region, authority="1", category="1")  # 机构编制, 机关
        result[entry["name"]] = Department(entry["code"], entry["name"], code)
    return result


def department(name: str) -> Department:
    """The department called ``name``; ``KeyError`` when the province has none of that name."""
    return departments()[name]


def person_name(rng: random.Random) -> str:
    """A Chinese personal name of two or three characters."""
    given = "".join(rng.choice(vocab.GIVEN_NAME_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(vocab.SURNAMES) + given


class Province:
    """The subjects of a province, drawn from ``seed``.

    Args:
        seed: the seed every subject is drawn from.
        companies: how many organisations (法人及非法人组织).
        businesses: how many individual businesses (个体工商户).
        persons: how many natural persons (自然人).
    """

    def __init__(
        self, seed: int, companies: int = 3000, businesses: int = 600, persons: int = 1200
    ) -> None:
        self.seed = seed
        rng = random.Random(f"{seed}:subjects")
        self.subjects: dict[str, list[Subject]] = {
            SUBJECT_LEGAL: [self._company(rng) for _ in range(companies)],
            SUBJECT_INDIVIDUAL_BUSINESS: [self._business(rng) for _ in range(businesses)],
            SUBJECT_PERSON: [self._person(rng) for _ in range(persons)],
        }

    def pick(self, category: str, rng: random.Random) -> Subject:
        """A subject of ``category``, chosen by ``rng``."""
        return rng.choice(self.subjects[category])

    @staticmethod
    def _place(rng: random.Random) -> tuple[str, str]:
        region = rng.choice(ZHEJIANG_REGIONS)
        return region, vocab.CITIES[region[:4]]

    def _company(self, rng: random.Random) -> Subject:
        region, city = self._place(rng)
        trade_name = "".join(rng.sample(vocab.TRADE_NAME_CHARS, 2))
        name = f"{city}{trade_name}{rng.choice(vocab.INDUSTRIES)}{rng.choice(vocab.COMPANY_FORMS)}"
        return Subject(
            name=name,
            category=SUBJECT_LEGAL,
            credit_code=make_uscc(rng, region),
            id_number=None,
            legal_rep=person_name(rng),
            legal_rep_id_number=make_resident_id(rng, region),
            city=city,
        )

    def _business(self, rng: random.Random) -> Subject:
        region, city = self._place(rng)
        operator = person_name(rng)
        trade_name = "".join(rng.sample(vocab.TRADE_NAME_CHARS, 2))
        return Subject(
            name=f"{city}市{trade_name}{rng.choice(vocab.SHOP_TYPES)}",
            category=SUBJECT_INDIVIDUAL_BUSINESS,
            credit_code=make_uscc(rng, region, category="2"),
            id_number=None,
            legal_rep=operator,
            legal_rep_id_number=make_resident_id(rng, region),
            city=city,
        )

    def _person(self, rng: random.Random) -> Subject:
        region, city = self._place(rng)
        return Subject(
            name=person_name(rng),
            category=SUBJECT_PERSON,
            credit_code=None,
            id_number=make_resident_id(rng, region),
            legal_rep=None,
            legal_rep_id_number=None,
            city=city,
        )
