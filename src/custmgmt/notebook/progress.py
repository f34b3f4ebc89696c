"""Progress of long work: a bar on an interactive terminal or in a notebook, else silence.

Every long-running call of the library (model fits, bulk loads) takes one argument,
``progress``:

* ``False`` or ``None`` (the default): report nothing;
* ``True``: draw a bar on standard error when it is an interactive terminal (or in
  a Jupyter notebook), and write nothing at all when it is a pipe or a file, so
  logs and redirected output stay clean; the bar appears only once the work has run
  for :data:`DELAY` seconds, so quick calls never flash one;
* a callable: called after every step with that call's progress report (the
  documented type of each call, e.g. :class:`~custmgmt.analytics.clv.FitProgress`).

:class:`Tracker` is the one mechanism behind ``True``; host code can use it for its
own loops:

>>> import io
>>> with Tracker("loading", total=3, stream=io.StringIO()) as bar:  # not a terminal
...     for _ in range(3):
...         bar.advance()
>>> bar.done
3
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any, TypeAlias

import attrs

from custmgmt.errors import ValidationError

__all__ = ["DELAY", "ProgressArg", "Step", "Tracker", "check_progress", "is_interactive"]

#: Seconds of work before a bar is drawn (quick calls draw nothing).
DELAY = 0.5
#: Seconds between two redraws of the bar.
INTERVAL = 0.1

#: What a ``progress=`` argument accepts: False/None, True, or a callable.
ProgressArg: TypeAlias = bool | Callable[..., Any] | None

_WIDTH = 24
_SPIN = "|/-\\"


@attrs.frozen(kw_only=True)
class Step:
    """Where a tracked task stands.

    Attributes:
        task: what is being done (``"fitting BG/NBD"``).
        done: units done (iterations, rows ...).
        total: units in all, or None when unknown (an optimiser's iterations).
        elapsed: seconds since the task started.
        detail: a short note (the current log-likelihood ...).
    """

    task: str
    done: float
    total: float | None
    elapsed: float
    detail: str = ""

    def render(self, width: int = 80) -> str:
        """One line: task, bar (or spinner), counts, seconds and detail."""
        if self.total:
            frac = min(max(self.done / self.total, 0.0), 1.0)
            filled = round(frac * _WIDTH)
            bar = "[" + "#" * filled + "." * (_WIDTH - filled) + f"] {frac:4.0%}"
            counts = f"{_num(self.done)}/{_num(self.total)}"
        else:
            bar = _SPIN[int(self.done) % len(_SPIN)]
            counts = _num(self.done)
        parts = [self.task, bar, counts, f"{self.elapsed:.1f} s"]
        if self.detail:
            parts.append(self.detail)
        line = " ".join(parts)
        return line if len(line) < width else line[: max(width - 2, 1)] + "…"


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def check_progress(progress: Any) -> ProgressArg:
    """Return ``progress`` if it is False, None, True or a callable.

    Raises:
        ValidationError: anything else.
    """
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress  # type: ignore[no-any-return]
    raise ValidationError("progress", progress, "True, False, None or a callable")


def is_interactive(stream: IO[str]) -> bool:
    """Whether a bar on ``stream`` would be seen: a terminal, or a Jupyter kernel's
    output stream."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):
        return False
    shell = getattr(sys.modules.get("IPython"), "get_ipython", None)
    if shell is None:
        return False
    kind = type(shell()).__name__
    return kind == "ZMQInteractiveShell" and stream in (sys.stdout, sys.stderr)


class Tracker:
    """Tracks one task: draws a bar, calls back, or does nothing (see the module).

    Args:
        task: what is being done, shown first on the bar.
        total: the units of work in all, or None when unknown.
        progress: ``True`` (a bar where one can be seen), ``False`` / ``None``
            (nothing), or a callable given a :class:`Step` after every update.
        stream: where the bar goes (standard error by default).
        delay: seconds before the bar first appears (default :data:`DELAY`).

    Raises:
        ValidationError: ``progress`` is none of those.
    """

    def __init__(
        self,
        task: str,
        total: float | None = None,
        *,
        progress: ProgressArg = True,
        stream: IO[str] | None = None,
        delay: float | None = None,
    ) -> None:
        self.task = task
        self.total = total
        self.done: float = 0
        checked = check_progress(progress)
        self._callback = (
            checked if callable(checked) and not isinstance(checked, bool) else None
        )
        self._stream = sys.stderr if stream is None else stream
        self._draw = progress is True and is_interactive(self._stream)
        self._delay = DELAY if delay is None else delay
        self._started = time.monotonic()
        self._last_draw = -1.0
        self._drawn = False

    def update(self, done: float, detail: str = "") -> None:
        """Record that ``done`` units are finished; redraw at most every 0.1 s."""
        self.done = done
        if self._callback is None and not self._draw:
            return
        step = Step(
            task=self.task,
            done=done,
            total=self.total,
            elapsed=time.monotonic() - self._started,
            detail=detail,
        )
        if self._callback is not None:
            self._callback(step)
        if self._draw and step.elapsed >= self._delay:
            finished = self.total is not None and done >= self.total
            if finished or step.elapsed - self._last_draw >= INTERVAL:
                self._write(step)

    def advance(self, units: float = 1, detail: str = "") -> None:
        """Add ``units`` to the work done."""
        self.update(self.done + units, detail)

    def close(self) -> None:
        """End the bar's line (if one was drawn); later updates draw nothing."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
        self._draw = False
        self._callback = None

    def _write(self, step: Step) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        self._stream.write("\r" + step.render(width).ljust(width - 1))
        self._stream.flush()
        self._last_draw = step.elapsed
        self._drawn = True

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
