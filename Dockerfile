# The pipeline's Airflow image: the official Airflow image of the pinned version + the product wheel at the lock's pins.

# The product wheel: the `supervision` package with its data files (migrations and SQL models, divisions, registries,
# templates, the DAG files and plugins), built from the package alone; the dev package include/supervision_dev (simulator, demo, benchmarks)
# is not copied.
FROM apache/airflow:3.3.2-python3.11 AS wheel
RUN mkdir -p /tmp/build  # as the image's user (airflow), so the build can write in it
WORKDIR /tmp/build
COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root include/supervision include/supervision
COPY --chown=airflow:root include/data include/data
COPY --chown=airflow:root sql sql
COPY --chown=airflow:root dags dags
COPY --chown=airflow:root plugins plugins
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist .

FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.lock /opt/supervision/requirements.lock
COPY --from=wheel --chown=airflow:root /tmp/dist /opt/supervision/dist
# The lock as constraints: the wheel's dependencies at the pinned versions; the lock's dev-only packages (pytest,
# playwright, dlt, ...) are not installed.
RUN pip install --no-cache-dir -c /opt/supervision/requirements.lock /opt/supervision/dist/*.whl
COPY --chown=airflow:root dags /opt/supervision/dags
COPY --chown=airflow:root plugins /opt/supervision/plugins
# the deployment's county registry (SUPERVISION_REGISTRY in docker-compose.yaml): configuration, edited per deployment
COPY --chown=airflow:root include/data/registries /opt/supervision/include/data/registries
ENV SUPERVISION_DATA_DIR=/opt/supervision/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/supervision/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/supervision/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
