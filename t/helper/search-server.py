#!/usr/bin/env python3
# search-server.py LOG ADDR:PORT: web_search's test backend.  Each
# request is logged as "PATH".  /search?q=Q answers, by Q:
#   notjson      200, text that is not JSON
#   huge         200, JSON of 300000 bytes (past SEARCH_RESPONSE_MAX)
#   shape        200, {"results": {}}
#   item         200, a result whose url is a number
#   ftp          200, a result whose url is ftp://
#   long         200, a result whose title is 600 and snippet 3000 bytes
#   fail         500
#   moved        302 to /search?q=x
#   anything else 200, 25 results "Result N for Q", url
#                http://result.test/N, snippet "snippet N" (the 3rd
#                without a snippet)
# Runs until killed.
import http.server
import json
import sys
import threading
import urllib.parse

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype="application/json", location=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            log.write("%s\n" % self.path)
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query).get("q", [""])[0]
        if u.path != "/search":
            self.answer(404, "{}")
        elif q == "notjson":
            self.answer(200, "<html>no</html>", "text/html")
        elif q == "huge":
            self.answer(200, json.dumps({"results": [], "pad": "x" * 300000}))
        elif q == "shape":
            self.answer(200, '{"results": {}}')
        elif q == "item":
            self.answer(200, '{"results": [{"title": "t", "url": 5}]}')
        elif q == "ftp":
            self.answer(200, json.dumps({"results": [
                {"title": "t", "url": "ftp://result.test/"}]}))
        elif q == "long":
            self.answer(200, json.dumps({"results": [
                {"title": "t" * 600, "url": "http://result.test/long",
                 "snippet": "\u00e9" * 1500}]}))
        elif q == "fail":
            self.answer(500, '{"error": "down"}')
        elif q == "moved":
            self.answer(302, "", location="/search?q=x")
        else:
            res = []
            for n in range(1, 26):
                r = {"title": "Result %d for %s" % (n, q),
                     "url": "http://result.test/%d" % n, "rank": n}
                if n != 3:
                    r["snippet"] = "snippet %d" % n
                res.append(r)
            self.answer(200, json.dumps({"results": res, "total": 25}))


addr, port = sys.argv[2].rsplit(":", 1)
s = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
open(sys.argv[1] + ".ready", "w").close()
s.serve_forever()
