#!/usr/bin/env python3
"""A node that answers from files, for nucleus-mcp's tests.

usage: fake-node.py SOCKET DIR

Listens on the Unix socket SOCKET, one connection at a time (a client
that closes is followed by the next).  Each request line is answered
with the text of DIR/NAME, NAME being the request's args.path (or its
op when it has none), its @ID@ replaced by the request's id as JSON and
@EID@ by that id with its first character written as a \\u escape; the
text is sent as it is, so it may be any line, canonical or not.  The
request lines are appended to DIR/requests.  Ends on SIGTERM.
"""
import json
import os
import socket
import sys


def answer(d, line):
    req = json.loads(line)
    rid = req.get("id", "")
    name = (req.get("args") or {}).get("path") or req.get("op", "none")
    with open(os.path.join(d, os.path.basename(name)), "rb") as f:
        text = f.read().rstrip(b"\n")
    eid = '"\\u%04x%s"' % (ord(rid[0]), rid[1:]) if rid else '""'
    return (text.replace(b"@ID@", json.dumps(rid).encode())
            .replace(b"@EID@", eid.encode()) + b"\n")


def serve(conn, d):
    buf = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with open(os.path.join(d, "requests"), "ab") as f:
                    f.write(line + b"\n")
                conn.sendall(answer(d, line))


def main():
    path, d = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    while True:
        conn, _ = s.accept()
        try:
            serve(conn, d)
        except (BrokenPipeError, ConnectionResetError):
            pass


if __name__ == "__main__":
    main()
