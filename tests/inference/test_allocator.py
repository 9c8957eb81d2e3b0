"""Tests for keeping freed memory: a second batch's buffers reuse the pages of the first."""

from __future__ import annotations

import resource

import pytest

from minegeo.inference.allocator import reuse_freed_memory

BUFFER = 64 * 2**20  # over glibc's largest mmap threshold, so by default mapped afresh each time
PAGE = resource.getpagesize()


def _page_faults_of_a_buffer() -> int:
    """Minor page faults of allocating, filling and freeing one ``BUFFER``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = bytearray(BUFFER)  # zero-filled: every page is touched
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_freed_buffer_is_reused_without_faulting_its_pages_in_again() -> None:
    if not reuse_freed_memory():
        pytest.skip("needs glibc's mallopt")
    _page_faults_of_a_buffer()
    # without reuse every allocation maps fresh pages: BUFFER / PAGE faults (16384)
    assert _page_faults_of_a_buffer() < BUFFER // PAGE // 10
