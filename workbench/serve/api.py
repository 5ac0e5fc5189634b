"""The OpenAI-compatible HTTP API (FastAPI): `/v1/models`, `/v1/chat/completions` (streamed as
SSE or whole) and `/v1/threads/{id}/messages`, authenticated by a group API key.

Every call is an ordinary run (tools server-side, traced, priced, under the group's budget and
rate limits). The server keeps nothing between requests: several workers or hosts on one
PostgreSQL serve the same agents. Errors have OpenAI's shape, {"error": {"message", "type",
"param", "code"}}, and bad input is a 4xx, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import runs
from ..errors import (AccessDenied, ConflictError, InvalidApiKey, NotFound, RetryLater, ValidationError,
                      WorkbenchError)
from ..settings import get_settings
from ..system import bootstrap
from . import calls
from .keys import KeyIdentity, authenticate
from .requests import BadRequest, ChatCall, parse_chat_request

THREAD_HEADER = "X-Workbench-Thread-Id"
RUN_HEADER = "X-Workbench-Run-Id"
IGNORED_HEADER = "X-Workbench-Ignored"
NO_RETRY = {"x-should-retry": "false"}  # the openai client must not resend a call that ran
THREADPOOL_TOKENS = 512  # blocking service calls at once (each is a few ms of database work)


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _as_api_error(exc: Exception) -> ApiError:
    """The HTTP answer to a refusal of the services."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, BadRequest):
        return ApiError(400, exc.message, "invalid_request_error", exc.code, exc.param)
    if isinstance(exc, InvalidApiKey):
        return ApiError(401, "Missing, wrong or revoked API key. Send it as 'Authorization: Bearer wb_...'.",
                        "authentication_error", "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, NotFound):
        return ApiError(404, exc.user_message, "invalid_request_error", "not_found")
    if isinstance(exc, AccessDenied):  # the key's own group: a role it does not have
        return ApiError(403, exc.user_message, "permission_error", "insufficient_role")
    if isinstance(exc, ValidationError):
        param = next(iter(exc.field_errors), None)
        return ApiError(400, exc.user_message, "invalid_request_error", "invalid_value",
                        "messages" if param == "message" else param)
    if isinstance(exc, RetryLater):
        wait = max(1, math.ceil(exc.retry_after_s or 1))
        return ApiError(429, exc.user_message, "rate_limit_error", type(exc).__name__,
                        headers={"Retry-After": str(wait)})
    if isinstance(exc, ConflictError):
        return ApiError(409, exc.user_message, "conflict_error", type(exc).__name__, headers=NO_RETRY)
    if isinstance(exc, WorkbenchError):
        return ApiError(502, exc.user_message, "agent_error", type(exc).__name__, headers=NO_RETRY)
    return ApiError(500, "The server failed to handle this request.", "server_error")


def _error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(error_body(err.message, err.type, err.code, err.param), status_code=err.status,
                        headers=err.headers)


async def blocking(fn, *args):
    """Run a service call (database work) off the event loop."""
    return await anyio.to_thread.run_sync(fn, *args)


async def api_key(request: Request) -> KeyIdentity:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise InvalidApiKey()
    return await blocking(authenticate, secret.strip())


async def read_json(request: Request):
    """The body as JSON, read no further than the size cap."""
    cap = get_settings().api_max_body_bytes
    declared = request.headers.get("content-length", "")
    too_big = ApiError(413, f"The request body is over {cap:,} bytes. Long material belongs in Knowledge; "
                            "continue a thread with metadata.thread_id instead of resending it.",
                       "invalid_request_error", "request_too_large")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    body = bytearray()
    async for piece in request.stream():
        body.extend(piece)
        if len(body) > cap:
            raise too_big
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None


# --- answers ---------------------------------------------------------------------------

async def _totals(handle: runs.RunHandle) -> runs.RunTotals:
    """The usage an answer reports: as the run recorded it at its end (read back only when
    the run ended without getting there)."""
    return handle.totals or await blocking(calls.run_totals, handle.run_id)


def _usage(totals: runs.RunTotals) -> dict:
    return {"prompt_tokens": totals.input_tokens, "completion_tokens": totals.output_tokens,
            "total_tokens": totals.input_tokens + totals.output_tokens}


class Reply:
    """The text of a run's answer as a client sees it: every assistant message of the run
    (one, or more around tool calls), a blank line between them; a message the provider
    restarted (a retry mid-stream) keeps only its final text."""

    def __init__(self):
        self.done_parts: list[str] = []
        self.current = ""

    def add(self, update) -> str:
        """Apply a run update; returns the text to send on (empty if none)."""
        if update.kind == "message_start" and self.current:
            self.done_parts.append(self.current)
            self.current = ""
        elif update.kind == "reset":
            self.current = ""
        elif update.kind == "text" and update.text:
            sep = "\n\n" if self.done_parts and not self.current else ""
            self.current += update.text
            return sep + update.text
        return ""

    @property
    def text(self) -> str:
        return "\n\n".join([*self.done_parts, *([self.current] if self.current else [])])


def _meta(started: calls.StartedCall, call: ChatCall) -> dict:
    agent = started.agent
    return {"model": call.model, "system_fingerprint": f"agent-{agent.agent_id}-v{agent.version}",
            "thread_id": str(started.thread_id), "run_id": started.handle.run_id,
            "agent": {"id": agent.agent_id, "name": agent.name, "version": agent.version, "label": agent.label}}


def _headers(started: calls.StartedCall, call: ChatCall) -> dict[str, str]:
    headers = {THREAD_HEADER: str(started.thread_id), RUN_HEADER: str(started.handle.run_id)}
    if call.ignored:
        headers[IGNORED_HEADER] = ",".join(call.ignored)
    return headers


_MARK = "\x00text\x00"
_MARK_JSON = json.dumps(_MARK).encode()


async def _stream(started: calls.StartedCall, call: ChatCall) -> AsyncIterator[bytes]:
    handle, meta = started.handle, _meta(started, call)
    base = {"id": f"chatcmpl-wb-{handle.run_id}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": meta["model"], "system_fingerprint": meta["system_fingerprint"],
            "thread_id": meta["thread_id"], "run_id": meta["run_id"]}

    def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
        body = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    # A text chunk is this chunk with the text's JSON in the middle: encoded once, not per token.
    head, tail = chunk({"content": _MARK}).rsplit(_MARK_JSON, 1)
    finished = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        reply, status, error = Reply(), "failed", None
        async for update in handle.aupdates():
            if update.kind == "done":
                status, error = update.data.get("status"), update.data.get("error")
                break
            text = reply.add(update)
            if text:
                yield head + json.dumps(text).encode() + tail
        finished = True
        if status != "complete":
            err = error_body(error or f"The run ended {status}.", "agent_error", f"run_{status}")
            yield b"data: " + json.dumps({**base, **err}).encode() + b"\n\n"
        else:
            yield chunk({}, "stop")
            if call.include_usage:
                totals = await _totals(handle)
                yield (b"data: " + json.dumps({**base, "choices": [], "usage": _usage(totals)},
                                              separators=(",", ":")).encode() + b"\n\n")
        yield b"data: [DONE]\n\n"
    finally:
        if not finished:  # the client went away mid-answer: stop the run, keep what streamed
            handle.cancel()


async def _watch_disconnect(request: Request, handle) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(0.25)
    handle.cancel()  # the client went away: stop the run, keep what was written


async def _whole(request: Request, started: calls.StartedCall, call: ChatCall) -> JSONResponse:
    handle, meta = started.handle, _meta(started, call)
    watcher = asyncio.create_task(_watch_disconnect(request, handle))
    reply, status, error = Reply(), "failed", None
    try:
        async for update in handle.aupdates():
            if update.kind == "done":
                status, error = update.data.get("status"), update.data.get("error")
                break
            reply.add(update)
    finally:
        watcher.cancel()
    headers = _headers(started, call)
    if status != "complete":
        raise ApiError(502, f"The agent could not answer: {error or 'the run ended ' + str(status)}. "
                            f"The thread and its trace keep what happened (run {handle.run_id}).",
                       "agent_error", f"run_{status}", headers={**headers, **NO_RETRY})
    totals = await _totals(handle)
    body = {"id": f"chatcmpl-wb-{handle.run_id}", "object": "chat.completion", "created": int(time.time()),
            **meta, "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                                 "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage(totals), "cost_usd": round(totals.cost_usd, 8)}
    return JSONResponse(body, headers=headers)


# --- the app ---------------------------------------------------------------------------

@asynccontextmanager
async def lifespan(app: FastAPI):
    # Migrate, recover runs of dead processes, start the sweeper: as the app does on start.
    await blocking(bootstrap.init_app)
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADPOOL_TOKENS
    yield


def create_app() -> FastAPI:
    app = FastAPI(title="Agent Workbench API", version="1", lifespan=lifespan, docs_url="/docs",
                  redoc_url=None, openapi_url="/openapi.json")

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        return _error_response(_as_api_error(exc))

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return _error_response(exc)

    @app.exception_handler(WorkbenchError)
    async def _workbench(request: Request, exc: WorkbenchError):
        return _error_response(_as_api_error(exc))

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest):
        return _error_response(_as_api_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error_response(ApiError(400, f"{param or 'The request'}: {first.get('msg', 'is not valid')}.",
                                        "invalid_request_error", "invalid_value", param))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = "No such endpoint." if exc.status_code == 404 else str(exc.detail)
        return _error_response(ApiError(exc.status_code, message, "invalid_request_error",
                                        "unknown_url" if exc.status_code == 404 else None))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(key: KeyIdentity = Depends(api_key)) -> dict:
        return {"object": "list", "data": await blocking(calls.list_models, key)}

    @app.get("/v1/models/{model:path}")
    async def model(model: str, key: KeyIdentity = Depends(api_key)) -> dict:
        return await blocking(calls.get_model, key, model)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request, key: KeyIdentity = Depends(api_key)):
        call = parse_chat_request(await read_json(request))
        started = await blocking(calls.start_call, key, call)
        if call.stream:
            return StreamingResponse(_stream(started, call), media_type="text/event-stream",
                                     headers={**_headers(started, call), "Cache-Control": "no-cache"})
        return await _whole(request, started, call)

    @app.get("/v1/threads/{thread_id}/messages")
    async def thread_messages(thread_id: int, limit: int = Query(50, ge=1, le=500),
                              before: int | None = Query(None, ge=1), key: KeyIdentity = Depends(api_key)):
        page = await blocking(calls.thread_messages, key, thread_id, limit, before)
        return JSONResponse(page, headers={THREAD_HEADER: str(thread_id)})

    return app
