"""An answer already made of validated response models, written as JSON once.

FastAPI validates what a route returns against its `response_model` again, then serialises
it. A route whose answer is built from its response model's own instances can skip that
second pass: it returns the bytes pydantic writes for that model, which are the bytes FastAPI
would have written (the same serializer, by alias, nothing excluded). The `response_model`
stays on the route for the OpenAPI document.
"""

from functools import cache
from typing import Any

from fastapi import Response
from pydantic import TypeAdapter


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def json_answer(
    model: Any, value: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`value`, an instance of `model` (or a dict of its fields holding validated instances),
    as `model`'s JSON."""
    return Response(
        content=_adapter(model).dump_json(value),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def validated_answer(model: Any, data: Any, *, status_code: int = 200) -> Response:
    """`data`, plain values (dicts and lists), validated as `model` in one pass and written as
    its JSON: one call into pydantic for a whole page rather than one per item."""
    adapter = _adapter(model)
    return json_answer(model, adapter.validate_python(data), status_code=status_code)
