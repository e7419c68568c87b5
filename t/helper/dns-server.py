#!/usr/bin/env python3
# dns-server.py LOG ADDR NAME=ADDRESS...: a tiny DNS server for the
# egress tests, on ADDR port 53 (UDP).  A query for NAME is answered
# with its IPv4 ADDRESS (an AAAA query with no answer); NAME=slow is
# never answered, nor any name under it; NAME=hold:ADDRESS is answered
# once the file LOG.release exists; any other name is NXDOMAIN.  Each query is logged to
# LOG as "NAME TYPE"; LOG.ready once it listens.
import os
import socket
import struct
import sys

log = open(sys.argv[1], "a", buffering=1)
names = dict(a.split("=", 1) for a in sys.argv[3:])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 53))
open(sys.argv[1] + ".ready", "w").close()


def question(q):
    labels, i = [], 12
    while q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qtype, = struct.unpack("!H", q[i + 1:i + 3])
    return ".".join(labels).lower(), qtype, q[12:i + 5]


def answer(q, peer, name, qtype, qsec, addr):
    answers = b""
    rcode = 3 if addr is None else 0
    if addr is not None and qtype == 1:
        answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                   socket.inet_aton(addr))
    head = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0],
                       0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
    s.sendto(head + qsec + answers, peer)


held = []
s.settimeout(0.05)
while True:
    if held and os.path.exists(sys.argv[1] + ".release"):
        for h in held:
            answer(*h)
        held = []
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        continue
    try:
        name, qtype, qsec = question(q)
    except (IndexError, struct.error):
        continue
    log.write("%s %d\n" % (name, qtype))
    addr = names.get(name)
    if addr == "slow" or any(v == "slow" and name.endswith("." + k)
                             for k, v in names.items()):
        continue
    if addr is not None and addr.startswith("hold:"):
        held.append((q, peer, name, qtype, qsec, addr[5:]))
        continue
    answer(q, peer, name, qtype, qsec, addr)
