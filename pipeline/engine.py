"""Where batches run: this process, a pool of local worker processes, or a Dask cluster.

Every engine maps :func:`pipeline.batches.process_batch` over jobs and yields the results
in job order, keeping only a few jobs in flight so memory stays bounded however long the
input is. Workers load the models once (an initialiser for local processes; the first
batch on each Dask worker, then reused for the life of the worker process).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from pipeline.batches import Done, Job, process_batch, warm
from pipeline.config import Params

ENGINES = ("local", "dask")


def die_with_parent(parent: int) -> None:
    """Pool worker initialiser (Linux): the kernel kills this worker when the run that started
    it dies, even by ``kill -9``, so a killed run leaves no orphan holding a model in memory."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _local_worker(parent: int, params: Params) -> None:
    die_with_parent(parent)
    warm(params)


def _ready() -> bool:
    """A task that only makes a pool start a worker (whose initializer loads the models)."""
    return True


class EngineError(RuntimeError):
    """The execution engine cannot start (for example no Dask scheduler at the address)."""


def _bounded(submit: Callable[[Job], Any], result: Callable[[Any], Done], jobs: Iterable[Job],
             in_flight: int) -> Iterator[Done]:
    pending: deque = deque()
    for job in jobs:
        pending.append(submit(job))
        if len(pending) >= in_flight:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


class LocalEngine:
    """``workers`` == 1: in this process; more: a process pool, one model load per process."""

    name = "local"

    def __init__(self, params: Params, workers: int) -> None:
        self.params = params
        self.workers = max(1, workers)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _start_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, initializer=_local_worker,
                                                initargs=(os.getpid(), self.params))
        return self._pool

    def start(self) -> None:
        """Start every worker process now, so they load their models while this process is
        still busy (ingesting), instead of after it; a no-op with one worker."""
        if self.workers > 1:
            pool = self._start_pool()
            for _ in range(self.workers):
                pool.submit(_ready)

    def map(self, jobs: Iterable[Job]) -> Iterator[Done]:
        if self.workers == 1:
            for job in jobs:
                yield process_batch(job)
            return
        self._start_pool()
        yield from _bounded(lambda j: self._pool.submit(process_batch, j), lambda f: f.result(), jobs,
                            2 * self.workers)

    def describe(self) -> dict[str, Any]:
        return {"engine": "local", "workers": self.workers}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskEngine:
    """A Dask distributed cluster: the one at ``scheduler`` (``tcp://host:8786``), or a local
    cluster of ``workers`` single-threaded worker processes when no address is given."""

    name = "dask"

    def __init__(self, params: Params, workers: int, scheduler: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency of frstance
            raise EngineError("--engine dask needs the distributed package: pip install distributed") from exc
        self.params = params
        self.scheduler = scheduler
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="10s")
            else:
                self._cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                             dashboard_address=None, host="127.0.0.1")
                self.client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler or 'a local cluster'}: {exc}") from exc
        self.workers = len(self.client.scheduler_info().get("workers", {}))
        if self.workers == 0:
            self.client.wait_for_workers(1, timeout=60)
            self.workers = len(self.client.scheduler_info().get("workers", {}))

    def map(self, jobs: Iterable[Job]) -> Iterator[Done]:
        # pure=False: a job is never deduplicated against another with equal bytes; every
        # worker process keeps its loaded models between tasks (pipeline.batches.process_models).
        yield from _bounded(lambda j: self.client.submit(process_batch, j, pure=False),
                            lambda f: f.result(), jobs, 2 * max(1, self.workers))

    def describe(self) -> dict[str, Any]:
        return {"engine": "dask", "scheduler": self.scheduler or "local cluster", "workers": self.workers}

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_engine(name: str, params: Params, workers: int, scheduler: str | None = None):
    if name == "local":
        if scheduler:
            raise EngineError("--scheduler is for --engine dask")
        return LocalEngine(params, workers)
    if name == "dask":
        return DaskEngine(params, workers, scheduler)
    raise EngineError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
