#!/usr/bin/env python3
# egress-host.py ADDR PORT FILE: the test host of bench-egress.sh.  Each
# connection gets one answer and is closed: "GET /big" the FILE, sent
# with sendfile(2) so that the host is not what the figures measure;
# anything else one short line.  Runs until killed.
import os
import socket
import sys
import threading

addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
size = os.path.getsize(path)


def serve(conn):
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        if data.startswith(b"GET /big "):
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            with open(path, "rb") as f:
                conn.sendfile(f)
        else:
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nhi\n")
    except OSError:
        pass
    finally:
        conn.close()


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
