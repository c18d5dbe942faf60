"""The admin revenue summary, computed in SQL, against known fixtures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.modules.payments.factories import create_course, create_payment

URL = "/api/v1/payments/revenue/summary"


@pytest.fixture
def fixtures(student: Any, instructor: Any) -> dict[str, Any]:
    python = create_course(instructor, title="Python", price="50.00")
    arabic = create_course(instructor, title="Arabic", price="300.00", currency="EGP")
    day1 = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
    day2 = datetime(2026, 10, 6, 23, 30, tzinfo=UTC)
    day3 = datetime(2026, 11, 1, 0, 15, tzinfo=UTC)
    create_payment(student, course=python, amount="50.00", gateway="stripe", completed_at=day1)
    create_payment(student, course=python, amount="50.00", gateway="stripe", completed_at=day2)
    create_payment(
        student,
        course=python,
        amount="50.00",
        gateway="myfatoorah",
        completed_at=day3,
        status="refunded",
    )
    create_payment(
        student, course=arabic, amount="300.00", currency="EGP", gateway="paymob", completed_at=day3
    )
    # Never counted: not paid.
    create_payment(student, course=python, amount="50.00", gateway="stripe", status="pending")
    create_payment(student, course=python, amount="50.00", gateway="stripe", status="failed")
    return {"python": python, "arabic": arabic}


def _get(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_revenue_by_month_gateway_course_and_day(
    client: Any, admin: Any, auth_headers: Any, fixtures: dict[str, Any]
) -> None:
    headers = auth_headers(admin)
    by_month = _get(client, headers, group_by="month")
    rows = {(r["key"], r["currency"]): r for r in by_month["items"]}
    assert rows[("2026-10", "USD")]["gross"] == "100.00"
    assert rows[("2026-10", "USD")]["payments"] == 2
    november = rows[("2026-11", "USD")]
    assert (november["gross"], november["refunded"], november["net"]) == ("50.00", "50.00", "0.00")
    assert rows[("2026-11", "EGP")]["net"] == "300.00"
    totals = {t["currency"]: t for t in by_month["totals"]}
    assert Decimal(totals["USD"]["gross"]) == Decimal("150")
    assert Decimal(totals["USD"]["net"]) == Decimal("100")
    assert totals["USD"]["refunds"] == 1 and totals["EGP"]["payments"] == 1

    by_gateway = {
        (r["key"], r["currency"]): r["gross"]
        for r in _get(client, headers, group_by="gateway")["items"]
    }
    assert by_gateway == {
        ("myfatoorah", "USD"): "50.00",
        ("paymob", "EGP"): "300.00",
        ("stripe", "USD"): "100.00",
    }
    by_course = _get(client, headers, group_by="course")["items"]
    labels = {(r["label"], r["currency"]): r["net"] for r in by_course}
    assert labels == {("Python", "USD"): "100.00", ("Arabic", "EGP"): "300.00"}
    assert {r["key"] for r in by_course} == {str(fixtures["python"].id), str(fixtures["arabic"].id)}

    by_day = _get(
        client,
        headers,
        group_by="day",
        date_from="2026-10-06T00:00:00Z",
        date_to="2026-11-01T00:00:00Z",
    )
    assert [(r["key"], r["gross"]) for r in by_day["items"]] == [("2026-10-06", "50.00")]

    paged = _get(client, headers, group_by="gateway", page_size=2, page=2)
    assert paged["total"] == 3 and len(paged["items"]) == 1 and paged["pages"] == 2


def test_revenue_is_admin_only_and_validates_input(
    client: Any, student: Any, instructor: Any, admin: Any, auth_headers: Any
) -> None:
    assert client.get(URL, headers=auth_headers(student)).status_code == 403
    assert client.get(URL, headers=auth_headers(instructor)).status_code == 403
    assert client.get(URL).status_code == 401
    assert (
        client.get(URL, params={"group_by": "user"}, headers=auth_headers(admin)).status_code == 422
    )
    bad_range = client.get(
        URL,
        params={"date_from": "2026-11-02T00:00:00Z", "date_to": "2026-11-01T00:00:00Z"},
        headers=auth_headers(admin),
    )
    assert bad_range.status_code == 422
