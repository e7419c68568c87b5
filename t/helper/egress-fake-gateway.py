#!/usr/bin/env python3
# egress-fake-gateway.py: a hostile nucleus-gateway (t7011), started by
# the node in the real one's place: on its channel to the node's log
# (fd 4) it sends one message of EGRESS_MSG_MAX + 1 bytes (a record
# whose reason begins "long"), then one of EGRESS_MSG_MAX bytes (reason
# "fits"); then it waits until the pod's proxy (fd 3) goes.
import json
import socket

MAX = 2048


def message(tag, size):
    m = {"seq": 1, "wait": False,
         "record": {"event": "egress.refused", "reason": tag}}
    pad = size - len(json.dumps(m, separators=(",", ":")))
    m["record"]["reason"] = tag + "x" * pad
    text = json.dumps(m, separators=(",", ":")).encode()
    assert len(text) == size
    return text


node = socket.socket(fileno=4)
node.send(message("long", MAX + 1))
node.send(message("fits", MAX))
proxy = socket.socket(fileno=3)
while proxy.recv(4096):
    pass
