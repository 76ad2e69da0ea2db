"""Supervisor marts (issue 5): dimensional model, KPIs, watchlists, row-level security, pseudonymized PII.

Modules: ``pii`` (keyed pseudonyms), ``model`` (fact
tables from the contract), ``kpis`` (the measure catalog), ``refresh`` (after each nightly load), ``access``
(supervisor logins), ``assets`` (Airflow assets), ``cli`` (``supervision supervisor`` / ``supervision marts``).
The refresh benchmark (a province-year of synthetic records) is the dev tool ``supervision_dev.bench_marts``.
SQL: sql/migrations/V100-V199 (tables), sql/models/marts (views, one per file; each measure in its model).
"""
