"""Path and query parameters that several routes share, with the constraints the OpenAPI
document states for them."""

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator, WithJsonSchema
from starlette.convertors import Convertor, register_url_convertor

from service.notices.queries import CURSOR_PATTERN, MAX_CURSOR
from service.notices.schema import iso_date

Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page, unchanged (base64url); a cursor "
        "that names no position of this list starts it from the beginning",
    ),
]


def _iso_date(value: object) -> date:
    if not isinstance(value, str):  # a query parameter is text; pydantic would take numbers
        raise ValueError("must be an ISO 8601 date YYYY-MM-DD")
    return date.fromisoformat(iso_date(value))


# a date as YYYY-MM-DD only (pydantic alone would read `0` as 1970-01-01)
IsoDate = Annotated[
    date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]


class NoticeIdSegment(Convertor[str]):
    """`{notice_id:notice_id}` as the last segment of `/notices/{origin}/{notice_id}`: any
    segment but the actions `amend`, `revoke` and `review`, so that `GET /notices/<id>/amend` does not
    reach that route (as a read of notice `amend`) but answers 405, as any method a path does
    not answer; the id's form is checked by the route, as before (422)."""

    regex = "(?!(?:amend|revoke|review)$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("notice_id", NoticeIdSegment())
