"""Run the property-based tests (tests/reliability/test_fuzz_*.py) for longer than the test suite does.

    python benchmarks/fuzz.py --minutes 30 [--examples 500] [--only quotes|readers]

The suite runs each property with a fixed budget (FUZZ_EXAMPLES, 60 to 150 examples). This
runs the same properties round after round, each round a fresh pytest process with a new
random seed and ``--examples`` examples per property, until the time is up; it prints every
round's seed and result, and at the end the examples tried and any failure (hypothesis prints
the smallest failing input; re-run a round with ``--seed SEED`` to reproduce it). Exit 1 if a
round failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = {"quotes": "tests/reliability/test_fuzz_quotes.py", "readers": "tests/reliability/test_fuzz_readers.py"}


def _round(files: list[str], examples: int, seed: int) -> tuple[bool, int, str]:
    env = {**os.environ, "FUZZ_EXAMPLES": str(examples)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--hypothesis-seed={seed}", "--hypothesis-show-statistics", *files]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    # "- 500 passing, 0 failing, and 12 invalid test cases"
    tried = sum(int(a) + int(b) for a, b in re.findall(r"(\d+) passing, (\d+) failing", res.stdout))
    return res.returncode == 0, tried, res.stdout + res.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--examples", type=int, default=500, help="examples per property per round")
    ap.add_argument("--only", choices=sorted(FILES), help="one family of properties")
    ap.add_argument("--seed", type=int, help="run one round with this seed (to reproduce a failure)")
    args = ap.parse_args(argv)
    files = [FILES[args.only]] if args.only else list(FILES.values())
    deadline = time.monotonic() + args.minutes * 60
    rng = random.Random()
    rounds = total = 0
    failures: list[tuple[int, str]] = []
    started = time.monotonic()
    while True:
        seed = args.seed if args.seed is not None else rng.randrange(2 ** 32)
        t = time.monotonic()
        ok, tried, output = _round(files, args.examples, seed)
        rounds += 1
        total += tried
        print(f"round {rounds}: seed {seed}: {'ok' if ok else 'FAILED'}, {tried} examples, "
              f"{time.monotonic() - t:.0f} s", flush=True)
        if not ok:
            failures.append((seed, output))
        if args.seed is not None or time.monotonic() >= deadline:
            break
    print(f"\n{rounds} rounds, {total} examples in {(time.monotonic() - started) / 60:.1f} min over "
          f"{', '.join(files)}: {len(failures)} failed round(s)")
    for seed, output in failures:
        print(f"\n===== seed {seed} =====\n{output[-6000:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
