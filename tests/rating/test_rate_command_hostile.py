"""``custmgmt rate --policy`` with hostile files: clear errors that quote no content."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from _rate_support import three_customer_store

from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy

ORDERS = """customer_id,placed_at,amount,category,order_id
王芳,2026-01-03,199.90,书,o1
李娜,2026-01-05 10:00,50,食品,o2
张伟,2026-02-03,1000,书,o4
"""

CUSTOMERS = "name,phone,email\n张三,13812345678,zhang.san@example.cn\n"


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_customer_list_given_as_the_policy_is_named_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The error used to quote the file's first 80 characters: a name, a phone.
    orders = write(tmp_path, ORDERS, "orders.csv")
    customers = write(tmp_path, CUSTOMERS, "customers.csv")
    assert main(["rate", str(orders), "--policy", str(customers)]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("custmgmt: error: --policy:")
    assert str(customers) in err
    assert "Traceback" not in err
    for secret in ("张三", "13812345678", "zhang.san"):
        assert secret not in err + captured.out


def test_a_deeply_nested_policy_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write(tmp_path, ORDERS, "orders.csv")
    deep = write(tmp_path, "[" * 100_000, "deep.json")
    assert main(["rate", str(orders), "--policy", str(deep)]) == 2
    assert "nested under 1,000 levels" in capsys.readouterr().err


def test_from_json_describes_refused_text_without_quoting_it() -> None:
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_json(CUSTOMERS)
    assert "13812345678" not in str(caught.value)
    assert caught.value.value == f"text of {len(CUSTOMERS)} characters"
    with pytest.raises(ValidationError, match="3 bytes"):
        RatingPolicy.from_json(b"\xff\xfe\x00")


def test_save_with_the_csv_on_standard_output_keeps_the_csv_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "saved run ..." was printed to standard output ahead of the CSV.
    db = three_customer_store(tmp_path / "shop.sqlite3")
    assert main(["rate", "--db", str(db), "--as-of", "2026-01-01", "--save", "--out", "-"]) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0][:3] == ["customer_id", "score", "stars"]
    assert sorted(r[0] for r in rows[1:]) == ["c0", "c1", "c2"]
    assert "saved run" in captured.err


def test_a_policy_the_input_cannot_support_at_all_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only complaints, and no interactions: the error used to say "features: got
    # ['complaint_count'], expected leaving at least one weighted criterion".
    orders = write(tmp_path, ORDERS.replace(",category", ",kind"), "orders.csv")
    policy = write(tmp_path, '{"criteria": {"complaints": {"weight": 1}}}', "policy.json")
    assert main(["rate", str(orders), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert "policy.features" in err
    assert "complaint_count: no interactions given" in err
