#!/usr/bin/env python3
"""`picket init` driven through a pseudo-terminal, the way an operator uses it.

Usage: init_pty_test.py PICKET

Answers the questions one prompt at a time (a bad answer first, where the re-ask is checked),
then checks that the written file passes `picket check-config` and holds the answers; Ctrl-D
aborts with nothing written; --defaults works without a terminal; an existing file is refused
unless --force.
"""
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time

PICKET = os.path.abspath(sys.argv[1])
TIMEOUT = 10.0
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Session:
    """The child on a pty: read() until a pattern, send() a line."""

    def __init__(self, args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(PICKET, [PICKET] + args)
        self.buf = b""
        self.status = None

    def read_until(self, pattern):
        """Output up to and including `pattern` (a regex); None on timeout or exit."""
        deadline = time.monotonic() + TIMEOUT
        rx = re.compile(pattern.encode())
        while True:
            m = rx.search(self.buf)
            if m:
                out, self.buf = self.buf[: m.end()], self.buf[m.end():]
                return out.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk

    def drain(self):
        r, _, _ = select.select([self.fd], [], [], 0.05)
        if r:
            try:
                self.buf += os.read(self.fd, 4096)
            except OSError:
                pass

    def send(self, line):
        os.write(self.fd, line.encode() + b"\n")

    def send_eof(self):
        os.write(self.fd, b"\x04")  # Ctrl-D at the start of a line: read() returns 0

    def wait(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                break
            self.drain()  # so the child never blocks on a full pty
        else:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            self.status = -9
        os.close(self.fd)
        return self.status


PROMPT = r"> \[([^\]]*)\]: $"


def answer(s, question, reply, expect_default=None):
    """Waits for `question` and its prompt, checks the default shown, sends `reply`."""
    text = s.read_until(question + r"[\s\S]*?" + PROMPT)
    check(text is not None, f"asked: {question}")
    if text is None:
        return ""
    if expect_default is not None:
        shown = re.search(PROMPT, text).group(1)
        check(shown == expect_default, f"default for {question!r} shown as [{expect_default}] (got [{shown}])")
    s.send(reply)
    return text


def reask(s, reason):
    """After a bad answer: the reason, then the same prompt again."""
    text = s.read_until(r"invalid: [^\n]*\n[\s\S]*?" + PROMPT)
    check(text is not None and reason in text, f"re-asked with reason containing {reason!r}")


def check_config(path):
    r = subprocess.run([PICKET, "check-config", path], capture_output=True, text=True)
    check(r.returncode == 0, f"picket check-config {os.path.basename(path)} accepts it ({r.stdout.strip()}{r.stderr.strip()})")


def main():
    tmp = tempfile.mkdtemp(prefix="picket-init-")
    try:
        # --- interactive, through the terminal
        out = os.path.join(tmp, "etc", "picket.yaml")  # the directory does not exist yet
        events = os.path.join(tmp, "ev.json")
        s = Session(["init", "--out", out])
        answer(s, "Capture interfaces", "nosuch0", "all")
        reask(s, "no interface")
        s.send("all")
        answer(s, "Profile", "extreme", "normal")
        reask(s, "normal, aggressive or paranoid")
        s.send("aggressive")
        answer(s, "Trusted addresses", "10.1.2.3/16", "none")
        reask(s, "")
        s.send("10.0.0.0/8, 2001:db8::/32")
        answer(s, "Mode", "ids", "ips")
        answer(s, "Connection rate limit", "lots")
        reask(s, "")
        s.send("40")
        answer(s, "Interval", "")
        answer(s, "Ban duration", "15m", "keep")
        answer(s, "Event file", events, "/var/log/picket/events.json")
        answer(s, "Text log file", "none", "/var/log/picket/picket.log")
        # Any later questions (alert destinations, when this build has them): their defaults.
        while True:
            text = s.read_until(PROMPT + r"|Wrote [^\n]*\n")
            if text is None or "Wrote " in text:
                check(text is not None, "the wizard finished and said what it wrote")
                break
            s.send("")
        check(s.wait() == 0, f"interactive init exits 0 (got {s.status})")
        check(os.path.exists(out), "the file and its missing directory were created")
        if os.path.exists(out):
            check(stat.S_IMODE(os.stat(out).st_mode) == 0o640, "file mode is 0640")
            check_config(out)
            body = open(out).read()
            for want in ["profile: aggressive", "limit: 40", 'mode: "ids"', "duration: 15m", '"10.0.0.0/8"',
                         '"2001:db8::/32"', '"127.0.0.0/8"', f'events_file: "{events}"', 'log_file: ""']:
                check(want in body, f"written file holds {want}")
            check(re.search(r"^\s*# .*\n\s*limit: 40", body, re.M) is not None, "keys carry their help as a comment")

        # --- Ctrl-D aborts: exit 1, nothing written
        aborted = os.path.join(tmp, "aborted.yaml")
        s = Session(["init", "--out", aborted])
        answer(s, "Capture interfaces", "all")
        s.read_until("Profile[\\s\\S]*?" + PROMPT)
        s.send_eof()
        check(s.wait() == 1, f"end of input aborts with exit 1 (got {s.status})")
        check(not os.path.exists(aborted), "an aborted run writes nothing")

        # --- --defaults without a terminal
        plain = os.path.join(tmp, "defaults.yaml")
        r = subprocess.run([PICKET, "init", "--defaults", "--out", plain], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        check(r.returncode == 0, f"--defaults without a terminal exits 0 ({r.stderr.strip()})")
        check_config(plain)

        # --- an existing file is refused, --force replaces it
        before = open(out).read()
        r = subprocess.run([PICKET, "init", "--defaults", "--out", out], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        check(r.returncode == 1 and "exists" in r.stderr, f"an existing file is refused (exit {r.returncode})")
        check(open(out).read() == before, "the refused file is unchanged")
        s = Session(["init", "--out", out])  # refused before any question is asked
        check(s.read_until("exists") is not None and s.wait() == 1, "interactive init refuses before asking")
        r = subprocess.run([PICKET, "init", "--defaults", "--force", "--out", out], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        check(r.returncode == 0, "--force replaces it")
        check("profile: normal" in open(out).read(), "the replaced file holds the new answers")
        check(stat.S_IMODE(os.stat(out).st_mode) == 0o640, "the replaced file is 0640 too")
        check(not any(n.endswith(".tmp") for n in os.listdir(os.path.dirname(out))), "no temporary file left")
        check_config(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
