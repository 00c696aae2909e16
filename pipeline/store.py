"""The only place that writes outputs: atomic table and JSON writes, and the output lock.

Every file is written to a temporary name in the same folder, flushed to disk, then
renamed over the old one (``os.replace`` is atomic on POSIX), so a crash or a full
disk leaves either the previous table or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.failpoints import failpoint
from pipeline.schemas import TableSpec

LOCK_NAME = ".frstance.lock"
SPILL_PREFIX = ".ingest-spill-"  # ingest's scratch folders: .ingest-spill-PID-XXXX


class OutputError(RuntimeError):
    """The output folder cannot be written, or another run holds it."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename ``tmp`` over ``path``; on any failure remove ``tmp``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)  # an --out FILE in a folder not made yet
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        failpoint(f"write.{path.name}")
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def write_table(spec: TableSpec, table: pa.Table, folder: Path) -> Path:
    """Write ``table`` (which must have exactly ``spec``'s schema) as ``folder/spec.file``."""
    if not table.schema.equals(spec.schema, check_metadata=False):
        raise ValueError(f"table {spec.name} does not match its schema in pipeline/schemas.py")
    path = Path(folder) / spec.file
    atomic_write(path, lambda tmp: pq.write_table(table.replace_schema_metadata(spec.schema.metadata),
                                                  tmp, compression="zstd", row_group_size=1024))
    return path


class TableWriter:
    """Write one table in row groups as they come, atomically: rows go to a temporary file
    that replaces ``folder/spec.file`` only on :meth:`close` (a crash leaves the old table)."""

    def __init__(self, spec: TableSpec, folder: Path) -> None:
        self.spec = spec
        self.path = Path(folder) / spec.file
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.rows = 0
        self._writer = pq.ParquetWriter(self.tmp, spec.schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if not table.schema.equals(self.spec.schema, check_metadata=False):
            raise ValueError(f"table {self.spec.name} does not match its schema in pipeline/schemas.py")
        if table.num_rows:
            self._writer.write_table(table.replace_schema_metadata(self.spec.schema.metadata))
            self.rows += table.num_rows
            failpoint(f"table.{self.spec.name}")

    def close(self) -> Path:
        self._writer.close()
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - already failing; the temp file goes either way
            pass
        try:
            self.tmp.unlink()
        except OSError:
            pass


def write_json(obj: Any, path: Path) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")

    atomic_write(Path(path), write)
    return Path(path)


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete temporary files and ingest scratch folders left in ``folder`` by writers that
    were killed (their pid is gone)."""
    def dead(pid: str) -> bool:
        return pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))

    removed = []
    for tmp in Path(folder).glob(".*.tmp-*"):
        if dead(tmp.name.rsplit(".tmp-", 1)[-1]):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    for spill in Path(folder).glob(f"{SPILL_PREFIX}*"):
        if spill.is_dir() and dead(spill.name[len(SPILL_PREFIX):].split("-", 1)[0]):
            shutil.rmtree(spill, ignore_errors=True)
            removed.append(spill)
    return removed


# --------------------------------------------------------------------------- publishing

PENDING = ".frstance-pending"
COMMIT = "COMMIT.json"


class Pending:
    """All the tables of one run, published together.

    A run writes every output file into ``out/.frstance-pending/``; when all of them (and
    the manifest) are there, :meth:`commit` writes ``COMMIT.json`` (the list of files) and
    renames each file into ``out``, the manifest last. So until the very end ``out`` holds the
    earlier run's tables untouched, whatever stops this one (an error, a full disk, ``kill -9``):
    never new articles beside old quotes. The next run, holding the lock, finishes a commit
    that was cut off (``COMMIT.json`` present: roll forward) or throws away what a killed run
    had staged (no ``COMMIT.json``): :func:`recover_pending`.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.dir = self.out / PENDING

    def open(self) -> Path:
        """Call while holding the output lock; returns the folder to write the tables into."""
        recover_pending(self.out)
        try:
            self.dir.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write to {self.out}: {exc.strerror or exc}") from exc
        return self.dir

    def commit(self) -> list[str]:
        names = sorted(p.name for p in self.dir.iterdir() if p.is_file() and not p.name.startswith("."))
        names = [n for n in names if not n.endswith("manifest.json")] + [n for n in names if n.endswith("manifest.json")]
        try:
            write_json({"files": names}, self.dir / COMMIT)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write to {self.out}: {exc.strerror or exc}") from exc
        _publish(self.out)
        return names

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _publish(out: Path) -> None:
    pending = out / PENDING
    names = json.loads((pending / COMMIT).read_text(encoding="utf-8"))["files"]
    for name in names:
        if (pending / name).exists():  # absent: moved already, before a crash
            os.replace(pending / name, out / name)
            failpoint("commit")
    _fsync_dir(out)
    shutil.rmtree(pending, ignore_errors=True)


def recover_pending(out: Path) -> str | None:
    """Under the lock: complete a publication a killed run began, or discard its staged files.
    Returns what was done ("completed", "discarded") or None."""
    pending = Path(out) / PENDING
    if not pending.exists():
        return None
    if (pending / COMMIT).is_file():
        try:
            _publish(Path(out))
            return "completed"
        except (OSError, ValueError, KeyError) as exc:
            raise OutputError(f"cannot finish publishing the tables an interrupted run left in {pending}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from exc
    shutil.rmtree(pending, ignore_errors=True)
    return "discarded"


def interrupted_publication(folder: Path) -> bool:
    """True while ``folder`` is between two sets of tables (a run was killed while renaming)."""
    return (Path(folder) / PENDING / COMMIT).is_file()


# --------------------------------------------------------------------------- lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """An exclusive lock on an output folder, so two runs never interleave their writes.

    The lock is an ``flock`` on ``folder/.frstance.lock``, which records who holds it (host,
    pid, start time) for the refusal message. The kernel drops the lock when its holder dies,
    ``kill -9`` and power loss included, so a lock left by a dead run is stale by
    construction and the next run takes it over; there is no pid guessing and no window in
    which two runs both think they took over a stale lock. The file is removed on release;
    a run that locked a file another run just removed notices (the path no longer names its
    file) and tries again.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.held = False
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        import fcntl

        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise OutputError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise OutputError(
                    f"{self.path.parent} is in use by another frstance run (pid {holder.get('pid', '?')} on "
                    f"{holder.get('host', '?')}, started {holder.get('started_at', '?')}); wait for it to finish "
                    "or use another --out") from None
            except OSError as exc:
                os.close(fd)
                raise OutputError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder released (and removed) it between our open and our flock
                os.close(fd)
                continue
            me = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(me).encode(), 0)
            except OSError as exc:  # a full disk: leave no empty lock file behind
                try:
                    self.path.unlink()
                except OSError:
                    pass
                os.close(fd)
                raise OutputError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from exc
            self._fd = fd
            self.held = True
            remove_stale_temp_files(self.path.parent)
            return self
        raise OutputError(f"cannot take the lock {self.path}")

    @staticmethod
    def _holder(fd: int) -> dict[str, Any]:
        try:
            return json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self.held and self._fd is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            os.close(self._fd)  # closing drops the flock
            self._fd = None
            self.held = False

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
