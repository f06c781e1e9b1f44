#!/usr/bin/env python3
"""fleet_bench -- how fast changes made on fleet node A are enforced on node B.

    fleet_bench.py prop A_HTTP_PORT TOKEN B_POLICY_PORT [RATE [SECONDS [DRIVERS [EVERY [BATCH]]]]]
    fleet_bench.py import OUTPOSTCTL A_CONF B_POLICY_PORT [ROWS [CSV]]

prop: DRIVERS processes (default 4), each with one keep-alive connection to A's
HTTP API, PUT /v1/suppression/{address} (global entries, fresh addresses) at
RATE changes/s in all (default 1000) for SECONDS (default 10).  Every EVERY-th
change (default 10) is a sample: a prober process asks B's policy service
for that recipient (about every ms) until B refuses it, and the delay is from
A's 200 answer to B's first refusal.  BATCH > 1: each request is a POST
/v1/suppression/import of BATCH rows (one write transaction on A), and the
first row of each is a sample.  Prints the rate reached, the mean time of a
request, and p50/p99/max of the delays.

import: writes ROWS (default 1,000,000) global entries as CSV (to CSV, default
a temp file), times `outpostctl -c A_CONF suppress import CSV`, then asks B
until it refuses the last row (and 20 rows spread over the file): the total
seconds from the start of the import until B enforces all of it, and rows/s.

Loopback only; every loop is bounded in time.
"""
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time

POLICY = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
          "client_address=127.0.0.1\nclient_name=localhost\nhelo_name=client.test\n"
          "sender=app@app.test\nsasl_method=PLAIN\nsasl_username=fleetbench\n"
          "recipient=%s\ninstance=%s\n\n")


class Policy:
    """One persistent connection to a policy service."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.n = 0

    def ask(self, rcpt):
        self.n += 1
        self.s.sendall((POLICY % (rcpt, "fb.%d.%d" % (os.getpid(), self.n))).encode())
        while b"\n\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise SystemExit("the policy service closed the connection")
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n\n", 1)
        return reply.decode()[len("action="):]

    def refuses(self, rcpt):
        return self.ask(rcpt).startswith("550 ")


def http_req(s, method, path, token, ctype, body, buf):
    """One request on keep-alive socket S; (status, rest of the buffer)."""
    s.sendall(("%s %s HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
               % (method, path, token, ctype, len(body), body)).encode())
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end + 2].lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15:head.find(b"\r\n", i)]) if i >= 0 else 0
            if len(buf) >= end + 4 + length:
                return int(buf[9:12]), buf[end + 4 + length:]
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("the HTTP API closed the connection")
        buf += chunk


def driver(wid, port, token, rate, seconds, every, batch, nd, samples, out):
    """Fresh addresses at RATE/s until SECONDS: one PUT each (BATCH 1, every EVERY-th one
    a sample) or BATCH rows a POST /v1/suppression/import (the first row a sample)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf, n, errors, busy = b"", 0, 0, 0.0
    start = time.monotonic()
    while time.monotonic() < start + seconds:
        due = start + n / rate
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        addrs = ["prop%08d@fleet.test" % ((n + j) * nd + wid) for j in range(batch)]
        t = time.monotonic()
        if batch == 1:
            status, buf = http_req(s, "PUT", "/v1/suppression/" + addrs[0], token,
                                   "application/json", '{"reason": "bounce"}', buf)
        else:
            status, buf = http_req(s, "POST", "/v1/suppression/import", token, "text/csv",
                                   "".join("%s,bounce\n" % a for a in addrs), buf)
        busy += time.monotonic() - t
        if status not in (200, 201):
            errors += 1
        elif batch > 1 or (n * nd + wid) % every == 0:
            samples.put((addrs[0], time.monotonic()))
        n += batch
    out.put((n, errors, time.monotonic() - start, busy / max(1, n // batch)))


def prober(port, samples, out, deadline):
    """Ask B for every pending sample until B refuses it; the delays (s), and the unseen."""
    b = Policy(port)
    pending, delays, done = [], [], False
    while time.monotonic() < deadline and (not done or pending):
        while True:
            try:
                item = samples.get_nowait()
            except Exception:  # queue.Empty
                break
            if item is None:
                done = True
            else:
                pending.append(item)
        time.sleep(0.001)  # a sample is looked at every ms or so: B is not flooded
        still = []
        for addr, t in pending:
            if b.refuses(addr):
                delays.append(time.monotonic() - t)
            else:
                still.append((addr, t))
        pending = still
    out.put((delays, len(pending)))


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else float("nan")


def prop(argv):
    port, token, bport = int(argv[0]), argv[1], int(argv[2])
    rate = float(argv[3]) if len(argv) > 3 else 1000
    seconds = float(argv[4]) if len(argv) > 4 else 10
    nd = int(argv[5]) if len(argv) > 5 else 4
    every = int(argv[6]) if len(argv) > 6 else 10
    batch = int(argv[7]) if len(argv) > 7 else 1
    samples, out, pout = multiprocessing.Queue(), multiprocessing.Queue(), multiprocessing.Queue()
    pr = multiprocessing.Process(target=prober,
                                 args=(bport, samples, pout, time.monotonic() + seconds + 60))
    pr.start()
    ds = [multiprocessing.Process(target=driver,
                                  args=(w, port, token, rate / nd, seconds, every, batch, nd,
                                        samples, out)) for w in range(nd)]
    for d in ds:
        d.start()
    res = [out.get(timeout=seconds + 60) for _ in ds]
    for d in ds:
        d.join(10)
    samples.put(None)
    delays, unseen = pout.get(timeout=120)
    pr.join(10)
    n = sum(r[0] for r in res)
    errors = sum(r[1] for r in res)
    took = max(r[2] for r in res)
    lat = sum(r[3] for r in res) / len(res) * 1000
    delays = sorted(d * 1000 for d in delays)
    how = "one PUT each" if batch == 1 else "%d rows per POST /v1/suppression/import" % batch
    print("propagation: %d changes on A (%s, %d clients) in %.1f s = %.0f changes/s "
          "(asked %.0f/s, %d errors, %.1f ms a request); %d samples enforced on B: "
          "p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d never seen"
          % (n, how, nd, took, n / took, rate, errors, lat, len(delays), pct(delays, 50),
             pct(delays, 99), delays[-1] if delays else float("nan"), unseen), flush=True)
    return 1 if errors or unseen or not delays else 0


def bulk(argv):
    ctl, conf, bport = argv[0], argv[1], int(argv[2])
    rows = int(argv[3]) if len(argv) > 3 else 1000000
    csv = argv[4] if len(argv) > 4 else os.path.join(tempfile.mkdtemp(), "bulk.csv")
    with open(csv, "w") as f:
        for i in range(rows):
            f.write("bulk%08d@bulk.test,bounce\n" % i)
    probe = ["bulk%08d@bulk.test" % (i * (rows - 1) // 20) for i in range(21)]
    b = Policy(bport)
    if b.refuses(probe[-1]):
        raise SystemExit("B already refuses %s: use a fresh fleet" % probe[-1])
    t0 = time.monotonic()
    r = subprocess.run([ctl, "-c", conf, "suppress", "import", csv], capture_output=True,
                       text=True, timeout=1800)
    t_import = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("import failed: %s%s" % (r.stdout, r.stderr))
    deadline = t0 + 1800
    while probe and time.monotonic() < deadline:
        if b.refuses(probe[-1]):
            probe.pop()
        else:
            time.sleep(0.01)
    total = time.monotonic() - t0
    print("import: %d rows imported on A in %.1f s (%.0f rows/s); enforced on B %.1f s after "
          "the start: %.0f rows/s end to end; %d probes not enforced"
          % (rows, t_import, rows / t_import, total, rows / total, len(probe)), flush=True)
    return 1 if probe else 0


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "prop":
        return prop(sys.argv[2:])
    if len(sys.argv) >= 5 and sys.argv[1] == "import":
        return bulk(sys.argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
