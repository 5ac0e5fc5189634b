"""The `openai` clients the providers share per endpoint, key and timeout, lent out a call
at a time: `leased_client` for a call made in a thread, `leased_async_client` for one made on
an event loop (the API server's; its clients belong to that loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

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
    client: Any  # openai.OpenAI or openai.AsyncOpenAI
    in_flight: int = 0


# (loop or None for the thread clients, base_url, key, timeout) -> the clients lent out
_CLIENTS: dict[tuple[asyncio.AbstractEventLoop | None, str, str, float | None], list[_Lendable]] = {}
_CLIENTS_LOCK = threading.Lock()


def _lend(pool: tuple, build: Callable[[], Any] | None) -> _Lendable | None:
    """The least busy client of `pool` with room for one more call, now counted as lent;
    without room, a new one from `build`, or None when `build` is None."""
    with _CLIENTS_LOCK:
        lendable = _CLIENTS.setdefault(pool, [])
        least_busy = min(lendable, key=lambda c: c.in_flight, default=None)
        if least_busy is None or least_busy.in_flight >= CALLS_PER_CLIENT:
            if build is None:
                return None
            least_busy = _Lendable(build())
            lendable.append(least_busy)
        least_busy.in_flight += 1
        return least_busy


def _give_back(lent: _Lendable) -> None:
    with _CLIENTS_LOCK:
        lent.in_flight -= 1


@contextmanager
def leased_client(base_url: str, key: str, timeout_s: float | None) -> Iterator[openai.OpenAI]:
    """A client for one call (or one stream, read to its end) to `base_url`."""
    # Built under the lock: rare (once per CALLS_PER_CLIENT calls at once, per process).
    lent = _lend((None, base_url, key, timeout_s),
                 lambda: openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0))
    try:
        yield lent.client
    finally:
        _give_back(lent)


@asynccontextmanager
async def leased_async_client(base_url: str, key: str, timeout_s: float | None) -> AsyncIterator[openai.AsyncOpenAI]:
    """`leased_client` for a call made on the running event loop."""
    pool = (asyncio.get_running_loop(), base_url, key, timeout_s)
    lent = _lend(pool, None)
    if lent is None:
        # Built in a thread: 100+ ms of loading certificates would stall every stream of the loop.
        built = await asyncio.to_thread(openai.AsyncOpenAI, base_url=base_url, api_key=key, timeout=timeout_s,
                                        max_retries=0)
        lent = _lend(pool, lambda: built)
        if lent.client is not built:  # another call built one meanwhile, and it has room
            await built.close()
    try:
        yield lent.client
    finally:
        _give_back(lent)


async def close_async_clients() -> None:
    """Close the running loop's clients (an API server shutting down)."""
    loop = asyncio.get_running_loop()
    with _CLIENTS_LOCK:
        pools = [pool for pool in _CLIENTS if pool[0] is loop]
        closing = [lent.client for pool in pools for lent in _CLIENTS.pop(pool)]
    for client in closing:
        await client.close()


def clients_of(base_url: str) -> int:
    """How many clients this process holds for `base_url` (for tests and diagnostics)."""
    with _CLIENTS_LOCK:
        return sum(len(lendable) for (_, url, _, _), lendable in _CLIENTS.items() if url == base_url)
