"""A loopback JSON API for the tests of `kind: rest` sources. Usage: api_server.py LOG; prints
its port. Each request is appended to LOG as `METHOD PATH?QUERY auth=<Authorization header>`.

  /repos/acme/widgets/issues   23 issues; ?state= filters; pages of ?per_page= (default 10)
                               chosen by ?page=, with a Link: rel="next" header
  /cursor/items                25 items in {"data": {"items": [...]}, "meta": {"next": c}}
                               pages of 10, chosen by ?after=
  /offset/items                25 items, ?offset= and ?limit=
  /flaky                       429 with Retry-After: 1 twice, then the items
  /broken                      always 500
  /malformed                   200 with a body that is not JSON
  /wrongshape                  rows whose second `id` is not a number
  /slow                        answers after 5 s
  /big                         a 2 MB list
  /endless                     a cursor that never ends
  /graphql                     POST {query, variables}: the issues of repository(owner:) with
                               an optional state; a query naming `brokenField` gets `errors`
Request bodies are logged too (` body=...`)."""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]
LOCK = threading.Lock()
COUNTS = {}

USERS = ["ann", "bob", "cho", "dee"]
ISSUES = [
    {
        "id": 1000 + n,
        "number": n,
        "title": f"Issue {n}",
        "state": "open" if n % 3 else "closed",
        "user": {"login": USERS[n % 4]},
        "created_at": f"2026-01-{n:02d}T10:00:00Z",
        "labels": [{"name": "bug"}] if n % 2 else [],
    }
    for n in range(1, 24)
]
ITEMS = [{"key": f"k{n:02d}", "value": n * 1.5} for n in range(1, 26)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_json(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            with open(LOG, "a") as log:
                log.write(
                    f"{self.command} {self.path} auth={self.headers.get('Authorization')} "
                    f"key={self.headers.get('X-Api-Key')} body={body.decode()}\n"
                )
            COUNTS[url.path] = COUNTS.get(url.path, 0) + 1
            count = COUNTS[url.path]
        p = url.path
        if p == "/repos/acme/widgets/issues":
            rows = [i for i in ISSUES if "state" not in q or i["state"] == q["state"]]
            per = int(q.get("per_page", 10))
            page = int(q.get("page", 1))
            chunk = rows[(page - 1) * per : page * per]
            headers = {}
            if page * per < len(rows):
                nq = dict(q, page=str(page + 1))
                headers["Link"] = f'<{p}?{urllib.parse.urlencode(nq)}>; rel="next"'
            self.send_json(200, chunk, headers)
        elif p.startswith("/repos/"):
            self.send_json(404, {"message": "Not Found"})
        elif p == "/cursor/items":
            start = int(q.get("after", 0))
            chunk = ITEMS[start : start + 10]
            nxt = str(start + 10) if start + 10 < len(ITEMS) else None
            self.send_json(200, {"data": {"items": chunk}, "meta": {"next": nxt}})
        elif p == "/offset/items":
            off, lim = int(q.get("offset", 0)), int(q.get("limit", 10))
            self.send_json(200, ITEMS[off : off + lim])
        elif p == "/flaky":
            if count <= 2:
                self.send_json(429, {"message": "slow down"}, {"Retry-After": "1"})
            else:
                self.send_json(200, ITEMS[:3])
        elif p == "/broken":
            self.send_json(500, {"message": "boom"})
        elif p == "/malformed":
            self.send_json(200, b"{not json")
        elif p == "/wrongshape":
            self.send_json(200, [{"key": "a", "value": 1}, {"key": "b", "value": "lots"}])
        elif p == "/slow":
            time.sleep(5)
            self.send_json(200, ITEMS)
        elif p == "/big":
            self.send_json(200, [{"key": "x" * 1000, "value": n} for n in range(2000)])
        elif p == "/graphql":
            req = json.loads(body or b"{}")
            if "brokenField" in req.get("query", ""):
                self.send_json(200, {"data": None, "errors": [{"message": "Cannot query field 'brokenField' on type 'Query'."}]})
                return
            v = req.get("variables") or {}
            if v.get("owner") != "acme":
                self.send_json(200, {"data": {"repository": None}})
                return
            nodes = [
                {"number": i["number"], "title": i["title"], "state": i["state"], "author": {"login": i["user"]["login"]}}
                for i in ISSUES
                if v.get("state") in (None, i["state"])
            ][: int(v.get("first", 100))]
            self.send_json(200, {"data": {"repository": {"issues": {"nodes": nodes}}}})
        elif p == "/endless":
            after = int(q.get("after", 0))
            self.send_json(200, {"data": {"items": ITEMS[:1]}, "meta": {"next": str(after + 1)}})
        else:
            self.send_json(404, {"message": "no such endpoint"})

    do_GET = handle_any
    do_POST = handle_any

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up (the timeout test) is not the server's error


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
