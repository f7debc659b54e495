"""A loopback HTTPS proxy for clients whose host is fixed: ``https://{subdomain}.amocrm.ru``.

Krukov's ``amocrm-api`` builds every URL as ``https://{subdomain}.amocrm.ru``
and has no setting for the host, but it sends through ``requests``, which
honours the standard ``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE`` settings. This
proxy answers ``CONNECT``, speaks TLS with a certificate from a test CA
(``trustme``) for the requested name, and passes the plain HTTP on to a
sandbox served on loopback: the library runs unchanged, over real sockets.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import Any


class TLSInterceptingProxy:
    def __init__(self, leaf_cert: Any, upstream_port: int) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf_cert.configure_cert(self._context)
        self._upstream = ("127.0.0.1", upstream_port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.connects: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TLSInterceptingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            head += chunk
        target = head.split(b" ", 2)[1].decode() if head.startswith(b"CONNECT ") else ""
        if not target:
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        self.connects.append(target)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            secure = self._context.wrap_socket(conn, server_side=True)
            upstream = socket.create_connection(self._upstream, timeout=10)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        self._pump(secure, upstream)

    def _pump(self, secure: ssl.SSLSocket, upstream: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([secure, upstream], [], [], 0.5)
                for side in readable:
                    other = upstream if side is secure else secure
                    data = side.recv(65536)
                    if not data:
                        return
                    other.sendall(data)
                    while side is secure and secure.pending():
                        other.sendall(secure.recv(65536))
        except (OSError, ssl.SSLError):
            return
        finally:
            upstream.close()
            secure.close()
