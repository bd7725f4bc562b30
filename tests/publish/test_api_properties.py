"""A property-based run over the pull API's OpenAPI document (schemathesis).

Schemathesis reads the document the app serves, generates requests from it (valid ones, and
invalid ones: out-of-range and non-numeric ``since`` and ``limit``, odd ids and site names) and
checks every answer against the document: never a 500, only documented status codes, content
types and headers, bodies matching their schemas. With a site's token, on SQLite and PostgreSQL,
against three published days; bounded by ``MAX_EXAMPLES`` requests per backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from hub.publish.api import create_app
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from hub.store.publish_schema import delta_file, delta_manifest
from tests.publish.conftest import DAY, ChangeLog, local

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 120
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def token(log: ChangeLog, delta_dir: Path) -> str:
    """Three published days; wenzhou's token."""
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):
        log.apply(local(day, 10), 30)
        publish(day, log.engine)
    with log.engine.begin() as connection:
        return issue_token(connection, "wenzhou")


@pytest.fixture
def pull_api(log: ChangeLog, delta_dir: Path, token: str) -> Iterator[schemathesis.BaseSchema]:
    """The document as the app serves it (to a site with its token, like every path)."""
    app = create_app(log.engine, delta_dir)
    yield schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {token}"}
    )


def _file_ids(engine: sa.Engine) -> list[int]:
    """Wenzhou's files of its last set, and one of jiaxing's."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(delta_manifest.c.site_id, delta_file.c.id)
            .join(delta_manifest)
            .where(delta_manifest.c.site_id.in_(["wenzhou", "jiaxing"]))
            .order_by(delta_file.c.id.desc())
        ).all()
    wenzhou = [i for site, i in rows if site == "wenzhou"]
    return [*wenzhou[:3], next(i for site, i in rows if site == "jiaxing")]


def test_every_answer_is_one_the_document_describes_and_none_is_a_500(
    pull_api: schemathesis.BaseSchema, log: ChangeLog, token: str
) -> None:
    operations = [result.ok() for result in pull_api.get_all_operations()]
    assert sorted(o.label for o in operations) == [
        "GET /files/{file_ref}",
        "GET /sites/{site_id}/deltas",
    ]
    listing, files = sorted(operations, key=lambda o: o.label, reverse=True)
    # Besides what the document alone gives (mostly unknown sites and ids), real ones.
    real = [{"file_ref": str(n)} for n in _file_ids(log.engine)]
    known = [
        *[(operation, None) for operation in operations],
        (listing, {"site_id": "wenzhou"}),
        (listing, {"site_id": "jiaxing"}),
        *[(files, ref) for ref in real],
    ]
    cases = st.one_of(
        [
            operation.as_strategy(mode, path_parameters=fixed)
            for operation, fixed in known
            for mode in GenerationMode
        ]
    )
    answered: Counter[int] = Counter()

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def answer(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
        )
        answered[response.status_code] += 1

    answer()
    assert {200, 403, 404, 422} <= set(answered), answered
