"""Input rules shared by every request: no NUL characters anywhere, strict booleans in request
bodies, and the one definition of a valid account email.

PostgreSQL text columns cannot hold NUL (0x00), and the embedded SQLite database stores it
without complaint, so a NUL that reaches the database is a 500 on one backend only. It is
refused at the edge instead, for every query parameter, path, header value and JSON body
string (`nul_errors`, run by every API route before its parameters are parsed).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Any, ClassVar
from urllib.parse import parse_qsl

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError
from starlette.requests import Request

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL (\\u0000) characters"
NUL_ERROR_TYPE = "string_contains_nul"


def _nul_error(location: tuple[str | int, ...]) -> dict[str, Any]:
    return {"type": NUL_ERROR_TYPE, "loc": location, "msg": NUL_MESSAGE, "input": None}


def _json_nul_locations(value: Any, location: tuple[str | int, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        if NUL in value:
            yield location
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*location, key)
            yield from _json_nul_locations(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_nul_locations(item, (*location, index))


def _body_nul_errors(body: bytes) -> list[dict[str, Any]]:
    # JSON can carry NUL only as the escape \u0000 (a raw control character is invalid JSON
    # and refused by the body parser), so a body without that text needs no further look.
    if b"\\u0000" not in body:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # the route's own parsing reports malformed JSON
    return [_nul_error(location) for location in _json_nul_locations(document, ("body",))]


def nul_errors(request: Request, body: bytes | None) -> list[dict[str, Any]]:
    """Validation errors, one per query parameter, path, header or JSON body value that
    contains NUL; empty when there is none (the common case costs a few substring tests)."""
    errors: list[dict[str, Any]] = []
    if NUL in request.scope["path"]:
        errors.append(_nul_error(("path",)))
    query = request.scope["query_string"]
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                errors.append(_nul_error(("query", name.replace(NUL, ""))))
    for name, value in request.scope["headers"]:
        if b"\x00" in value:
            errors.append(_nul_error(("header", name.decode("latin-1"))))
    if body is not None:
        errors.extend(_body_nul_errors(body))
    return errors


# --- strict booleans ----------------------------------------------------------------------


def _members(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return tuple(member for arg in typing.get_args(annotation) for member in _members(arg))
    return (annotation,)


def _coerced_to_bool(annotation: Any) -> tuple[type, ...]:
    """The JSON scalar types pydantic would turn into `bool` for a field of `annotation`
    (those no other member of its union accepts)."""
    members = _members(annotation)
    if bool not in members:
        return ()
    coerced: tuple[type, ...] = ()
    if str not in members:
        coerced += (str,)
    if int not in members and float not in members:
        coerced += (int, float)
    return coerced


class RequestModel(BaseModel):
    """Base of every request body schema. A field the schema does not name is refused (422
    `extra_forbidden`), so a misspelt or read-only field is never silently dropped; a body
    defined by an outside standard with extension points opts out (`extra="ignore"`). A
    boolean field takes JSON `true` or `false` only: pydantic would otherwise read 0, 1, "yes"
    or "off" as a boolean."""

    model_config = ConfigDict(extra="forbid")

    _coercions: ClassVar[dict[str, tuple[type, ...]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._coercions = {
            name: coerced
            for name, field in cls.model_fields.items()
            if (coerced := _coerced_to_bool(field.annotation))
        }

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_strict(cls, value: Any, info: ValidationInfo) -> Any:
        coerced = cls._coercions.get(info.field_name or "")
        if coerced and not isinstance(value, bool) and isinstance(value, coerced):
            raise PydanticCustomError("bool_type", "Input should be a JSON boolean (true or false)")
        return value


# --- account email --------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def valid_email(value: str) -> str:
    """`value` as an account email address, normalized (lower case); ValueError saying why it
    is not one. Every way an account is made, and signing in, use this one rule."""
    try:
        email = validate_email(value)[1]
    except PydanticCustomError as exc:
        raise ValueError(str(exc)) from None
    return email.strip().lower()


Email = Annotated[
    str, AfterValidator(valid_email), WithJsonSchema({"type": "string", "format": "email"})
]
