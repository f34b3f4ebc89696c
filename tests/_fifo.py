"""A FIFO with a reader, for tests that write an output through one."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def fifo_with_reader(path: Path) -> Iterator[list[bytes]]:
    """Make a FIFO at ``path`` and read it on a thread; on leaving, the list holds the
    bytes read (a writer to a FIFO with no reader would wait forever)."""
    os.mkfifo(path)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(path.read_bytes()), daemon=True)
    reader.start()
    try:
        yield received
    finally:
        reader.join(timeout=30)
