"""Text from the data shown on one line of a report.

Customer ids and other values come from files nobody here wrote; a CSV cell may hold
a line break or a terminal escape. Printed as they are, they start a fake line in a
report ("FAKE: 5 stars") or colour the analyst's terminal.
"""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: object) -> str:
    """``text`` with line breaks and control characters escaped (``\\n``, ``\\x1b``);
    printable text, Chinese included, is kept as it is.

    >>> one_line("客户-1"), one_line("evil\\nFAKE")
    ('客户-1', 'evil\\\\nFAKE')
    """
    shown = str(text)
    return shown if shown.isprintable() else repr(shown)[1:-1]
