"""outpost_test -- a small harness for Outpost's black-box and end-to-end tests.

Starts the real outpostd on loopback with its own config and LMDB store in a
temporary directory, runs the real outpostctl against the same config, and
speaks the Postfix policy protocol.  Standard library only (Debian python3).

Binaries come from $OUTPOST_BUILD (a build directory; default: the source
tree).  Each test is a function decorated with @test; run_tests() runs the
ones of the calling module (or those named on the command line) and prints
"N passed, N failed".
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("OUTPOST_BUILD") or (
    os.path.join(SRCDIR, "build") if os.path.exists(os.path.join(SRCDIR, "build", "src", "outpostd"))
    else SRCDIR))
OUTPOSTD = os.path.join(BUILD, "src", "outpostd")
OUTPOSTCTL = os.path.join(BUILD, "src", "outpostctl")
# A wrapper such as "valgrind --error-exitcode=99 ..." for the daemon.
DAEMON_WRAPPER = os.environ.get("OUTPOST_DAEMON_WRAPPER", "").split()

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise TestFailure("timed out after %.1fs waiting for %s" % (timeout, what))


class PolicyConn:
    """One persistent policy connection, as a Postfix smtpd process keeps."""

    BASE = {
        "request": "smtpd_access_policy",
        "protocol_state": "RCPT",
        "protocol_name": "ESMTP",
        "helo_name": "client.test",
        "queue_id": "",
        "sender": "sender@app.test",
        "recipient": "someone@dest.test",
        "recipient_count": "0",
        "client_address": "127.0.0.1",
        "client_name": "localhost",
        "reverse_client_name": "localhost",
        "instance": "1a2b.65f0c3d1.9c4e2.0",
        "sasl_method": "",
        "sasl_username": "",
        "sasl_sender": "",
        "size": "0",
        "ccert_subject": "",
        "ccert_issuer": "",
        "ccert_fingerprint": "",
        "ccert_pubkey_fingerprint": "",
        "encryption_protocol": "",
        "encryption_cipher": "",
        "encryption_keysize": "0",
        "etrn_domain": "",
        "stress": "",
        "client_port": "41234",
        "policy_context": "",
        "server_address": "127.0.0.1",
        "server_port": "25",
    }

    def __init__(self, addr, timeout=10.0):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(addr)
        else:
            self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""

    @staticmethod
    def encode(attrs):
        d = dict(PolicyConn.BASE)
        d.update({k: v for k, v in attrs.items() if v is not None})
        return ("".join("%s=%s\n" % (k, v) for k, v in d.items()) + "\n").encode()

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        """Read one reply; returns the action text, or None on EOF."""
        while b"\n\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n\n", 1)
        text = reply.decode()
        if not text.startswith("action="):
            raise TestFailure("malformed reply %r" % text)
        if "\n" in text or "\r" in text:
            raise TestFailure("reply with more than one line: %r" % text)
        return text[len("action="):]

    def ask(self, **attrs):
        self.send_raw(self.encode(attrs))
        reply = self.read_reply()
        if reply is None:
            raise TestFailure("connection closed instead of a reply")
        return reply

    def closed(self, timeout=5.0):
        """True if the server closes the connection (EOF) within TIMEOUT."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class Daemon:
    """A real outpostd with its own config, store and port."""

    def __init__(self, conf_extra="", workers=2, foreground=True, listen=None, top_extra=""):
        self.dir = tempfile.mkdtemp(prefix="outpost-test-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.listen = listen or "inet:127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.dir, "outpost.conf")
        self.log = os.path.join(self.dir, "outpostd.log")
        self.foreground = foreground
        self.proc = None
        self.write_conf(conf_extra, workers, top_extra)

    def write_conf(self, conf_extra="", workers=2, top_extra=""):
        # Sections in CONF_EXTRA are merged by the caller; this writes the base.
        text = (
            'user = "";\n'
            'pidfile = "run/outpostd.pid";\n'
            'control_socket = "run/outpostd.ctl";\n'
            "%s\n"
            'store = { path = "db"; map_size = "64M"; };\n'
            "%s\n" % (top_extra, conf_extra)
        )
        # A test that configures DNS pins dns.servers itself (tests/lib/dns_fixture.py);
        # every other one gets a closed loopback port: no test reaches a real resolver.
        if not re.search(r"^\s*dns\s*=", conf_extra + "\n" + top_extra, re.M):
            text += 'dns = { servers = [ "127.0.0.1:1" ]; };\n'
        if "policy" not in conf_extra:
            text += 'policy = { listen = "%s"; workers = %d; };\n' % (self.listen, workers)
        if "milter" not in conf_extra:
            text += 'milter = { listen = ""; };\n'  # tests that want one configure it
        if not re.search(r"^\s*http\s*=", conf_extra, re.M):
            text += 'http = { listen = ""; };\n'  # tests that want one configure it
        with open(self.conf, "w") as f:
            f.write(text)

    @property
    def addr(self):
        if self.listen.startswith("unix:"):
            return self.listen[5:]
        return ("127.0.0.1", self.port)

    def start(self, extra_args=(), wait=True):
        args = DAEMON_WRAPPER + [OUTPOSTD, "-c", self.conf] + list(extra_args)
        if self.foreground:
            args.append("-f")
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15.0):
        def ready():
            if self.foreground and self.proc.poll() is not None:
                raise TestFailure("outpostd exited %s:\n%s" % (self.proc.returncode, self.logtext()))
            try:
                c = PolicyConn(self.addr, timeout=1.0)
                c.close()
            except OSError:
                return False
            # The master binds the listeners first, the control socket after (slow under
            # valgrind): outpostctl status/reload need both.
            ctl = os.path.join(self.dir, "run", "outpostd.ctl")
            return os.path.exists(ctl)
        wait_for(ready, timeout, "outpostd to accept connections")

    def pid(self):
        with open(os.path.join(self.dir, "run", "outpostd.pid")) as f:
            return int(f.read().strip())

    def conn(self):
        return PolicyConn(self.addr)

    def ask(self, **attrs):
        c = self.conn()
        try:
            return c.ask(**attrs)
        finally:
            c.close()

    def ask_as_postfix(self, **attrs):
        """ask(), once more on a new connection if the first is closed or reset before
        the reply, as Postfix's policy client does. Around a reload that is expected:
        a connection an old worker accepted just before it began to drain is idle, and
        is closed unanswered so that the request goes to a worker with the new config."""
        try:
            return self.ask(**attrs)
        except ConnectionError:
            pass
        except TestFailure as e:
            if "connection closed" not in str(e):
                raise
        return self.ask(**attrs)

    def ctl(self, *args, input=None, check_rc=None):
        r = subprocess.run([OUTPOSTCTL, "-c", self.conf] + list(args), input=input,
                           capture_output=True, text=True, timeout=120)
        if check_rc is not None and r.returncode != check_rc:
            raise TestFailure("outpostctl %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                              % (" ".join(args), r.returncode, check_rc, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args):
        r = self.ctl(*args, "--json", check_rc=0)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        return [json.loads(l) for l in lines]

    def status(self):
        return self.ctl_json("status")[0]

    def worker_pids(self):
        return [w["pid"] for w in self.status()["workers"]]

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc is None:
            return None
        pid = self.proc.pid if self.foreground else self.pid()
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        if self.foreground:
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                raise TestFailure("outpostd did not stop within %.0fs" % timeout)
        else:
            wait_for(lambda: not os.path.exists("/proc/%d" % pid), timeout, "daemon exit")
            rc = 0
        self.proc = None
        self.logf.close()
        self.check_sanitizers()
        return rc

    def check_sanitizers(self):
        """Under a sanitizer build, any report in the daemon's log fails the test."""
        text = self.logtext()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                raise TestFailure("sanitizer report in outpostd log:\n" + text[-4000:])
        if re.search(r"ERROR SUMMARY: [1-9]|definitely lost: [1-9]", text):
            raise TestFailure("valgrind report in outpostd log:\n" + text[-6000:])

    def cleanup(self):
        if self.proc is not None:
            try:
                self.stop()
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def run_tests(names=None):
    names = names if names is not None else sys.argv[1:]
    selected = [t for t in _tests if not names or t.__name__ in names]
    passed = failed = 0
    for t in selected:
        start = time.time()
        try:
            t()
            passed += 1
            print("ok   %-50s %6.2fs" % (t.__name__, time.time() - start), flush=True)
        except Exception as e:
            failed += 1
            print("FAIL %-50s %6.2fs" % (t.__name__, time.time() - start), flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0
