#!/usr/bin/env python3
# egress-server.py LOG ADDR:PORT...: a test host for the egress tests.
# Each connection accepted is logged as "MS ADDR PORT" (the wall clock in
# milliseconds, as the audit records' ts); each gets one HTTP answer,
# "hello from ADDR:PORT", and is closed.  Runs until killed.
import socket
import sys
import threading
import time

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()


def serve(conn, addr, port):
    with lock:
        log.write("%d %s %d\n" % (int(time.time() * 1000), addr, port))
    conn.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        body = ("hello from %s:%d\n" % (addr, port)).encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    conn.close()


def listen(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, addr, port),
                         daemon=True).start()


for a in sys.argv[2:]:
    addr, port = a.rsplit(":", 1)
    threading.Thread(target=listen, args=(addr, int(port)),
                     daemon=True).start()
open(sys.argv[1] + ".ready", "w").close()
while True:
    time.sleep(3600)
