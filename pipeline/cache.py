"""Per-article results cached by content: what makes re-runs incremental and killed runs resumable.

A store is one folder per *version*: a digest of everything a result depends on besides
the article itself (model files, parameters that change rows, the source code of the
stage). Inside it, part files hold the results of one batch of articles, one row per
article, keyed by a digest of that article's own inputs (its id and text). A part is
written atomically (temporary name, fsync, rename), so a killed run leaves whole parts or
none; the next run finds every finished part and computes only what is missing.

Nothing is ever read from a store whose version differs: a new stance model gets a new
classify store (and reuses the extract store, so nothing is parsed again); a new spaCy
model, quote model or extraction code gets a new extract store. Old version folders stay
until removed (``frstance`` lists their sizes in the run manifest; deleting the cache
folder is always safe: it only costs recomputation).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.digests import sha256_file
from pipeline.store import atomic_write, remove_stale_temp_files

PART_GLOB = "part-*.parquet"


def digest(*parts: object) -> str:
    """A short hex digest of ``parts`` (joined with NUL)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(str(p).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def source_digest(*modules: str) -> str:
    """Digest of the source files of ``modules`` (dotted names, packages include every .py):
    a change to the code that computes a result invalidates its cache without a manual bump."""
    import importlib.util

    h = hashlib.blake2b(digest_size=16)
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ValueError(f"no module {name}")
        if spec.submodule_search_locations:  # a package (namespace packages have no origin)
            files = sorted(f for d in spec.submodule_search_locations for f in Path(d).glob("*.py"))
        elif spec.origin:
            files = [Path(spec.origin)]
        else:
            raise ValueError(f"no source for {name}")
        for f in files:
            h.update(f"{name}:{f.name}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


class ResultStore:
    """Part files of one (stage, version) under ``root``; rows are looked up by key."""

    def __init__(self, root: Path, stage: str, version: str, schema: pa.Schema, lru: int = 8) -> None:
        self.folder = Path(root) / f"{stage}-{version}"
        self.stage = stage
        self.version = version
        self.schema = schema
        self._where: dict[str, tuple[Path, int]] = {}
        self._loaded: OrderedDict[Path, pa.Table] = OrderedDict()
        self._lru = lru
        self.scanned_parts = 0
        self.unreadable_parts: list[str] = []
        self._scan()

    def _scan(self) -> None:
        if not self.folder.is_dir():
            return
        remove_stale_temp_files(self.folder)  # parts a killed run was writing
        for part in sorted(self.folder.glob(PART_GLOB)):
            try:
                keys = pq.read_table(part, columns=["key"]).column("key").to_pylist()
            except (OSError, pa.ArrowException) as exc:
                # A part that cannot be read (disk trouble, a file written by something else)
                # is ignored: its articles are recomputed and a good part replaces it.
                self.unreadable_parts.append(f"{part.name}: {exc}")
                continue
            self.scanned_parts += 1
            for i, k in enumerate(keys):
                self._where.setdefault(k, (part, i))

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def __len__(self) -> int:
        return len(self._where)

    def put(self, part: pa.Table) -> Path | None:
        """Write one part (a table with this store's schema, one row per key)."""
        if part.num_rows == 0:
            return None
        if not part.schema.equals(self.schema, check_metadata=False):
            raise ValueError(f"{self.stage} part does not match its cache schema")
        keys = part.column("key").to_pylist()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{digest(*keys)}.parquet"
        atomic_write(path, lambda tmp: pq.write_table(part, tmp, compression="zstd"))
        for i, k in enumerate(keys):
            self._where[k] = (path, i)
        return path

    def _part(self, path: Path) -> pa.Table:
        table = self._loaded.get(path)
        if table is None:
            table = pq.read_table(path)
            self._loaded[path] = table
            while len(self._loaded) > self._lru:
                self._loaded.popitem(last=False)
        else:
            self._loaded.move_to_end(path)
        return table

    def get(self, keys: Sequence[str]) -> pa.Table:
        """The rows of ``keys`` (all must be present), in that order."""
        pieces: list[pa.Table] = []
        run_path: Path | None = None
        run_rows: list[int] = []

        def flush() -> None:
            if run_path is not None and run_rows:
                pieces.append(self._part(run_path).take(pa.array(run_rows, type=pa.int64())))

        for k in keys:
            path, row = self._where[k]
            if path != run_path:
                flush()
                run_path, run_rows = path, []
            run_rows.append(row)
        flush()
        if not pieces:
            return self.schema.empty_table()
        return pa.concat_tables([p.cast(self.schema) for p in pieces])

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob(PART_GLOB)) if self.folder.is_dir() else 0


def folder_sizes(root: Path) -> dict[str, int]:
    """Bytes held by each version folder under ``root`` (for the manifest)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    out = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        out[d.name] = sum(f.stat().st_size for f in d.glob("*.parquet"))
    return out


def nested(table: pa.Table, owners: Iterable[str], column: str = "article_id") -> pa.ListArray:
    """``table``'s rows grouped into one list per owner, in ``owners`` order. The rows of
    each owner must be contiguous and in owner order (as the stages emit them)."""
    owners = list(owners)
    ids = table.column(column).to_pylist() if table.num_rows else []
    offsets = [0]
    i = 0
    for owner in owners:
        while i < len(ids) and ids[i] == owner:
            i += 1
        offsets.append(i)
    if i != len(ids):
        raise ValueError(f"rows of {column} are not grouped in owner order")
    struct_type = pa.struct(list(table.schema))
    values = pa.StructArray.from_arrays(
        [c.combine_chunks() for c in table.columns], fields=list(table.schema)
    ) if table.num_rows else pa.array([], type=struct_type)
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def flatten(column: pa.ChunkedArray | pa.Array, schema: pa.Schema) -> pa.Table:
    """The rows of a list<struct> column as one table with ``schema``."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = arr.flatten()
    if len(values) == 0:
        return schema.empty_table()
    return pa.Table.from_struct_array(values).cast(schema)


def cache_root(out: Path, configured: str | None) -> Path:
    """Where the cache lives: ``run.cache_dir`` when set, else ``OUT/.frstance-cache``."""
    return Path(os.path.expanduser(configured)) if configured else Path(out) / ".frstance-cache"


# --------------------------------------------------------------------------- ingest

INGEST_COUNTS = "counts.json"  # written last: its presence marks a whole entry


def ingest_key(files: Sequence[tuple[str, Path]], problems: Sequence[object], settings: object) -> str:
    """Digest of everything ingest's two tables depend on: each input file's name as shown and
    the sha256 of its bytes (not its mtime), the paths discovery could not read, the ingest and
    dedup parameters and the source code of pipeline.ingest. Input order does not matter."""
    h = hashlib.sha256()
    for shown, path in sorted(files, key=lambda f: f[0]):
        try:
            content = sha256_file(path)
        except OSError as exc:  # the reader will quarantine it; its reason is part of the key
            content = f"unreadable:{exc.errno}"
        h.update(f"{shown}\0{content}\n".encode("utf-8", "surrogateescape"))
    h.update(repr(sorted(repr(p) for p in problems)).encode("utf-8", "surrogateescape"))
    h.update(digest(settings, source_digest("pipeline.ingest", "pipeline.schemas")).encode())
    return h.hexdigest()[:32]


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link (outputs are only ever replaced by rename, never changed in place), else copy."""
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


class IngestCache:
    """The ingest tables of the last input set, kept in ``root/ingest-KEY/`` so that a run over
    unchanged inputs (a re-run, or a run resumed after ``kill -9``) does not read them again."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = Path(root)
        self.key = key
        self.folder = self.root / f"ingest-{key}"

    def get(self, dest: Path, files: Sequence[str]) -> dict | None:
        """Place the cached tables in ``dest``; their counts and timings, or None if not cached."""
        if not (self.folder / INGEST_COUNTS).is_file():
            return None
        try:
            entry = json.loads((self.folder / INGEST_COUNTS).read_text(encoding="utf-8"))
            # a table changed in place (by hand, or through a hard link) is not reused
            if any(sha256_file(self.folder / name) != entry["sha256"][name] for name in files):
                return None
            for name in files:
                _link_or_copy(self.folder / name, Path(dest) / name)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable entry: ingest again (and replace it)
        return entry

    def put(self, src: Path, files: Sequence[str], entry: dict) -> None:
        """Keep ``src``'s tables and ``entry`` (counts, timings); drop older ingest entries.
        A cache that cannot be written only costs time, so errors are ignored."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(self.folder)
            for name in files:
                _link_or_copy(Path(src) / name, self.folder / name)
            entry = {**entry, "sha256": {name: sha256_file(self.folder / name) for name in files}}
            atomic_write(self.folder / INGEST_COUNTS,
                         lambda tmp: tmp.write_text(json.dumps(entry, sort_keys=True), encoding="utf-8"))
        except OSError:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        for old in self.root.glob("ingest-*"):
            if old != self.folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
