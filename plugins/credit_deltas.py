"""The Airflow plugin serving the delta-file pull API inside Airflow's API server.

Airflow 3 mounts a plugin's ``fastapi_apps`` on its API server: the pull API answers under
``<airflow api server>/credit-deltas/`` (e.g. ``GET /credit-deltas/sites/wenzhou/deltas``). The app
is ``hub.publish.api.create_app``: it checks the site's own bearer token on every request
(Airflow's login does not protect plugin apps) and opens the platform database
(``HUB_DATABASE_URL``) and the delta folder (``HUB_DELTA_DIR``) on its first request, never at
import.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from hub.publish.api import create_app

URL_PREFIX = "/credit-deltas"


class CreditDeltasPlugin(AirflowPlugin):
    """Serves the pull API of the credit-repair delta files."""

    name = "credit_deltas"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "credit-repair delta files"}
    ]
