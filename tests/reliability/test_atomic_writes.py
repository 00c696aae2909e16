"""Atomic writes and the output lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import store
from pipeline.schemas import QUARANTINE
from pipeline.store import OutputError, OutputLock, write_table


def _table(n: int) -> pa.Table:
    return QUARANTINE.from_rows(
        {"source_path": f"f{i}", "line": i, "reason": "empty", "detail": "d"} for i in range(n)
    )


def test_table_written_with_its_schema(tmp_path):
    write_table(QUARANTINE, _table(3), tmp_path)
    back = pq.read_table(tmp_path / "quarantine.parquet")
    assert back.schema.equals(QUARANTINE.schema, check_metadata=False)
    assert back.schema.field("reason").metadata[b"doc"].startswith(b"Short code")
    with pytest.raises(ValueError, match="does not match its schema"):
        write_table(QUARANTINE, pa.table({"x": [1]}), tmp_path)


def test_failed_write_leaves_previous_table_intact(tmp_path, monkeypatch):
    write_table(QUARANTINE, _table(3), tmp_path)
    before = (tmp_path / "quarantine.parquet").read_bytes()

    def half_then_crash(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half a table")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.pq, "write_table", half_then_crash)
    with pytest.raises(OSError):
        write_table(QUARANTINE, _table(1000), tmp_path)
    assert (tmp_path / "quarantine.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["quarantine.parquet"]  # no temp file left


def test_kill_9_during_a_write_leaves_previous_table_intact(tmp_path):
    write_table(QUARANTINE, _table(3), tmp_path)
    before = pq.read_table(tmp_path / "quarantine.parquet")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from pipeline.store import atomic_write
        def slow(tmp):
            with open(tmp, "wb") as fh:
                fh.write(b"PAR1" + b"x" * 100000)
                fh.flush()
                time.sleep(60)
        atomic_write(Path({str(tmp_path / "quarantine.parquet")!r}), slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 30
    while not list(tmp_path.glob(".quarantine.parquet.tmp-*")) and time.time() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".quarantine.parquet.tmp-*")), "writer never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert pq.read_table(tmp_path / "quarantine.parquet").equals(before)
    # the next run's lock clears the dead writer's temp file
    with OutputLock(tmp_path):
        assert not list(tmp_path.glob(".*.tmp-*"))


def test_lock_refuses_a_second_run_and_takes_over_a_stale_one(tmp_path):
    with OutputLock(tmp_path):
        with pytest.raises(OutputError, match="in use by another frstance run"):
            OutputLock(tmp_path).acquire()
    assert not (tmp_path / store.LOCK_NAME).exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import json, socket
    (tmp_path / store.LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    with OutputLock(tmp_path) as lock:
        assert lock.held
