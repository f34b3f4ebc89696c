"""The ``custmgmt`` command line.

Each sub-command lives in its own module under :mod:`custmgmt.cli`, listed in
:data:`COMMANDS`; a module defines ``register(subparsers)``, which adds its parser and
sets ``func=run``, and ``run(args) -> int``. A command that needs an optional extra
imports it when it runs, so a missing extra never breaks another command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, Protocol

from custmgmt import __version__
from custmgmt._text import one_line
from custmgmt.cli import (
    backup,
    campaign,
    clv,
    demo,
    followups,
    points,
    privacy,
    prospects,
    rate,
    recommend,
    report,
    restore,
    risk,
    segment,
    team,
    tickets,
)
from custmgmt.cli._inputs import check_db_path
from custmgmt.domain.money import currency_digits
from custmgmt.errors import CustMgmtError

__all__ = ["COMMANDS", "CommandModule", "build_parser", "main"]


class CommandModule(Protocol):
    """What a sub-command module offers: ``register(subparsers)`` adds its parser."""

    def register(self, subparsers: Any) -> None:
        """Add the command's parser to ``subparsers`` (with ``func`` set to its ``run``)."""


#: The sub-commands by name, in the order ``--help`` lists them.
COMMANDS: dict[str, CommandModule] = {
    "demo": demo,
    "rate": rate,
    "segment": segment,
    "clv": clv,
    "tickets": tickets,
    "privacy": privacy,
    "backup": backup,
    "restore": restore,
    "prospects": prospects,
    "team": team,
    "campaign": campaign,
    "followups": followups,
    "risk": risk,
    "points": points,
    "recommend": recommend,
    "report": report,
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="custmgmt",
        description="Customer management: profiles, star ratings, segments, churn, "
        "lifetime value and service tickets.",
    )
    parser.add_argument("--version", action="version", version=f"custmgmt {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS.values():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        # Every command's --db refused in the same words when it is a folder, a device,
        # a FIFO or a socket, before the command opens or writes anything.
        check_db_path(getattr(args, "db", None))
        currency = getattr(args, "currency", None)
        if currency is not None:  # named as the option, not the library's "currency"
            currency_digits(currency, "--currency")
        return int(func(args))
    except CustMgmtError as exc:
        # One line whatever the message quotes: a value from a file may hold a line
        # break or a terminal escape (the errors quote values with repr, but not all).
        print(f"custmgmt: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("custmgmt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`custmgmt rate ... | head`): stop quietly like other
        # Unix tools. Point stdout at devnull so the interpreter's final flush cannot
        # raise again (the recipe in Python's signal module docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
