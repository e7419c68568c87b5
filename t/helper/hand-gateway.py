#!/usr/bin/env python3
# hand-gateway.py PROXY-ARGS...: stand for a pod's gateway on the host
# (nucleus-gateway(8)) to the nucleus-proxy started here with -G 3 on one
# end of a SOCK_SEQPACKET pair: each request that comes with a client's
# socket ("handed") is told 200 on that socket and answered ok, and the
# socket is held, idle, until this is killed; a request without one is
# answered unavailable.  The proxy's pid in proxy.pid, and a line
# "handed N" on standard output after the N-th.
import array
import json
import os
import socket
import sys

import fd3

gw, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
pid = fd3.spawn(theirs, sys.argv[1:])
with open("proxy.pid", "w") as f:
    print(pid, file=f)
held = []
while True:
    fds = array.array("i")
    msg, anc, _, _ = gw.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    if not msg:
        break
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    q = json.loads(msg)
    if q.get("handed") == "connect" and len(fds) == 1:
        client = socket.socket(fileno=fds[0])
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        held.append(client)
        gw.send(json.dumps({"id": q["id"], "ok": True,
                            "address": "198.18.0.1"}).encode())
        print("handed", len(held), flush=True)
    else:
        for fd in fds:
            os.close(fd)
        gw.send(json.dumps({"id": q["id"], "ok": False, "kind":
                            "unavailable", "reason": "not handed"}).encode())
os.waitpid(pid, 0)
