"""One call of an HTTP tool. The URL template is filled with the arguments (each value
percent-encoded), the other arguments go as a JSON body (POST, PUT, PATCH) or as query
parameters (GET, DELETE). Every hop, redirects included, passes the SSRF guard and connects
to the very address the guard checked: the request goes to that IP with the original Host
header and TLS server name, so a second DNS answer cannot send it elsewhere. The answer is
read up to the tool's size cap and handed back as compact JSON or text."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from . import ToolCallFailed, ToolTimedOut
from .net_guard import check_url
from .templating import as_text, placeholders, render

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "AgentWorkbench-Tool/1"


def request_parts(impl: dict[str, Any], arguments: dict[str, Any]) -> tuple[str, dict | None]:
    """(full URL, JSON body or None) for these arguments."""
    url = render(impl["url"], arguments, encode=lambda text: quote(text, safe=""))
    rest = {k: v for k, v in arguments.items() if k not in set(placeholders(impl["url"]))}
    if impl["method"] in ("POST", "PUT", "PATCH"):
        return url, rest
    return str(httpx.URL(url).copy_merge_params({k: as_text(v) for k, v in rest.items()})), None


def call_http(impl: dict[str, Any], arguments: dict[str, Any], secret_headers: dict[str, str],
              allowed_hosts: Iterable[str]) -> str:
    deadline = time.monotonic() + float(impl["timeout_s"])
    method = impl["method"]
    url, body = request_parts(impl, arguments)
    headers = dict(secret_headers)
    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            response = _send(client, method, url, body, headers, allowed_hosts, deadline)
            try:
                location = response.headers.get("location")
                if response.status_code not in REDIRECTS or not location:
                    return _answer(response, int(impl["max_response_bytes"]), deadline)
            finally:
                response.close()
            next_url = str(httpx.URL(url).join(location))
            if httpx.URL(next_url).netloc != httpx.URL(url).netloc or \
                    httpx.URL(next_url).scheme != httpx.URL(url).scheme:
                headers = {}  # as browsers drop credentials: secrets go to the configured origin only
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
            url = next_url
    raise ToolCallFailed(f"Too many redirects (more than {MAX_REDIRECTS}).")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ToolTimedOut("The HTTP tool did not answer within its timeout.")
    return left


def _send(client: httpx.Client, method: str, url: str, body: dict | None, headers: dict[str, str],
          allowed_hosts: Iterable[str], deadline: float) -> httpx.Response:
    target = httpx.URL(url)
    address = check_url(url, allowed_hosts)  # raises UnsafeDestination
    left = _remaining(deadline)
    request = client.build_request(
        method, target.copy_with(host=str(address)), json=body,
        headers={"Host": target.netloc.decode("ascii"), "User-Agent": USER_AGENT,
                 "Accept": "application/json, text/plain;q=0.9, */*;q=0.5", **headers},
        extensions={"sni_hostname": target.host,
                    "timeout": {"connect": left, "read": left, "write": left, "pool": left}})
    try:
        return client.send(request, stream=True)
    except httpx.TimeoutException:
        raise ToolTimedOut("The HTTP tool did not answer within its timeout.") from None
    except httpx.HTTPError as err:
        raise ToolCallFailed(f"The request to {target.host} failed: {type(err).__name__}: {err}") from None


def _answer(response: httpx.Response, cap: int, deadline: float) -> str:
    data, truncated = bytearray(), False
    try:
        for chunk in response.iter_bytes():
            data.extend(chunk)
            _remaining(deadline)
            if len(data) > cap:
                truncated = True
                break
    except httpx.TimeoutException:
        raise ToolTimedOut("The HTTP tool did not finish its answer within its timeout.") from None
    except httpx.HTTPError as err:
        raise ToolCallFailed(f"Reading the answer failed: {type(err).__name__}: {err}") from None
    text = bytes(data[:cap]).decode(response.encoding or "utf-8", errors="replace")
    if not truncated and "json" in response.headers.get("content-type", ""):
        try:
            text = json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass  # labelled JSON but not: hand the text over as it is
    if truncated:
        text += f"\n[truncated: the answer is longer than {cap:,} bytes; only the first {cap:,} are shown]"
    if response.status_code >= 400:
        raise ToolCallFailed(f"HTTP {response.status_code} {response.reason_phrase} from "
                             f"{response.request.headers.get('host')}: {text[:2000]}")
    return text
