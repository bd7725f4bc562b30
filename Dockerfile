# The hub's image: the official Airflow image of the locked Airflow version, with the project's
# locked requirements and the project itself. Airflow's components, the init job and the sandbox
# all run it (docker-compose.yml); see docs/deployment.md.
#
#   docker compose build            (or: docker build -t credit-hub .)
#
# The Airflow version here and apache-airflow in requirements.lock must be the same.
FROM apache/airflow:3.3.2-python3.11

USER root
# Where the compose file mounts named volumes: HUB_VAR_DIR (reports, delta files, file drops, the
# sandbox) and the simple auth manager's passwords. Owned by the airflow user here, so that a new
# volume mounted on them starts with that ownership.
RUN mkdir -p /var/lib/hub /opt/airflow/auth \
    && chown airflow:0 /var/lib/hub /opt/airflow/auth \
    && chmod 0775 /var/lib/hub /opt/airflow/auth
USER airflow

# Dependencies first: this layer is rebuilt only when the lock changes. As the image's docs ask,
# pip runs as the airflow user; the lock pins apache-airflow to the image's own version.
# It also pins asyncpg, which every `airflow` command needs on a PostgreSQL metadata database.
COPY --chown=airflow:0 requirements.lock /opt/hub/requirements.lock
RUN pip install --no-cache-dir -r /opt/hub/requirements.lock

# The project (the compose file mounts the working copy over it, read-only). An editable install
# gives the `hub` command and imports the packages from /opt/hub, where hub.core.settings finds the
# mappings beside them.
COPY --chown=airflow:0 . /opt/hub
RUN pip install --no-cache-dir --no-deps -e /opt/hub

ENV PYTHONPATH=/opt/hub \
    HUB_VAR_DIR=/var/lib/hub \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/hub/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/hub/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
