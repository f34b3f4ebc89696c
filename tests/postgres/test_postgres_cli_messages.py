"""The CLI's one-line error for an unreachable PostgreSQL server reads as written:
libpq's message has a line break, and ``one_line`` escaped the whole message with
``repr`` (every quote became ``\\'``), not just the break."""

from __future__ import annotations

import pytest

from custmgmt.cli import main


def test_an_unreachable_socket_is_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = "postgresql://shop@/crm?host=/nonexistent-custmgmt-socket-dir"
    assert main(["rate", "--db", dsn, "--as-of", "2026-06-30"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot connect to 'postgresql://shop@/crm?host=" in err
    assert "\\'" not in err
