"""`dvc repro` works in a fresh clone, and its outputs are git-ignored DVC outs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import REPO, SHARED


def _sh(*cmd: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_dvc_stages_are_real_and_outputs_ignored():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert "ingest" in stages
    for name, stage in stages.items():
        assert stage["cmd"].startswith("frstance "), name
        outs = [o if isinstance(o, str) else next(iter(o)) for o in stage.get("outs", [])]
        for out in outs:
            check = subprocess.run(["git", "check-ignore", "-q", out], cwd=REPO)
            assert check.returncode == 0, f"{out} is not git-ignored"


@pytest.mark.slow
def test_dvc_repro_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    _sh("git", "clone", "-q", str(REPO), str(clone), cwd=tmp_path)
    if not (SHARED / "corpus").is_dir():
        pytest.skip("the evaluate stage reads ../shared/corpus")
    (tmp_path / "shared").symlink_to(SHARED.resolve())  # ../shared beside the clone, as in CI
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               DVC_NO_ANALYTICS="1")
    _sh(sys.executable, "-m", "dvc", "repro", cwd=clone, env=env)
    out = clone / "data" / "processed"
    articles = pq.read_table(out / "articles.parquet")
    assert articles.num_rows > 40
    assert (out / "quarantine.parquet").exists() and (out / "run_manifest.json").exists()
    for table in ("entities", "quotes", "predictions", "topics", "topic_terms"):
        assert (out / f"{table}.parquet").exists(), table
    metrics = _sh(sys.executable, "-m", "dvc", "metrics", "show", "--json", cwd=clone, env=env).stdout
    assert "macro_f1" in metrics
    status = _sh(sys.executable, "-m", "dvc", "status", cwd=clone, env=env)
    assert "up to date" in status.stdout.lower() or status.stdout.strip() == "", status.stdout
    # outputs stay out of git
    dirty = _sh("git", "status", "--porcelain", "--untracked-files=all", cwd=clone).stdout.split("\n")
    assert not [line for line in dirty if "data/processed" in line], dirty
