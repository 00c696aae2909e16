"""One line naming the machine a benchmark ran on: CPU model, int8 dot-product support, cores.

Figures from these benchmarks move with the CPU (the int8 embedding model runs twice as fast
with VNNI instructions), so every benchmark prints this line beside its figures.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    info = Path("/proc/cpuinfo")
    flags: set[str] = set()
    name = ""
    if info.is_file():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not name:
                name = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
    name = name or platform.processor() or platform.machine()
    vnni = [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return f"{name} ({', '.join(vnni) if vnni else 'no VNNI'})" if flags else name


def describe() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"
