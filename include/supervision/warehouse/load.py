"""Bulk, idempotent loading of typed records into ``core.<table>`` (current versions) and
``core.<table>_superseded`` (older versions); ``core.<table>_history`` is the view of both (V400).

Every version is written once, by binary COPY (:mod:`supervision.warehouse.binary_copy`), with its
``row_hash`` computed client-side (:mod:`supervision.warehouse.row_hash`, byte-identical to
:func:`supervision.warehouse.ddl.row_hash_sql`).

Which version is current: the newest ``updated_at`` wins; on a tie a later submission with other content wins
(within one submission: the later source row); an identical version changes nothing. A load is idempotent:
re-loading a file, or loading an older one late, changes nothing.

Per batch (one :meth:`RecordLoader.add`), in the loader's transaction (the caller's if one is open), after a
per-(table, county) advisory lock:

* sorted by (county, record id) — sequential primary-key inserts — and reduced to one winner per key (newest
  version in the batch); the other versions of a key in the batch are its losers;
* fast path, while no key of the load was found in core: the winners go straight into ``core.<table>`` by COPY
  under a savepoint (a sample of keys is probed first); their losers into ``_superseded``. A key absent from
  core is absent from ``_superseded`` (every superseded version's key has a current row), so nothing else can
  conflict. A unique violation rolls back to the savepoint and the batch, and the rest of the load, take:
* slow path: COPY into a temp stage (ANALYZEd), then one statement (:func:`merge_sql`): a join with core finds
  the keys with work to do (an identical re-send has none; PK index look-ups for a small stage, a merge join
  for a big one), then replaced current rows move to ``_superseded``, a version that becomes current again
  leaves it, incoming versions that lose are added unless already stored, and the winners are inserted into
  or updated in core.

Semantics as before V400 (tests/integration/warehouse/test_load.py), plus: NULL and '' stay apart; naive
timestamps are UTC; money from floats rounds half away from zero to 2 decimals; varchar(n) values whose excess
is only spaces are cut as PostgreSQL cuts them (so the hash is of the stored value). The caller's transaction
is respected; the advisory locks last until it ends.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import errors, sql
from psycopg.copy import QueuedLibpqWriter

from supervision.contract import BOOL, DATE, MONEY, SOURCE_ROW, TIMESTAMP, RecordType
from supervision.warehouse.binary_copy import HEADER, TRAILER, encode_rows
from supervision.warehouse.ddl import CORE_SCHEMA, superseded_table
from supervision.warehouse.row_hash import row_hashes

BATCH_ROWS = 100_000  # rows per CSV COPY chunk (copy_csv)
CHUNK_ROWS = 50_000  # rows per encoded binary COPY chunk: bounds the bytes in flight (~15 MB)
FIRST_CHUNK_ROWS = 10_000  # a small first chunk: the server starts sooner
PROBE_KEYS = 1_000  # keys of a batch looked up in core before trying the fast path
QUEUE_BATCHES = 2  # batches waiting for the worker: the producer blocks when the database is behind
COPY_QUEUE_BUFFERS = 256  # 128 KiB buffers queued for the socket (32 MiB) while the next chunk is encoded
META = ("submission_id", "source_row", "row_hash")


@dataclass(frozen=True)
class LoadResult:
    rows_in: int  # rows received
    inserted: int  # keys new to the core table
    updated: int  # keys whose stored row was replaced by a newer version
    unchanged: int  # keys whose stored row is as new or newer (re-sent, or an older version)
    history_added: int  # versions (updated_at, content) not stored before
    duplicates: int = 0  # rows superseded by a newer row for the same key in the same batch

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


EMPTY = LoadResult(0, 0, 0, 0, 0)


def copy_csv(conn: psycopg.Connection, target: sql.Composable, columns, data: pa.Table) -> None:
    """COPY an Arrow table into ``target`` as CSV. pyarrow quotes every string and writes NULL as a bare
    empty field, which is how PostgreSQL's CSV format tells '' from NULL."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor().copy(stmt) as copy:
        for start in range(0, max(data.num_rows, 1), BATCH_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(data.slice(start, BATCH_ROWS), buf, pacsv.WriteOptions(include_header=False))
            copy.write(buf.getbuffer())


# --- typed Arrow input ---------------------------------------------------------------------------------------

def to_arrow(rt: RecordType, frame: pd.DataFrame) -> pa.Table:
    """A typed frame (one column per contract field, plus ``_source_row``) as a table of ``rt.typed_schema()``.

    Types: datetime64 for dates, tz-aware datetime64 for timestamps (naive = UTC), float or Decimal for
    money, boolean for bools, strings for the rest; NA = NULL, '' stays ''."""
    missing = [n for n in rt.field_names if n not in frame.columns]
    if missing:
        raise ValueError(f"{rt.name}: frame lacks contract fields {missing}")
    arrays = {f.name: pa.array(frame[f.name], from_pandas=True) for f in rt.fields}
    src = frame[SOURCE_ROW] if SOURCE_ROW in frame.columns else pd.Series([None] * len(frame), dtype="Int64")
    arrays[SOURCE_ROW] = pa.array(src, from_pandas=True, type=pa.int32())
    return typed_table(rt, pa.table(arrays))


def _money(a: pa.Array) -> pa.Array:
    """decimal128(14,2) from float (NaN = NULL), integer or decimal, rounding half away from zero as numeric
    input does; out of range raises like PostgreSQL would."""
    t = a.type
    if pa.types.is_decimal(t):
        if t.scale > 2:
            a = pc.round(a, ndigits=2, round_mode="half_towards_infinity")
        try:
            return a.cast(pa.decimal128(14, 2))
        except pa.ArrowInvalid as e:
            raise ValueError(f"money value out of range of numeric(14,2): {e}") from e
    if pa.types.is_null(t):
        return pa.nulls(len(a), pa.decimal128(14, 2))
    if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
        raise ValueError(f"money from {t}: expected float, integer or decimal")
    a = a.cast(pa.float64())
    v = a.fill_null(0).to_numpy(zero_copy_only=False) if a.null_count else a.to_numpy()
    valid = np.asarray(pc.is_valid(a)) & ~np.isnan(v)
    v = np.where(valid, v, 0.0)
    scaled = v * 100
    cents = np.trunc(scaled + np.copysign(0.5, scaled))
    if not np.all(np.abs(cents) < 10 ** 14):
        raise ValueError("money value out of range of numeric(14,2) (or infinite)")
    cents = cents.astype(np.int64)
    words = np.empty((len(a), 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension: 128-bit little-endian two's complement
    mask = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(14, 2), len(a), [mask, pa.py_buffer(words)],
                                 null_count=-1 if mask is not None else 0)


def _field_array(f, a: pa.Array) -> pa.Array:
    t = a.type
    if pa.types.is_dictionary(t):
        a = a.dictionary_decode()
        t = a.type
    if f.type == MONEY:
        return _money(a)
    if f.type == DATE:
        return a if t == pa.date32() else a.cast(pa.date32(), safe=False)  # a datetime's time part dropped
    if f.type == TIMESTAMP:
        if pa.types.is_timestamp(t) and t.tz is None:
            a = pc.assume_timezone(a, "UTC")  # naive = UTC
        return a.cast(pa.timestamp("us", tz="UTC"), safe=False)
    if f.type == BOOL:
        return a.cast(pa.bool_())
    if pa.types.is_null(t) or pa.types.is_integer(t) or pa.types.is_large_string(t) or pa.types.is_string(t):
        return a.cast(pa.string())  # integer: a code read as a number
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return a.cast(pa.string())  # checks UTF-8
    raise ValueError(f"{f.name}: cannot load {t} into {f.sql_type}")


def _varchar_limit(f) -> int | None:
    return f.max_length if f.sql_type.startswith("varchar(") else None


def _truncate_spaces(a: pa.Array, limit: int) -> pa.Array:
    """varchar(n) input drops excess characters that are all spaces (longer values are an error there): do
    the same, so the hash is of the value stored."""
    offsets = np.frombuffer(a.buffers()[1], np.int32, len(a) + 1, a.offset * 4)
    if len(a) == 0 or np.diff(offsets).max() <= limit:  # bytes >= characters
        return a
    long = pc.fill_null(pc.greater(pc.utf8_length(a), limit), False)
    excess = pc.utf8_slice_codeunits(a, limit)
    spaces_only = pc.fill_null(pc.equal(pc.utf8_rtrim(excess, characters=" "), ""), False)
    return pc.if_else(pc.and_(long, spaces_only), pc.utf8_slice_codeunits(a, 0, limit), a)


def typed_table(rt: RecordType, data: pa.Table) -> pa.Table:
    """``data`` (a pa.Table of typed rows) as exactly ``rt.typed_schema()``: contract fields in order, then
    ``_source_row`` (NULL when absent). Raises ValueError for a missing field."""
    missing = [n for n in rt.field_names if n not in data.column_names]
    if missing:
        raise ValueError(f"{rt.name}: data lacks contract fields {missing}")
    arrays = []
    for f in rt.fields:
        a = _field_array(f, data.column(f.name).combine_chunks())
        limit = _varchar_limit(f)
        if limit:
            a = _truncate_spaces(a, limit)
        arrays.append(a)
    src = data.column(SOURCE_ROW).combine_chunks().cast(pa.int32()) if SOURCE_ROW in data.column_names else \
        pa.nulls(data.num_rows, pa.int32())
    return pa.Table.from_arrays([*arrays, src], schema=rt.typed_schema())


# --- one batch, client side ----------------------------------------------------------------------------------

@dataclass
class _Batch:
    table: pa.Table  # typed rows as received
    winners: np.ndarray  # row positions, sorted by key: the newest version of each key
    losers: pa.Table | None  # other versions of those keys, distinct, not equal to the winner, with row_hash
    rows: int

    @property
    def duplicates(self) -> int:
        return self.rows - len(self.winners)


def _words(a: pa.Array) -> list[np.ndarray]:
    """Big-endian uint64 words of each string, zero-padded: comparing them in order compares the bytes (the
    C / C.UTF-8 order of the btree); a shorter string sorts first."""
    a = a.cast(pa.string()) if not pa.types.is_string(a.type) else a
    n = len(a)
    offsets = np.frombuffer(a.buffers()[1], np.int32, n + 1, a.offset * 4).astype(np.int64)
    lengths = np.diff(offsets)
    width = int(lengths.max()) if n else 0
    if width == 0:
        return []
    data = np.zeros(offsets[-1] - offsets[0] + 8, np.uint8)  # 8 spare bytes: every 8-byte read is inside
    data[:-8] = np.frombuffer(a.buffers()[2], np.uint8, offsets[-1] - offsets[0], offsets[0])
    eight = np.ndarray((len(data) - 7,), ">u8", data, strides=(1,))  # the 8 bytes from any position
    starts = offsets[:-1] - offsets[0]
    words = []
    for k in range(0, width, 8):
        w = eight[np.minimum(starts + k, len(eight) - 1)].astype(np.uint64)  # past a short string: masked
        left = np.clip(lengths - k, 0, 8).astype(np.uint64)  # bytes of this word that belong to the string
        keep = np.where(left == 8, np.uint64(0xFFFF_FFFF_FFFF_FFFF),
                        ~(np.uint64(0xFFFF_FFFF_FFFF_FFFF) >> (left * np.uint64(8))))
        words.append(w & keep)
    return words


def _desc_nulls_last(a: pa.Array) -> np.ndarray:
    v = a.cast(pa.int64())
    return -np.where(np.asarray(pc.is_valid(v)), v.fill_null(0).to_numpy(), np.iinfo(np.int64).min + 1)


def _sort_order(table: pa.Table) -> np.ndarray:
    """Positions by (county_code, record_id, updated_at desc, source row desc nulls last): numpy lexsort of the
    keys as integer words (several times faster than sorting strings)."""
    keys = [_desc_nulls_last(table.column(SOURCE_ROW).combine_chunks()),
            _desc_nulls_last(table.column("updated_at").combine_chunks())]
    keys += _words(table.column("record_id").combine_chunks())[::-1]
    county = table.column("county_code").combine_chunks()
    if pc.count_distinct(county, mode="all").as_py() > 1:
        keys += _words(county)[::-1]
    return np.lexsort(keys)  # the last key is the primary one


def _prepare(rt: RecordType, table: pa.Table) -> _Batch:
    n = table.num_rows
    order = _sort_order(table)
    cc = table.column("county_code").take(order)
    rid = table.column("record_id").take(order)
    first = np.ones(n, bool)
    if n > 1:
        same = pc.and_(pc.equal(cc.slice(1), cc.slice(0, n - 1)), pc.equal(rid.slice(1), rid.slice(0, n - 1)))
        first[1:] = ~np.asarray(pc.fill_null(same, False))
    winners = order[first]
    losers = None
    if not first.all():
        group = np.cumsum(first) - 1  # sorted row -> its key's winner (position in winners)
        lose = order[~first]
        lt = table.take(lose)
        wt = table.take(winners[group[~first]])
        lh, wh = row_hashes(rt, lt), row_hashes(rt, wt)
        same_version = np.asarray(pc.and_(pc.equal(lt.column("updated_at"), wt.column("updated_at")),
                                          pc.equal(lh, wh)))
        keys = pd.DataFrame({"g": group[~first], "t": lt.column("updated_at").cast(pa.int64()).to_numpy(),
                             "h": lh.to_numpy(zero_copy_only=False)})
        keep = ~same_version & ~keys.duplicated().to_numpy()  # sorted: the latest source row of a version
        if keep.any():
            losers = lt.filter(pa.array(keep)).append_column("row_hash", lh.filter(pa.array(keep)))
    return _Batch(table, winners, losers, n)


def _copy_columns(rt: RecordType, *, latest: bool = False) -> list[str]:
    """COPY column order: fixed-width fields first (one numpy block), then the strings."""
    fixed = [f.name for f in rt.fields if f.type in (DATE, TIMESTAMP, MONEY, BOOL)]
    strings = [f.name for f in rt.fields if f.type not in (DATE, TIMESTAMP, MONEY, BOOL)]
    return [*fixed, *META, *(["latest"] if latest else []), *strings]


def _encode(rt: RecordType, table: pa.Table, columns: list[str], submission_id: int, timings: dict, *,
            hashes=None, latest: bool | None = None) -> pa.Buffer:
    n = table.num_rows
    t0 = time.perf_counter()
    if hashes is None:
        hashes = row_hashes(rt, table)
    t1 = time.perf_counter()
    extra = {"submission_id": pa.array(np.full(n, submission_id, np.int64)),
             "source_row": table.column(SOURCE_ROW).combine_chunks(), "row_hash": hashes}
    if latest is not None:
        extra["latest"] = pa.array(np.full(n, latest))
    out = encode_rows([extra[c] if c in extra else table.column(c) for c in columns])
    timings["hash"] += t1 - t0
    timings["encode"] += time.perf_counter() - t1
    return out


class _Writer(QueuedLibpqWriter):
    """psycopg's queued writer (a thread pushes the bytes) with a smaller queue: the next chunk is encoded
    while the server ingests this one, with at most COPY_QUEUE_BUFFERS x 128 KiB waiting."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=COPY_QUEUE_BUFFERS)


def _copy(conn: psycopg.Connection, target: sql.Composable, columns: list[str], chunks) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    cur = conn.cursor()
    with cur.copy(stmt, writer=_Writer(cur)) as cp:
        cp.write(HEADER)
        for buf in chunks:
            cp.write(buf)
        cp.write(TRAILER)


# --- the loader ----------------------------------------------------------------------------------------------

_FINISH, _ABORT = object(), object()


class _Aborted(Exception):
    pass


class RecordLoader:
    """Streaming load of one submission's validated rows: ``add()`` batches (pa.Table of ``rt.typed_schema()``,
    or a typed pandas frame), then ``finish()``.

    ``add`` returns at once: one background thread sorts, hashes, encodes and COPYs each batch, in the loader's
    transaction (the caller's, when one is open on ``conn``); at most QUEUE_BATCHES batches wait, so ``add``
    blocks when the database is behind. Do not use ``conn`` between the first ``add`` and ``finish``/``abort``.
    ``finish`` waits, commits (or releases the savepoint in the caller's transaction) and returns the summed
    counts; it re-raises a worker error (with its traceback), after which the load is rolled back. ``abort``
    rolls back. A key sent in two batches counts in each (the later one as updated or unchanged), while
    load_records sees one batch.
    """

    def __init__(self, conn: psycopg.Connection, rt: RecordType, submission_id: int):
        self.conn, self.rt, self.submission_id = conn, rt, submission_id
        self.result = EMPTY
        self.timings: dict[str, float] = defaultdict(float)  # seconds per step, summed over batches
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._slow = False  # once a key of this load was found in core: every later batch takes the slow path
        self._locked: set[str] = set()
        self._stage: sql.Identifier | None = None
        names = {"core": rt.table, "superseded": superseded_table(rt)}
        self._core, self._superseded = (sql.Identifier(CORE_SCHEMA, names[k]) for k in ("core", "superseded"))

    # producer side

    def add(self, data: pa.Table | pd.DataFrame) -> None:
        if self._closed:
            raise RuntimeError("RecordLoader: add() after finish() or abort()")
        table = to_arrow(self.rt, data) if isinstance(data, pd.DataFrame) else typed_table(self.rt, data)
        if table.num_rows == 0:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"load-{self.rt.table}", daemon=True)
            self._thread.start()
        self._put(table)

    def _put(self, item) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def finish(self) -> LoadResult:
        if self._closed:
            raise RuntimeError("RecordLoader: finish() twice, or after abort()")
        self._closed = True
        if self._thread is not None:
            with contextlib.suppress(BaseException):
                self._put(_FINISH)
            self._thread.join()
            if self._error is not None:
                raise self._error
        return self.result

    def abort(self) -> None:
        """Stop and roll the load back (after the batch in progress); never raises."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            with contextlib.suppress(BaseException):
                self._put(_ABORT)
            self._thread.join()

    def __enter__(self) -> RecordLoader:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.finish()

    # worker side

    def _run(self) -> None:
        try:
            with self.conn.transaction():
                # sorts and hashes of a big merge in memory; no JIT (seconds of compiling for a one-off plan)
                self.conn.execute("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")
                if self.conn.info.encoding != "utf-8":
                    self.conn.execute("SET LOCAL client_encoding TO 'UTF8'")  # the COPY bytes are UTF-8
                while True:
                    item = self._queue.get()
                    if item is _FINISH:
                        break
                    if item is _ABORT:
                        raise _Aborted
                    self.result += self._load(item)
                if self._stage is not None:
                    self.conn.execute(sql.SQL("DROP TABLE {}").format(self._stage))  # the caller's transaction may go on
        except _Aborted:
            pass
        except BaseException as e:
            self._error = e
        finally:
            while True:  # unblock a producer waiting on a full queue
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def _lock(self, table: pa.Table) -> None:
        for county in sorted(set(pc.unique(table.column("county_code")).drop_null().to_pylist()) - self._locked):
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                              (f"{CORE_SCHEMA}.{self.rt.table}", county))
            self._locked.add(county)

    def _load(self, table: pa.Table) -> LoadResult:
        tm = self.timings
        t0 = time.perf_counter()
        self._lock(table)
        t1 = time.perf_counter()
        batch = _prepare(self.rt, table)
        t2 = time.perf_counter()
        tm["lock"] += t1 - t0
        tm["sort"] += t2 - t1
        if not self._slow and self._probe(batch):
            self._slow = True
        tm["probe"] += time.perf_counter() - t2
        if not self._slow:
            t0 = time.perf_counter()
            try:
                with self.conn.transaction():  # savepoint
                    _copy(self.conn, self._core, _copy_columns(self.rt), self._winner_chunks(batch))
            except errors.UniqueViolation:
                self._slow = True  # an update file: the rest of the load takes the slow path too
                tm["fast_path_failed"] += time.perf_counter() - t0
            else:
                losers = 0
                if batch.losers is not None:
                    losers = batch.losers.num_rows
                    cols = _copy_columns(self.rt)
                    _copy(self.conn, self._superseded, cols,
                          [_encode(self.rt, batch.losers, cols, self.submission_id, tm,
                                   hashes=batch.losers.column("row_hash").combine_chunks())])
                tm["copy_core"] += time.perf_counter() - t0
                keys = len(batch.winners)
                return LoadResult(batch.rows, keys, 0, 0, keys + losers, batch.duplicates)
        return self._merge(batch)

    def _winner_chunks(self, batch: _Batch, *, latest: bool | None = None):
        cols = _copy_columns(self.rt, latest=latest is not None)
        n = len(batch.winners)
        bounds = [0, *range(FIRST_CHUNK_ROWS, n, CHUNK_ROWS), n] if n > FIRST_CHUNK_ROWS else [0, n]
        for start, end in itertools.pairwise(bounds):
            t0 = time.perf_counter()
            chunk = batch.table.take(pa.array(batch.winners[start:end]))
            self.timings["take"] += time.perf_counter() - t0
            yield _encode(self.rt, chunk, cols, self.submission_id, self.timings, latest=latest)

    def _probe(self, batch: _Batch) -> bool:
        """Whether some key of the batch (a sample of PROBE_KEYS) is already in core: then skip the fast path."""
        pick = batch.winners[np.unique(np.linspace(0, len(batch.winners) - 1, PROBE_KEYS).astype(np.int64))]
        keys = batch.table.select(["county_code", "record_id"]).take(pa.array(pick))
        cc, rid = (self.rt.field(n).sql_type for n in ("county_code", "record_id"))
        stmt = sql.SQL("SELECT EXISTS (SELECT FROM unnest(%s::{}[], %s::{}[]) k (county_code, record_id) "
                       "JOIN {} c USING (county_code, record_id))").format(sql.SQL(cc), sql.SQL(rid), self._core)
        return self.conn.execute(stmt, (keys.column(0).to_pylist(), keys.column(1).to_pylist())).fetchone()[0]

    def _ensure_stage(self) -> sql.Identifier:
        if self._stage is None:
            self._stage = sql.Identifier("_load_" + self.rt.table)
            cols = [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(f.sql_type)) for f in self.rt.fields]
            cols += [sql.SQL(s) for s in ("submission_id bigint", "source_row int", "row_hash text", "latest boolean")]
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(self._stage))
            self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                self._stage, sql.SQL(", ").join(cols)))
        else:
            self.conn.execute(sql.SQL("TRUNCATE {}").format(self._stage))
        return self._stage

    def _merge(self, batch: _Batch) -> LoadResult:
        tm = self.timings
        t0 = time.perf_counter()
        stage = self._ensure_stage()
        cols = _copy_columns(self.rt, latest=True)
        chunks = self._winner_chunks(batch, latest=True)
        if batch.losers is not None:
            chunks = itertools.chain(chunks, [_encode(
                self.rt, batch.losers, cols, self.submission_id, tm, latest=False,
                hashes=batch.losers.column("row_hash").combine_chunks())])
        _copy(self.conn, stage, cols, chunks)
        self.conn.execute(sql.SQL("ANALYZE {}").format(stage))  # so a small stage joins core by its index
        t1 = time.perf_counter()
        inserted, updated, revived, lost = self.conn.execute(merge_sql(
            self.rt, stage, self._core, self._superseded, losers=batch.losers is not None)).fetchone()
        tm["copy_stage"] += t1 - t0
        tm["merge"] += time.perf_counter() - t1
        keys = len(batch.winners)
        history_added = inserted + updated - revived + lost
        return LoadResult(batch.rows, inserted, updated, keys - inserted - updated, history_added, batch.duplicates)


def merge_sql(rt: RecordType, stage: sql.Composable, core: sql.Composable, superseded: sql.Composable, *,
              losers: bool = True) -> sql.Composed:
    """One statement over the stage (one ``latest`` row per key, plus, with ``losers``, that key's other
    incoming versions). ``w`` holds only the keys with work to do (an identical re-send is not in it) and
    points back at the stage row by ctid; the parts touch disjoint keys or versions, so the statement's single
    snapshot is enough (``moved`` reads core as it was before ``upd``). Returns (inserted, updated, revived,
    lost)."""
    target = [*rt.field_names, *META]
    ident = sql.Identifier
    tcols = sql.SQL(", ").join(map(ident, target))
    scols = sql.SQL(", ").join(ident("s", c) for c in target)
    set_cols = [c for c in target if c not in ("county_code", "record_id")]
    losers_part = sql.SQL("""
            UNION ALL  -- other incoming versions of the batch's keys, unless the current one
            SELECT {scols} FROM {stage} s
            LEFT JOIN {core} c ON c.county_code = s.county_code AND c.record_id = s.record_id
            WHERE NOT s.latest AND (c.record_id IS NULL OR s.updated_at <> c.updated_at OR s.row_hash <> c.row_hash)
        """).format(scols=scols, stage=stage, core=core) if losers else sql.SQL("")
    return sql.SQL("""
        WITH w AS MATERIALIZED (
            SELECT * FROM (
                SELECT s.ctid AS sref, s.county_code, s.record_id, s.updated_at, s.row_hash,
                       c.updated_at AS cur_updated_at, c.row_hash AS cur_row_hash,
                       CASE WHEN c.record_id IS NULL THEN 'i'
                            -- newest updated_at wins; on a tie a later submission (then a later source row)
                            -- with other content replaces the stored one; an identical version changes nothing
                            WHEN s.updated_at > c.updated_at
                              OR (s.updated_at = c.updated_at AND s.row_hash <> c.row_hash
                                  AND (s.submission_id, coalesce(s.source_row, -1))
                                      > (c.submission_id, coalesce(c.source_row, -1)))
                            THEN 'u' ELSE 'n' END AS action
                FROM {stage} s LEFT JOIN {core} c ON c.county_code = s.county_code AND c.record_id = s.record_id
                WHERE s.latest
            ) x
            WHERE action <> 'n' OR updated_at <> cur_updated_at OR row_hash <> cur_row_hash
        ), moved AS (  -- (a) a replaced current row becomes a superseded version
            INSERT INTO {superseded}
            SELECT c.* FROM w JOIN {core} c ON c.county_code = w.county_code AND c.record_id = w.record_id
            WHERE w.action = 'u'
            ON CONFLICT DO NOTHING
        ), revived AS (  -- (b) a superseded version that becomes current again leaves _superseded
            DELETE FROM {superseded} x USING w
            WHERE w.action = 'u' AND x.county_code = w.county_code AND x.record_id = w.record_id
              AND x.updated_at = w.updated_at AND x.row_hash = w.row_hash
            RETURNING 1
        ), lost AS (  -- (c) incoming versions that lose, unless already stored
            INSERT INTO {superseded} ({tcols})
            SELECT {scols} FROM w JOIN {stage} s ON s.ctid = w.sref WHERE w.action = 'n'
            {losers_part}
            ON CONFLICT DO NOTHING
            RETURNING 1
        ), upd AS (  -- (d) winners: replace the current row ...
            UPDATE {core} c SET ({set_cols}, loaded_at) = ({set_vals}, now())
            FROM w JOIN {stage} s ON s.ctid = w.sref
            WHERE w.action = 'u' AND c.county_code = w.county_code AND c.record_id = w.record_id
        ), ins AS (  -- ... or become the first one
            INSERT INTO {core} ({tcols}) SELECT {scols} FROM w JOIN {stage} s ON s.ctid = w.sref WHERE w.action = 'i'
        )
        SELECT count(*) FILTER (WHERE action = 'i'), count(*) FILTER (WHERE action = 'u'),
               (SELECT count(*) FROM revived), (SELECT count(*) FROM lost)
        FROM w""").format(
        stage=stage, core=core, superseded=superseded, tcols=tcols, scols=scols, losers_part=losers_part,
        set_cols=sql.SQL(", ").join(map(ident, set_cols)),
        set_vals=sql.SQL(", ").join(ident("s", c) for c in set_cols))


def load_records(conn: psycopg.Connection, rt: RecordType, data: pd.DataFrame | pa.Table,
                 submission_id: int) -> LoadResult:
    """Load typed rows (a pandas frame, see :func:`to_arrow`, or a pa.Table of ``rt.typed_schema()``) for
    ``submission_id``: one RecordLoader with one batch. Runs in its own transaction, or inside the caller's
    when one is open (then the caller commits)."""
    loader = RecordLoader(conn, rt, submission_id)
    try:
        loader.add(data)
    except BaseException:
        loader.abort()
        raise
    return loader.finish()
