"""HTTP tools: a tool against a small server on 127.0.0.1 (allowed by the test's settings)
called by an agent through the real run loop; the SSRF guard (loopback, private, link-local,
a host name resolving to them, a redirect to one); the size cap; a slow endpoint hitting its
timeout while the run goes on."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest
from sqlalchemy import select

from tests.scripted_openai import text, tool_call
from tests.tool_http_server import ToolHttpServer
from workbench import runs, settings
from workbench.db import session_scope
from workbench.errors import ValidationError
from workbench.models import RunStep
from workbench.tools.custom import service
from workbench.tools.custom.net_guard import UnsafeDestination, checked_address, is_public

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
          "required": ["city"]}


@pytest.fixture()
def http_server():
    server = ToolHttpServer()
    yield server
    server.stop()


@pytest.fixture()
def allow_local(monkeypatch):
    monkeypatch.setenv("WORKBENCH_TOOL_ALLOWED_HOSTS", "127.0.0.1")
    settings.reset_settings()


def http_tool(scripted, url: str, **values):
    fields = {"name": "weather_api", "kind": "http", "description": "Weather from the API.", "parameters": SCHEMA,
              "method": "GET", "url": url, "timeout_s": 5, **values}
    return service.create_tool(scripted.person_id, scripted.group_id, **fields)


def _steps(run_id):
    with session_scope() as s:
        return s.scalars(select(RunStep).where(RunStep.run_id == run_id, RunStep.kind == "tool_call")
                         .order_by(RunStep.seq)).all()


def test_an_http_tool_is_called_by_an_agent_and_traced(scripted, http_server, allow_local):
    http_tool(scripted, http_server.url + "/weather/{{city}}")
    agent = scripted.make_agent(name="Weather", tools=["weather_api"])
    scripted.server.script(tool_call("weather_api", {"city": "São Paulo", "days": 3}), text("Sunny there."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="?")
    result = handle.wait(15)
    assert result.status == "complete" and result.reply == "Sunny there."
    request = http_server.seen[-1]
    # each argument is percent-encoded into its place: it cannot add path segments or queries
    assert request["path"] == "/weather/S%C3%A3o%20Paulo" and request["query"] == {"days": "3"}
    step = _steps(result.run_id)[0]
    assert step.status == "ok" and step.request["implementation"] == "http"
    assert step.response["result"] == '{"city": "S%C3%A3o%20Paulo", "days": "3", "forecast": "sunny"}'
    assert scripted.server.chat_requests[1].body["messages"][-1]["content"] == step.response["result"]


def test_post_sends_the_arguments_as_json_and_text_answers_come_back_as_text(scripted, http_server, allow_local):
    tool = http_tool(scripted, http_server.url + "/echo", method="POST")
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "Oslo", "days": 2})
    assert out.error is None and http_server.seen[-1]["body"] == {"city": "Oslo", "days": 2}
    assert http_server.seen[-1]["headers"]["Content-Type"] == "application/json"
    service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "../admin?x=1"})
    assert http_server.seen[-1]["path"] == "/echo"
    path_tool = service.update_tool(scripted.person_id, tool.id, url=http_server.url + "/weather/{{city}}")
    service.try_tool(scripted.person_id, path_tool.id, "weather_api", {"city": "../admin?x=1#y"})
    assert http_server.seen[-1]["path"] == "/weather/..%2Fadmin%3Fx%3D1%23y"
    plain = service.update_tool(scripted.person_id, tool.id, url=http_server.url + "/text", method="GET")
    assert service.try_tool(scripted.person_id, plain.id, "weather_api", {"city": "x"}).result == "plain words"


def test_a_long_answer_is_cut_at_the_cap_with_a_note(scripted, http_server, allow_local):
    tool = http_tool(scripted, http_server.url + "/big", max_response_bytes=1000)
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.result.startswith("x" * 1000) and not out.result.startswith("x" * 1001)
    assert "[truncated: the answer is longer than 1,000 bytes" in out.result


def test_an_error_status_is_an_error_for_the_model(scripted, http_server, allow_local):
    tool = http_tool(scripted, http_server.url + "/nothing")
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.result is None and out.error.startswith("HTTP 404 Not Found from 127.0.0.1:")


@pytest.fixture()
def fake_dns(monkeypatch):
    """Names that resolve to private addresses, without a DNS server."""
    real = socket.getaddrinfo
    names = {"metadata.test": "169.254.169.254", "intranet.test": "10.0.0.1", "mixed.test": "8.8.8.8"}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            extra = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))] if host == "mixed.test" else []
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))] + extra
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/echo", "http://localhost:{port}/echo", "http://10.0.0.1/echo",
    "http://169.254.169.254/latest/meta-data/", "http://metadata.test/latest", "http://intranet.test/",
    "http://mixed.test/", "http://[::1]:{port}/echo", "http://[::ffff:127.0.0.1]:{port}/echo",
    "http://0.0.0.0:{port}/echo", "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/",
])
def test_private_addresses_are_refused_unless_allowed(scripted, http_server, fake_dns, url):
    port = http_server.httpd.server_address[1]
    tool = http_tool(scripted, url.format(port=port))
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.result is None and out.error.startswith("Refused to reach")
    assert "WORKBENCH_TOOL_ALLOWED_HOSTS" in out.error
    assert http_server.seen == []  # nothing reached the server


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/echo",
                                    "http://metadata.test/x"])
def test_a_redirect_to_a_private_address_is_refused(scripted, http_server, allow_local, fake_dns, target):
    port = http_server.httpd.server_address[1]
    tool = http_tool(scripted, http_server.url + "/redirect?to=" + target.format(port=port))
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.result is None and out.error.startswith("Refused to reach")
    assert [r["path"] for r in http_server.seen] == ["/redirect"]


def test_a_redirect_to_an_allowed_host_is_followed(scripted, http_server, allow_local):
    tool = http_tool(scripted, http_server.url + "/redirect?code=307&to=/weather/Rome")
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.error is None and '"city": "Rome"' in out.result


def test_the_guard_unwraps_ipv4_inside_ipv6():
    for address in ("::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "fe80::1", "fc00::1", "::",
                    "2001:db8::1", "ff02::1"):
        assert not is_public(ipaddress.ip_address(address)), address
    for address in ("8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert is_public(ipaddress.ip_address(address)), address
    assert str(checked_address("LOCALHOST", 80, ["localhost."])) in ("127.0.0.1", "::1")
    with pytest.raises(UnsafeDestination):
        checked_address("localhost", 80, ["127.0.0.1"])  # the name, not its address, is what is allowed


def test_a_slow_tool_times_out_and_the_run_goes_on(scripted, http_server, allow_local):
    http_tool(scripted, http_server.url + "/slow?s=5", timeout_s=0.5)
    agent = scripted.make_agent(name="Weather", tools=["weather_api"])
    scripted.server.script(tool_call("weather_api", {"city": "Oslo"}), text("The weather service is slow."))
    started = time.monotonic()
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="?")
    result = handle.wait(15)
    assert time.monotonic() - started < 4
    assert result.status == "complete" and result.reply == "The weather service is slow."
    step = _steps(result.run_id)[0]
    assert step.status == "error" and step.error["type"] == "ToolTimedOut"
    assert 400 < step.duration_ms < 3000
    told = scripted.server.chat_requests[1].body["messages"][-1]["content"]
    assert told.startswith("Error: ") and "did not answer within its timeout" in told


def test_the_timeout_is_capped_by_the_settings(scripted, monkeypatch):
    monkeypatch.setenv("WORKBENCH_TOOL_TIMEOUT_S", "5")
    settings.reset_settings()
    with pytest.raises(ValidationError, match="Must be from 0.1 to 5"):
        http_tool(scripted, "https://api.example.com/x", timeout_s=60)


@pytest.mark.parametrize("url, message", [
    ("ftp://example.com/x", "full http:// or https:// URL"),
    ("http://{{city}}.example.com/", "The host must be written out"),
    ("http://user@example.com/", "The host must be written out"),
    ("https://api.example.com/{{town}}", "unknown: {{town}}"),
])
def test_bad_urls_are_refused_on_save(scripted, url, message):
    with pytest.raises(ValidationError) as err:
        http_tool(scripted, url)
    assert message in err.value.field_errors["url"]


def test_header_values_must_be_env_var_names(scripted):
    with pytest.raises(ValidationError) as err:
        http_tool(scripted, "https://api.example.com/x", headers={"Authorization": "Bearer sk-123"})
    assert "NAME of an environment variable" in err.value.field_errors["headers"]
    tool = http_tool(scripted, "https://api.example.com/x", headers="Authorization=WEATHER_KEY\nX-Team = TEAM_ID")
    assert tool.config.impl["headers"] == {"Authorization": "WEATHER_KEY", "X-Team": "TEAM_ID"}


def test_in_a_run_a_refused_address_is_an_error_for_the_model(scripted, http_server):
    http_tool(scripted, "http://169.254.169.254/latest/meta-data/{{city}}")
    agent = scripted.make_agent(name="Nosy", tools=["weather_api"])
    scripted.server.script(tool_call("weather_api", {"city": "iam"}), text("I cannot reach that."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="?")
    result = handle.wait(15)
    assert result.status == "complete" and result.reply == "I cannot reach that."
    step = _steps(result.run_id)[0]
    assert step.status == "error" and step.error["type"] == "UnsafeDestination"
    assert scripted.server.chat_requests[1].body["messages"][-1]["content"].startswith(
        "Error: Refused to reach 169.254.169.254")


def test_the_connection_goes_to_the_address_that_was_checked(scripted, http_server, monkeypatch):
    """DNS rebinding: the name answers 127.0.0.1 (allowed here) once, then 10.0.0.1; the
    request still reaches 127.0.0.1, with the original Host header."""
    real, answers = socket.getaddrinfo, iter(["127.0.0.1"])

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "pinned.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "10.0.0.1"), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("WORKBENCH_TOOL_ALLOWED_HOSTS", "pinned.test")
    settings.reset_settings()
    port = http_server.httpd.server_address[1]
    tool = http_tool(scripted, f"http://pinned.test:{port}/echo", timeout_s=3)
    out = service.try_tool(scripted.person_id, tool.id, "weather_api", {"city": "x"})
    assert out.error is None, out.error
    assert http_server.seen[-1]["headers"]["Host"] == f"pinned.test:{port}"
    assert next(answers, "used up") == "used up"  # resolved exactly once
