#!/usr/bin/env python3
"""http_bench -- GET /v1/suppression/{address} requests/s at a concurrency.

    http_bench.py PORT TOKEN [CONCURRENCY [SECONDS [ADDRESSES [QUERY [RATE]]]]]

CONCURRENCY processes (not threads: no GIL between them), each with one
keep-alive connection, send the next request as soon as the answer is in,
for SECONDS, over addresses bench000000@bench.test .. (half of them present,
half absent, as run-http.sh imports them), each followed by QUERY (e.g.
"?account=acct1": one scope's list; default none: every scope that holds the
address, one seek per scope).  RATE > 0 caps the requests/s of all of them
together (a steady load rather than as many as the CPUs allow).  Prints requests/s, the share of
200 and 404 answers, and latency percentiles.  Raw sockets: the client must
cost less than the server.
"""
import multiprocessing
import socket
import sys
import time


def worker(port, token, seconds, naddr, query, rate, wid, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reqs = [("GET /v1/suppression/bench%06d@bench.test%s HTTP/1.1\r\nHost: b\r\n"
             "Authorization: Bearer %s\r\n\r\n" % ((wid * 7919 + i) % naddr, query, token)).encode()
            for i in range(1000)]
    n = ok = missing = 0
    lat = []
    buf = b""
    start = time.time()
    end = start + seconds
    while time.time() < end:
        if rate > 0 and start + n / rate > time.time():
            time.sleep(start + n / rate - time.time())
        t0 = time.perf_counter()
        s.sendall(reqs[n % 1000])
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buf[:head_end] + b"\r\n"
                i = head.lower().find(b"content-length:")
                length = int(head[i + 15:head.find(b"\r\n", i)]) if i >= 0 else 0
                if len(buf) >= head_end + 4 + length:
                    break
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("server closed the connection")
            buf += chunk
        status = int(buf[9:12])
        buf = buf[head_end + 4 + length:]
        lat.append(time.perf_counter() - t0)
        n += 1
        ok += status == 200
        missing += status == 404
    out.put((n, ok, missing, lat[::10]))


def main():
    port, token = int(sys.argv[1]), sys.argv[2]
    conc = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    naddr = int(sys.argv[5]) if len(sys.argv) > 5 else 200000
    query = sys.argv[6] if len(sys.argv) > 6 else ""
    rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(port, token, secs, naddr, query, rate / conc, w, q))
             for w in range(conc)]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    n = sum(r[0] for r in res)
    lat = sorted(x for r in res for x in r[3])
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    print("GET /v1/suppression/{address}%s: concurrency %d, %.0f s: %d requests, %.0f requests/s "
          "(%d found, %d not found), latency p50 %.2f ms, p99 %.2f ms"
          % (query, conc, secs, n, n / secs, sum(r[1] for r in res), sum(r[2] for r in res),
             pct(0.5), pct(0.99)))


if __name__ == "__main__":
    main()
