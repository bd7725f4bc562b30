"""Airflow's cluster policies for the hub's deployment (copied into ``$AIRFLOW_HOME/config``).

``task_instance_mutation_hook`` puts every mapped ``collect`` task instance into the pool of its
source's agency (see ``hub_airflow.setup``); the pools themselves are imported by the compose
file's ``airflow-init`` (``hub airflow pools``).
"""

from hub_airflow.setup import task_instance_mutation_hook

__all__ = ["task_instance_mutation_hook"]
