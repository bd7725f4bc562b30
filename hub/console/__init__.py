"""The web console for provincial leads and operators.

Server-rendered pages over the same functions as the command line and the reports (``hub.jobs``,
``hub.ops``, the report stages).

The app (``hub.console.app.create_app``) is served by the Airflow plugin inside the API server,
behind Airflow's login and auth manager, and by ``hub console`` on a laptop with a local login.
Every page, download and JSON answer goes through the privacy policy (``hub.core.privacy``).
"""
