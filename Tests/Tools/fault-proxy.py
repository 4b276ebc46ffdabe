"""A fault-injecting HTTP proxy in front of a test server (S3, MLflow), for the fault tests.

    python fault-proxy.py UPSTREAM MODE [COUNT]     # prints the proxy's port, then serves

MODE:
  fail      answer the first COUNT requests 503 SlowDown, then forward
  error     answer the first COUNT requests 500 InternalError, then forward
  die       forward until a request body over COUNT bytes arrives, read half of it, and exit
            at once (the server killed during an upload: later connections are refused)
  bearer    forward only requests with `Authorization: Bearer COUNT` (COUNT is the token), answer
            the others 401, as a token-checking proxy in front of an MLflow server does

Requests are forwarded unchanged (the Host header included, so signatures still verify).
Each request is logged to stderr as `METHOD PATH -> STATUS`.
"""
import http.client
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

upstream = urllib.parse.urlsplit(sys.argv[1])
mode = sys.argv[2]
token = sys.argv[3] if mode == "bearer" else None
count = int(sys.argv[3]) if len(sys.argv) > 3 and mode != "bearer" else 0
lock = threading.Lock()
seen = [0]

SLOW_DOWN = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
INTERNAL = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        # Logged before the answer goes out, so a client that has it finds it in the log.
        sys.stderr.write(f"{self.command} {self.path} -> {status} (injected)\n")
        sys.stderr.flush()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        with lock:
            seen[0] += 1
            number = seen[0]
        if mode == "die" and length > count:
            self.rfile.read(length // 2)
            sys.stderr.write(f"{self.command} {self.path} -> killed mid-upload\n")
            sys.stderr.flush()
            os._exit(0)
        body = self.rfile.read(length) if length else b""
        if mode == "bearer" and self.headers.get("Authorization") != f"Bearer {token}":
            self.answer(401, b"Unauthorized")
            return
        if mode in ("fail", "error") and number <= count:
            self.answer(503 if mode == "fail" else 500, SLOW_DOWN if mode == "fail" else INTERNAL)
            return
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("expect", "connection")}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        sys.stderr.write(f"{self.command} {self.path} -> {response.status}\n")
        sys.stderr.flush()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
