#!/usr/bin/env python3
# fetch-server.py LOG ADDR:PORT [ADDR:TLSPORT CERT KEY]: the web_fetch
# tests' host.  Each request is logged as "PORT PATH".  Paths:
#   /hello        200, "hello from web_fetch\n", text/plain
#   /bytes/N      200, N bytes of "x"
#   /binary       200, 4 bytes that are not UTF-8
#   /to/URL       302 to URL (the rest of the path, as given)
#   /chain/N      302 to /chain/N-1 on the same host; /chain/0 is 200 "end"
#   /hold         200 "held", once /release has been asked (at most 60 s)
#   /release      200, and every /hold answers
# With a TLS port, the same over TLS with CERT and KEY.  Runs until
# killed.
import http.server
import ssl
import sys
import threading

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
released = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype="text/plain", location=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Ignored", "not kept")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        with lock:
            log.write("%d %s %s\n" % (self.server.server_port, self.command,
                                      self.path))
        p = self.path
        if p == "/hello":
            self.answer(200, b"hello from web_fetch\n")
        elif p.startswith("/bytes/"):
            self.answer(200, b"x" * int(p[7:]))
        elif p == "/binary":
            self.answer(200, b"\xff\xfe\x00\x01", "application/octet-stream")
        elif p.startswith("/to/"):
            self.answer(302, b"", location=p[4:])
        elif p == "/hold":
            released.wait(60)
            self.answer(200, b"held\n")
        elif p == "/release":
            released.set()
            self.answer(200, b"released\n")
        elif p == "/chain/0":
            self.answer(200, b"end\n")
        elif p.startswith("/chain/"):
            self.answer(302, b"", location="/chain/%d" % (int(p[7:]) - 1))
        else:
            self.answer(404, b"no such page\n")

    do_HEAD = do_GET


def serve(addr, port, ctx=None):
    s = http.server.ThreadingHTTPServer((addr, port), Handler)
    if ctx is not None:
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    s.serve_forever()


addr, port = sys.argv[2].rsplit(":", 1)
threading.Thread(target=serve, args=(addr, int(port)), daemon=True).start()
if len(sys.argv) > 3:
    taddr, tport = sys.argv[3].rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    threading.Thread(target=serve, args=(taddr, int(tport), ctx),
                     daemon=True).start()
open(sys.argv[1] + ".ready", "w").close()
threading.Event().wait()
