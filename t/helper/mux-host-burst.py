#!/usr/bin/env python3
# mux-host-burst.py N PROXY-ARGS...: play the host's side of a QEMU
# pod's egress port (libdaemon/mux.h) for the guest's nucleus-proxy,
# started here with -E 3 on one end of a socket pair: the host's zeros
# and SYNC, the guest's echo, then N streams' OPENs taken and never
# answered; "opened N" on standard output, then, once the file "go"
# exists, the port closed at once (the host gone with N streams
# unanswered), and this waits for the proxy.
import os
import socket
import struct
import sys
import time

import fd3

OPEN, SYNC = 1, 7
HDR, FRAME_MAX, NONCE = 8, 16384, 16

n = int(sys.argv[1])
host, guest = socket.socketpair()
pid = fd3.spawn(guest, sys.argv[2:])
nonce = os.urandom(NONCE)
host.sendall(b"\0" * (HDR + FRAME_MAX) +
             struct.pack(">BBHI", SYNC, 0, NONCE, 0) + nonce)
buf = b""
synced = False
opened = 0
while opened < n:
    chunk = host.recv(65536)
    if not chunk:
        sys.exit("the guest closed its port")
    buf += chunk
    while len(buf) >= HDR:
        t, _, ln, sid = struct.unpack(">BBHI", buf[:HDR])
        if len(buf) < HDR + ln:
            break
        payload, buf = buf[HDR:HDR + ln], buf[HDR + ln:]
        if t == SYNC and payload == nonce:
            synced = True
        elif synced and t == OPEN:
            opened += 1
print("opened", opened, flush=True)
while not os.path.exists("go"):
    time.sleep(0.05)
host.close()
os.waitpid(pid, 0)
