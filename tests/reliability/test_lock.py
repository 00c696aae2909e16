"""One run per output folder: a second ``frstance run`` on a folder that a running one holds is
refused at once with a clear message and does not disturb it; the lock of a run that died
(``kill -9``) is taken over by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline import store
from pipeline.schemas import TABLES
from pipeline.store import LOCK_NAME, OutputError, OutputLock

pytestmark = pytest.mark.slow


def _cmd(out, *extra):
    return [sys.executable, "-m", "pipeline", "run", "--quiet", "--workers", "1", "--out", str(out), *extra,
            "--input", str(SAMPLE)]


def _wait_for_lock(out, proc, timeout=120):
    lock = out / LOCK_NAME
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the first run ended before it took the lock"
        try:
            if json.loads(lock.read_text()).get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_on_a_busy_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen(_cmd(out), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        _wait_for_lock(out, first)
        t = time.perf_counter()
        second = subprocess.run(_cmd(out), cwd=REPO, capture_output=True, text=True, timeout=120)
        refused_in = time.perf_counter() - t
        assert first.poll() is None, "the first run should still be working while the second is refused"
        assert second.returncode == 1
        assert "is in use by another frstance run" in second.stderr and f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert refused_in < 15, f"refusal took {refused_in:.1f} s: it should come before any real work"
        _, err = first.communicate(timeout=600)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    # the refused run wrote nothing: the first run's tables are whole and its lock is gone
    reference = tmp_path / "reference"
    assert subprocess.run(_cmd(reference, "--no-cache"), cwd=REPO, capture_output=True, timeout=600).returncode == 0
    for spec in TABLES.values():
        assert pq.read_table(out / spec.file).equals(pq.read_table(reference / spec.file)), spec.file
    assert not (out / LOCK_NAME).exists()


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path):
    """A process that holds the lock is killed with SIGKILL: its lock file stays behind, with its
    pid in it, but the kernel has dropped the lock, so the next run takes it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pipeline.store import OutputLock; "
         f"OutputLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(600)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match=f"in use by another frstance run \\(pid {holder.pid} "):
            OutputLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == holder.pid  # left behind
    with OutputLock(tmp_path) as lock:
        assert lock.held
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_garbage_lock_file_does_not_block(tmp_path):
    (tmp_path / LOCK_NAME).write_bytes(b"\x00not json")
    with OutputLock(tmp_path) as lock:
        assert lock.held
    with OutputLock(tmp_path):
        with pytest.raises(OutputError, match="in use by another frstance run"):
            OutputLock(tmp_path).acquire()
    assert store.LOCK_NAME == LOCK_NAME
