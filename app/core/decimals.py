"""Decimal request fields (money, points, percentages) documented as strictly as they are
validated.

Pydantic documents a `Decimal` input as "a number, or any string", so a client reading the
OpenAPI document would send `""`, `"-1"` or `"0.001"` and be refused. A field annotated with
`DecimalString` is validated with its bounds and decimal places and documented as a decimal
string whose pattern carries them (a JSON number within the bounds is accepted as well):

    Price = Annotated[Decimal, DecimalString(whole_digits=8)]
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, cast

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


@dataclass(frozen=True)
class DecimalString:
    """At least 0 (above 0 when `positive`), below 10**`whole_digits` (up to it when
    `inclusive`), with at most `places` decimals."""

    whole_digits: int
    places: int = 2
    inclusive: bool = False
    positive: bool = False

    @property
    def upper(self) -> Decimal:
        return Decimal(10) ** self.whole_digits

    def pattern(self) -> str:
        fraction = rf"(\.[0-9]{{1,{self.places}}})?"
        choices = [rf"[0-9]{{1,{self.whole_digits}}}{fraction}"]
        if self.inclusive:
            choices.append("1" + "0" * self.whole_digits + rf"(\.0{{1,{self.places}}})?")
        # Positive: anything but a zero, however many zeros it is written with.
        not_zero = r"(?![0.]*$)" if self.positive else ""
        return rf"^{not_zero}({'|'.join(choices)})$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        cast(dict[str, Any], schema).update(
            {
                "gt" if self.positive else "ge": Decimal(0),
                "le" if self.inclusive else "lt": self.upper,
                "decimal_places": self.places,
            }
        )
        return schema

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if handler.mode != "validation":
            return handler(schema)
        lowest = "above 0" if self.positive else "at least 0"
        highest = f"{'at most' if self.inclusive else 'below'} {self.upper}"
        return {
            "type": "string",
            "pattern": self.pattern(),
            "examples": ["1." + "0" * self.places],
            "description": f"A decimal string {lowest} and {highest}, "
            f"with up to {self.places} decimals",
        }


# 0 to 100 with two decimals (passing scores, late penalties).
Percent = Annotated[Decimal, DecimalString(whole_digits=2, inclusive=True)]


def two_places(value: Decimal) -> Decimal:
    """`value` with exactly two decimal places, as the database stores it."""
    return value.quantize(Decimal("0.01"))


# A decimal answered with two places ("0.00", as stored), whatever it was built from.
TwoPlaces = Annotated[Decimal, AfterValidator(two_places)]
