"""Row ids as the database can hold them.

Primary and foreign keys are INTEGER columns: 64-bit on SQLite but 32-bit on
PostgreSQL, where a literal beyond 2,147,483,647 is not "no such row" but an error
(NumericValueOutOfRange), i.e. a server error. Every id that arrives from outside
(URL path, query string, form field) goes through `parse_id`, so an id that cannot
exist is answered like one that does not: not found.
"""
from __future__ import annotations

MIN_ID = 1
MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the narrower of the two databases
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(value: object) -> int:
    """"42" -> 42. Plain ASCII digits only (no sign, spaces or underscores), within
    MIN_ID..MAX_ID; anything else raises ValueError, so it also serves as werkzeug's
    `type=` (`request.form.get("workspace_id", type=parse_id)` gives None)."""
    if isinstance(value, bool):
        raise ValueError("not an id")
    if isinstance(value, int):
        number = value
    else:
        text = value if isinstance(value, str) else str(value)
        if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()):
            raise ValueError("not an id")
        number = int(text)
    if not MIN_ID <= number <= MAX_ID:
        raise ValueError("id out of range")
    return number


def is_storable_id(value: object) -> bool:
    """True when `value` is an int the id columns can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_ID <= value <= MAX_ID
