"""What a Lambda container makes once and keeps while it lives (our modules, the DynamoDB
client, the template environment): made with the garbage collector off, then frozen out
of its later passes.

None of it can become garbage, so collecting while it is made only walks it over and
over: tens of milliseconds of a cold start (``bench/run.py``) for nothing.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def container_lifetime() -> Iterator[None]:
    """Make what lives as long as the container inside this block."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
