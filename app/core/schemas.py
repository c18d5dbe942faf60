"""`PartialUpdate`, the base of every `XUpdate` request body.

Every field of an update may be left out (only the fields sent are changed, applied with
`exclude_unset`). Sending `null` clears a field only where clearing means something (the
class's `nullable`); any other field refuses it, and the OpenAPI document shows it as not
nullable so clients do not send what would be refused.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonDict, JsonSchemaValue
from pydantic_core import CoreSchema

from app.core.validation import RequestModel

_NULL = {"type": "null"}

# What an http(s) URL field accepts, for the document (the field's validator decides).
WEB_URL_SCHEMA: JsonDict = {"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}


def _without_null(prop: dict[str, Any]) -> None:
    variants = prop.get("anyOf")
    if not variants or _NULL not in variants:
        return
    rest = [variant for variant in variants if variant != _NULL]
    del prop["anyOf"]
    if len(rest) == 1:
        prop.update({key: value for key, value in rest[0].items() if key not in prop})
    else:
        prop["anyOf"] = rest
    if "default" in prop and prop["default"] is None:
        del prop["default"]


class PartialUpdate(RequestModel):
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null(self) -> Self:
        for name in sorted(self.model_fields_set - self.nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if handler.mode == "validation":
            target = handler.resolve_ref_schema(schema)
            for name, prop in target.get("properties", {}).items():
                if name not in cls.nullable:
                    _without_null(prop)
        return schema
