"""A full or read-only output folder: ``frstance run`` stops with a clear one-line error and
exit 1 (no traceback), and the tables of the earlier run in that folder stay as they were,
byte for byte, with no temporary files left behind.

The folder is a real small tmpfs (full) and the same tmpfs remounted read-only, inside a user
and mount namespace (``unshare``), so the test needs no root and leaves no mount behind."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE
from pipeline.schemas import TABLES

pytestmark = pytest.mark.slow

SCRIPT = r"""
set -u
FS="$1"; SNAP="$2"; CORPUS="$3"; FREE_KB="$4"; PY="$5"
mount -t tmpfs -o size=32m tmpfs "$FS" || exit 97
run() { (cd "$REPO" && "$PY" -m pipeline run --quiet --workers 1 --out "$FS/out" --input "$CORPUS"); }
run 2> "$SNAP/first.err" || exit 98
cp -a "$FS/out" "$SNAP/before"
printf 'Harbour city pauses its face scanners\n\nThe council will write rules first, said Mayor Dana Holt.\n' \
    > "$CORPUS/extra.txt"
# fill the disk, then free FREE_KB
"$PY" -c "
import os, sys
with open(sys.argv[1], 'wb') as f:
    try:
        while True:
            f.write(b'\0' * 65536); f.flush()
    except OSError:
        pass
" "$FS/filler" 2>/dev/null
if [ "$FREE_KB" -gt 0 ]; then truncate -s "-${FREE_KB}K" "$FS/filler"; fi
run 2> "$SNAP/full.err"; echo $? > "$SNAP/full.rc"
cp -a "$FS/out" "$SNAP/after_full"
rm -f "$FS/filler"
mount -o remount,ro "$FS" || exit 99
run 2> "$SNAP/ro.err"; echo $? > "$SNAP/ro.rc"
cp -a "$FS/out" "$SNAP/after_ro"
"""


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _same_folder(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir() if p.is_file())
    assert names == sorted(p.name for p in b.iterdir() if p.is_file()), "files added or removed"
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch and not errors, f"changed: {mismatch + errors}"
    for spec in TABLES.values():
        assert spec.file in match


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare (user + mount namespaces) for a real tmpfs")
@pytest.mark.parametrize("free_kb", [0, 700], ids=["no-space-left", "space-for-ingest-only"])
def test_full_then_read_only_folder_gives_a_clear_error_and_keeps_the_earlier_tables(tmp_path, free_kb):
    fs, snap, corpus = tmp_path / "fs", tmp_path / "snap", tmp_path / "corpus"
    fs.mkdir()
    snap.mkdir()
    shutil.copytree(SAMPLE, corpus / "sample")
    res = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", SCRIPT, "script",
                          str(fs), str(snap), str(corpus), str(free_kb), sys.executable],
                         capture_output=True, text=True, timeout=900, env={"REPO": str(REPO), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, (res.returncode, res.stderr, (snap / "first.err").read_text()
                                 if (snap / "first.err").exists() else "")
    before = snap / "before"
    for case, message in (("full", "No space left on device"), ("ro", "Read-only file system")):
        rc = int((snap / f"{case}.rc").read_text())
        err = (snap / f"{case}.err").read_text()
        assert rc == 1, (case, err)
        assert message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, f"one clear line expected: {err}"
        after = snap / f"after_{case}"
        _same_folder(before, after)
        left = [p.name for p in after.rglob("*") if ".tmp-" in p.name or p.name.startswith(".ingest-spill-")]
        assert not left, f"temporary files left behind: {left}"
        assert not (after / ".frstance.lock").exists() or case == "ro"
