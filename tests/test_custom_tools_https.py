"""HTTPS through the pinned connection: the HTTP tool connects to the address the guard
checked, yet TLS still names and verifies the host of the URL (SNI and the certificate's
name), so pinning neither breaks HTTPS nor lets a certificate for another name pass. A
throwaway CA and a server on 127.0.0.1 stand in for a real site."""

from __future__ import annotations

import datetime as dt
import functools
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from workbench import settings
from workbench.tools.custom import service

TOOL = {"name": "secure_api", "kind": "http", "description": "Over HTTPS.", "method": "GET", "timeout_s": 5,
        "parameters": {"type": "object", "properties": {}}}


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificates(tmp_path, host: str):
    """(CA certificate PEM, server cert file, server key file) for `host`."""
    now = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)  # valid for a century: no test depends on today
    later = now + dt.timedelta(days=365 * 100)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now).not_valid_after(later)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now).not_valid_after(later)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def https_site(tmp_path, monkeypatch):
    """https://secure.test:PORT/ served on 127.0.0.1 with a certificate for secure.test, and
    the tool's client trusting the throwaway CA."""
    ca_pem, cert_file, key_file = _certificates(tmp_path, "secure.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    seen_sni = []
    context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("secure.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("WORKBENCH_TOOL_ALLOWED_HOSTS", "secure.test,other.test")
    settings.reset_settings()
    trusted = ssl.create_default_context(cadata=ca_pem)
    monkeypatch.setattr(httpx, "Client", functools.partial(httpx.Client, verify=trusted))
    yield server.server_address[1], seen_sni
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_urls_host_while_pinned(scripted, https_site):
    port, seen_sni = https_site
    tool = service.create_tool(scripted.person_id, scripted.group_id, url=f"https://secure.test:{port}/", **TOOL)
    out = service.try_tool(scripted.person_id, tool.id, "secure_api", {})
    assert out.error is None, out.error
    assert json.loads(out.result)["host"] == f"secure.test:{port}" and seen_sni[-1] == "secure.test"


def test_a_certificate_for_another_name_is_refused(scripted, https_site):
    port, _ = https_site
    tool = service.create_tool(scripted.person_id, scripted.group_id, url=f"https://other.test:{port}/", **TOOL)
    out = service.try_tool(scripted.person_id, tool.id, "secure_api", {})
    assert out.result is None and "ConnectError" in out.error and "certificate" in out.error.lower()
