"""A small per-process cache of rendered HTML fragments, keyed by what they show.

The dashboard's account panel (tiles, charts, posts table) depends only on the
account's stored data, the workspace's timezone and the table's parameters — not on
who is looking, once access has been checked. Its key carries the account's version
(last sync, sync request, status), the local date (windows move at midnight) and the
parameters, so a sync or a disconnect makes a new entry; a short TTL bounds anything
the key can't see (e.g. Spark Ads rows arriving from the ads account's own sync).
Authorisation always runs before the cache is consulted.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable

from flask import Flask, current_app
from markupsafe import Markup


class FragmentCache:
    def __init__(self, ttl: float, max_entries: int = 512):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Markup]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        if self.ttl <= 0:
            return Markup(render())
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
        html = Markup(render())  # rendered outside the lock: other keys aren't held up
        with self._lock:
            self._entries[key] = (now + self.ttl, html)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return html


def fragment_cache(app: Flask | None = None) -> FragmentCache:
    app = app or current_app._get_current_object()
    cache = app.extensions.get("fragment_cache")
    if cache is None:
        cache = app.extensions["fragment_cache"] = FragmentCache(float(app.config.get("FRAGMENT_CACHE_SECONDS", 60)))
    return cache
