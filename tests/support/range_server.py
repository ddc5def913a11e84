"""A loopback HTTP file server with Range requests (Python's http.server has none), for the
tests of http(s):// file sources. Usage: range_server.py DIR LOG; prints its port. Each
request's method, path and X-Token header are appended to LOG."""
import http.server
import io
import os
import re
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        with open(sys.argv[2], "a") as log:
            log.write(f"{self.command} {self.path} token={self.headers.get('X-Token')}\n")
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            data = f.read()
        rng = self.headers.get("Range")
        start, end, status = 0, size - 1, 200
        if rng:
            m = re.match(r"bytes=(\d*)-(\d*)", rng)
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(size - int(m.group(2)), 0)
            status = 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.send_header("ETag", f'"{size}-{int(os.path.getmtime(path))}"')
        self.end_headers()
        return io.BytesIO(data[start : end + 1])

    def log_message(self, *args):
        pass


os.chdir(sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
