#!/usr/bin/env python3
"""A small threaded static HTTP/1.1 server for the live tests' benign load.

  http_server.py --bind IP --port PORT --directory DIR

`python3 -m http.server` keeps HTTP/1.0 keep-alive connections open without saying so, and ab -k
then waits for each response to end with the connection; this one answers "Connection:
keep-alive" when asked, so keep-alive clients (ab -k, browsers) reuse their connections.
"""
import argparse
import functools
import http.server


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def end_headers(self):
        if self.headers.get("Connection", "").lower() == "keep-alive":
            self.send_header("Connection", "keep-alive")
        super().end_headers()

    def log_message(self, *args):  # the test reads picket's view, not the server's log
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--directory", required=True)
    args = p.parse_args()
    handler = functools.partial(Handler, directory=args.directory)
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
