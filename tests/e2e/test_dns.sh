#!/bin/sh
# shellcheck disable=SC2317  # functions called through wait_for and the traps
# test_dns.sh -- blocklists and bounce prevention behind a real Postfix, end to end.
#
#   sh tests/e2e/test_dns.sh        (from the repository root, as root)
#
# A real DNS server (NSD, started through tests/lib/dns_fixture.py on a free
# loopback port, serving the zones of tests/dns/), outpostd with dns.servers
# pointing at it and one blocklist (bl.test), and a private Postfix instance
# (tests/e2e/lib.sh) that asks outpostd with contrib's restriction lines and
# relays to the sink.  Checked from the outside (swaks transcripts, the sink,
# Postfix's queue and log):
#   * a recipient at a null-MX domain is refused at RCPT with 556 and never
#     queued: no queue file, no bounce, nothing at the sink.  Outpost answers
#     "556 5.1.10" (RFC 7505; its decision log shows it), but Postfix's smtpd
#     passes every recipient refusal of a restriction through smtpd_dsn_fix(),
#     which knows the X.1.Y codes up to X.1.8 only and turns 5.1.10 into
#     5.1.0: the SMTP client sees "556 5.1.0 ... (null MX)";
#   * a recipient at an NXDOMAIN domain gets 550 5.1.2;
#   * a recipient at a normal domain (MX hosts with addresses) is delivered,
#     also in the same message as the refused ones;
#   * a client listed on the blocklist (XCLIENT ADDR=192.0.2.2) gets the
#     list's reply; an unlisted one (192.0.2.1) is delivered;
#   * then Outpost's milter joins (smtpd_milters): a message whose From:
#     header (display name, folded) names a domain listed on the from_domain
#     list (dbl.test) is refused at end of DATA with the list's reply and not
#     delivered; one with an unlisted From: domain is delivered.
#
# Needs root, postfix, swaks, python3-aiosmtpd, nsd.  Prints "ok N - ..." /
# "not ok N - ..." and "N passed, N failed"; exit 0 only if all passed.

set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
BUDGET=150
. "$TOP/tests/e2e/lib.sh"

NSD_PID=""
# lib.sh's trap stops outpostd, the sink and Postfix; NSD is ours.
dns_cleanup() {
	if [ -n "$NSD_PID" ]; then
		kill "$NSD_PID" 2>/dev/null
		i=0
		while kill -0 "$NSD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$NSD_PID" 2>/dev/null
		wait "$NSD_PID" 2>/dev/null
	fi
	e2e_cleanup
}

e2e_prereqs
if ! [ -x /usr/sbin/nsd ]; then
	notok "prerequisites" "missing: nsd (apt-get install nsd)"
	bail
fi
e2e_init
trap dns_cleanup EXIT
set -- $(free_ports 3)
POLICYPORT=$1 SMTPPORT=$2 MILTERPORT=$3
start_sink

# ---------------------------------------------------------------- the DNS server
$PY "$TOP/tests/lib/dns_fixture.py" --ready "$T/nsd.server" >"$T/nsd.out" 2>&1 &
NSD_PID=$!
if wait_for "$WAIT" test -s "$T/nsd.server"; then
	NSDSERVER=$(cat "$T/nsd.server")
	ok "NSD serving tests/dns/*.zone on $NSDSERVER"
else
	notok "NSD started" "$(tailf "$T/nsd.out")"
	bail
fi

# ---------------------------------------------------------------- outpostd
mkdir -p "$T/outpost"
OCONF=$T/outpost/outpost.conf
cat >"$OCONF" <<EOF
user = "";
pidfile = "run/outpostd.pid";
control_socket = "run/outpostd.ctl";
store = { path = "db"; map_size = "64M"; };
policy = { listen = "inet:127.0.0.1:$POLICYPORT"; workers = 2; };
milter = { listen = "inet:$MILTERPORT@127.0.0.1"; feedback_id = ""; };
http = { listen = ""; };
dns = { servers = [ "$NSDSERVER" ]; timeout = "2s"; bounce_prevention = true; };
dnsbl = (
  { name = "zen"; zone = "bl.test"; query = "client"; action = "reject";
    codes = [ "127.0.0.2-127.0.0.3=SBL", "127.0.0.4-7=XBL" ]; },
  { name = "dbl-from"; zone = "dbl.test"; query = "from_domain"; action = "reject";
    codes = [ "127.0.1.2=spam domain", "127.0.1.4=phish domain" ]; }
);
EOF
OLOG=$T/outpostd.log
"$OUTPOSTD" -c "$OCONF" -f >"$OLOG" 2>&1 &
OUTPOSTD_PID=$!
ctl() { timeout "$WAIT" "$OUTPOSTCTL" -c "$OCONF" "$@"; }
if wait_for "$WAIT" port_open "$POLICYPORT"; then
	ok "outpostd started, dns.servers = $NSDSERVER"
else
	notok "outpostd started" "$(tailf "$OLOG")"
	bail
fi
ctl account add acct1 >/dev/null || notok "outpostctl account add acct1"
start_postfix
# The XCLIENT ADDR clients below (TEST-NET-1) may relay, as a submission host
# would: the policy service is asked before permit_mynetworks.
timeout "$WAIT" postconf -c "$PF" -e "mynetworks = 127.0.0.0/8 192.0.2.0/24" &&
	timeout "$WAIT" postfix -c "$PF" reload >/dev/null 2>&1 ||
	notok "mynetworks with 192.0.2.0/24 (postconf, postfix reload)"

# send_from ID ADDR RCPTS: like lib.sh's send, from client address ADDR (XCLIENT ADDR).
send_from() {
	timeout "$WAIT" swaks --server 127.0.0.1 --port "$SMTPPORT" --xclient-login acct1 \
		--xclient-addr "$2" --helo client.outpost-e2e.test --from a@app.test --to "$3" \
		--header "Subject: outpost e2e dns $1" --header "Message-Id: <$1.e2e@app.test>" \
		--timeout 25 >"$T/swaks.$1" 2>&1
}
sink_has() { grep -q "^to=<$1>" "$T/sink.log" 2>/dev/null; }
queue_empty() { [ -z "$(find "$PFQ/maildrop" "$PFQ/incoming" "$PFQ/active" "$PFQ/deferred" "$PFQ/hold" -type f 2>/dev/null)" ]; }

# ---------------------------------------------------------------- one message, three kinds of domain
send mixed acct1 a@app.test ok@good.mx.test,u@nullmx.mx.test,u@nx.mx.test
r=$(rcpt_reply mixed u@nullmx.mx.test)
case $r in
"556 5.1.0 "*"null MX"*) ok "null-MX recipient refused at RCPT: $r" ;;
*) notok "null-MX recipient: RCPT 556 5.1.0 ... null MX (got: $r)" "$(transcript mixed)" "$(tailf "$OLOG")" ;;
esac
if grep -q 'rcpt=<u@nullmx.mx.test> rule=recipient_domain action=reject reply="556 5.1.10 ' "$OLOG"; then
	ok "outpostd answered 556 5.1.10 (its decision line); Postfix's smtpd_dsn_fix made it 5.1.0"
else
	notok "outpostd's decision line for u@nullmx.mx.test with 556 5.1.10" "$(grep decision "$OLOG" | tail -n 5)"
fi
r=$(rcpt_reply mixed u@nx.mx.test)
case $r in
"550 5.1.2 "*) ok "NXDOMAIN recipient refused at RCPT: $r" ;;
*) notok "NXDOMAIN recipient: RCPT 550 5.1.2 (got: $r)" "$(transcript mixed)" ;;
esac
r=$(rcpt_reply mixed ok@good.mx.test)
qid=$(queued_id mixed)
case $r in
250*) ok "recipient at a domain with MX hosts accepted: $r (queued as $qid)" ;;
*) notok "good recipient: RCPT 250 (got: $r)" "$(transcript mixed)" ;;
esac
if wait_for "$WAIT" sink_has ok@good.mx.test; then
	ok "ok@good.mx.test delivered to the sink"
else
	notok "ok@good.mx.test delivered" "$(tailf "$T/maillog")"
fi

# ---------------------------------------------------------------- a message only to a null-MX domain
send nullonly acct1 a@app.test v@nullmx.mx.test
r=$(rcpt_reply nullonly v@nullmx.mx.test)
case $r in
"556 5.1.0 "*"null MX"*) ok "message only to a null-MX domain: RCPT $r" ;;
*) notok "null-MX only: RCPT 556 (got: $r)" "$(transcript nullonly)" ;;
esac
if [ -z "$(queued_id nullonly)" ]; then
	ok "no queue id for the message to a null-MX domain"
else
	notok "message to a null-MX domain not queued" "$(transcript nullonly)"
fi
if wait_for "$WAIT" queue_empty; then
	q=$(timeout "$WAIT" postqueue -c "$PF" -p 2>&1)
	case $q in
	*"is empty"*) ok "Postfix's queue is empty: $q" ;;
	*) notok "postqueue -p shows an empty queue" "$q" ;;
	esac
else
	notok "Postfix's queue directories empty" "$(find "$PFQ" -path '*/pid' -prune -o -type f -print | head)"
fi
if grep -qE '^to=<[uv]@(nullmx|nx)\.mx\.test>' "$T/sink.log" 2>/dev/null; then
	notok "nothing for the refused domains reached the sink" "$(cat "$T/sink.log")"
else
	ok "nothing for the refused domains reached the sink"
fi
if grep -qE 'status=bounced|postfix/bounce' "$T/maillog"; then
	notok "no bounce was generated" "$(grep -E 'bounced|bounce' "$T/maillog" | head)"
else
	ok "no bounce was generated (Postfix's log has no status=bounced)"
fi

# ---------------------------------------------------------------- the blocklist
send_from listed 192.0.2.2 ok2@good.mx.test
r=$(rcpt_reply listed ok2@good.mx.test)
case $r in
"554 5.7.1 "*"192.0.2.2 is listed on zen (SBL)"*) ok "listed client (XCLIENT ADDR=192.0.2.2): $r" ;;
*) notok "listed client: 554 5.7.1 ... listed on zen (SBL) (got: $r)" "$(transcript listed)" "$(tailf "$OLOG")" ;;
esac
send_from unlisted 192.0.2.1 ok3@good.mx.test
r=$(rcpt_reply unlisted ok3@good.mx.test)
case $r in
250*) ok "unlisted client (XCLIENT ADDR=192.0.2.1): $r" ;;
*) notok "unlisted client: RCPT 250 (got: $r)" "$(transcript unlisted)" ;;
esac
if wait_for "$WAIT" sink_has ok3@good.mx.test && ! sink_has ok2@good.mx.test; then
	ok "the unlisted client's message delivered, the listed one's not"
else
	notok "sink: ok3 delivered, ok2 not" "$(cat "$T/sink.log")"
fi
if grep -q 'rule=dnsbl' "$OLOG" && grep -q 'rule=recipient_domain' "$OLOG"; then
	ok "outpostd logged each refusal with its rule"
else
	notok "decision lines with rule=dnsbl and rule=recipient_domain" "$(tailf "$OLOG")"
fi

# ---------------------------------------------------------------- the From: header (milter)
# Only now: the milter checks the client at MAIL too, which would change the replies above.
if timeout "$WAIT" postconf -c "$PF" -e "smtpd_milters = inet:127.0.0.1:$MILTERPORT" \
	"milter_default_action = tempfail" && timeout "$WAIT" postfix -c "$PF" reload >/dev/null 2>&1; then
	ok "smtpd_milters = inet:127.0.0.1:$MILTERPORT"
else
	notok "smtpd_milters (postconf, postfix reload)"
fi
# send_hdr ID RCPT FROM-HEADER: from client 192.0.2.1, with that From: header.
send_hdr() {
	timeout "$WAIT" swaks --server 127.0.0.1 --port "$SMTPPORT" --xclient-login acct1 \
		--xclient-addr 192.0.2.1 --helo client.outpost-e2e.test --from a@app.test --to "$2" \
		--header "From: $3" --header "Subject: outpost e2e dns $1" \
		--header "Message-Id: <$1.e2e@app.test>" --timeout 25 >"$T/swaks.$1" 2>&1
}
# data_reply ID: the server's reply to the end of DATA (".") in that transcript.
data_reply() {
	awk 'found && /^ *<(-|\*\*) / { sub(/^ *<(-|\*\*) +/, ""); print; exit }
		/^ *-> \.$/ { found = 1 }' "$T/swaks.$1"
}
send_hdr fromlisted f1@good.mx.test "\"Spammy, Inc.\" (news)
 <News@Spammy.TEST>"
r=$(data_reply fromlisted)
case $r in
"554 5.7.1 From domain spammy.test is listed on dbl-from (spam domain)"*) ok "listed From: domain refused at end of DATA: $r" ;;
*) notok "listed From: domain: 554 5.7.1 From domain spammy.test ... (got: $r)" "$(transcript fromlisted)" "$(tailf "$OLOG")" ;;
esac
send_hdr fromok f2@good.mx.test "Good Sender <a@Good.test>"
r=$(data_reply fromok)
case $r in
250*) ok "unlisted From: domain accepted: $r" ;;
*) notok "unlisted From: domain: 250 (got: $r)" "$(transcript fromok)" "$(tailf "$OLOG")" ;;
esac
if wait_for "$WAIT" sink_has f2@good.mx.test && ! sink_has f1@good.mx.test; then
	ok "the unlisted From: domain's message delivered, the listed one's not"
else
	notok "sink: f2 delivered, f1 not" "$(cat "$T/sink.log")"
fi
if grep -q 'door=milter .*rule=dnsbl action=reject reply="554 5.7.1 From domain spammy.test' "$OLOG"; then
	ok "outpostd's milter logged the From: domain refusal"
else
	notok "a door=milter rule=dnsbl decision line" "$(grep decision "$OLOG" | tail -n 5)"
fi

# ---------------------------------------------------------------- SIGTERM
kill -TERM "$OUTPOSTD_PID"
i=0
while kill -0 "$OUTPOSTD_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
wait "$OUTPOSTD_PID" 2>/dev/null
rc=$?
OUTPOSTD_PID=""
if [ $rc = 0 ]; then ok "outpostd exits 0 on SIGTERM"; else notok "outpostd exits 0 on SIGTERM (got $rc)" "$(tailf "$OLOG")"; fi
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$OLOG"; then
	notok "no sanitizer report in outpostd's log" "$(grep -A20 -E 'Sanitizer|runtime error' "$OLOG" | head -40)"
fi

echo "# $(( $(date +%s) - START_TIME ))s"
DONE=1
exit 0
