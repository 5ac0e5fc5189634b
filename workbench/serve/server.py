"""`python -m workbench serve`: the API on uvicorn. With --workers N uvicorn runs N processes
on the same database and knowledge store; they share nothing else, so budgets and rate limits
hold across them as across app processes (and across hosts on one PostgreSQL)."""

from __future__ import annotations

import uvicorn

APP_FACTORY = "workbench.serve.api:create_app"


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "info") -> None:
    # The access log would print each request's path; the key travels in a header, never
    # there, and uvicorn does not log headers.
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=max(1, workers), log_level=log_level,
                timeout_graceful_shutdown=10)
