#!/usr/bin/env python3
"""Holds real TCP connections open for the live tests, and tells whether they still work.

  conn_holder.py listen  --bind IP:PORT --status FILE [--max-seconds S]
      accepts connections, keeps them, echoes every byte back (one thread, selectors).
  conn_holder.py connect --dest IP:PORT --per N [--sources IP,IP,...] --status FILE
                         [--user-timeout MS] [--max-seconds S]
      opens N connections from each source address (or N from the default address), keeps them.
      On SIGUSR1 it probes every one (sends a byte, waits up to 4 s for the echo) and appends
      "probe alive=A cut=C" to the status file; "cut" counts resets, timeouts and silence.

The status file gets "pid P" first (the test checks process_conn's evidence against it), then
"open N" (or "error ...") once every connection is up. Every process ends by itself after
--max-seconds (default 120), so a test that dies cannot leave one behind for long.
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time


def write_status(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def split_endpoint(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def listen(args):
    host, port = split_endpoint(args.bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(1024)
    server.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    write_status(args.status, f"pid {os.getpid()}")
    write_status(args.status, "listening")
    end = time.monotonic() + args.max_seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            if key.fileobj is server:
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            try:
                conn.send(data)
            except OSError:
                pass
    return 0


def probe(conns, deadline_seconds=4.0):
    """Sends one byte on each connection; counts those whose echo comes back in time."""
    pending = {}
    cut = 0
    for s in conns:
        try:
            s.send(b"x")
            pending[s.fileno()] = s
        except OSError:
            cut += 1
    sel = selectors.DefaultSelector()
    for s in pending.values():
        sel.register(s, selectors.EVENT_READ)
    alive = 0
    end = time.monotonic() + deadline_seconds
    while pending and time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
            s = key.fileobj
            sel.unregister(s)
            del pending[s.fileno()]
            try:
                if s.recv(16):
                    alive += 1
                else:
                    cut += 1
            except OSError:  # reset, or the user timeout ran out
                cut += 1
    cut += len(pending)
    return alive, cut


def connect(args):
    host, port = split_endpoint(args.dest)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sources = args.sources.split(",") if args.sources else [None]
    write_status(args.status, f"pid {os.getpid()}")
    conns = []
    try:
        for src in sources:
            for _ in range(args.per):
                s = socket.socket(family, socket.SOCK_STREAM)
                if args.user_timeout:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, args.user_timeout)
                s.settimeout(5)
                if src:
                    s.bind((src, 0))
                s.connect((host, port))
                s.setblocking(False)
                conns.append(s)
    except OSError as e:
        write_status(args.status, f"error after {len(conns)} connections: {e}")
        return 1
    write_status(args.status, f"open {len(conns)}")

    probe_requested = []
    signal.signal(signal.SIGUSR1, lambda *_: probe_requested.append(1))
    end = time.monotonic() + args.max_seconds
    while time.monotonic() < end:
        if probe_requested:
            probe_requested.clear()
            alive, cut = probe(conns)
            write_status(args.status, f"probe alive={alive} cut={cut}")
        time.sleep(0.05)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    lp = sub.add_parser("listen")
    lp.add_argument("--bind", required=True)
    cp = sub.add_parser("connect")
    cp.add_argument("--dest", required=True)
    cp.add_argument("--per", type=int, default=1)
    cp.add_argument("--sources", default="")
    cp.add_argument("--user-timeout", type=int, default=0, help="TCP_USER_TIMEOUT in ms")
    for sp in (lp, cp):
        sp.add_argument("--status", required=True)
        sp.add_argument("--max-seconds", type=float, default=120)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return listen(args) if args.mode == "listen" else connect(args)


if __name__ == "__main__":
    sys.exit(main())
