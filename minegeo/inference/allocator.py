"""Keep freed memory in the process, so each batch's activations reuse pages already mapped.

A forward pass allocates the same large activations for every batch. By default glibc
serves each allocation over its mmap threshold (at most 32 MB) with a fresh mapping and
gives freed heap tops back to the OS, so every batch page-faults and zeroes hundreds of
MB again; on a CPU that is a large share of a light model's forward (figures:
experiments/README.md, "Predict throughput"). Turning both off makes freed memory
reusable. The price is memory that is never handed back, which stays flat only while
the run's allocations repeat: the engine's are the same batch, strip and activation
sizes scene after scene (``reuse_freed_memory: false`` for a process that must shrink).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc ``mallopt`` parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: ``M_TRIM_THRESHOLD`` value that disables trimming (mallopt(3)); a positive C ``int``
#: would stop at 2 GB, less than the freed activations of large FCN batches
NEVER_TRIM = -1


def reuse_freed_memory() -> bool:
    """Stop glibc from returning freed memory to the OS, for the rest of the process.

    Returns:
        Whether it took effect (``False`` off Linux or on a C library without ``mallopt``,
        such as musl: nothing changes there).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # no mmap for big blocks (they come from the heap and are reused), and never trim it
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
