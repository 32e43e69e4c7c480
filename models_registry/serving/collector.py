"""The garbage collector held off while a request builds and drops a large acyclic batch.

Parsing, checking and encoding a batch of 10,000 records allocates a few hundred thousand
dicts, floats and strings; each 700 allocations the cyclic collector runs, and every tenth
run also walks the older generation. Measured in a warm worker (bench/ingest.py), that is a
third of the parse and check time, for nothing: none of these objects forms a cycle, and
reference counting frees every one when the request ends. While any thread of the process
is inside `collector_paused()` the automatic collector is off; it comes back on (if it was
on) when the last such thread leaves. Reference counting works as always.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
