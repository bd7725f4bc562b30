"""The core of the credit-repair integration hub: no Airflow import anywhere below here."""
