"""Small local HTTP(S) servers standing in for third-party APIs at their HTTP boundary."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# handler(method, path, headers) -> (status, headers, body)
Handler = Callable[[str, str, dict[str, str]], tuple[int, dict[str, str], bytes]]


@dataclass
class FakeServer:
    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def signed_by_itself(
    key: rsa.RSAPrivateKey, common_name: str, *extensions: tuple[x509.ExtensionType, bool]
) -> x509.Certificate:
    """A certificate for `key` that `key` signs, valid from an hour ago for a day, with
    `(extension, critical)` pairs."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256())


def self_signed_certificate(folder: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate valid for `name` only, an IP address or a DNS name (also its own CA);
    returns (cert_path, key_path)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    certificate = signed_by_itself(
        key,
        name,
        (x509.SubjectAlternativeName([subject]), False),
        (x509.BasicConstraints(ca=True, path_length=None), True),
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serve(handler: Handler, *, tls: tuple[Path, Path] | None = None) -> Iterator[FakeServer]:
    record: list[tuple[str, str, dict[str, str]]] = []

    class _Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            record.append((self.command, self.path, headers))
            status, response_headers, body = handler(self.command, self.path, headers)
            self.send_response(status)
            for key, value in response_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(url=f"{scheme}://127.0.0.1:{server.server_address[1]}", requests=record)
    finally:
        server.shutdown()
        server.server_close()
