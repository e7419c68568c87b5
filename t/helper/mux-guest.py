#!/usr/bin/env python3
# mux-guest.py SOCKET STEP...: play the guest's side of a QEMU pod's
# egress port (libdaemon/mux.h) on SOCKET (fake-vmm's peer.sock), one
# step after another, saying on standard output what the host answered.
#
#	good HOST PORT	a stream: OPEN, its ANSWER, an HTTP/1.0 GET, SHUT,
#			the reply read whole (credit given back): "good
#			STATUS-LINE"
#	credit HOST PORT	a stream, then credit the host never owed:
#			"credit closed" once the host resets it
#	overrun HOST PORT	a stream to a host that never reads, then data
#			past the credit: "overrun closed" once reset
#	many HOST PORT N	N streams at once: "many OK REFUSED-KIND..."
#	reuse		an OPEN with an id used before: "reuse eof" once the
#			host closes the channel
#	flood HOST PORT N	N streams each opened and given credit never
#			owed in one write: "flood eof" once the host closes
#			the channel, or "flood open"
#	bigopen N	an OPEN whose request is N bytes: "bigopen N KIND"
#			with the answer's kind (or ok), or "bigopen N eof"
#	bigdata HOST PORT	a stream, a DATA frame of MUX_FRAME_MAX bytes,
#			then one byte more: "bigdata eof" 
#	badframe	a frame of an unknown type: "badframe eof"
#	junk N		before the echo of the host's SYNC, N bytes that are
#			not it: "junk synced", or "junk eof" once the host
#			closes the channel
#	fake HOST PORT	before the echo, a SYNC with another nonce and a
#			stream's OPEN after it (the host must skip both)
#	resync		the host's SYNC echoed again, in the session: "resync
#			eof" once the host closes the channel
#
# Each session begins with the host's zeros and SYNC (mux.h), which the
# guest echoes before its first step (but junk and fake) needs it.
import json
import select
import socket
import struct
import sys

OPEN, ANSWER, DATA, CREDIT, SHUT, CLOSE, SYNC = range(1, 8)
WINDOW = 65536

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
buf = b""
next_id = 0


def frame(t, sid, payload=b""):
    return struct.pack(">BBHI", t, 0, len(payload), sid) + payload


def read_frame():
    global buf
    while True:
        if len(buf) >= 8:
            t, _, n, sid = struct.unpack(">BBHI", buf[:8])
            if len(buf) >= 8 + n:
                p = buf[8:8 + n]
                buf = buf[8 + n:]
                return t, sid, p
        c = s.recv(65536)
        if not c:
            return None
        buf += c


def open_stream(host, port):
    global next_id
    next_id += 1
    q = json.dumps({"id": 1000 + next_id, "host": host, "port": int(port)})
    s.sendall(frame(OPEN, next_id, q.encode()))
    return next_id


def wait_for(t, sid):
    while True:
        f = read_frame()
        if f is None:
            return None
        if f[0] == t and f[1] == sid:
            return f


def answer(sid):
    f = wait_for(ANSWER, sid)
    return json.loads(f[2]) if f else None


def good(host, port):
    sid = open_stream(host, port)
    a = answer(sid)
    if not a or not a.get("ok"):
        print("good refused", a)
        return
    s.sendall(frame(DATA, sid, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n") +
              frame(SHUT, sid))
    body = b""
    while True:
        f = read_frame()
        if f is None:
            break
        t, i, p = f
        if i != sid:
            continue
        if t == DATA:
            body += p
            s.sendall(frame(CREDIT, sid, struct.pack(">I", len(p))))
        elif t in (SHUT, CLOSE):
            break
    print("good", body.split(b"\r\n")[0].decode())


def credit(host, port):
    sid = open_stream(host, port)
    answer(sid)
    s.sendall(frame(CREDIT, sid, struct.pack(">I", 1)))
    print("credit", "closed" if wait_for(CLOSE, sid) else "eof")


def overrun(host, port):
    global buf
    sid = open_stream(host, port)
    answer(sid)
    chunk = frame(DATA, sid, b"x" * 16384)
    sent = 0
    s.setblocking(False)
    out = b""
    while sent < 256 * 1024 * 1024:
        r, w, _ = select.select([s], [s], [], 10)
        if not r and not w:
            break
        if r:
            c = s.recv(65536)
            if not c:
                break
            buf += c
            done = False
            while len(buf) >= 8:
                t, _, n, i = struct.unpack(">BBHI", buf[:8])
                if len(buf) < 8 + n:
                    break
                buf = buf[8 + n:]
                if t == CLOSE and i == sid:
                    done = True
            if done:
                s.setblocking(True)
                print("overrun closed")
                return
        if w:
            if not out:
                out = chunk
                sent += 16384
            try:
                k = s.send(out)
                out = out[k:]
            except BlockingIOError:
                pass
    s.setblocking(True)
    print("overrun not closed after", sent)


def many(host, port, n):
    ids = [open_stream(host, port) for _ in range(int(n))]
    got = {}
    while len(got) < len(ids):
        f = read_frame()
        if f is None:
            break
        if f[0] == ANSWER:
            got[f[1]] = json.loads(f[2])
    ok = sum(1 for a in got.values() if a.get("ok"))
    no = sorted(set(a.get("kind") for a in got.values() if not a.get("ok")))
    print("many", ok, *no)


def reuse():
    s.sendall(frame(OPEN, 1, b'{"id":1,"host":"x","port":1}'))
    print("reuse", "eof" if wait_for(-1, 0) is None else "open")


def bigopen(n):
    global next_id
    n = int(n)
    q = {"id": 1, "host": "ok.test", "port": 8080, "pad": ""}
    q["pad"] = "x" * (n - len(json.dumps(q, separators=(",", ":"))))
    next_id += 1
    s.sendall(frame(OPEN, next_id,
                    json.dumps(q, separators=(",", ":")).encode()))
    a = answer(next_id)
    print("bigopen", n, "eof" if a is None else
          "ok" if a.get("ok") else a.get("kind"))


def bigdata(host, port):
    sid = open_stream(host, port)
    answer(sid)
    s.sendall(frame(DATA, sid, b"x" * 16384))
    s.sendall(struct.pack(">BBHI", DATA, 0, 16385, sid) + b"x" * 16385)
    print("bigdata", "eof" if wait_for(-1, 0) is None else "open")


def flood(host, port, n):
    global next_id
    q = json.dumps({"id": 1, "host": host, "port": int(port)}).encode()
    out = b""
    for _ in range(int(n)):
        next_id += 1
        out += frame(OPEN, next_id, q) + \
            frame(CREDIT, next_id, struct.pack(">I", 1))
    s.sendall(out)
    print("flood", "eof" if wait_for(-1, 0) is None else "open")


def host_sync():
    f = wait_for(SYNC, 0)
    return frame(SYNC, 0, f[2])


echo = host_sync()
synced = False


def sync():
    global synced
    if not synced:
        s.sendall(echo)
        synced = True


def junk(n):
    global next_id, synced
    # then a stream, to say whether the host took the echo
    next_id += 1
    q = json.dumps({"id": 1, "host": "ok.test", "port": 8080})
    try:
        s.sendall(b"\x01" * int(n) + echo +
                  frame(OPEN, next_id, q.encode()))
        synced = True
        a = answer(next_id)
    except OSError:
        a = None
    print("junk", "eof" if a is None else "synced")


def fake(host, port):
    global next_id
    next_id += 1
    q = json.dumps({"id": 1, "host": host, "port": int(port)})
    s.sendall(frame(SYNC, 0, b"\x00" * 16) +
              frame(OPEN, next_id, q.encode()))
    sync()


def resync():
    s.sendall(echo)
    print("resync", "eof" if wait_for(-1, 0) is None else "open")


def badframe():
    s.sendall(struct.pack(">BBHI", 9, 0, 0, 1))
    print("badframe", "eof" if wait_for(-1, 0) is None else "open")


args = sys.argv[2:]
steps = {"good": (good, 2), "credit": (credit, 2), "overrun": (overrun, 2),
         "many": (many, 3), "reuse": (reuse, 0), "badframe": (badframe, 0),
         "bigopen": (bigopen, 1), "bigdata": (bigdata, 2),
         "flood": (flood, 3), "junk": (junk, 1), "fake": (fake, 2),
         "resync": (resync, 0)}
while args:
    fn, n = steps[args[0]]
    if fn not in (junk, fake, resync):
        sync()
    fn(*args[1:1 + n])
    sys.stdout.flush()
    args = args[1 + n:]
