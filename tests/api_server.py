"""The workbench API on a real uvicorn server on 127.0.0.1 for tests (a fixture, not product
code): the app as `python -m workbench serve` builds it, on the test's own database."""

from __future__ import annotations

import threading
import time
import types

import pytest
import uvicorn

from workbench.serve import keys
from workbench.serve.api import create_app


class ApiServer:
    def __init__(self):
        config = uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="api-server")

    def start(self) -> "ApiServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture()
def api(scripted):
    """`scripted` (an agent on the scripted model server) served by the API, with an editor
    key. Yields a namespace: url, base_url (…/v1), key, key_info, and scripted's fields."""
    server = ApiServer().start()
    made = keys.create_key(scripted.person_id, scripted.group_id, "website", role="editor")
    try:
        yield types.SimpleNamespace(**vars(scripted), url=server.url, base_url=server.url + "/v1", key=made.secret,
                                    key_info=made.info)
    finally:
        server.stop()
