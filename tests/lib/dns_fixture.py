"""dns_fixture -- a real authoritative DNS server (NSD) for the tests.

NsdServer starts Debian's NSD (package `nsd`) in the foreground on a free
loopback port, serving the zone files of tests/dns/ (bl.test, dbl.test,
uribl.test, mx.test), and stops it by PID.  Any other name (e.g. anything
under refused.test) gets REFUSED: NSD answers only for its own zones, which
is how the tests get a SERVFAIL/REFUSED-class failure.  queries() reads the
server's query counter (nsd-control stats_noreset over a unix control socket),
so a test can prove that a cached answer made no query at the server.

Run as a program (`dns_fixture.py --ready FILE [--zone NAME=PATH ...]`), it
starts the same server for a shell script (the end-to-end tests, the policy
benchmark), writes "127.0.0.1:PORT" to FILE once it answers, and stops it and
removes its directory on SIGTERM or SIGINT.

DeadServer is a UDP (and TCP) socket on loopback that reads queries and never
answers: the "DNS server down/slow" case.

Standard library only.  Nothing here ever talks to a non-loopback address.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ZONEDIR = os.path.abspath(os.path.join(HERE, "..", "dns"))
ZONES = ("bl.test", "dbl.test", "uribl.test", "mx.test")
NSD = os.environ.get("OUTPOST_NSD", "/usr/sbin/nsd")
NSD_CONTROL = os.environ.get("OUTPOST_NSD_CONTROL", "/usr/sbin/nsd-control")


def free_udp_tcp_port():
    """A loopback port free for both UDP and TCP (NSD binds both)."""
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free loopback port")


def available():
    return os.access(NSD, os.X_OK)


class NsdServer:
    """NSD on 127.0.0.1:PORT, authoritative for tests/dns/*.zone."""

    def __init__(self, extra_zones=()):
        """EXTRA_ZONES: (name, zone file path) pairs served besides tests/dns/."""
        self.dir = tempfile.mkdtemp(prefix="outpost-nsd-")
        os.chmod(self.dir, 0o755)
        self.port = free_udp_tcp_port()
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.log")
        self.ctl_sock = os.path.join(self.dir, "nsd.ctl")
        self.proc = None
        zones = "".join('zone:\n\tname: "%s"\n\tzonefile: "%s/%s.zone"\n' % (z, ZONEDIR, z)
                        for z in ZONES)
        zones += "".join('zone:\n\tname: "%s"\n\tzonefile: "%s"\n' % (z, os.path.abspath(p))
                         for z, p in extra_zones)
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                '\tip-address: 127.0.0.1\n'
                "\tport: %d\n"
                "\tserver-count: 1\n"
                '\tusername: ""\n'
                '\tchroot: ""\n'
                '\tdatabase: ""\n'
                '\tzonesdir: "%s"\n'
                '\tzonelistfile: "%s/zone.list"\n'
                '\txfrdfile: "%s/xfrd.state"\n'
                '\tpidfile: "%s/nsd.pid"\n'
                '\tlogfile: "%s"\n'
                "\tverbosity: 1\n"
                "\thide-version: yes\n"
                "\trrl-ratelimit: 0\n"
                "remote-control:\n"
                "\tcontrol-enable: yes\n"
                '\tcontrol-interface: "%s"\n'
                "%s" % (self.port, ZONEDIR, self.dir, self.dir, self.dir, self.log,
                        self.ctl_sock, zones))

    @property
    def server(self):
        """The dns.servers entry for this server."""
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=15.0):
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log + ".err", "w"))
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited %d: %s" % (self.proc.returncode, self.logtext()))
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nsd did not answer within %.0fs: %s" % (timeout, self.logtext()))

    def _answers(self):
        """True once the server answers an SOA query for bl.test."""
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x02bl\x04test\x00\x00\x06\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            data, _ = s.recvfrom(4096)
            return data[:2] == b"\x12\x34" and (data[3] & 0x0f) == 0
        except OSError:
            return False
        finally:
            s.close()

    def reload(self, zone):
        """Read ZONE's file again (nsd-control reload), after a test rewrote it."""
        r = subprocess.run([NSD_CONTROL, "-c", self.conf, "reload", zone], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("nsd-control reload: %s %s" % (r.stdout, r.stderr))

    def stats(self):
        """The server's counters (nsd-control stats_noreset) as a dict."""
        r = subprocess.run([NSD_CONTROL, "-c", self.conf, "stats_noreset"], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("nsd-control: %s %s" % (r.stdout, r.stderr))
        out = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition("=")
            try:
                out[k.strip()] = float(v)
            except ValueError:
                pass
        return out

    def queries(self):
        """How many queries the server has received so far."""
        return int(self.stats().get("num.queries", 0))

    def logtext(self):
        text = ""
        for p in (self.log, self.log + ".err"):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc is not None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class DeadServer:
    """A loopback 'DNS server' that receives every query and answers none."""

    def __init__(self):
        self.port = free_udp_tcp_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.received = 0
        self._stop = False
        self._thread = threading.Thread(target=self._swallow, daemon=True)
        self._thread.start()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def _swallow(self):
        while not self._stop:
            try:
                self.udp.recvfrom(4096)
                self.received += 1
            except OSError:
                pass

    def cleanup(self):
        self._stop = True
        self._thread.join(2)
        self.udp.close()
        self.tcp.close()


def main(argv):
    """The server for a shell script: see the module's docstring."""
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ready", required=True, help='written with "127.0.0.1:PORT" once it answers')
    ap.add_argument("--zone", action="append", default=[], metavar="NAME=PATH",
                    help="serve another zone file as well")
    args = ap.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = NsdServer([tuple(z.split("=", 1)) for z in args.zone])
    try:
        server.start()
        with open(args.ready + ".tmp", "w") as f:
            f.write(server.server + "\n")
        os.rename(args.ready + ".tmp", args.ready)
        while not stop.wait(0.5):
            if server.proc.poll() is not None:
                return 1
        return 0
    finally:
        server.cleanup()


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
