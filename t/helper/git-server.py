#!/usr/bin/env python3
# git-server.py LOG ROOT ADDR:PORT CERT KEY: git http-backend over HTTPS
# with keep-alive (HTTP/1.1, each answer with its Content-Length), so a
# client's requests share one connection as they do with a real git
# host.  Serves the repositories beneath ROOT at /NAME.git, pushes
# allowed.  Each request is logged as "METHOD PATH", each connection
# as "connection".  Runs until killed.
import http.server
import os
import ssl
import subprocess
import sys
import threading

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
root = sys.argv[2]


def say(line):
    with lock:
        log.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        say("connection")

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def backend(self):
        say("%s %s" % (self.command, self.path))
        path, _, query = self.path.partition("?")
        data = self.body() if self.command == "POST" else b""
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query,
                   REQUEST_METHOD=self.command, REMOTE_USER="pusher",
                   REMOTE_ADDR="198.18.0.9",
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)),
                   HTTP_CONTENT_ENCODING=self.headers.get(
                       "Content-Encoding", ""),
                   GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        out = subprocess.run(["git", "http-backend"], input=data, env=env,
                             stdout=subprocess.PIPE).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        if not _:
            head, _, rest = out.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            else:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = backend
    do_POST = backend


addr, port = sys.argv[3].rsplit(":", 1)
s = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[4], sys.argv[5])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(sys.argv[1] + ".ready", "w").close()
s.serve_forever()
