"""The `openai` clients the providers share, one per endpoint, key and timeout."""

from __future__ import annotations

import threading

import openai

# One client, and so one HTTP connection pool, per endpoint, key and timeout for the whole
# process: building a client costs 100+ ms (it loads the TLS certificates), far more than
# a streamed call's first token, and a run builds its provider anew. The key is only held
# in memory, as the client itself holds it.
_SHARED_CLIENTS: dict[tuple[str, str, float | None], openai.OpenAI] = {}
_SHARED_CLIENTS_LOCK = threading.Lock()


def shared_client(base_url: str, key: str, timeout_s: float | None) -> openai.OpenAI:
    with _SHARED_CLIENTS_LOCK:
        client = _SHARED_CLIENTS.get((base_url, key, timeout_s))
        if client is None:
            client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)
            _SHARED_CLIENTS[(base_url, key, timeout_s)] = client
        return client
