#!/usr/bin/env python3
"""Live end-to-end tests: real attack tools against a live `picket run` in namespaces this test makes.

  attacker ns (to-victim: 198.19.0.101-.107, .10; 198.18.1.20 = benign client)  <->  victim ns
  (to-attacker: 198.18.0.10, web server on :80, picket run with nftables, normal profile)

Checks, in this order (each bounded in time):
  - benign HTTP load (ab, 80 page loads) from 198.18.1.20: no alert, no ban;
  - nmap -sS -sF -sN -sX -sA -sM -sU, each from its own address: port_scan with the right scan_type,
    the source banned, a later connect from it dropped;
  - hping3 -S flood from one source: syn_flood, banned;
  - hping3 -S --rand-source flood: spoofed_flood answered with a rate limit, no per-source ban.
Needs root, ip, nft, nmap, hping3, ab; otherwise exits 77 (skip) saying why.
Usage: live_tools_test.py PATH/TO/picket
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PICKET = sys.argv[1] if len(sys.argv) > 1 else "build/picket"
PID = os.getpid()
VICTIM_NS, ATTACKER_NS = f"pke2e-{PID}-v", f"pke2e-{PID}-a"
VICTIM = "198.18.0.10"
CLIENT = "198.18.1.20"
SCANS = [("-sS", "syn"), ("-sF", "fin"), ("-sN", "null"), ("-sX", "xmas"), ("-sA", "ack"), ("-sM", "maimon"),
         ("-sU", "udp")]
SCANNER = {flag: f"198.19.0.{101 + i}" for i, (flag, _) in enumerate(SCANS)}
FLOODER = "198.19.0.10"


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def run(argv, timeout=30, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {r.stdout}")
    return r


def in_ns(ns, argv, timeout=60, check=False):
    """Runs argv in ns; a command still running at `timeout` is killed (subprocess does it by PID)."""
    try:
        return run(["ip", "netns", "exec", ns] + argv, timeout=timeout, check=check)
    except subprocess.TimeoutExpired:
        return None


class Events:
    def __init__(self, path):
        self.path = path

    def all(self):
        try:
            with open(self.path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def since(self, n):
        return self.all()[n:]

    def wait_for(self, start, pred, limit):
        end = time.time() + limit
        while time.time() < end:
            hits = [e for e in self.since(start) if pred(e)]
            if hits:
                return hits
            time.sleep(0.2)
        return []


def is_alert(e, detector, src=None):
    return (e.get("event_type") == "alert" and e.get("picket", {}).get("detector") == detector
            and (src is None or e.get("src_ip") == src))


def is_block(e, target):
    d = e.get("decision", {})
    return e.get("event_type") == "decision" and d.get("action") == "block" and d.get("target") == target


def connect_times_out(src, limit=2):
    code = ("import socket,sys\ns=socket.socket();s.bind((sys.argv[1],0));s.settimeout(float(sys.argv[3]))\n"
            "try:\n s.connect((sys.argv[2],80));print('connected')\nexcept socket.timeout:\n print('timeout')\n"
            "except OSError as e:\n print('error',e)\n")
    r = in_ns(ATTACKER_NS, ["python3", "-c", code, src, VICTIM, str(limit)], timeout=limit + 10)
    return r is not None and r.stdout.strip() == "timeout"


def main():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, nftables)")
    for tool in ("ip", "nft", "nmap", "hping3", "ab"):
        if shutil.which(tool) is None:
            skip(f"no {tool} command")

    work = tempfile.mkdtemp(prefix="picket-e2e-")
    events_path = os.path.join(work, "events.json")
    picket = None
    failures = []
    try:
        # Addresses /16 on both sides: every address here is on-link, no route is needed (none out).
        run(["ip", "netns", "add", VICTIM_NS])
        run(["ip", "netns", "add", ATTACKER_NS])
        run(["ip", "link", "add", "to-attacker", "netns", VICTIM_NS, "type", "veth", "peer", "name", "to-victim",
             "netns", ATTACKER_NS])
        for ns in (VICTIM_NS, ATTACKER_NS):
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", VICTIM_NS, "addr", "add", f"{VICTIM}/16", "dev", "to-attacker"])
        run(["ip", "-n", VICTIM_NS, "addr", "add", "198.19.0.1/16", "dev", "to-attacker"])
        for a in [CLIENT, FLOODER] + list(SCANNER.values()):
            run(["ip", "-n", ATTACKER_NS, "addr", "add", f"{a}/16", "dev", "to-victim"])
        run(["ip", "-n", VICTIM_NS, "link", "set", "to-attacker", "up"])
        run(["ip", "-n", ATTACKER_NS, "link", "set", "to-victim", "up"])
    except (RuntimeError, subprocess.TimeoutExpired):
        cleanup(None, work)
        raise

    server = None
    try:
        # A web server in the victim: a python http.server started in the namespace (own process).
        server = subprocess.Popen(["ip", "netns", "exec", VICTIM_NS, "python3", "-m", "http.server", "80",
                                   "--bind", VICTIM, "--directory", work], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        config = os.path.join(work, "picket.yaml")
        with open(config, "w") as f:
            f.write("profile: normal\ncapture:\n  interfaces: [to-attacker]\n  method: afpacket\npolicy:\n"
                    "  mode: ips\nenforce:\n  backend: nftables\n  on_exit: remove\nengine:\n"
                    f"  home_net: [{VICTIM}/32]\n")
        out = open(os.path.join(work, "picket.out"), "w")
        picket = subprocess.Popen(["ip", "netns", "exec", VICTIM_NS, PICKET, "run", "--config", config, "--events",
                                   events_path, "--store", os.path.join(work, "store.db")],
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.time() + 15
        while time.time() < end:
            if in_ns(VICTIM_NS, ["nft", "list", "table", "inet", "picket"], timeout=5).returncode == 0:
                break
            if picket.poll() is not None:
                raise RuntimeError("picket run exited at start: " + open(os.path.join(work, "picket.out")).read())
            time.sleep(0.2)
        time.sleep(2)
        ev = Events(events_path)

        # Benign load first: 80 page loads, 4 at a time, from the client address. (The normal profile
        # allows one address 100 new connections a minute: 200 quick loads from one address is
        # conn_rate abuse by definition, and reported as such.)
        start = len(ev.all())
        r = in_ns(ATTACKER_NS, ["ab", "-q", "-n", "80", "-c", "4", "-s", "5", "-B", CLIENT, f"http://{VICTIM}/"],
                  timeout=60)
        if r is None or "Complete requests:      80" not in r.stdout:
            failures.append(f"ab did not complete: {r.stdout if r else 'timed out'}")
        time.sleep(3)
        noisy = [e for e in ev.since(start) if e.get("event_type") in ("alert", "decision")]
        if noisy:
            failures.append(f"benign HTTP load raised {len(noisy)} alerts/decisions: {noisy[:2]}")
        else:
            print("ok: benign ab load: no alert, no ban")

        for flag, scan_type in SCANS:
            src = SCANNER[flag]
            start = len(ev.all())
            ports = "1-300" if flag != "-sU" else "1-100"
            in_ns(ATTACKER_NS, ["nmap", flag, "-n", "-Pn", "-T4", "--max-retries", "0", "--host-timeout", "20s",
                                "-e", "to-victim", "-S", src, "-p", ports, VICTIM], timeout=40)
            alerts = ev.wait_for(start, lambda e: is_alert(e, "port_scan", src), 5)
            types = [a.get("picket", {}).get("evidence", {}).get("scan_type") for a in alerts]
            blocks = ev.wait_for(start, lambda e: is_block(e, src), 3)
            if not alerts:
                failures.append(f"nmap {flag} from {src}: no port_scan alert")
            elif scan_type not in types:
                failures.append(f"nmap {flag} from {src}: scan_type {types}, expected {scan_type}")
            elif not blocks:
                failures.append(f"nmap {flag} from {src}: no block decision")
            elif not connect_times_out(src):
                failures.append(f"nmap {flag} from {src}: banned but a connect still gets through")
            else:
                print(f"ok: nmap {flag}: port_scan scan_type={scan_type}, {src} banned and dropped")

        start = len(ev.all())
        in_ns(ATTACKER_NS, ["timeout", "4", "hping3", "-S", "-p", "80", "-i", "u2000", "-a", FLOODER, VICTIM],
              timeout=15)
        alerts = ev.wait_for(start, lambda e: is_alert(e, "syn_flood", FLOODER), 5)
        blocks = ev.wait_for(start, lambda e: is_block(e, FLOODER), 3)
        if not alerts or not blocks:
            failures.append(f"hping3 -S flood from {FLOODER}: alert={bool(alerts)} block={bool(blocks)}")
        else:
            print(f"ok: hping3 -S flood: syn_flood, {FLOODER} banned")

        start = len(ev.all())
        in_ns(ATTACKER_NS, ["timeout", "5", "hping3", "-S", "-p", "443", "--rand-source", "-i", "u500", VICTIM],
              timeout=15)
        limits = ev.wait_for(start, lambda e: e.get("event_type") == "decision"
                             and e.get("decision", {}).get("action") == "rate_limit", 6)
        time.sleep(1)
        bans = [e for e in ev.since(start) if e.get("event_type") == "decision"
                and e.get("decision", {}).get("action") == "block"]
        if not limits:
            failures.append("hping3 --rand-source: no rate_limit decision (spoofed_flood)")
        elif limits[0].get("picket", {}).get("detector") != "spoofed_flood":
            failures.append(f"hping3 --rand-source: rate limit from {limits[0].get('picket')}")
        elif bans:
            failures.append(f"hping3 --rand-source: {len(bans)} per-source bans, e.g. {bans[0]['decision']['target']}")
        else:
            print("ok: hping3 --rand-source: spoofed_flood rate limit, no per-source ban")
    finally:
        cleanup(picket, work, server)
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 0 if not failures else 1


def cleanup(picket, work, server=None):
    for p in (picket, server):
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)  # by PID: only processes this test started
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for ns in (VICTIM_NS, ATTACKER_NS):
        subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.environ.get("PICKET_E2E_KEEP"):
        print("kept", work)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
