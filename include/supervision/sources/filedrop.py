"""File-drop source (contract v1): <drop_root>/<county_code>/<business_date>/{manifest.json, <record_type>.<ext>}.

Everything particular to a drop folder lives here: discovery (:func:`discover`: ``lstat`` only, links, pipes,
devices and hard links refused, odd names listed as unexpected), the manifest and its checks, the arrival
observation (``ops.file_arrival``), and :class:`FileDropSource`, which turns a county's day folder into the
items every source yields (:mod:`supervision.ingest.batch`): one :class:`Batch` per readable file, a
:class:`NoBatch` for a late, missing, refused or unreadable one, and one for the unexpected entries. Reading a
file's bytes is :mod:`supervision.sources.filereader`.

File names come from counties: nothing here opens a path that resolves outside the drop folder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from supervision import county_text as txt
from supervision.contract import RECORD_TYPES, RecordType
from supervision.errors import UnsafePath, is_deterministic
from supervision.ingest.batch import Batch, Item, NoBatch
from supervision.ingest.outcome import FileOutcome, RunContext
from supervision.landing import land_rejected_bytes
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources import RawBatch
from supervision.sources.filereader import ReadAgain, UnreadableFile, file_sha256, read_file
from supervision.warehouse.connection import connect
from supervision.warehouse.ledger import observe_arrival

log = logging.getLogger(__name__)
FORMATS = ("csv", "json", "xlsx", "parquet")
_COUNTY = re.compile(r"[0-9]{6}")  # fullmatch only: \d takes any script's digits, "$" a final newline


def shown(name: str) -> str:
    """A name from the drop folder as a message may print it: quoted, with control and format characters
    (newlines, terminal escapes, bidi overrides) and bytes that are not UTF-8 escaped; Chinese and shell
    punctuation kept as they are (the quotes show where the name ends)."""
    text = name.replace("\\", "\\\\").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    out = []
    for ch in text:
        if unicodedata.category(ch)[0] == "C":
            n = ord(ch)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
        else:
            out.append(ch)
    return "'" + "".join(out).replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Oddity:
    """Why an entry of the drop folder is not read: it is no plain file (or folder) of its own."""

    zh: str
    en: str


def oddity(st: os.stat_result, want_dir: bool = False) -> Oddity | None:
    """None for what may be read (a regular file with one name, or a real folder when ``want_dir``)."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return Oddity("符号链接", "a symbolic link")
    if stat.S_ISDIR(mode):
        return None if want_dir else Oddity("文件夹", "a folder")
    if want_dir:
        return Oddity("文件（应为文件夹）", "a file where a folder belongs")
    if stat.S_ISFIFO(mode):
        return Oddity("命名管道（FIFO）", "a named pipe (FIFO)")
    if stat.S_ISSOCK(mode):
        return Oddity("套接字（socket）", "a socket")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Oddity("设备文件", "a device file")
    if not stat.S_ISREG(mode):
        return Oddity("特殊文件", "not a regular file")
    if st.st_nlink > 1:  # the same bytes under another path (e.g. another county's folder)
        return Oddity("硬链接（内容与其他路径共用）", "a hard link (its bytes are shared with another path)")
    return None


def stat_signature(st: os.stat_result) -> str:
    """Same file, same bytes (as far as a scan can tell without hashing): device, inode, size, mtime and ctime.
    The county can set the mtime but not the ctime, which every write changes."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Unexpected:
    """Something in the drop folder that is no contract file: recorded in the ledger, told to the engineers."""

    path: str  # relative to the drop root, escaped (:func:`shown`)
    zh: str
    en: str


@dataclass
class ManifestEntry:
    rows: int | None
    sha256: str | None


@dataclass
class DayDrop:
    county_code: str
    business_date: date
    folder: Path
    manifest: dict[str, ManifestEntry] | None  # None: no manifest (still read, flagged)
    manifest_error: str | None = None
    encoding: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # record_type -> file
    problems: dict[str, str] = field(default_factory=dict)  # record_type -> why it cannot be used
    ignored: list[str] = field(default_factory=list)  # names in the folder that are no contract file
    refused: str | None = None  # why nothing of the day is read (the county or day folder is a link, ...)
    refused_en: str | None = None  # the same in English
    unexpected: list[Unexpected] = field(default_factory=list)  # entries that are no contract file, or not read
    stats: dict[str, os.stat_result] = field(default_factory=dict)  # record_type -> lstat when discovered

    @property
    def exists(self) -> bool:
        st = _lstat(self.folder)
        return self.refused is None and st is not None and stat.S_ISDIR(st.st_mode)

    def near_misses(self, record_type: str) -> list[str]:
        """Unexpected names that start like this record type's file (a mistyped or mangled name), escaped."""
        prefix = f"{self.county_code}/{self.business_date.isoformat()}/"
        return [u.path for u in self.unexpected if u.path.startswith("'" + prefix + record_type)]


def _inside(root: Path, candidate: Path) -> Path:
    """``candidate`` if it lies below ``root`` through real folders only: no ``..``, and no component below the
    root is a symbolic link (a link's target is never read, wherever it points)."""
    try:
        rel = candidate.relative_to(root)
    except ValueError:
        raise UnsafePath(f"{candidate} is not below the drop folder {root}") from None
    here = root
    for part in rel.parts:
        if part in ("..", "."):
            raise UnsafePath(f"{shown(str(rel))} leaves the drop folder {root}")
        here = here / part
        st = _lstat(here)
        if st is None:
            break  # what does not exist cannot lead anywhere
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(f"{shown(str(here.relative_to(root)))} is a symbolic link; links are not followed")
    return candidate


def day_folder(drop_root: Path, county_code: str, business_date: date) -> Path:
    if not _COUNTY.fullmatch(county_code):
        raise UnsafePath(f"county code {county_code!r} is not six digits")
    return _inside(drop_root, drop_root / county_code / business_date.isoformat())


def _contract_type(name: str) -> str | None:
    stem, _, ext = name.partition(".")
    return stem if stem in RECORD_TYPES and ext.lower() in FORMATS else None


def discover(drop_root: Path, county_code: str, business_date: date) -> DayDrop:
    """What the county dropped for the day: manifest, one file per record type, and what is wrong with them.

    Nothing in the folder is trusted: the county folder, the day folder, each file and the manifest are looked at
    with ``lstat`` and never followed; a link, a named pipe, a device or a hard-linked file is refused without
    opening it (``refused`` for a folder, ``problems`` for a record type's file, ``manifest_error``), and every
    entry that is no contract file is listed in ``unexpected`` (escaped name) for the ledger and the engineers.
    """
    if not _COUNTY.fullmatch(county_code):
        raise UnsafePath(f"county code {county_code!r} is not six digits")
    day_name = business_date.isoformat()
    folder = drop_root / county_code / day_name
    day = DayDrop(county_code, business_date, folder, manifest=None)
    for path, zh, en in ((drop_root / county_code, f"本县文件夹 {county_code}/", f"the county folder {county_code}/"),
                         (folder, f"日期文件夹 {county_code}/{day_name}/", f"the day folder {county_code}/{day_name}/")):
        st = _lstat(path)
        if st is None:
            return day  # nothing dropped (yet)
        if (odd := oddity(st, want_dir=True)) is not None:
            day.refused = f"{zh}是{odd.zh}，未读取其中任何内容，也未跟随链接"
            day.refused_en = f"{en} is {odd.en}; nothing in or behind it was read"
            day.unexpected.append(Unexpected(shown(str(path.relative_to(drop_root))), odd.zh, odd.en))
            return day
    by_type: dict[str, list[Path]] = {}
    manifest_ok = False
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        st = entry.stat(follow_symlinks=False)
        odd = oddity(st)
        rel = shown(f"{county_code}/{day_name}/{entry.name}")
        rt = _contract_type(entry.name)
        if odd is not None:
            day.unexpected.append(Unexpected(rel, odd.zh, odd.en))
        if entry.name == "manifest.json":
            if odd is None:
                manifest_ok = True
            else:
                day.manifest_error = f"manifest.json 是{odd.zh}，未读取 / manifest.json is {odd.en}; not read"
        elif rt is not None:
            if odd is None:
                by_type.setdefault(rt, []).append(folder / entry.name)
                day.stats.setdefault(rt, st)
            else:
                day.problems[rt] = (f"{rel} 是{odd.zh}，未读取；请放入普通文件（不得使用链接）/ {rel} is {odd.en}; "
                                    "not read: put a plain file there (no links)")
        else:
            day.ignored.append(entry.name)
            if odd is None:
                day.unexpected.append(Unexpected(rel, "非约定文件名", "no contract file name"))
    for rt, paths in by_type.items():
        if len(paths) > 1:
            names = ", ".join(shown(p.name) for p in paths)
            day.problems[rt] = (f"同一记录类型有多个文件，未读取：{names}；每种类型只发送一个文件 / ambiguous: {names} "
                                "(send exactly one file per type)")
            continue
        day.files[rt] = paths[0]
    if manifest_ok:
        _read_manifest(day, folder / "manifest.json")
    return day


NOT_A_COUNTY = "000000"  # ledger county code for drop-root entries whose name is no county code
# The simulator's truth files (``supervision simulate`` writes <drop>/_simulation/<date>.json): not reported as
# unexpected when a real folder. Nothing in it (or any unexpected entry) is ever read.
SIMULATOR_TRUTH = "_simulation"


def unknown_submitters(drop_root: Path, known_codes: set[str] | frozenset[str]) -> dict[str, list[Unexpected]]:
    """Entries at the top of the drop folder that belong to no county of the registry: by county code (a
    six-digit name) or :data:`NOT_A_COUNTY`. Looked at with ``lstat`` only; nothing in them is opened."""
    out: dict[str, list[Unexpected]] = {}
    with os.scandir(drop_root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.name in known_codes:
            continue  # a registered county's own folder (links and files there are refused by discover)
        odd = oddity(entry.stat(follow_symlinks=False), want_dir=True)
        if entry.name == SIMULATOR_TRUTH and odd is None:
            continue
        code = entry.name if _COUNTY.fullmatch(entry.name) else NOT_A_COUNTY
        what = (odd.zh, odd.en) if odd else ("不在登记册中的县文件夹" if code != NOT_A_COUNTY else "非县代码文件夹",
                                             "a folder of no county in the registry")
        out.setdefault(code, []).append(Unexpected(shown(entry.name + ("" if odd else "/")), *what))
    return out


def _read_manifest(day: DayDrop, path: Path) -> None:
    try:
        doc = json.loads(_inside(day.folder, path).read_bytes().decode("utf-8-sig"))
        if not isinstance(doc, dict) or not isinstance(doc.get("files", {}), dict):
            raise ValueError("expected an object with a 'files' object")
        if str(doc.get("county_code", day.county_code)) != day.county_code:
            raise ValueError(f"manifest county_code {doc.get('county_code')} is not the folder's {day.county_code}")
        if str(doc.get("business_date", day.business_date.isoformat())) != day.business_date.isoformat():
            raise ValueError(f"manifest business_date {doc.get('business_date')} is not the folder's date")
        day.manifest = {
            rt: ManifestEntry(rows=int(v["rows"]) if v.get("rows") is not None else None,
                              sha256=str(v["sha256"]).lower() if v.get("sha256") else None)
            for rt, v in doc.get("files", {}).items()
        }
        day.encoding = doc.get("encoding")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        day.manifest = None
        day.manifest_error = f"manifest.json unreadable: {e}"


# ---------------------------------------------------------------------------------------------- the source


class FileDropSource:
    """A county that drops files: per record type, its file of the business date as a :class:`Batch`, or a
    :class:`NoBatch` saying why there is none. A file whose loading failed becomes a 'failed' row naming it; a
    file whose overlapped read met what only a whole read can judge (:class:`ReadAgain`) is read again whole."""

    kind = "file_drop"

    def __init__(self, county: County):
        self.county = county

    def batches(self, ctx: RunContext) -> Generator[Item, FileOutcome, None]:
        county = self.county
        try:
            day = discover(ctx.drop_root, county.code, ctx.business_date)
        except UnsafePath as e:
            for rt in RECORD_TYPES:
                yield self._nothing(rt, "failed", str(e))
            return
        if day.unexpected:  # links, pipes, odd names, stray files: in the ledger, and the engineers are alerted
            yield unexpected_item(county.code, ctx, day.unexpected, _zh_label(county))
        for rt in RECORD_TYPES.values():
            try:
                yield from self.file(rt, day, ctx)
            except Exception as e:  # the county's other files still go through; the ledger says what broke
                log.exception("%s %s failed", county.code, rt.name)
                yield self._failure(rt.name, day, ctx, e)

    def file(self, rt: RecordType, day: DayDrop, ctx: RunContext, _whole: bool = False
             ) -> Generator[Item, FileOutcome, None]:
        """The items of one record type's file (one, or two when read again whole)."""
        county = self.county
        where = _label(county)
        if day.refused:  # the county or day folder is a link (or no folder): nothing behind it is read
            yield self._nothing(rt.name, "rejected", (
                f"{_zh_label(county)}：{day.refused}。请把当日文件作为普通文件直接放入本县自己的文件夹 "
                f"{county.code}/{ctx.business_date}/，然后重新运行该日期。 / {where}: {rt.name} not read: "
                f"{day.refused_en}. Send the day's files as plain files in the county's own folder, then re-run the date."))
            return
        if not day.exists:
            yield self._nothing(rt.name, "late", txt.reason_late(
                county, rt, ctx.business_date, county.deadline_at(ctx.business_date)))
            return
        if rt.name in day.problems:
            yield self._nothing(rt.name, "rejected", f"{_zh_label(county)}：{rt.name}：{day.problems[rt.name]} / {where}")
            return
        path = day.files.get(rt.name)
        if path is None:
            listed = day.manifest is not None and rt.name in day.manifest
            near = day.near_misses(rt.name)
            if not near:
                yield self._nothing(rt.name, "missing", txt.reason_missing(county, rt, ctx.business_date, listed))
                return
            yield self._nothing(rt.name, "missing", (
                f"{_zh_label(county)}：{rt.name} 文件名不符合约定，未读取：{'、'.join(near)}；请改名为 "
                f"{rt.name}.<csv|json|xlsx|parquet> 后重新发送。 / "
                + f"{where}: no {rt.name} file for {ctx.business_date}"
                + (" although the manifest lists one" if listed else "")
                + f" (not read, the name is not {rt.name}.<format>: {', '.join(near)})"
                + ". A day with nothing to report still needs a file with just the header line."))
            return
        rel = str(path.relative_to(ctx.drop_root))
        seen = day.stats.get(rt.name)
        swapped = _still_plain(path, seen)
        if swapped is not None:  # became a link or a pipe since discovery: refused, never opened
            yield self._nothing(rt.name, "rejected", (
                f"{_zh_label(county)}：{shown(rel)} 是{swapped.zh}，未读取；请放入普通文件。 / {where}: {shown(rel)} is "
                f"{swapped.en}; not read: send a plain file."))
            return
        try:
            raw = read_file(path, day.encoding, overlap=not _whole)
        except UnreadableFile as e:
            yield self._unreadable(rt, day, ctx, path, rel, str(e))
            return
        raw.file_mtime = datetime.fromtimestamp(seen.st_mtime, tz=UTC) if seen else None
        raw.received_at = _observe(ctx, county.code, rel, raw.sha256, seen)
        manifest_status, manifest_rows, manifest_problem = check_manifest(day, rt.name, raw)
        notes = []
        if manifest_status == "no_manifest":
            notes.append("no manifest.json (file read anyway)" + (f": {day.manifest_error}" if day.manifest_error else ""))
        elif manifest_status == "not_listed":
            notes.append(f"{rt.name} is not listed in manifest.json")
        key = (county.code, rt.name)
        ids_before = len(ctx.night_ids.get(key, ()))  # ingest adds the file's ids; a re-read must not add them twice
        try:
            yield Batch(county.code, rt.name, raw, self.kind, rel, manifest_status, manifest_rows, manifest_problem,
                        notes)
        except ReadAgain as e:
            if _whole:
                raise
            # the file's transaction was rolled back and its Parquet never landed: the whole read decides
            log.warning("%s: %s: parsing while loading stopped (%s); reading the file again whole", where, rel, e)
            if key in ctx.night_ids:
                del ctx.night_ids[key][ids_before:]
            yield from self.file(rt, day, ctx, _whole=True)
        except Exception as e:  # what was received, for the failure's ledger row (batches)
            e.supervision_received = (rel, raw.sha256, raw.rows)
            raise

    def _nothing(self, record_type: str, status: str, reason: str) -> NoBatch:
        return NoBatch(self.county.code, record_type, status, reason, self.kind)

    def _failure(self, record_type: str, day: DayDrop, ctx: RunContext, e: Exception) -> NoBatch:
        """A file that failed in the pipeline: the ledger names the file and counts what was received (rows when
        they were counted before the failure), so reconciliation stays red until a re-run loads or quarantines it.
        Recorded as the file's own attempt (its sha256): a re-run of the same file replaces this row, and an
        earlier loaded file of the day cannot hide it."""
        county = self.county
        path = day.files.get(record_type)
        rel, sha, rows = getattr(e, "supervision_received", (None, None, None))
        if path is not None and rel is None:
            rel = str(path.relative_to(ctx.drop_root))
            try:
                sha = file_sha256(path)
            except OSError:
                sha = None
        what = f"文件 {rel}" + (f"（{rows} 行）" if rows else "") if rel else "当日数据"
        reason = (f"{_label(county)}: {what}处理失败（系统内部错误），既未入库也未隔离；数据工程师已收到通知，修复后将重跑该日期，"
                  f"县里无需重新报送。 Pipeline error on {rel or record_type} ({type(e).__name__}: {str(e)[:300]}): "
                  "nothing loaded or quarantined; the engineers are told; re-run the date after the fix.")
        return NoBatch(county.code, record_type, "failed", reason, self.kind, source_file=rel, sha256=sha,
                       file_format=path.suffix.lstrip(".") if path else None, encoding=day.encoding,
                       rows_received=rows or 0, retry=not is_deterministic(e))

    def _unreadable(self, rt: RecordType, day: DayDrop, ctx: RunContext, path: Path, rel: str, error: str) -> NoBatch:
        """A file that cannot be parsed: rejected whole, its bytes kept under <lake>/rejected/."""
        county = self.county
        sha = file_sha256(path)  # streamed: a file refused for its size is never read into memory
        seen = day.stats.get(rt.name)
        received_at = _observe(ctx, county.code, rel, sha, seen)  # an unreadable file arrived all the same
        kept = land_rejected_bytes(ctx.lake_root, path, sha, rt.name, ctx.business_date, county.code)
        reason = txt.reason_unreadable(county, rt, rel, path.suffix.lstrip("."), error, kept)
        entry = day.manifest.get(rt.name) if day.manifest else None
        return NoBatch(county.code, rt.name, "rejected", reason, self.kind, source_file=rel, sha256=sha,
                       file_format=path.suffix.lstrip("."), encoding=day.encoding, received_at=received_at,
                       file_mtime=datetime.fromtimestamp(seen.st_mtime, tz=UTC) if seen else None,
                       manifest_rows=entry.rows if entry else None, lake_path=str(kept),
                       quarantine=("file.readable", {"kept_at": str(kept), "error": error}))


UNEXPECTED = "*"  # record_type of 'unexpected' ledger rows: the whole county folder of the day


def unexpected_item(county_code: str, ctx: RunContext, entries: list[Unexpected], who: str) -> NoBatch:
    """One 'unexpected' ledger row for a county folder and business date, naming every entry (escaped) that is
    no contract file or was not read; nothing of them was read, so nothing is received."""
    listed = "；".join(f"{u.path}（{u.zh}）" for u in entries)
    listed_en = "; ".join(f"{u.path} ({u.en})" for u in entries)
    reason = (f"{who}：投递目录中有非约定内容，未读取：{listed}。请删除，或按约定放入普通文件 "
              f"<县代码>/<日期>/<记录类型>.<csv|json|xlsx|parquet> 与 manifest.json（不得使用链接、管道或其他特殊文件）；"
              f"已告知数据工程值班。 / The drop folder holds entries that are no contract file and were not read: "
              f"{listed_en}. Remove them or send plain files named as the contract says; the engineers are alerted.")
    log.warning("drop folder: %s %s: unexpected entries, not read: %s", county_code, ctx.business_date, listed_en)
    return NoBatch(county_code, UNEXPECTED, "unexpected", reason, FileDropSource.kind)


def unknown_submitter_items(known_codes: set[str] | frozenset[str], ctx: RunContext) -> list[NoBatch]:
    """Folders (and anything else) at the top of the drop folder that belong to no registered county: one
    'unexpected' item each (by its six-digit name, else under :data:`NOT_A_COUNTY`); nothing in them is read."""
    if not ctx.drop_root.is_dir():
        return []
    out = []
    for code, entries in unknown_submitters(ctx.drop_root, known_codes).items():
        who = f"未登记的县 {code}" if code != NOT_A_COUNTY else "投递目录顶层"
        out.append(unexpected_item(code, ctx, entries, who))
    return out


def check_manifest(day: DayDrop, record_type: str, raw: RawBatch):
    """(manifest_status, manifest_rows, batch problem or None) of a file read against the day's manifest."""
    if day.manifest is None:
        return "no_manifest", None, None
    entry = day.manifest.get(record_type)
    if entry is None:
        return "not_listed", None, None
    if entry.sha256 and entry.sha256 != raw.sha256:
        return "mismatch", entry.rows, ("file.manifest_sha256", (
            f"damaged transfer: sha256 {raw.sha256[:12]}… differs from the manifest's {entry.sha256[:12]}…"))
    if entry.rows is not None and entry.rows != raw.rows:
        return "mismatch", entry.rows, ("file.manifest_rows", (
            f"damaged transfer: {raw.rows} data rows, the manifest says {entry.rows}"))
    return "ok", entry.rows, None


def _still_plain(path: Path, seen: os.stat_result | None) -> Oddity | None:
    """None if ``path`` is still the plain file discovery found (same device and inode), else why it is not."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and (odd := oddity(st)) is not None:
        return odd
    if st is None or seen is None or (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
        return Oddity("读取前被替换或删除的文件", "replaced or removed before it was read")
    return None


def _observe(ctx: RunContext, county_code: str, rel: str, sha: str, st: os.stat_result | None) -> datetime:
    """When these bytes were first seen in the county's day folder: this run, or an earlier scan (nightly run or
    alert monitor). Its own transaction: the sighting stays even if loading the file fails."""
    with connect(ctx.warehouse_url) as conn:
        first = observe_arrival(
            conn, county_code=county_code, business_date=ctx.business_date, rel_path=rel, sha256=sha, by="pipeline",
            file_mtime=datetime.fromtimestamp(st.st_mtime, tz=UTC) if st else None,
            size=st.st_size if st else None, stat_sig=stat_signature(st) if st else None, clock=ctx.clock)
    return first.astimezone(ZoneInfo(TIMEZONE))


def _label(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def _zh_label(county: County) -> str:
    return f"{county.name}（{county.code}，{county.city_name}）"
