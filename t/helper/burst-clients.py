#!/usr/bin/env python3
# burst-clients.py N HOST:PORT: N clients of the proxy at 127.0.0.1:3128
# at once, each asking CONNECT HOST:PORT; once "go" is made (by the
# caller), each client's answer read for at most 5 s: a line per status
# line seen (or "none"), counted
import collections, os, socket, sys, time, select
n, target = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), target.encode()))
    socks.append(s)
print("asked", n, flush=True)
while not os.path.exists("go"):
    time.sleep(0.05)
deadline = time.monotonic() + 5
got = {}
left = set(socks)
while left and time.monotonic() < deadline:
    r, _, _ = select.select(list(left), [], [], max(0, deadline - time.monotonic()))
    for s in r:
        d = s.recv(4096)
        got[s] = d.split(b"\r\n")[0].decode(errors="replace") if d else "eof"
        left.discard(s)
c = collections.Counter(got.values())
c["none"] = len(left)
for k in sorted(c):
    if c[k]:
        print(c[k], k)
