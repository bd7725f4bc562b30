"""Airflow for the DAG tests: its own home and metadata database in a temporary folder.

Set before Airflow is first imported, so nothing is written to ``~/airflow``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook import loopback_webhook

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hub-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="True",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    # Airflow's info lines (several per task and API call) cost a third of a dag.test() run.
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (once per session), with the agency pools and the
    policy that puts each collect task into its agency's pool, as a deployment has them."""
    from airflow.utils import db

    from hub_airflow.testing import prepare_local_airflow

    db.initdb()
    prepare_local_airflow()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path):
    """Every DAG in ``dags/``, parsed the way the dag processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def asset_event_extras(asset_name: str) -> list[dict]:
    """The ``extra`` of every event of the Asset ``asset_name`` so far, oldest first."""
    from airflow import settings as airflow_settings
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    with airflow_settings.Session() as session:
        return list(
            session.scalars(
                select(AssetEvent.extra)
                .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .where(AssetModel.name == asset_name)
                .order_by(AssetEvent.id)
            )
        )


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A loopback webhook recording what is posted to it (``tests.webhook``)."""
    with loopback_webhook() as hook:
        yield hook
