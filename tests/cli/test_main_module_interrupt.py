"""Ctrl-C while ``python -m custmgmt`` is still importing the library ends with the
one line main() prints and status 130, not a traceback (the import ran before main's
own KeyboardInterrupt handler)."""

from __future__ import annotations

import subprocess
import sys

_INTERRUPTED_IMPORT = """
import importlib.abc, runpy, sys

class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "custmgmt.cli":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
runpy.run_module("custmgmt", run_name="__main__")
"""


def test_an_interrupt_during_the_import_ends_with_one_line_and_status_130() -> None:
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 130
    assert done.stderr == "custmgmt: interrupted\n"
    assert "Traceback" not in done.stderr
