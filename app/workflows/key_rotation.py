"""`flask keys rotate`: re-seal every stored token and pending secret under the
keyring's primary key, so an old key can be retired.

Batches of `batch_size` rows per sealed column, in id order. Each batch is read, its
transaction ended, re-sealed (KMS calls happen with no transaction open), then written
and committed on its own: a maintenance sweep must not hold one transaction over whole
tables, and committed batches are what make an interrupted run resumable. Every write
is a compare-and-swap on the old ciphertext, so a token refreshed meanwhile is never
replaced by the stale value. Values already under the primary key are skipped, so a
re-run is cheap and changes nothing. A value that does not open is counted and
logged, never rewritten; KeyUnavailable stops the run (batches done so far stay done).
The steps are services/token_sealing.py's `SealedColumn`s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.extensions import db
from app.services.token_sealing import sealed_columns


@dataclass
class RotationCounts:
    rewrapped: int = 0  # re-sealed under the primary key
    current: int = 0  # already under the primary key
    changed: int = 0  # rewritten by someone else between our read and write (theirs kept)
    failed: int = 0  # could not be opened (tampered, moved, or its key is gone): left as it was

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return (f"rewrapped {self.rewrapped}, already current {self.current}, changed meanwhile {self.changed}, "
                f"could not open {self.failed}")


def rotate_keys(*, keyring, batch_size: int = 200,
                progress: Callable[[str, int, int], None] | None = None) -> RotationCounts:
    """Re-seal everything under the primary key (see the module docstring).
    `progress(label, done, total)` is called after each batch."""
    counts = RotationCounts()
    for column in sealed_columns():
        total = column.count()
        done, last_id = 0, 0
        while True:
            rows = column.batch(after_id=last_id, limit=batch_size)
            db.session.commit()  # end the read: the writes below compare against what we read
            if not rows:
                break
            last_id = rows[-1].id
            resealed = [(row, column.reseal(row, keyring=keyring)) for row in rows]
            for row, new in resealed:
                counts.add(new if isinstance(new, str) else column.swap(row, new))
            db.session.commit()
            done += len(rows)
            if progress:
                progress(column.label, done, max(total, done))
    return counts
