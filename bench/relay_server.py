"""The least any Python server in front of a model can do, for bench/api.py to measure the
API against: a bare relay on uvicorn that posts each request's body to the model server and
streams the reply's bytes back unread. No key, no agent, no thread, no run, no database:
whatever throughput it loses against calling the model server directly is the price of the
extra hop itself (a second HTTP server and client on the same cores), which the API pays too.

    python bench/relay_server.py MODEL_BASE_URL PORT
"""

from __future__ import annotations

import itertools
import sys

import httpx
import uvicorn

# Requests per client: httpx's pool looks through its connections on every request, so one
# client holding hundreds costs more per request the more there are (bench/api.py's client
# hit the same); many small pools keep each look short.
CONNECTIONS_PER_CLIENT = 8
CLIENTS = 64


def relay_app(model_base_url: str):
    clients = [httpx.AsyncClient(base_url=model_base_url, timeout=httpx.Timeout(120.0),
                                 limits=httpx.Limits(max_connections=CONNECTIONS_PER_CLIENT,
                                                     max_keepalive_connections=CONNECTIONS_PER_CLIENT))
               for _ in range(CLIENTS)]
    turn = itertools.count()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    for client in clients:
                        await client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        client = clients[next(turn) % CLIENTS]
        request = client.build_request("POST", "/chat/completions", content=body,
                                       headers={"content-type": "application/json"})
        response = await client.send(request, stream=True)
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(b"content-type", b"text/event-stream")]})
            async for piece in response.aiter_raw():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    return app


if __name__ == "__main__":
    uvicorn.run(relay_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                access_log=False)
