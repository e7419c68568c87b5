#!/usr/bin/env python3
# egress-ask.py SOCKET REQUEST-JSON [--hold PIDFILE]: ask a pod's gateway
# for a connection as its proxy would (a hostile one, or one holding a
# connection open).  Prints the gateway's answer; with --hold, writes its
# pid to PIDFILE and keeps the stream open until killed.
import array
import os
import signal
import socket
import sys

hold = len(sys.argv) > 4 and sys.argv[3] == "--hold"
if hold:
    with open(sys.argv[4], "w") as f:
        f.write("%d\n" % os.getpid())

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(sys.argv[2].encode())
fds = array.array("i")
msg, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[:fds.itemsize])
print(msg.decode(), flush=True)
if hold and len(fds) > 0:
    while True:
        signal.pause()
