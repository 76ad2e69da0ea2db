"""Configuration as typed models: the county registry (counties, contacts, sources per transport, alerting)
and Airflow connections. ``supervision.registry`` loads a registry file into these models; nothing here reads
the environment or imports the pipeline."""
