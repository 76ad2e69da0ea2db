"""The PostgreSQL warehouse: connection (embedded server by default), migrations, ledger and loading.

Modules: ``connection`` (where the warehouse is), ``migrate`` (schema and reference data), ``models``
(the views of sql/models, deployed after the migrations), ``ddl`` (core
tables from the contract), ``ledger`` (ops.submission, ops.quarantine), ``load`` (core tables).
Names are re-exported lazily so that ``supervision db url`` does not pay for pandas and pyarrow.
"""

from importlib import import_module

_EXPORTS = {
    "warehouse_url": "connection", "connect": "connection", "sqlalchemy_engine": "connection",
    "redacted": "connection", "start_embedded": "connection", "stop_embedded": "connection",
    "embedded_running": "connection",
    "migrate": "migrate", "deploy_warehouse": "migrate",
    "require_current_schema": "migrate", "load_divisions": "migrate",
    "deploy_models": "models",
    "record_submission": "ledger", "write_quarantine": "ledger",
    "load_records": "load", "LoadResult": "load",
    "core_table_ddl": "ddl",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
