"""``import custmgmt`` (and the command line's modules) never import the dask extra."""

from __future__ import annotations

import subprocess
import sys


def test_importing_custmgmt_and_its_cli_imports_no_dask_or_pyarrow() -> None:
    code = (
        "import sys, custmgmt, custmgmt.cli, custmgmt.distributed\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'pyarrow', 'pandas'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
