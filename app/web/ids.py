"""Ids from URLs and forms, bounded to what the database can hold (see app/models/ids.py).

- `<id:name>` in a route: a URL converter that matches only ids that can exist, so
  `/connections/99999999999999999999/refresh` is a plain 404 and the database never
  sees the number. Plain `<int:…>` is not used for ids (a test checks every route).
- `optional_id(args, name)`: a query or form id; None when absent, 404 when present
  but not an id that can exist (text, negative, too large).
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app.models.ids import MAX_ID, MIN_ID, parse_id


def _up_to(limit: str) -> str:
    """A regex for the decimal numbers 1..int(limit) without leading zeros (ASCII digits only)."""
    shorter = f"[1-9][0-9]{{0,{len(limit) - 2}}}" if len(limit) > 1 else None
    same_length = []
    for i, digit in enumerate(limit):
        rest = len(limit) - i - 1
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):  # a smaller digit here, then anything after it
            same_length.append(f"{limit[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    same_length.append(limit)
    return "(?:" + "|".join(([shorter] if shorter else []) + same_length) + ")"


class IdConverter(IntegerConverter):
    """`<id:connection_id>`: ASCII digits within MIN_ID..MAX_ID, else the rule does not match.

    The range is in the regex itself, not only in the value check: when a value check fails,
    werkzeug may answer 405 from another rule on the same path (one for GET, one for POST)
    instead of 404.
    """

    regex = _up_to(str(MAX_ID))  # not \d, which also matches other scripts' digits

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        super().__init__(map, min=MIN_ID, max=MAX_ID)


def optional_id(args: Mapping[str, str], name: str) -> int | None:
    if name not in args:
        return None
    try:
        return parse_id(args[name])
    except ValueError:
        raise NotFound() from None


def init_app(app: Flask) -> None:
    """Register the converter; call before any blueprint adds its rules."""
    app.url_map.converters["id"] = IdConverter
