"""Holds a server with slow clients and reports what happened, for ServeCLITests.

    slow_clients.py hold PORT SLOW       SLOW connections each send half a request (half of them
                                         a header cut off, half a body shorter than its
                                         Content-Length), then a normal request is made; reports
                                         whether it was answered while every slow connection was
                                         still open, then waits until the server closes them.
    slow_clients.py limit PORT OPEN      opens OPEN idle connections, then one more, and reports
                                         what that one read.

Prints one JSON object.
"""
import json
import socket
import sys
import time
import urllib.request


def closed(sock, wait):
    """Whether the server closed `sock` within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(4096) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def hold(port, count):
    slow = []
    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        if index % 2:
            sock.sendall(b"POST /v2/models/taxi/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inp")
        else:
            sock.sendall(b"POST /v2/models/taxi/infer HTTP/1.1\r\nHost: x\r\nContent-Le")
        slow.append(sock)
    # A kept-alive connection that asks once, then says nothing.
    kept = socket.create_connection(("127.0.0.1", port))
    kept.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    kept.settimeout(30)
    first = kept.recv(4096)
    started = time.monotonic()
    answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=30)
    answered = answer.status
    seconds = time.monotonic() - started
    still_open = sum(not closed(sock, 0.01) for sock in slow)
    # Then the server cuts them: wait up to a minute.
    deadline = time.monotonic() + 60
    cut = 0
    for sock in slow:
        if closed(sock, max(0.01, deadline - time.monotonic())):
            cut += 1
    cut_after = time.monotonic() - started
    idle_cut = first.startswith(b"HTTP/1.1 200") and closed(kept, 60)
    for sock in slow + [kept]:
        sock.close()
    return {"answered": answered, "seconds": seconds, "open_when_answered": still_open, "cut": cut,
            "cut_after": cut_after, "idle_cut": idle_cut}


def limit(port, count):
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    time.sleep(0.5)  # the server has accepted them all
    extra = socket.create_connection(("127.0.0.1", port))
    extra.settimeout(10)
    data = b""
    try:
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    for sock in held:
        sock.close()
    return {"extra": data.decode("utf-8", "replace")}


def main():
    mode, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(hold(port, count) if mode == "hold" else limit(port, count)))


if __name__ == "__main__":
    main()
