#!/usr/bin/env python3
# fc-guest.py SOCKET STEP...: play Firecracker's side of a pod's egress
# streams (node/fcegress.c): each connection to SOCKET is one the guest
# made to the host's vsock port.  Says on standard output what the host
# answered.
#
#	get HOST PORT	the request line, the answer, an HTTP/1.0 GET, the
#			reply: "get STATUS-LINE BODY", or "get refused KIND"
#	notjson		a line that is not JSON: "notjson KIND"
#	long		MUX_MSG_MAX + 1 bytes without a newline: "long eof"
#	early HOST PORT	the line and bytes after it at once: "early eof"
#	flood N		up to N connections, each a line that is not JSON,
#			until one is refused: "flood K refused" (K made), or
#			"flood N open"
#	many N		N connections at once, saying nothing: "many OPEN
#			CLOSED" (those the host keeps, and closes at once)
import json
import socket
import sys
import time


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    return s


def line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            return None
        b += c
    return json.loads(b)


def rest(s):
    b = b""
    while True:
        c = s.recv(65536)
        if not c:
            return b
        b += c


def get(host, port):
    s = conn()
    s.sendall(json.dumps({"id": 5, "host": host, "port": int(port)})
              .encode() + b"\n")
    a = line(s)
    if not a or not a.get("ok"):
        print("get refused", a.get("kind") if a else None)
        return
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    r = rest(s).split(b"\r\n")
    print("get", r[0].decode(), r[-1].decode().strip())


def notjson():
    s = conn()
    s.sendall(b"hello\n")
    a = line(s)
    print("notjson", a.get("kind") if a else None)


def long():
    s = conn()
    s.sendall(b"x" * 4097)
    print("long", "eof" if rest(s) == b"" else "data")


def early(host, port):
    s = conn()
    s.sendall(json.dumps({"id": 5, "host": host, "port": int(port)})
              .encode() + b"\nGET / HTTP/1.0\r\n\r\n")
    print("early", "eof" if rest(s) == b"" else "data")


def flood(n):
    for i in range(int(n)):
        try:
            s = conn()
        except OSError:
            print("flood", i, "refused")
            return
        s.sendall(b"hello\n")
        rest(s)
        s.close()
    print("flood", n, "open")


def many(n):
    held = [conn() for _ in range(int(n))]
    time.sleep(0.5)
    closed = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
    print("many", len(held) - closed, closed)
    for s in held:
        s.close()


args = sys.argv[2:]
steps = {"get": (get, 2), "notjson": (notjson, 0), "long": (long, 0),
         "early": (early, 2), "many": (many, 1), "flood": (flood, 1)}
while args:
    fn, n = steps[args[0]]
    fn(*args[1:1 + n])
    sys.stdout.flush()
    args = args[1 + n:]
