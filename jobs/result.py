"""What a job run reports: counts, never secrets."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class JobResult:
    name: str
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def __str__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "nothing to do"
        return f"{self.name}: {parts}"
