"""Airflow for the DAG tests: its own home and metadata database in a temporary folder.

Set before Airflow is first imported, so nothing is written to ``~/airflow``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hub-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="True",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (once per session), with the agency pools and the
    policy that puts each collect task into its agency's pool, as a deployment has them."""
    from airflow.utils import db

    from hub.airflow_setup import create_pools, install_pool_policy

    db.initdb()
    create_pools()
    install_pool_policy()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path):
    """Every DAG in ``dags/``, parsed the way the dag processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))
