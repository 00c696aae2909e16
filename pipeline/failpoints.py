"""Named crash points for the reliability tests: ``kill -9`` at an exact moment of a run.

A real run never sets ``FRSTANCE_FAILPOINT``; when it is unset :func:`failpoint` is one
dictionary lookup. ``FRSTANCE_FAILPOINT=NAME:N`` makes the N-th time this process reaches
the point ``NAME`` send SIGKILL to its whole process group (the run and its workers, as
``kill -9`` of a job would), so tests in ``tests/reliability/`` can stop a real subprocess in
the middle of ingest, a parse, a classification or a table write and then check that the same
command, run again, finishes the job and writes the same tables.

Points (see the callers): ``ingest.record`` (a record spilled), ``batch.parsed`` (a batch
parsed, before it is classified), ``batch.classified`` (a batch classified, before it reaches
the cache), ``cache.stored`` (a batch's results stored), ``table.NAME`` (a row group of the
streamed table NAME written, before the file is closed: articles, entities, quotes,
predictions), ``write.FILE`` (FILE written to its temporary name, before the rename),
``manifest`` (everything written but the manifest).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "FRSTANCE_FAILPOINT"
_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, n = spec.partition(":")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(n or 1):
        # The whole group only when the run leads it (started in its own session, as the tests
        # do): never the group of a shell or a test runner that merely started us.
        if os.getpgrp() in (os.getpid(), os.getppid()):
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
