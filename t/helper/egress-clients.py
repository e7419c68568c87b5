#!/usr/bin/env python3
# egress-clients.py N: in a pod, hold N connections to its proxy's
# egress listener (127.0.0.1:3128), then one more; prints "full" when
# that one is closed unanswered.  Then lets all go and, within 10 s, has
# a SOCKS5 greeting answered on a new one: prints "again".
import socket
import sys
import time

ADDR = ("127.0.0.1", 3128)
held = [socket.create_connection(ADDR) for _ in range(int(sys.argv[1]))]
# each accepted: a greeting answered (the proxy reads it, and waits)
for s in held:
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        sys.exit("a held client was not answered")
extra = socket.create_connection(ADDR)
extra.settimeout(10)
try:
    extra.sendall(b"\x05\x01\x00")
    got = extra.recv(2)
except (ConnectionResetError, BrokenPipeError):
    got = b""
print("full" if got == b"" else "answered %r" % got, flush=True)
for s in held + [extra]:
    s.close()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    s = socket.create_connection(ADDR)
    s.settimeout(10)
    try:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) == b"\x05\x00":
            print("again", flush=True)
            sys.exit(0)
    except (ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    time.sleep(0.05)
print("never again", flush=True)
