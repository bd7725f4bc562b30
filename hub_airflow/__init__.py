"""The Airflow adapter: everything that knows Airflow, beside ``dags/`` and out of the hub.

The agency pools and the policy that fills them, the DAGs' shared Assets, time zone and default
arguments, the deadline alert, the run's day, and Airflow Connections as the hub's connection
resolver. The hub and its stages never import this package.
"""
