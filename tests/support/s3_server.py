"""A loopback S3 emulator (moto's server, from PyPI) for the tests of s3:// file sources.
Usage: s3_server.py DIR BUCKET LOG. Creates BUCKET, uploads every file under DIR (keys are the
relative paths), then prints its port. Each request's method, path, Range header and the access
key id it was signed with are appended to LOG."""
import os
import re
import sys
import threading

import boto3
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

root, bucket, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
app = DomainDispatcherApplication(create_backend_app)


def logged(environ, start_response):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    key = re.search(r"Credential=([^/]+)/", auth)
    with open(log_path, "a") as log:
        log.write(
            f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}?{environ.get('QUERY_STRING', '')} "
            f"range={environ.get('HTTP_RANGE')} key={key.group(1) if key else None}\n"
        )
    return app(environ, start_response)


server = make_server("127.0.0.1", 0, logged, threaded=True)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()

s3 = boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{port}",
    region_name="us-east-1",
    aws_access_key_id="setup",
    aws_secret_access_key="setup",
)
s3.create_bucket(Bucket=bucket)
for dirpath, _, files in os.walk(root):
    for name in files:
        full = os.path.join(dirpath, name)
        s3.upload_file(full, bucket, os.path.relpath(full, root))
open(log_path, "w").close()  # the setup's own requests are not the test's
print(port, flush=True)
threading.Event().wait()
