"""The `openai` clients the providers share per endpoint, key and timeout, lent out a call
at a time (`leased_client`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import openai

# Shared for the whole process: building a client costs 100+ ms (it loads the TLS
# certificates), far more than a streamed call's first token, and a run builds its provider
# anew. But not one client for every call in flight: its connection pool looks through all
# its connections on each request, and keeps at most 100 alive, so with hundreds of calls
# streaming at once each request cost more and connections were opened and dropped over and
# over (bench/api.py). So an endpoint gets another client when every one it has carries
# CALLS_PER_CLIENT calls; the next call goes to the least busy. The key is only held in
# memory, as the client itself holds it.
CALLS_PER_CLIENT = 32


@dataclass
class _Lendable:
    client: openai.OpenAI
    in_flight: int = 0


_CLIENTS: dict[tuple[str, str, float | None], list[_Lendable]] = {}
_CLIENTS_LOCK = threading.Lock()


@contextmanager
def leased_client(base_url: str, key: str, timeout_s: float | None) -> Iterator[openai.OpenAI]:
    """A client for one call (or one stream, read to its end) to `base_url`."""
    with _CLIENTS_LOCK:
        lendable = _CLIENTS.setdefault((base_url, key, timeout_s), [])
        least_busy = min(lendable, key=lambda c: c.in_flight, default=None)
        if least_busy is None or least_busy.in_flight >= CALLS_PER_CLIENT:
            # Built under the lock: rare (once per CALLS_PER_CLIENT calls at once, per process).
            least_busy = _Lendable(openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s,
                                                 max_retries=0))
            lendable.append(least_busy)
        least_busy.in_flight += 1
    try:
        yield least_busy.client
    finally:
        with _CLIENTS_LOCK:
            least_busy.in_flight -= 1


def clients_of(base_url: str) -> int:
    """How many clients this process holds for `base_url` (for tests and diagnostics)."""
    with _CLIENTS_LOCK:
        return sum(len(lendable) for (url, _, _), lendable in _CLIENTS.items() if url == base_url)
