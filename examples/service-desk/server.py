"""The service-desk API this example reads: a stand-in for a real ticketing system, served on
loopback from data/desk.json. Usage: python3 server.py [PORT] (default 8787; 0 picks a free
port). Prints the port. Needs a bearer token `demo-token`.

  GET /api/tickets?status=&per_page=&page=   tickets, newest first, Link: rel="next" pages
  GET /api/teams/{team}/oncall               who is on call for a team"""
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "desk.json")))


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer demo-token":
            return self.reply(401, {"error": "bad token"})
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        if url.path == "/api/tickets":
            rows = [t for t in DATA["tickets"] if q.get("status") in (None, t["status"])]
            rows.sort(key=lambda t: t["opened_at"], reverse=True)
            per, page = int(q.get("per_page", 20)), int(q.get("page", 1))
            headers = {}
            if page * per < len(rows):
                headers["Link"] = f'<{url.path}?{urllib.parse.urlencode(dict(q, page=page + 1))}>; rel="next"'
            return self.reply(200, {"items": rows[(page - 1) * per : page * per]}, headers)
        if len(parts) == 4 and parts[:2] == ["api", "teams"] and parts[3] == "oncall":
            oncall = DATA["oncall"].get(parts[2])
            return self.reply(200, oncall) if oncall else self.reply(404, {"error": "no such team"})
        self.reply(404, {"error": "not found"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8787), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
