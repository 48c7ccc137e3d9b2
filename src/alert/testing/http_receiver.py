#!/usr/bin/env python3
"""A loopback HTTP server for the alert tests: records every POST as one JSON line.

Usage: http_receiver.py OUT_FILE MODE
  MODE ok        answer 200 to every POST
  MODE fail:N    answer 500 to the first N POSTs, then 200
  MODE hang      accept connections and never answer
Prints "PORT <n>" on stdout once it listens on 127.0.0.1 (a free port the kernel chose).
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out_path, mode = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"posts": 0}
fail_first = int(mode.split(":", 1)[1]) if mode.startswith("fail:") else 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        if mode == "hang":
            time.sleep(3600)
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            state["posts"] += 1
            n = state["posts"]
            status = 500 if n <= fail_first else 200
            record = {"n": n, "path": self.path, "status": status,
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            with open(out_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        reply = b"ok" if status == 200 else b"try again later"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
