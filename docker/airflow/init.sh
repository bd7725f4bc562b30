#!/usr/bin/env bash
# The compose file's airflow-init: what the Airflow components and the hub need before they start.
# Every step is idempotent, so it runs on every `docker compose up`.
set -euo pipefail

echo "airflow-init: Airflow's metadata database"
airflow db migrate

echo "airflow-init: the agency pools of the source registry"
pools=$(mktemp --suffix=.json)
hub airflow pools >"$pools"
airflow pools import "$pools"
rm -f "$pools"

echo "airflow-init: the platform database (migrations and reference data)"
hub init-db

echo "airflow-init: the API server's login (simple auth manager)"
python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
user, password = os.environ["AIRFLOW_ADMIN_USER"], os.environ["AIRFLOW_ADMIN_PASSWORD"]
path.write_text(json.dumps({user: password}) + "\n", encoding="utf-8")
path.chmod(0o600)
PY
echo "airflow-init: done"
