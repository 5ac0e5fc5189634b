"""Failures of the `openai` SDK and its transport as the workbench's typed provider errors,
with anything that looks like an API key removed from the texts passed on."""

from __future__ import annotations

import re

import openai

from ..errors import (ModelNotFound, ProviderAuthError, ProviderBadResponse, ProviderError, ProviderRateLimited,
                      ProviderUnavailable)
from .base import ProviderConfig

_KEY_LIKE = re.compile(r"\b(sk|pk|rk|key|or)-[A-Za-z0-9_\-*.]{4,}")


def scrub(message: str, key: str | None) -> str:
    """A provider's error text without `key` or anything that looks like an API key."""
    if key:
        message = message.replace(key, "***")
    return _KEY_LIKE.sub(lambda m: f"{m.group(1)}-***", message)


def transport_reason(exc: BaseException, key: str | None) -> str:
    """Why a connection failed, from the transport's error under the SDK's ("Connection
    refused", "Server disconnected without sending a response"), as " (reason)" or ""."""
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not str(cause) and cause.__cause__ is not None:
        cause = cause.__cause__  # an empty wrapper: its cause says more
    text = re.sub(r"^\[Errno \d+\]\s*", "", scrub(str(cause or "").strip(), key)).rstrip(".")
    return f" ({text[:200]})" if text else ""


def _server_message(exc: openai.APIError, key: str | None) -> str:
    body = exc.body
    message = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
    return scrub(str(message or exc.message or type(exc).__name__), key)[:500]


def provider_error(exc: BaseException, config: ProviderConfig, base_url: str, model: str,
                   key: str | None) -> ProviderError:
    """Our typed error for an SDK/transport failure; the original stays as __cause__. `key`:
    the configured key, removed from any server text passed on."""
    name = config.name
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderUnavailable(
            f"{name} did not answer within {config.timeout_s:g} s.", cause=exc)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnavailable(f"Cannot reach {name} at {base_url}{transport_reason(exc, key)}.",
                                   cause=exc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = (exc.code or "").lower()
        if status in (401, 403):
            # The server's text may echo part of the key: never pass it on.
            hint = f" in {config.api_key_name}" if config.api_key_name else ""
            verb = "rejected" if status == 401 else "refused access with"
            return ProviderAuthError(
                f"{name} {verb} the API key{hint} (HTTP {status}). Check the key.",
                status_code=status, cause=exc)
        if status == 404 or code == "model_not_found":
            return ModelNotFound(
                f"{name} does not know the model '{model}' (HTTP {status}). Check the "
                "model name and the base URL.", status_code=status, cause=exc)
        if status == 429:
            err = ProviderRateLimited(
                f"{name} is rate limiting requests (HTTP 429): {_server_message(exc, key)}",
                status_code=status, cause=exc)
            if code == "insufficient_quota":
                err.retryable = False  # out of credit: waiting will not help
            return err
        if status >= 500:
            return ProviderUnavailable(
                f"{name} had a server error (HTTP {status}): {_server_message(exc, key)}",
                status_code=status, cause=exc)
        if isinstance(exc, openai.APIResponseValidationError):
            return ProviderBadResponse(f"{name} sent a response that could not be read.",
                                       status_code=status, cause=exc)
        return ProviderError(
            f"{name} refused the request (HTTP {status}): {_server_message(exc, key)}",
            status_code=status, cause=exc)
    if isinstance(exc, openai.APIError):
        # an error event inside an otherwise fine stream
        return ProviderUnavailable(
            f"{name} reported an error mid-stream: {_server_message(exc, key)}", cause=exc)
    if isinstance(exc, (ValueError, TypeError, KeyError, AttributeError)):
        return ProviderBadResponse(f"{name} sent a response that could not be read.",
                                   cause=exc)
    return ProviderError(f"{name} failed: {scrub(str(exc), key)[:300]}", cause=exc)
