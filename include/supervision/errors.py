"""Which faults a retry can fix, and which it cannot.

Airflow retries a failed task (the nightly DAG: twice, after 2 and 4 minutes). That helps when the warehouse
was briefly down; it only wastes minutes, and hides the fault, when the same input will fail the same way:
an invalid registry, a path that leaves the drop folder, a file the warehouse refuses. Such faults raise
:class:`DeterministicError` (or are recognised by :func:`is_deterministic`); the DAG's task wrapper turns them
into Airflow's ``AirflowFailException`` (fail now, no retry). This module does not import Airflow.
"""

from __future__ import annotations


class DeterministicError(Exception):
    """A fault that fails the same way on every try: fix the cause, then re-run (no retry is spent on it)."""


class DropRootError(DeterministicError, FileNotFoundError):
    """The drop folder is missing or not a folder."""


class FilesFailed(DeterministicError, RuntimeError):
    """Files of a shard failed in the pipeline for reasons a retry cannot fix (e.g. the warehouse refused a value)."""


class UnsafePath(ValueError):
    """A county-supplied name would leave the drop folder, or a path component is a link."""


class UnreadableFile(ValueError):
    """The file cannot be parsed at all; the whole file is rejected."""


def is_deterministic(exc: BaseException) -> bool:
    """True when trying again with the same input cannot succeed.

    Besides our own :class:`DeterministicError`: a path refused as outside the drop folder, a file that cannot
    be parsed, schema drift, and the warehouse refusing the data itself (SQLSTATE class 22 data exception, e.g.
    a NUL byte in text; class 23 constraint violation other than a unique one). Connection loss, lock timeouts, deadlocks, serialization
    failures and anything unknown are worth a retry.
    """
    import psycopg

    from supervision.validation import SchemaDrift

    deterministic = (DeterministicError, UnsafePath, UnreadableFile, SchemaDrift, psycopg.errors.DataError,
                     psycopg.errors.IntegrityError)
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # also when wrapped (raise ... from e)
        # a unique violation can be a race with a writer outside the county lock: worth a retry
        if isinstance(exc, deterministic) and not isinstance(exc, psycopg.errors.UniqueViolation):
            return True
        seen.add(id(exc))
        exc = exc.__cause__
    return False
