"""Text from the data shown on one line of a report.

Customer ids and other values come from files nobody here wrote; a CSV cell may hold
a line break or a terminal escape. Printed as they are, they start a fake line in a
report ("FAKE: 5 stars") or colour the analyst's terminal.
"""

from __future__ import annotations

import re

__all__ = ["mask_dsn", "one_line"]


def one_line(text: object) -> str:
    """``text`` with line breaks and control characters escaped (``\\n``, ``\\x1b``);
    printable text, Chinese included, is kept as it is.

    >>> one_line("客户-1"), one_line("evil\\nFAKE")
    ('客户-1', 'evil\\\\nFAKE')
    """
    shown = str(text)
    if shown.isprintable():
        return shown
    # Escape the unprintable characters only: repr() of the whole text would also
    # escape its quotes (and backslashes) wherever it holds both kinds of quote.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)


def mask_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``: a ``password=`` value (quoted
    with ``\\'`` escapes, or up to the next space or ``&``) and a URL's user
    password (up to its last ``@``: an unescaped ``@`` in the password must not leave
    the rest of it showing). Masks too much rather than too little."""
    masked = re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.|'')*'?|[^\s&]+)", r"\1***", dsn)
    # The scheme in any case: URI schemes are case-insensitive (RFC 3986).
    return re.sub(r"(?i)(postgres(?:ql)?://[^:/@]*:).*@", r"\1***@", masked)
