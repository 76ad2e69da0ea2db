# The pipeline's Airflow image: the official Airflow image of the pinned version + the project's locked deps.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.lock /opt/supervision/requirements.lock
RUN pip install --no-cache-dir -r /opt/supervision/requirements.lock
COPY --chown=airflow:root pyproject.toml README.md /opt/supervision/
COPY --chown=airflow:root include /opt/supervision/include
COPY --chown=airflow:root dags /opt/supervision/dags
COPY --chown=airflow:root plugins /opt/supervision/plugins
COPY --chown=airflow:root sql /opt/supervision/sql
RUN pip install --no-cache-dir --no-deps -e /opt/supervision
ENV SUPERVISION_DATA_DIR=/opt/supervision/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/supervision/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/supervision/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
