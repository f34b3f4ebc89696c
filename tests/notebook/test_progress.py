"""Progress: a bar on a (pseudo-)terminal, nothing on a pipe, callbacks when asked."""

from __future__ import annotations

import io
import os
import pty
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.analytics.clv import BetaGeo, FitProgress, GammaGamma, simulate_bgnbd
from custmgmt.datasets import make_dataset
from custmgmt.datasets.load import load_into
from custmgmt.errors import ValidationError
from custmgmt.notebook import progress as progress_module
from custmgmt.notebook.progress import Step, Tracker, check_progress


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    """The slave side of a pseudo-terminal; yields (stream, master).

    Tests set ``sys.stderr`` themselves: pytest restores its own capture between
    the setup and the call phases."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w", encoding="utf-8", closefd=True)
    os.set_blocking(master, False)
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    try:
        yield stream, master
    finally:
        stream.close()
        os.close(master)


@pytest.fixture
def pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    """The write end of a pipe; yields (stream, read end)."""
    read, write = os.pipe()
    stream = os.fdopen(write, "w", encoding="utf-8", closefd=True)
    os.set_blocking(read, False)
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    try:
        yield stream, read
    finally:
        if not stream.closed:
            stream.close()
        os.close(read)


def _slow_fit_data() -> Any:
    return simulate_bgnbd(3000, r=0.8, alpha=20.0, a=0.6, b=3.0, T=365.0, seed=3)


def test_a_model_fit_draws_a_bar_on_a_pseudo_terminal(
    terminal: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, master = terminal
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)
    data = _slow_fit_data()
    model = BetaGeo().fit(data.frequency, data.recency, data.T, progress=True)
    stream.flush()
    out = _read_all(master).decode()
    assert "fitting BG/NBD" in out
    assert "\r" in out
    assert "log-likelihood" in out
    assert out.count("fitting BG/NBD") <= model.n_iter_
    assert out.endswith("\n")  # the bar's line is ended when the fit ends


def test_a_model_fit_writes_nothing_to_a_pipe(
    pipe: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, read = pipe
    monkeypatch.setattr(sys, "stderr", stream)
    data = _slow_fit_data()
    BetaGeo().fit(data.frequency, data.recency, data.T, progress=True)
    GammaGamma().fit([1, 2, 3, 4] * 10, [10.0, 12.0, 9.0, 20.0] * 10, progress=True)
    stream.close()
    assert _read_all(read) == b""


def test_the_clv_use_case_draws_a_bar_per_fit_on_a_terminal_and_nothing_on_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime

    from custmgmt.analytics.clv import analyse_clv
    from custmgmt.analytics.frames import OrderFrame

    rng = np.random.default_rng(4)
    ids = rng.integers(0, 300, 1500)
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    orders = OrderFrame.from_arrays(
        customer_id=ids, placed_at=start + rng.integers(0, 360 * 86_400, ids.size) * 1_000_000,
        amount=rng.integers(100, 10_000, ids.size), currency="CNY",
    )
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    for make, expect in ((pty.openpty, True), (os.pipe, False)):
        reader, writer = make()
        stream = os.fdopen(writer, "w", encoding="utf-8")
        os.set_blocking(reader, False)
        monkeypatch.setattr(sys, "stderr", stream)
        analyse_clv(orders, as_of=datetime(2025, 1, 1, tzinfo=UTC), progress=True)
        stream.flush()
        out = _read_all(reader).decode()
        stream.close()
        os.close(reader)
        for label in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma"):
            assert (f"fitting {label}" in out) is expect


def test_no_bar_is_drawn_before_the_delay(terminal: tuple[Any, int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    stream, master = terminal
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(progress_module, "DELAY", 3600.0)
    with Tracker("quick", total=10, delay=3600.0) as bar:
        for _ in range(10):
            bar.advance()
    stream.flush()
    assert _read_all(master) == b""


def test_a_bulk_load_draws_a_bar_on_a_terminal_and_nothing_on_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset = make_dataset(30, 60, seed=2)
    for make, expect in ((pty.openpty, True), (os.pipe, False)):
        reader, writer = make()
        stream = os.fdopen(writer, "w", encoding="utf-8")
        os.set_blocking(reader, False)
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setattr(progress_module, "DELAY", 0.0)
        seen: list[tuple[int, int]] = []
        report = load_into(MemoryStore(), dataset, chunk_size=7, progress=True)
        load_into(MemoryStore(), dataset, chunk_size=7,
                  progress=lambda done, total, seen=seen: seen.append((done, total)))
        stream.flush()
        out = _read_all(reader).decode()
        stream.close()
        os.close(reader)
        assert ("loading" in out) is expect
        assert (f"{report.total}/{report.total}" in out) is expect
        assert seen[-1] == (report.total, report.total)


def test_a_callback_receives_every_optimiser_step() -> None:
    seen: list[FitProgress] = []
    data = _slow_fit_data()
    model = BetaGeo().fit(data.frequency, data.recency, data.T, progress=seen.append)
    assert [p.iteration for p in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].log_likelihood == pytest.approx(model.log_likelihood_, rel=1e-6)


def test_a_tracker_callback_gets_steps_with_the_total() -> None:
    steps: list[Step] = []
    with Tracker("work", total=4, progress=steps.append) as bar:
        for _ in range(4):
            bar.advance(detail="x")
    assert [s.done for s in steps] == [1, 2, 3, 4]
    assert {s.total for s in steps} == {4}
    bar.advance()  # after close: nothing more reported
    assert len(steps) == 4


def test_a_tracker_on_a_string_buffer_writes_nothing() -> None:
    buffer = io.StringIO()
    with Tracker("work", total=2, stream=buffer, delay=0.0) as bar:
        bar.advance(2)
    assert buffer.getvalue() == ""


@pytest.mark.parametrize("bad", ["yes", 1, 2.5, object()])
def test_a_bad_progress_argument_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError, match="progress"):
        check_progress(bad)
    with pytest.raises(ValidationError, match="progress"):
        BetaGeo().fit([1, 2], [1.0, 2.0], [3.0, 3.0], progress=bad)


@given(st.floats(0, 1e6), st.one_of(st.none(), st.floats(1, 1e6)), st.integers(10, 200))
def test_a_rendered_step_fits_the_width_and_shows_the_task(
    done: float, total: float | None, width: int
) -> None:
    line = Step(task="fitting", done=done, total=total, elapsed=1.0, detail="d").render(width)
    assert len(line) < width
    assert line.startswith("fitting"[: max(width - 2, 1)])
    if total and width >= 80:
        frac = min(done / total, 1.0)
        assert f"{frac:4.0%}" in line
