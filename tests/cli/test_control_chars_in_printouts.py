"""Values from a hostile store or file never forge a line of a printout.

An id (customer, agent, owner, campaign, SKU) holds no control character: the domain
refuses tab, line breaks, NUL, DEL and C1 in every id field. It may still hold the
Unicode line and paragraph separators (U+2028, U+2029), which many terminals, editors
and log viewers show as line breaks. Free text (a team, a campaign's name, a
restriction's reason) may hold a line break, a carriage return or an 8-bit escape, and
a CSV header or cell anything. Printed as they are, they start a fake line ("FAKE: 5
stars") or drive the analyst's terminal. Every printout shows them escaped through
:func:`custmgmt._text.one_line`.

The hostile store is the demo's store with its ids, teams and reasons rewritten in the
SQLite file (as a file from elsewhere would hold them: each value gets only what its
field may hold, so the store still reads); every command then reads it through the
public command line.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import demo, main
from custmgmt.cli.demo_context import DemoContext
from custmgmt.errors import Conflict, TransitionNotAllowed, ValidationError

#: What a hostile id carries after its real text: what an id may still hold that
#: breaks a line, a Unicode line separator before and a paragraph separator after.
SUFFIX = "\u2028FAKE: 5 stars\u2029"
#: What hostile free text carries: a line break that would start a forged report line,
#: a carriage return that overwrites one, an 8-bit CSI (clear screen) and a Unicode
#: line separator.
TEXT_SUFFIX = "\r\nFAKE: 5 stars\x9b2J\u2028"
FORGED = "FAKE: 5 stars"

# Ids of the demo store: customers, agents, owners, campaigns, SKUs.
_TOKENS = re.compile(
    r"\bC1\d{7}\b|\b[adms]0\d\b|\bsales-0\d\b|\bDEMO-[A-Z0-9-]+\b|\b[A-Z]{3}-\d{5}\b"
    r"|risk-officer"
)
# Free text of the demo store: teams, a campaign's name and a restriction's reason.
_TEXT_TOKENS = re.compile(r"华东组|华南组|夏季回馈|grade D: returns and cancellations")


def _poison(path: Path) -> None:
    """Append :data:`SUFFIX` to every id :data:`_TOKENS` finds in the SQLite file, and
    :data:`TEXT_SUFFIX` to every text :data:`_TEXT_TOKENS` finds (JSON cells get them
    JSON-escaped), as a store written elsewhere would hold them."""
    con = sqlite3.connect(path)
    try:
        triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        saved = triggers.fetchall()
        for name, _ in saved:  # the append-only guards, put back below
            con.execute(f'DROP TRIGGER "{name}"')
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            if not rows:
                continue
            con.execute(f'DELETE FROM "{table}"')
            marks = ", ".join("?" for _ in columns)
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})',
                            [[_poisoned(v) for v in row] for row in rows])
        for _, sql in saved:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


def _poisoned(value: object) -> object:
    if not isinstance(value, str):
        return value
    for tokens, suffix in ((_TOKENS, SUFFIX), (_TEXT_TOKENS, TEXT_SUFFIX)):
        if not tokens.search(value):
            continue
        add = suffix
        if value[:1] in "{[":
            with contextlib.suppress(ValueError):
                json.loads(value)
                add = json.dumps(suffix, ensure_ascii=False)[1:-1]
        value = tokens.sub(lambda m, add=add: m[0] + add, value)
    return value


def assert_one_line_each(text: str) -> None:
    """No forged line (split wherever Python sees a line break: U+2028 and U+2029
    included), no carriage return, separator or escape: each line printable."""
    for line in text.split("\n"):
        assert line.isprintable(), f"raw control character in {line!r}"
    for line in text.splitlines():
        assert not line.lstrip().startswith(FORGED), f"forged line {line!r}"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "store.sqlite3"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--db", str(path), "--customers", "60"]) == 0
    _poison(path)
    return path


@pytest.fixture
def db(hostile_db: Path, tmp_path: Path) -> Path:
    """A copy of the hostile store that a command may write to."""
    copy = tmp_path / "store.sqlite3"
    shutil.copyfile(hostile_db, copy)
    return copy


def _one(db: Path, sql: str) -> str:
    con = sqlite3.connect(db)
    try:
        value = con.execute(sql).fetchone()[0]
    finally:
        con.close()
    assert FORGED in value  # the store really holds a hostile value
    return str(value)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return out + err


# Each command with the arguments that make it print hostile values of the store.
COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "team": lambda db: ["team", "--db", str(db), "--from", "2026-05-01", "--to", "2026-06-30"],
    "risk": lambda db: ["risk", "--db", str(db), "--as-of", "2026-06-30"],
    "prospects": lambda db: ["prospects", "--db", str(db), "--as-of", "2026-06-30"],
    "followups": lambda db: ["followups", "--db", str(db), "--due", "2026-06-02", "--care"],
    "campaign list": lambda db: ["campaign", "--db", str(db), "list"],
    "campaign report": lambda db: [
        "campaign", "--db", str(db), "report", _one(db, "SELECT id FROM campaigns"),
        "--as-of", "2026-06-30", "--replicates", "100"],
    "points": lambda db: [
        "points", _one(db, "SELECT customer_id FROM points_entries"), "--db", str(db),
        "--as-of", "2026-06-30"],
    "recommend": lambda db: [
        "recommend", _one(db, "SELECT customer_id FROM orders ORDER BY id"), "--db", str(db),
        "--as-of", "2026-06-30"],
    "recommend --item": lambda db: [
        "recommend", "--item", _one(db, "SELECT sku FROM order_lines ORDER BY sku"),
        "--db", str(db), "--as-of", "2026-06-30"],
    "privacy export": lambda db: [
        "privacy", "export", "--db", str(db), "--actor", "dpo",
        "--customer", _one(db, "SELECT id FROM customers WHERE id NOT IN "
                           "(SELECT customer_id FROM privacy_sealed) ORDER BY id"),
        "--out", str(db.with_name("export.json"))],
    "privacy erase": lambda db: [
        "privacy", "erase", "--db", str(db), "--actor", "dpo",
        "--customer", _one(db, "SELECT id FROM customers WHERE id NOT IN "
                           "(SELECT customer_id FROM privacy_sealed) ORDER BY id")],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_prints_hostile_store_values_on_one_line(
    command: str, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _run(COMMANDS[command](db), capsys)
    assert FORGED in printed  # a hostile value was printed, escaped
    assert_one_line_each(printed)


def test_tickets_prints_hostile_ids_on_one_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _run(["tickets", "--db", str(db), "--as-of", "2026-06-30"], capsys)
    assert FORGED in printed
    assert_one_line_each(printed)


def _section_name(section: Callable[[DemoContext], None]) -> str:
    return section.__module__.rpartition(".")[2]


@pytest.mark.parametrize(
    "section",
    [pytest.param(s, id=_section_name(s)) for s in demo.SECTIONS],
)
def test_a_demo_section_on_a_reopened_hostile_store_prints_one_line_each(
    section: Callable[[DemoContext], None], db: Path
) -> None:
    out = io.StringIO()
    store = SQLiteStore(db, mode="existing")
    try:
        ctx = DemoContext(store=store, as_of=demo.DEFAULT_AS_OF, seed=7, out=out,
                          rng=random.Random(7), db_path=db)
        section(ctx)
    finally:
        store.close()
    assert_one_line_each(out.getvalue())


def test_the_demo_summary_of_a_reopened_hostile_store_prints_one_line_each(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The store summary that opens the demo (not one of its sections).
    store = SQLiteStore(db, mode="read_only")
    out = io.StringIO()
    try:
        demo._summary(DemoContext(store=store, as_of=demo.DEFAULT_AS_OF, seed=7, out=out,
                                  rng=random.Random(7), db_path=db))
    finally:
        store.close()
    assert FORGED in out.getvalue()
    assert_one_line_each(out.getvalue())


def test_an_error_naming_a_hostile_csv_column_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # risk fit names the column of a non-numeric cell in the error's field (before the
    # column names are checked).
    table = tmp_path / "cases.csv"
    table.write_text('"income\nFAKE: 5 stars",bad\nabc,1\n', encoding="utf-8")
    assert main(["risk", "fit", str(table), "--label", "bad"]) == 2
    err = capsys.readouterr().err
    assert FORGED in err
    assert_one_line_each(err.rstrip("\n"))


def test_the_kpi_text_report_prints_hostile_csv_categories_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_id,placed_at,amount,category,status\n"
        'c1,o1,2026-01-05,10,"<script>x</script>\nFAKE: 5 stars\x1b[2J",paid\n'
        'c2,o2,2026-04-05,20,"<script>x</script>\nFAKE: 5 stars\x1b[2J",paid\n'
        'c1,o3,2026-05-05,30,"<script>x</script>\nFAKE: 5 stars\x1b[2J",paid\n',
        encoding="utf-8",
    )
    html = tmp_path / "report.html"
    printed = _run(["report", str(orders), "--as-of", "2026-06-30", "--html", str(html)], capsys)
    assert FORGED in printed
    assert_one_line_each(printed)
    written = html.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in written
    assert "<script>" not in written


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_print_a_hostile_file_name_on_one_line(
    command: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "copy\nFAKE: 5 stars.sqlite3"
    if command == "backup":
        argv = ["backup", "--db", str(db), "--to", str(hostile)]
    else:
        shutil.copyfile(db, hostile)
        argv = ["restore", "--db", str(tmp_path / "restored.sqlite3"), "--from", str(hostile)]
    printed = _run(argv, capsys)
    assert FORGED in printed
    assert_one_line_each(printed)


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(field=_TEXT, value=_TEXT, expected=_TEXT)
def test_a_validation_error_message_is_one_printable_line(
    field: str, value: str, expected: str
) -> None:
    error = ValidationError(field, value, expected)
    assert str(error).isprintable()
    assert (error.field, error.value, error.expected) == (field, value, expected)
    if field.isprintable() and expected.isprintable():  # plain text is kept as it is
        assert str(error).startswith(f"{field}: got ")
        assert str(error).endswith(f", expected {expected}")


@given(key=_TEXT, message=_TEXT)
def test_conflict_and_transition_messages_are_one_printable_line(key: str, message: str) -> None:
    assert str(Conflict("customer", key, message)).isprintable()
    assert str(TransitionNotAllowed("open", key, message)).isprintable()
