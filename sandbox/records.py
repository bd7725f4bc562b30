"""What an agency delivers on a day, in canonical form, with its ground truth.

Every new record is drawn from its own ``Random`` seeded by (seed, source, day, index), so any
record of any day can be regenerated alone: re-sends and corrections of earlier days cost no more
than the records they repeat. A record carries at most one anomaly: one injected defect (recorded
under the rule name the pipeline reports it by), or a late decision date. Duplicates, re-sends and
corrections are drawn only from records without an anomaly, so every defect and every late record
is delivered exactly once and the truth's counts equal what a reader finds in the delivered rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hub.core.model import (
    SUBJECT_INDIVIDUAL_BUSINESS,
    SUBJECT_LEGAL,
    SUBJECT_PERSON,
    RecordKind,
    fields_of,
)
from sandbox import vocab
from sandbox.agencies import RULES, Agency
from sandbox.codes import RIC_CHARSET, corrupt_check
from sandbox.province import Province, department

LONG_TERM = date(2099, 12, 31)
LOOKBACK_DAYS = 3
"""Re-sends and corrections repeat records of this many previous days."""
ON_TIME_DAYS = (1, 5)
"""Calendar days between decision and delivery of a timely record (at most 5 working days)."""
LATE_DAYS = (20, 40)
"""Calendar days between decision and delivery of a late one (always more than 7 working days)."""
_CODE_FIELDS = ("subject_category", "penalty_categories", "list_type")
_DATE_FIELDS = ("decision_date", "valid_until")
_UNKNOWN_CODES = {"subject_category": "境外组织", "list_type": "其他失信名单"}


@dataclass(frozen=True)
class Defect:
    """A defect injected into a record: the rule that finds it, the field, what was sent.

    ``document_no`` is the record's document number before the defect (which may blank it).
    """

    rule: str
    field: str
    value: Any
    document_no: str


@dataclass
class GeneratedRecord:
    """A new record of a day: canonical fields, and its anomaly if it has one."""

    record: dict[str, Any]
    defect: Defect | None = None
    late: bool = False

    @property
    def clean(self) -> bool:
        """Neither defective nor late: may be duplicated, re-sent or corrected."""
        return self.defect is None and not self.late


@dataclass
class DayRecords:
    """One agency's delivery of one day, canonical, in delivery order, with its ground truth."""

    agency: Agency
    day: date
    rows: list[dict[str, Any]]
    truth: dict[str, Any] = field(default_factory=dict)


def record_count(seed: int, agency: Agency, day: date) -> int:
    """How many new records ``agency`` delivers on ``day`` (fewer at weekends)."""
    rng = random.Random(f"{seed}|{agency.source_id}|{day.isoformat()}|count")
    base = agency.records_per_day * (0.3 if day.weekday() >= 5 else 1.0)
    return max(1, round(base * rng.uniform(0.8, 1.2)))


def document_no(agency: Agency, day: date, index: int) -> str:
    """The document number of the ``index``-th new record ``agency`` delivers on ``day``."""
    return f"{agency.doc_prefix}〔{day.year}〕{day.timetuple().tm_yday:03d}{index + 1:04d}号"


def generate_record(province: Province, agency: Agency, day: date, index: int) -> GeneratedRecord:
    """The ``index``-th new record ``agency`` delivers on ``day``."""
    rng = random.Random(f"{province.seed}|{agency.source_id}|{day.isoformat()}|{index}")
    rule = _draw_rule(agency, rng)
    subject = province.pick(_draw_category(agency, rule, rng), rng)
    late = rule is None and rng.random() < agency.rates.late
    decided = day - timedelta(days=rng.randint(*(LATE_DAYS if late else ON_TIME_DAYS)))
    dept = department(rng.choice(agency.departments) if agency.departments else agency.department)
    is_person = subject.category == SUBJECT_PERSON
    record: dict[str, Any] = {
        "document_no": document_no(agency, day, index),
        "subject_name": subject.name,
        "subject_category": subject.category,
        "credit_code": subject.credit_code,
        "id_type": "身份证" if is_person else None,
        "id_number": subject.id_number,
        "decision_date": decided,
        "authority_name": dept.name,
        "authority_code": dept.credit_code,
        "source_department": dept.name,
        "source_department_code": dept.credit_code,
        "remarks": rng.choice(vocab.REMARKS) if rng.random() < 0.1 else None,
    }
    if agency.kind == RecordKind.PENALTY:
        record.update(_penalty_fields(agency, subject.name, subject.city, decided, rng))
        record["legal_rep"] = subject.legal_rep
    else:
        record["listing_reason"] = rng.choice(vocab.LISTING_REASONS[agency.theme])
        if agency.kind == RecordKind.SERIOUS:
            record["list_type"] = vocab.LIST_TYPES[agency.theme]
    defect = _inject(agency, record, rule, rng) if rule else None
    return GeneratedRecord(record, defect, late)


def new_records(
    province: Province, agency: Agency, day: date, count: int | None = None
) -> list[GeneratedRecord]:
    """The new records of ``day`` (``count`` overrides the agency's usual number)."""
    n = record_count(province.seed, agency, day) if count is None else count
    return [generate_record(province, agency, day, i) for i in range(n)]


def day_records(
    province: Province, agency: Agency, day: date, count: int | None = None
) -> DayRecords:
    """Everything ``agency`` delivers on ``day``: new records, duplicates, re-sends, corrections.

    Args:
        province: the province the records are about.
        agency: the delivering agency.
        day: the delivery day.
        count: new records per day, overriding the agency's usual number (this day and the
            earlier days re-sends are drawn from).
    """
    generated = new_records(province, agency, day, count)
    rng = random.Random(f"{province.seed}|{agency.source_id}|{day.isoformat()}|extras")
    rates = agency.rates
    n = len(generated)
    clean_today = [g.record for g in generated if g.clean]
    duplicates = rng.sample(clean_today, min(_share(n, rates.duplicate, rng), len(clean_today)))
    earlier = _EarlierRecords(province, agency, day, count, rng)
    resends = [earlier.pick() for _ in range(_share(n, rates.resend, rng))]
    corrections = [earlier.pick() for _ in range(_share(n, rates.correction, rng))]
    corrected = [_correct(record, agency, rng) for _, record in corrections]

    rows = [g.record for g in generated]
    rows += [dict(r) for r in duplicates]
    rows += [dict(record) for _, record in resends]
    rows += [record for record, _ in corrected]
    truth = _truth(province, agency, day, generated, len(rows))
    truth.update(duplicates=len(duplicates), resends=len(resends), corrections=len(corrections))
    truth["details"].update(
        duplicates=[r["document_no"] for r in duplicates],
        resends=[{"document_no": r["document_no"], "from_date": d.isoformat()} for d, r in resends],
        corrections=[
            {"document_no": r["document_no"], "from_date": d.isoformat(), **change}
            for (d, _), (r, change) in zip(corrections, corrected, strict=True)
        ],
    )
    return DayRecords(agency, day, rows, truth)


def _share(n: int, rate: float, rng: random.Random) -> int:
    """``n * rate``, rounded at random so the expected value is exact."""
    return int(n * rate + rng.random())


class _EarlierRecords:
    """Draws distinct clean records of the previous days, regenerating only those drawn."""

    def __init__(
        self, province: Province, agency: Agency, day: date, count: int | None, rng: random.Random
    ) -> None:
        self.province, self.agency, self.day, self.rng = province, agency, day, rng
        self.counts = {
            d: count if count is not None else record_count(province.seed, agency, d)
            for d in (day - timedelta(days=k) for k in range(1, LOOKBACK_DAYS + 1))
        }
        self.used: set[tuple[date, int]] = set()

    def pick(self) -> tuple[date, dict[str, Any]]:
        while True:
            earlier = self.rng.choice(sorted(self.counts))
            key = (earlier, self.rng.randrange(self.counts[earlier]))
            if key in self.used:
                continue
            self.used.add(key)
            generated = generate_record(self.province, self.agency, *key)
            if generated.clean:
                return earlier, generated.record


def _draw_rule(agency: Agency, rng: random.Random) -> str | None:
    draw = rng.random()
    for rule in RULES:
        draw -= agency.rates.defects.get(rule, 0.0)
        if draw < 0:
            return rule
    return None


def _draw_category(agency: Agency, rule: str | None, rng: random.Random) -> str:
    shares = dict(agency.subjects)
    if rule == "credit_code_check":
        shares.pop(SUBJECT_PERSON, None)
    elif rule == "id_number_check" and SUBJECT_PERSON in shares:
        shares = {SUBJECT_PERSON: 1.0}
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _penalty_fields(
    agency: Agency, name: str, city: str, decided: date, rng: random.Random
) -> dict[str, Any]:
    scenario = rng.choice(vocab.PENALTY_SCENARIOS[agency.theme])
    kinds = [k for k in scenario.penalties if agency.vocabulary == "law2021" or k.legacy]
    kind = rng.choice(kinds)
    fine = rng.randrange(scenario.fine_yuan[0], scenario.fine_yuan[1] + 1, 100)
    confiscated = rng.randrange(1000, 50001, 100)
    content = {
        "警告": "警告",
        "通报批评": "通报批评",
        "罚款": f"罚款人民币{fine}元",
        "没收违法所得": f"没收违法所得人民币{confiscated}元",
        "责令停产停业": "责令停产停业整顿",
        "吊销许可证件": "吊销相关许可证件",
        "限制从业": "限制从业一年",
    }
    revoked = "吊销许可证件" in kind.labels
    return {
        "violation_type": scenario.violation_type,
        "violation_facts": scenario.facts.format(name=name, place=f"{city}市"),
        "legal_basis": scenario.legal_basis,
        "penalty_categories": kind.labels,
        "penalty_content": "，".join(content[c] for c in kind.labels if c in content),
        "fine_amount": Decimal(fine) / 10000 if kind.fines else None,
        "confiscated_amount": Decimal(confiscated) / 10000 if kind.confiscates else None,
        "valid_until": LONG_TERM if revoked else decided + timedelta(days=365 * rng.choice((1, 2))),
    }


def _inject(agency: Agency, record: dict[str, Any], rule: str, rng: random.Random) -> Defect | None:
    """Spoil ``record`` so that ``rule`` finds it; ``None`` where the agency cannot show it."""
    sent = agency.columns
    category = record["subject_category"]
    candidates: list[str] = []
    if rule == "mandatory":
        candidates = [f.name for f in fields_of(agency.kind) if f.mandatory and f.name in sent]
        if category == SUBJECT_PERSON and "id_number" in sent:
            candidates.append("id_number")
        if record.get("fine_amount") is not None and "fine_amount" in sent:
            candidates.append("fine_amount")
    elif rule == "credit_code_check" and category in (SUBJECT_LEGAL, SUBJECT_INDIVIDUAL_BUSINESS):
        candidates = ["credit_code"] if "credit_code" in sent else []
    elif rule == "id_number_check" and category == SUBJECT_PERSON:
        candidates = ["id_number"] if "id_number" in sent else []
    elif rule == "date_format":
        candidates = [f for f in _DATE_FIELDS if f in sent and f in record]
    elif rule == "code_table":
        candidates = [f for f in _CODE_FIELDS if f in sent and f in record]
    if not candidates:
        return None
    name = rng.choice(candidates)
    document_no = record["document_no"]
    record[name] = _spoiled(agency, rule, name, record[name], rng)
    return Defect(rule, name, record[name], document_no)


def _spoiled(agency: Agency, rule: str, name: str, value: Any, rng: random.Random) -> Any:
    if rule == "mandatory":
        return None
    if rule == "credit_code_check":
        return corrupt_check(value, rng)
    if rule == "id_number_check":
        return corrupt_check(value, rng, RIC_CHARSET)
    if rule == "date_format":
        return rng.choice(
            (f"{value.year}-02-30", f"{value.year}-{value.month:02d}-{value.day + 31}", "日期不详")
        )
    if name == "penalty_categories":
        return "9" if agency.vocabulary == "legacy_codes" else "罚没"
    return _UNKNOWN_CODES[name]


def _correct(
    record: dict[str, Any], agency: Agency, rng: random.Random
) -> tuple[dict[str, Any], dict[str, str]]:
    """A changed copy of an earlier record, and what changed."""
    changed = dict(record)
    if record.get("fine_amount") is not None:
        old_yuan = int(record["fine_amount"] * 10000)
        new_yuan = old_yuan + rng.choice((500, 1000, 2000, 5000))
        changed["fine_amount"] = Decimal(new_yuan) / 10000
        changed["penalty_content"] = record["penalty_content"].replace(
            f"罚款人民币{old_yuan}元", f"罚款人民币{new_yuan}元"
        )
        name = "fine_amount"
    elif agency.kind == RecordKind.PENALTY:
        name = "violation_facts"
        changed[name] = record[name] + "经复核，更正违法事实表述。"
    else:
        name = "listing_reason"
        others = [r for r in vocab.LISTING_REASONS[agency.theme] if r != record[name]]
        changed[name] = rng.choice(others)
    return changed, {"field": name, "old": _plain(record[name]), "new": _plain(changed[name])}


def _plain(value: Any) -> Any:
    """A JSON-ready form of a canonical value."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _truth(
    province: Province, agency: Agency, day: date, generated: list[GeneratedRecord], rows: int
) -> dict[str, Any]:
    defects = [g for g in generated if g.defect]
    by_rule = {rule: sum(1 for g in defects if g.defect.rule == rule) for rule in RULES}
    late = [g.record for g in generated if g.late]
    return {
        "source_id": agency.source_id,
        "kind": str(agency.kind),
        "channel": type(agency.channel).__name__,
        "department": agency.department,
        "date": day.isoformat(),
        "seed": province.seed,
        "records": len(generated),
        "rows": rows,
        "clean_records": len(generated) - len(defects),
        "defects": by_rule,
        "late": len(late),
        "details": {
            "defects": [
                {
                    "document_no": g.defect.document_no,
                    "rule": g.defect.rule,
                    "field": g.defect.field,
                    "value": _plain(g.defect.value),
                }
                for g in defects
            ],
            "late": [
                {"document_no": r["document_no"], "decision_date": r["decision_date"].isoformat()}
                for r in late
            ],
        },
    }
