#!/usr/bin/python3
"""sink.py -- a tiny SMTP sink on loopback for Outpost's end-to-end tests.

    sink.py --port N|0 --log FILE [--store DIR] [--ready FILE] [--host 127.0.0.1]

With --store DIR (tests/e2e/test_milter.sh, which must see the headers a
milter added) each message received is also written, as received (CRLF line
ends), to DIR/N.eml (N = 1, 2, ... in arrival order; written to a temporary
name first, then renamed), and its log lines name that file.

Answers each RCPT by the recipient's local part:
    bounce*  -> 550 5.1.1 (a real bounce: Postfix logs status=bounced)
    defer*   -> 451 4.3.0 (Postfix logs status=deferred and keeps the message)
    anything else -> 250
and appends one line per accepted recipient of every message it receives
(after the final "." of DATA) to the log file:

    to=<rcpt> from=<sender> msgid=<message-id> size=N[ file=N.eml]

--port 0 binds a free port; the port actually bound is written to the
--ready file (written atomically, once the sink accepts connections).
Runs until SIGTERM/SIGINT.  Needs Debian's python3-aiosmtpd.
"""
import argparse
import asyncio
import os
import re
import signal
import sys

from aiosmtpd.smtp import SMTP


def local_part(address):
    addr = address.strip("<>")
    return addr.rsplit("@", 1)[0].lower() if "@" in addr else addr.lower()


class Handler:
    def __init__(self, log_path, store):
        self.log_path = log_path
        self.store = store
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        lp = local_part(address)
        if lp.startswith("bounce"):
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown (sink)" % address
        if lp.startswith("defer"):
            return "451 4.3.0 <%s>: Recipient address temporarily unavailable (sink)" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        head = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        m = re.search(rb"^message-id:[ \t]*(.*?)\r?$", head, re.I | re.M)
        msgid = m.group(1).decode("utf-8", "replace").strip("<> \t") if m else ""
        kept = ""
        if self.store:
            self.count += 1
            name = "%d.eml" % self.count
            path = os.path.join(self.store, name)
            with open(path + ".tmp", "wb") as f:
                f.write(content)
            os.rename(path + ".tmp", path)
            kept = " file=" + name
        lines = "".join(
            "to=<%s> from=<%s> msgid=<%s> size=%d%s\n"
            % (rcpt, (envelope.mail_from or "").strip("<>"), msgid, len(content), kept)
            for rcpt in envelope.rcpt_tos
        )
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
        return "250 2.0.0 Ok: delivered to sink"


async def main(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args.log, args.store)
    # hostname given: SMTP() would otherwise call getfqdn(), slow without DNS.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True, timeout=60),
        host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]
    if args.ready:
        tmp = args.ready + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.ready)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="SMTP sink for Outpost's e2e tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--store", help="also keep every message received in this directory")
    p.add_argument("--ready")
    args = p.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("sink.py: loopback addresses only")
    open(args.log, "a").close()
    if args.store:
        os.makedirs(args.store, exist_ok=True)
    asyncio.run(main(args))
