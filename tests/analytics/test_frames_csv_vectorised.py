"""The vectorised CSV reader against the slow row-by-row reference, cell rules one by one,
and the extremes that used to escape as plain Python errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from _csv_reference import Refused, frame_orders, read, reference_orders
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from custmgmt.analytics import _csv
from custmgmt.analytics.frames import OrderFrame
from custmgmt.errors import ValidationError

ZONES = ["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
RATES = {"USD": Decimal("7.2345"), "JPY": Decimal("0.0481")}
DIGITS = {"": 2, "CNY": 2, " CNY ": 2, "USD": 2, "JPY": 0}
# Examples per test come from the hypothesis profile (tests/conftest.py): 100 by
# default, 10,000 with HYPOTHESIS_PROFILE=long.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(tmp_path: Path, text: str | bytes, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# -- generated files -----------------------------------------------------------------------
customer_ids = st.sampled_from(
    ["c1", " c1", "c1 ", "=1+1", " =1+1", "王芳", "a,b", 'q"uote', "x\ny", "+5", "\u3000c", "7"]
) | st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), min_size=1, max_size=5)


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)))
    shape = draw(st.sampled_from(["date", "minute", "second", "fraction", "compact", "hour"]))
    if shape == "date":
        return moment.strftime("%Y-%m-%d")
    if shape == "compact":
        return moment.strftime("%Y%m%dT%H%M%S")
    if shape == "hour":
        return moment.strftime("%Y-%m-%dT%H")
    sep = draw(st.sampled_from(["T", " "]))
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M")
    if shape in ("second", "fraction"):
        text += moment.strftime(":%S")
    if shape == "fraction":
        text += "." + f"{moment.microsecond:06d}"[: draw(st.integers(1, 6))]
    suffix = draw(st.sampled_from(["", "", "Z", "offset"]))
    if suffix == "offset":
        minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    elif suffix == "Z":
        text += "Z"
    return text


@st.composite
def amounts(draw: st.DrawFn, digits: int, at_most: int | None = None) -> tuple[str, int]:
    minor = draw(st.integers(0, 10**12 if at_most is None else at_most))
    major, cents = divmod(minor, 10**digits)
    plain = f"{major}.{cents:0{digits}d}" if digits else str(major)
    shape = draw(st.sampled_from(["plain", "plain", "short", "padded", "plus", "exp", "zeros"]))
    if shape == "short" and digits:
        text = plain.rstrip("0").rstrip(".") or "0"
        if text.startswith("0."):
            text = text[1:]
    elif shape == "padded":
        text = f" {plain} "
    elif shape == "plus":
        text = "+" + plain
    elif shape == "exp":
        text = f"{Decimal(minor).scaleb(-digits):E}"
    elif shape == "zeros":
        text = "00" + plain + ("000" if digits else ".000")
    else:
        text = plain
    return text, minor


@st.composite
def order_files(draw: st.DrawFn) -> tuple[str, str]:
    zone = draw(st.sampled_from(ZONES))
    optional = draw(
        st.lists(
            st.sampled_from(
                ["order_id", "currency", "category", "status", "returned_amount", "channel"]
            ),
            unique=True,
        )
    )
    columns = draw(st.permutations(["customer_id", "placed_at", "amount", *optional]))
    n_orders = draw(st.integers(0, 8))
    rows: list[dict[str, str]] = []
    for k in range(n_orders):
        base = {
            "customer_id": draw(customer_ids),
            "placed_at": draw(iso_times()),
            "status": draw(st.sampled_from(["", "paid", "Delivered", " cancelled ", "returned"])),
            "channel": draw(st.sampled_from(["", "web", " app "])),
            "order_id": draw(st.sampled_from([f"o{k}", f" o{k}", ""])),
        }
        for _ in range(draw(st.integers(1, 3)) if base["order_id"].strip() else 1):
            currency = draw(st.sampled_from(list(DIGITS)))
            digits = DIGITS[currency] if "currency" in optional else 2
            amount, minor = draw(amounts(digits))
            returned = draw(st.sampled_from(["", "0"]) | amounts(digits, minor).map(lambda a: a[0]))
            rows.append(
                {
                    **base,
                    "amount": amount,
                    "currency": currency,
                    "returned_amount": returned,
                    "category": draw(st.sampled_from(["", "tea", " 图书 ", "toys"])),
                }
            )
    rows = draw(st.permutations(rows))
    stream = io.StringIO(newline="")
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(stream, quoting=quoting, lineterminator=terminator)
    header = [draw(st.sampled_from([c, c.upper(), f" {c.title()} "])) for c in columns]
    writer.writerow(header)
    for row in rows:
        if draw(st.booleans()) and draw(st.booleans()):
            stream.write(terminator)  # a blank line
        writer.writerow([row[c] for c in columns])
    return stream.getvalue(), zone


@SETTINGS
@given(order_files())
def test_the_vectorised_reader_gives_the_reference_orders(
    tmp_path: Path, generated: tuple[str, str]
) -> None:
    text, zone = generated
    path = _write(tmp_path, text)
    try:
        expected = reference_orders(read(path, tz=zone, rates=RATES))
    except Refused as refused:
        where = (refused.line, refused.column)
        with pytest.raises(ValidationError) as info:
            OrderFrame.from_csv(path, tz=zone, rates=RATES)
        assert (info.value.line, info.value.column) == where  # type: ignore[attr-defined]
        return
    frame = OrderFrame.from_csv(path, tz=zone, rates=RATES)
    assert frame_orders(frame) == expected


def test_a_hash_collision_falls_back_to_sorting_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csv, "_hash", lambda cells: np.zeros(len(cells), dtype=np.uint64))
    path = _write(
        tmp_path,
        "customer_id,placed_at,amount,category,order_id\n"
        "b,2024-01-01,1,x,o1\na,2024-01-02,2,y,o2\nb,2024-01-03,3,x,o3\n",
    )
    frame = OrderFrame.from_csv(path)
    assert frame.customer_ids.tolist() == ["a", "b"]
    assert frame.customer_code.tolist() == [1, 0, 1]
    assert frame.category_names == ("x", "y")
    assert frame.category.tolist() == [0, 1, 0]
    assert frame.order_id.tolist() == ["o1", "o2", "o3"]


def test_a_very_wide_cell_is_read_without_a_matrix_of_its_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csv, "_MATRIX_BYTES", 100)
    wide = "w" * 200
    path = _write(
        tmp_path,
        f"customer_id,placed_at,amount,category\n{wide},2024-01-01,1.5,{wide}\n"
        + "".join(f"c{i},2024-01-0{i % 9 + 1},{i},tea\n" for i in range(20)),
    )
    frame = OrderFrame.from_csv(path)
    assert wide in frame.customer_ids.tolist()
    assert frame.amount[0] == 150
    assert frame.category_names == ("tea", wide)


# -- one cell at a time --------------------------------------------------------------------
time_like = st.text(st.sampled_from("0123456789-:T .Z+z"), max_size=34) | iso_times()


@settings(deadline=None)
@given(st.lists(time_like, min_size=1, max_size=6))
def test_the_fast_time_parser_agrees_with_the_reference_or_leaves_the_cell_to_it(
    texts: list[str],
) -> None:
    assume(all("\x00" not in t for t in texts))
    cells = np.array([t.encode() for t in texts], dtype="S")
    length = np.array([len(t.encode()) for t in texts], dtype=np.int64)
    matched, wall, offset, aware = _csv._fast_times(cells, length)
    for i, text in enumerate(texts):
        if not matched[i]:
            continue
        expected = _csv.reference_time(text, UTC)  # UTC: wall clock = instant
        assert int(wall[i] - offset[i]) == expected, text
        assert bool(aware[i]) == ("+" in text[10:] or "-" in text[10:] or text.endswith("Z"))


amount_like = st.text(st.sampled_from("0123456789.+-eE_ "), max_size=26)


@settings(deadline=None)
@given(st.lists(amount_like, min_size=1, max_size=6), st.sampled_from([0, 2, 3]))
def test_the_fast_amount_parser_agrees_with_the_reference_or_leaves_the_cell_to_it(
    texts: list[str], digits: int
) -> None:
    cells = np.array([t.encode() for t in texts], dtype="S")
    length = np.array([len(t.encode()) for t in texts], dtype=np.int64)
    places = np.full(len(texts), digits, dtype=np.int64)
    matched, minor = _csv._fast_minor(cells, length, places)
    for i, text in enumerate(texts):
        try:
            expected = _csv.reference_minor(text, digits)
        except ValidationError:
            assert not matched[i], text
            continue
        if matched[i]:
            assert int(minor[i]) == expected, text


naive_times = st.datetimes(min_value=datetime(1850, 1, 1), max_value=datetime(2200, 1, 1))


@settings(deadline=None)
@given(st.lists(naive_times, min_size=1, max_size=20), st.sampled_from(ZONES))
@example([datetime(2000, 3, 26, 2, 0, fold=1)], "Europe/Berlin")
def test_local_times_convert_like_datetime_replace(moments: list[datetime], name: str) -> None:
    zone = ZoneInfo(name)
    epoch = datetime(1970, 1, 1)
    wall = np.array([(m - epoch) // timedelta(microseconds=1) for m in moments], dtype=np.int64)
    # A CSV cell's wall time carries no fold: it reads as fold=0 (the earlier of a
    # repeated hour, the offset before a skipped one), whatever fold hypothesis drew.
    expected = [
        (m.replace(fold=0, tzinfo=zone) - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(microseconds=1)
        for m in moments
    ]
    assert _csv.local_to_utc(wall, zone).tolist() == expected


def test_times_around_a_daylight_saving_change_convert_exactly() -> None:
    zone = ZoneInfo("Europe/Berlin")
    epoch = datetime(1970, 1, 1)
    start = datetime(2024, 3, 31, 0, 0)
    moments = [start + timedelta(minutes=7 * k) for k in range(60)]  # through 02:00-03:00
    moments += [datetime(2024, 10, 27, 1, 59), datetime(2024, 10, 27, 2, 30)]  # repeated
    wall = np.array([(m - epoch) // timedelta(microseconds=1) for m in moments], dtype=np.int64)
    expected = [
        (m.replace(tzinfo=zone) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        for m in moments
    ]
    assert _csv.local_to_utc(wall, zone).tolist() == expected


# -- extremes (issue 12, item 4) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("c,2024-01-01,1e999999", "amount"),
        ("c,2024-01-01,1e-999999", "amount"),
        ("c,2024-01-01,1.000000000000000000000000000001", "amount"),
        ("c,2024-01-01,99999999999999999999", "amount"),
        ("c,0001-01-01,1", "placed_at"),
        ("c,9999-12-31T23:00-05:00,1", "placed_at"),
        ("c,9999-12-31T20:00Z,1", "placed_at"),
        ("c,0000-01-01,1", "placed_at"),
        ("c,2024-02-30,1", "placed_at"),
    ],
)
def test_extreme_cells_are_errors_naming_line_column_and_value(
    tmp_path: Path, cell: str, column: str
) -> None:
    path = _write(tmp_path, f"customer_id,placed_at,amount\nok,2024-01-01,1\n{cell}\n")
    with pytest.raises(ValidationError) as info:
        OrderFrame.from_csv(path)
    assert info.value.line == 3  # type: ignore[attr-defined]
    assert info.value.column == column  # type: ignore[attr-defined]
    assert info.value.value == cell.split(",")[1 if column == "placed_at" else 2]


def test_the_first_and_last_representable_days_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "customer_id,placed_at,amount\na,0001-01-01T00:00Z,1\nb,9999-12-30,2\n"
    )
    frame = OrderFrame.from_csv(path, tz="UTC")
    assert frame.placed_at.tolist() == [
        (datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(microseconds=1),
        (datetime(9999, 12, 30, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(microseconds=1),
    ]


def test_a_bad_byte_is_reported_on_its_own_line_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path, b"customer_id,placed_at,amount\na,2024-01-01,1\nb,2024-01-01,\xff2\n"
    )
    with pytest.raises(ValidationError) as info:
        OrderFrame.from_csv(path)
    assert info.value.line == 3  # type: ignore[attr-defined]
    assert info.value.column == "amount"  # type: ignore[attr-defined]
    assert "--encoding" in str(info.value)


def test_another_encoding_is_read_when_named(tmp_path: Path) -> None:
    text = "customer_id,placed_at,amount,category\n王芳,2024-01-01,1,图书\n"
    path = _write(tmp_path, text.encode("gb18030"))
    with pytest.raises(ValidationError, match="line 2"):
        OrderFrame.from_csv(path)
    frame = OrderFrame.from_csv(path, encoding="gb18030")
    assert frame.customer_ids.tolist() == ["王芳"]
    assert frame.category_names == ("图书",)
    with pytest.raises(ValidationError, match="encoding"):
        OrderFrame.from_csv(path, encoding="no-such-codec")


def test_headers_are_matched_whatever_their_case(tmp_path: Path) -> None:
    path = _write(tmp_path, "Customer_ID, PLACED_AT ,Amount,Category\na,2024-01-01,1.5,tea\n")
    frame = OrderFrame.from_csv(path)
    assert frame.amount.tolist() == [150]
    assert frame.category_names == ("tea",)
    with pytest.raises(ValidationError, match="each column once"):
        OrderFrame.from_csv(_write(tmp_path, "customer_id,placed_at,amount,AMOUNT\n", "b.csv"))


def test_ids_that_differ_in_surrounding_whitespace_stay_distinct(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,placed_at,amount\n=1+1,2024-01-01,1\n =1+1,2024-01-01,2\n")
    frame = OrderFrame.from_csv(path)
    assert frame.customer_ids.tolist() == [" =1+1", "=1+1"]
    assert frame.n_customers == 2


# -- lines of one order (issue 11, item 8) -------------------------------------------------
def test_rows_sharing_an_order_id_are_the_lines_of_one_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "customer_id,placed_at,amount,order_id,category,returned_amount\n"
        "a,2024-01-01,1,o1,tea,0\n"
        "b,2024-01-02,3,o2,toys,\n"
        "a,2024-01-01,2.5,o1,books,1\n"
        "a,2024-01-03,4,,tea,\n"
        "a,2024-01-04,5,,tea,\n",
    )
    frame = OrderFrame.from_csv(path)
    assert len(frame) == 4
    assert frame.order_id.tolist() == ["o1", "o2", None, None]
    assert frame.amount.tolist() == [350, 300, 400, 500]
    assert frame.returned_amount.tolist() == [100, 0, 0, 0]
    names = frame.category_names
    assert [names[c] for c in frame.category] == ["books", "toys", "tea", "tea"]
    assert frame.line_row.tolist() == [0, 0]
    assert [names[c] for c in frame.line_category] == ["books", "tea"]


@pytest.mark.parametrize(
    ("second", "column", "named"),
    [
        ("b,2024-01-01,2,o1,", "customer_id", "'a'"),
        ("a,2024-01-02,2,o1,", "placed_at", "2023-12-31T16:00:00+00:00"),
        ("a,2024-01-01,2,o1,cancelled", "status", "'delivered'"),
    ],
)
def test_lines_of_one_order_that_disagree_are_an_error_naming_both_lines(
    tmp_path: Path, second: str, column: str, named: str
) -> None:
    path = _write(
        tmp_path,
        "customer_id,placed_at,amount,order_id,status\n"
        f"a,2024-01-01,1,o1,\nc,2024-01-05,1,o2,\n{second}\n",
    )
    with pytest.raises(ValidationError) as info:
        OrderFrame.from_csv(path)
    assert info.value.line == 4  # type: ignore[attr-defined]
    assert info.value.column == column  # type: ignore[attr-defined]
    assert "line 2" in str(info.value)
    assert named in str(info.value)


