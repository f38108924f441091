"""Page form fields whose length limit is checked where the page can answer with its own
form, the values kept and the field marked, instead of while FastAPI parses the body
(``Form(max_length=...)`` fails before the page runs, so the clerk gets a bare error
page and loses what they typed).

A field is declared ``Annotated[str, Form(), Limit(120)]``: longer text arrives intact,
as a ``TooLong`` string that knows its limit. The page's form dependency hands its raw
values to ``too_long`` and keeps the result on its form; the page's own validation step
raises it (a ``ValidationFailed`` naming the field), and the page re-renders the form
as for any other mistake, with ``error_field`` set so ``web.pages.render`` marks the
input. The body size limit still bounds every field.

The short fields every flow's forms have are here too (``Text16``, ``Text64``, ``Number``,
``OtpField``): the hidden fields that carry a step's state are all optional, and a
missing one is reported by the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from healthstack.kernel.errors import ValidationFailed

# Form fields of the flows (a step's hidden state, a choice, an OTP).
Text16 = Annotated[str, Form(max_length=16)]
Text64 = Annotated[str, Form(max_length=64)]
Number = Annotated[int, Form(ge=0, le=2**40)]
OtpField = Annotated[str, Form(max_length=12)]


class TooLong(str):
    """Text longer than its field allows, kept as typed."""

    limit: int

    def __new__(cls, value: str, limit: int) -> TooLong:
        obj = super().__new__(cls, value)
        obj.limit = limit
        return obj


@dataclass(frozen=True)
class Limit:
    """``Annotated`` metadata of a page form field: at most ``max_length`` characters,
    checked by the page (see the module docstring)."""

    max_length: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.mark, handler(source))

    def mark(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.max_length:
            return TooLong(value, self.max_length)
        return value


def too_long(
    values: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> ValidationFailed | None:
    """The mistake to show for the first over-long field among ``values`` (field name →
    value as parsed), or None. ``labels`` are the names the form shows."""
    for name, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, TooLong):
                label = (labels or {}).get(name) or name.replace("_", " ").capitalize()
                return ValidationFailed(
                    f"{label} can be at most {item.limit} characters; what was typed has "
                    f"{len(item)}. Shorten it and send the form again.",
                    field=name,
                    code="HS-1007",
                )
    return None


def cut(value: str, limit: int) -> str:
    """``value``, marked ``TooLong`` when over ``limit`` (for forms a page reads itself)."""
    return TooLong(value, limit) if len(value) > limit else value
