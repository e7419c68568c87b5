#!/usr/bin/env python3
# egress-stall.py SOCKET N GO [REQUEST]: ask a pod's gateway N times as
# a proxy that takes no answer until the file GO exists (at most 60 s),
# with REQUEST (a JSON object; by default ok.test port 8081, refused),
# each named by an id of 300 characters, so that the answers are long.  The requests go from a thread of their own
# (they may wait for the gateway to read them).  Prints whether all were
# sent before GO came ("sent-before-go yes|no"), then how many answers
# came, each within 5 s, and whether they came in order ("in-order yes|no").
import json
import os
import socket
import sys
import threading
import time

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
n = int(sys.argv[2])
go = sys.argv[3]
req = json.loads(sys.argv[4]) if len(sys.argv) > 4 else \
    {"host": "ok.test", "port": 8081}
sent = threading.Event()


def send():
    for i in range(n):
        s.send(json.dumps(dict(req, id="%0300d" % i)).encode())
    sent.set()


threading.Thread(target=send, daemon=True).start()
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
print("sent-before-go", "yes" if sent.is_set() else "no", flush=True)
s.settimeout(5)
ids = []
try:
    while len(ids) < n:
        ids.append(int(json.loads(s.recv(8192))["id"]))
except socket.timeout:
    pass
print("answers", len(ids))
print("in-order", "yes" if ids == list(range(len(ids))) else "no")
