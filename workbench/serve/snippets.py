"""Copy-ready code that calls an agent through the API, for the Deploy page: the `openai`
Python client and curl (whole answer, and streamed). The key is read from the environment
variable WORKBENCH_API_KEY, never written into the code; the base URL is the setting
`api_public_url` (WORKBENCH_API_PUBLIC_URL), where products reach the server."""

from __future__ import annotations

import json
import shlex

KEY_VARIABLE = "WORKBENCH_API_KEY"
FIRST_MESSAGE = "Hello! What can you do?"
NEXT_MESSAGE = "Tell me more."


def python_client(base_url: str, model: str) -> str:
    """The openai client: a new thread, then the next turn streamed into that thread."""
    url, ref = json.dumps(base_url), json.dumps(model)
    return f'''import os

from openai import OpenAI

client = OpenAI(base_url={url}, api_key=os.environ["{KEY_VARIABLE}"])

# A new conversation; the answer names the Workbench thread that keeps it.
answer = client.chat.completions.create(
    model={ref},
    messages=[{{"role": "user", "content": {json.dumps(FIRST_MESSAGE)}}}],
)
print(answer.choices[0].message.content)
thread_id = answer.model_extra["thread_id"]

# The next turn continues that thread (its history stays on the server): send only the new
# message, with the thread id. Streamed, piece by piece.
stream = client.chat.completions.create(
    model={ref},
    messages=[{{"role": "user", "content": {json.dumps(NEXT_MESSAGE)}}}],
    metadata={{"thread_id": thread_id}},
    stream=True,
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()
'''


def _body(model: str, message: str, *, stream: bool = False, thread_id: str | None = None) -> str:
    body: dict = {"model": model}
    if stream:
        body["stream"] = True
    body["messages"] = [{"role": "user", "content": message}]
    if thread_id is not None:
        body["metadata"] = {"thread_id": thread_id}
    return shlex.quote(json.dumps(body))


def curl(base_url: str, model: str, *, stream: bool = False) -> str:
    """One call with curl (`stream`: server-sent events as they come, `-N` unbuffered)."""
    url = shlex.quote(base_url.rstrip("/") + "/chat/completions")
    flags = "-sN" if stream else "-s"
    lines = [f"curl {flags} {url} \\",
             f'  -H "Authorization: Bearer ${KEY_VARIABLE}" \\',
             '  -H "Content-Type: application/json" \\',
             f"  -d {_body(model, FIRST_MESSAGE, stream=stream)}"]
    note = ("# Each chunk carries the thread_id; the last line is data: [DONE]." if stream
            else "# The answer's \"thread_id\" continues the conversation in the next call:")
    follow = ["", note]
    if not stream:
        follow.append("#   -d " + _body(model, NEXT_MESSAGE, thread_id="THREAD_ID"))
    return "\n".join(lines + follow) + "\n"


def client_code(base_url: str, model: str) -> dict[str, str]:
    """{"python": ..., "curl": ..., "curl_stream": ...} calling `model` (an agent reference such
    as "12@production") at `base_url` (the API's /v1 address)."""
    return {"python": python_client(base_url, model), "curl": curl(base_url, model),
            "curl_stream": curl(base_url, model, stream=True)}
