"""Turn the user's input arguments (files, folders, globs) into a sorted list of files.

Folders are walked recursively, following symbolic links but never entering the same
folder twice, so link loops end. A file reached by several paths is read once. The
result is sorted, so the order in which inputs are listed never changes the output.
"""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.ingest.records import Quarantined


class InputError(ValueError):
    """An input argument matches nothing: a usage error, reported before any work."""


@dataclass
class Discovery:
    files: list[tuple[str, Path]] = field(default_factory=list)  # (path as shown, path to open)
    problems: list[Quarantined] = field(default_factory=list)  # unreadable folders, broken links...
    skipped_hidden: int = 0


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[")


def discover(inputs: list[str], exclude: list[Path] | None = None, skip_hidden: bool = True) -> Discovery:
    """Expand ``inputs`` into files; raise :class:`InputError` for an argument that matches nothing."""
    excluded = {os.path.realpath(p) for p in (exclude or [])}
    out = Discovery()
    by_real: dict[str, str] = {}
    seen_dirs: set[tuple[int, int]] = set()

    def is_excluded(real: str) -> bool:
        return any(real == e or real.startswith(e + os.sep) for e in excluded)

    def add_file(shown: str, st: os.stat_result | None, walking: bool) -> None:
        real = os.path.realpath(shown)
        if walking and is_excluded(real):  # never re-read our own outputs from a folder walk
            return
        if st is not None and not stat.S_ISREG(st.st_mode):
            out.problems.append(Quarantined(shown, "unreadable", "not a regular file (a FIFO, socket or device)"))
            return
        if real not in by_real or shown < by_real[real]:
            by_real[real] = shown

    def walk(top: str) -> None:
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except OSError as exc:
                out.problems.append(Quarantined(folder, "unreadable", exc.strerror or str(exc)))
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs or is_excluded(os.path.realpath(folder)):
                continue
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                out.problems.append(Quarantined(folder, "unreadable", exc.strerror or str(exc)))
                continue
            for entry in entries:
                if skip_hidden and entry.name.startswith("."):
                    out.skipped_hidden += 1
                    continue
                shown = os.path.join(folder, entry.name)
                try:
                    est = os.stat(entry.path)  # follows links
                except OSError:
                    out.problems.append(Quarantined(shown, "unreadable", "broken symbolic link"
                                                    if entry.is_symlink() else "cannot stat"))
                    continue
                if stat.S_ISDIR(est.st_mode):
                    stack.append(shown)
                else:
                    add_file(shown, est, walking=True)

    for arg in inputs:
        candidates: list[str]
        if os.path.lexists(arg):
            candidates = [arg]
        elif _has_magic(arg):
            candidates = sorted(glob.glob(arg, recursive=True))
            if not candidates:
                raise InputError(f"no files match {arg!r}")
        else:
            raise InputError(f"no such file or folder: {arg}")
        for cand in candidates:
            try:
                st = os.stat(cand)
            except OSError:
                out.problems.append(Quarantined(cand, "unreadable", "broken symbolic link"
                                                if os.path.islink(cand) else "cannot stat"))
                continue
            if stat.S_ISDIR(st.st_mode):
                walk(cand)
            else:
                add_file(cand, st, walking=False)

    out.files = sorted((shown, Path(real)) for real, shown in by_real.items())
    out.problems.sort(key=lambda q: q.source_path)
    return out
