"""A minimal WebSocket client for console tests: open ``/console/?token=<token>.<secret>``
through nginx as a browser would (TLS, Upgrade, Origin) and read what the VNC server says first.
``token`` is the whole parameter: a ticket's token joined with the secret whose SHA-256 was sent
as ``binding`` (``brine.console_crypto.request_keys`` makes both in the browser's stead).

Only what the tests need: the handshake's status line, and the first binary message (the RFB
banner, ``RFB 003.008\\n``) when the upgrade succeeded.
"""

import base64
import os
import socket
import ssl
import struct

SITE = ("127.0.0.1", 8443)
ORIGIN = "https://127.0.0.1:8443"


class ConsoleSocket:
    def __init__(self, token, origin=ORIGIN, timeout=10, path="/console/"):
        raw = socket.create_connection(SITE, timeout=timeout)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        query = f"?token={token}" if token is not None else ""
        lines = [
            f"GET {path}{query} HTTP/1.1",
            "Host: 127.0.0.1:8443",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: binary",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        header, _, self.buffer = head.partition(b"\r\n\r\n")
        self.headers = header.decode("latin-1")
        status_line = self.headers.split("\r\n", 1)[0]
        self.status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the console connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def message(self):
        """The next message's (opcode, payload); opcode 8 is a close frame."""
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(length)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
