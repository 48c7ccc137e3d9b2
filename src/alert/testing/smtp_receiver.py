#!/usr/bin/env python3
"""A loopback SMTP server (aiosmtpd) for the alert tests: stores every mail it accepts.

Usage: smtp_receiver.py DIR [--auth USER:PASSWORD] [--tls CERT KEY]
Each accepted message becomes DIR/NNNN.eml (the data as received) and DIR/NNNN.json (envelope:
mail_from, rcpt_tos, the EHLO name, and whether the session was TLS and authenticated).
--auth requires AUTH PLAIN/LOGIN with these credentials (allowed without TLS: loopback tests only).
--tls offers STARTTLS with this certificate.
Prints "PORT <n>" on stdout once it listens on 127.0.0.1.
"""
import argparse
import json
import os
import socket
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--auth")
parser.add_argument("--tls", nargs=2)
args = parser.parse_args()


class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(args.dir, "%04d" % self.n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None, "authenticated": bool(session.authenticated),
                "helo": session.host_name}
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")  # the test reads only complete files
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


kwargs = {}
if args.auth:
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
if args.tls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    kwargs.update(tls_context=ctx, require_starttls=False)

port = free_port()
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print("PORT %d" % port, flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
