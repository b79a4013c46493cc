"""What a job run reports: counts and failed items, never secrets."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

SHOWN_ERRORS = 3  # errors printed by str(); the rest are summarised as "and N more"


@dataclass
class JobResult:
    name: str
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def item_failed(self, what: str, exc: BaseException) -> None:
        """One item of the run failed and the run goes on: log it with its traceback and
        count it (the runner adds `len(errors)` to the job's item-error total).

        Call it from the `except` block that caught `exc`, after rolling back."""
        from app.services.job_runs import short_error

        logging.getLogger(f"jobs.{self.name}").error("job item failed job=%s item=%s", self.name, what,
                                                      exc_info=exc)
        self.errors.append(f"{what}: {short_error(exc)}")

    @property
    def item_errors(self) -> int:
        return len(self.errors)

    def __str__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "nothing to do"
        text = f"{self.name}: {parts}"
        if self.errors:
            shown = "; ".join(self.errors[:SHOWN_ERRORS])
            more = len(self.errors) - SHOWN_ERRORS
            text += f"; {len(self.errors)} failed: {shown}" + (f"; and {more} more" if more > 0 else "")
        return text
