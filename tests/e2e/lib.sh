# shellcheck shell=sh disable=SC2317
# lib.sh -- helpers shared by the end-to-end tests (sourced, not run):
# TAP-like "ok N - ..." / "not ok N - ..." lines, bounded waits, the sink,
# a private Postfix instance relaying to it, swaks sessions, and a cleanup
# trap that stops what the test started (by PID) and removes $T.
#
# The sourcing script sets TOP (the repository root) first, and calls
# e2e_init, then e2e_prereqs.  Every wait is bounded by $WAIT seconds and the
# whole run by a watchdog ($BUDGET seconds).

BUILD=${OUTPOST_BUILD:-$TOP}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
OUTPOSTD=$BUILD/src/outpostd
OUTPOSTCTL=$BUILD/src/outpostctl
PY=/usr/bin/python3
E2E=$TOP/tests/e2e
CONTRIB=$TOP/contrib/postfix
WAIT=${WAIT:-30}
BUDGET=${BUDGET:-150}
N=0
PASSED=0
FAILED=0
T=""
SINK_PID=""
OUTPOSTD_PID=""
WATCHDOG_PID=""
PF=""
PFQ=""
START_TIME=$(date +%s)

ok() {
	N=$((N + 1)); PASSED=$((PASSED + 1))
	echo "ok $N - $1"
}

# notok DESCRIPTION [DETAIL...]: each detail is printed indented with "#".
notok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}

tailf() { [ -f "$1" ] && tail -n "${2:-15}" "$1"; }

e2e_cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$WATCHDOG_PID" ]; then
		kill "$WATCHDOG_PID" 2>/dev/null
		wait "$WATCHDOG_PID" 2>/dev/null
	fi
	if [ -n "$PF" ] && [ -f "$PF/main.cf" ]; then
		mpid=$(tr -d ' ' 2>/dev/null <"$PFQ/pid/master.pid")
		timeout 20 postfix -c "$PF" stop >/dev/null 2>&1
		i=0
		while [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
	fi
	for p in $OUTPOSTD_PID $SINK_PID; do
		kill "$p" 2>/dev/null || continue
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${OUTPOST_E2E_KEEP:-}" = 1 ]; then
			echo "# kept $T"
		else
			rm -rf "$T"
		fi
	fi
	if [ "${DONE:-0}" != 1 ]; then
		notok "test ran to its end (aborted: exit status $rc)"
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ] && exit 0
	exit 1
}

bail() { DONE=1; exit 1; }

# wait_for SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds.
wait_for() {
	w_end=$(( $(date +%s) + $1 )); shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge "$w_end" ] && return 1
		sleep 0.2
	done
}

port_open() {
	$PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

# free_ports N: N distinct free loopback ports.
free_ports() {
	$PY -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
' "$1"
}

# smtp_banner PORT: the server's first line (an smtpd that dies at startup,
# e.g. on a bad restriction list, closes the connection without one).
smtp_banner() {
	$PY -c '
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    s.settimeout(10)
    print(s.makefile("rb").readline().decode("utf-8", "replace").strip() or "(closed)")
    s.sendall(b"QUIT\r\n")
except OSError as e:
    print("(no banner: %s)" % (e or type(e).__name__))
' "$1" 2>&1
}

# e2e_init: the trap, the temporary directory $T and the watchdog.
e2e_init() {
	trap e2e_cleanup EXIT
	trap 'echo "# interrupted"; exit 2' INT TERM HUP
	T=$(mktemp -d /tmp/outpost-e2e.XXXXXX) || exit 1
	chmod 0755 "$T" # Postfix's daemons run as "postfix" and must traverse it
	MAIN_PID=$$
	(
		sleep "$BUDGET" &
		sp=$!
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		wait $sp && { echo "# watchdog: test exceeded ${BUDGET}s"; kill -TERM "$MAIN_PID"; }
	) &
	WATCHDOG_PID=$!
}

e2e_prereqs() {
	missing=""
	[ "$(id -u)" = 0 ] || missing="$missing root"
	for c in postfix postconf swaks timeout; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	$PY -c 'import aiosmtpd' 2>/dev/null || missing="$missing python3-aiosmtpd"
	[ -x "$OUTPOSTD" ] && [ -x "$OUTPOSTCTL" ] || missing="$missing outpostd/outpostctl in $BUILD/src (build first)"
	[ -f "$CONTRIB/main.cf" ] || missing="$missing contrib/postfix/main.cf"
	if [ -n "$missing" ]; then
		notok "prerequisites" "missing:$missing"
		bail
	fi
}

# start_sink [OPTION...]: the SMTP sink (250; 550 5.1.1 for bounce*; 451 for defer*),
# with more sink.py options (--store DIR keeps each message); sets SINKPORT.
start_sink() {
	$PY "$E2E/sink.py" --port 0 --log "$T/sink.log" --ready "$T/sink.port" "$@" >"$T/sink.out" 2>&1 &
	SINK_PID=$!
	if ! wait_for "$WAIT" test -s "$T/sink.port"; then
		notok "sink started" "$(tailf "$T/sink.out")"
		bail
	fi
	SINKPORT=$(cat "$T/sink.port")
}

# contrib_params FILE NAME...: contrib's commented "#name = ..." blocks, uncommented,
# with the ports replaced by this test's: the policy port (10040) by $POLICYPORT,
# the milter ports (10041, 10042) by $MILTERPORT and $NSMILTERPORT where set.
contrib_params() {
	f=$1; shift
	for name in "$@"; do
		awk -v name="$name" '
			$0 ~ "^#" name "[ \t]*=" { on = 1; print substr($0, 2); next }
			on && /^#[ \t][ \t]+[^ \t]/ { print substr($0, 2); next }
			{ on = 0 }
		' "$f"
	done | sed -e "s/inet:127\.0\.0\.1:10040/inet:127.0.0.1:${POLICYPORT:-10040}/g" \
		-e "s/inet:127\.0\.0\.1:10041/inet:127.0.0.1:${MILTERPORT:-10041}/g" \
		-e "s/inet:127\.0\.0\.1:10042/inet:127.0.0.1:${NSMILTERPORT:-10042}/g"
}

# postfix_conf MAIN [MASTER]: a private instance's config, queue and data
# directories side by side under $T/pf ("postfix check" walks the config
# directory and warns about a postfix-owned queue inside it); sets PF, PFQ.
# main.cf: relay everything to the sink on $SINKPORT, log to $T/maillog
# (maillog_file, postlogd), then the lines MAIN (restriction lists, milters).
# master.cf: smtpd on 127.0.0.1:$SMTPPORT, the lines MASTER (more services and
# their -o lines), then the usual daemons, every one unchrooted (column 5 "n":
# Debian's stock master.cf says "y"); pickup for sendmail(1) mail.
postfix_conf() {
	PF=$T/pf/etc
	PFQ=$T/pf/spool
	mkdir -p "$PF" "$PFQ" "$T/pf/data"
	chown postfix "$T/pf/data"
	cat >"$PF/main.cf" <<EOF2
# Private Postfix instance of tests/e2e/$(basename "$0") (generated).
compatibility_level = 3.6
queue_directory = $PFQ
data_directory = $T/pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.outpost-e2e.test
mydomain = outpost-e2e.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost = [127.0.0.1]:$SINKPORT
default_transport = smtp:[127.0.0.1]:$SINKPORT
relay_transport = smtp:[127.0.0.1]:$SINKPORT
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_authorized_xclient_hosts = 127.0.0.0/8
maillog_file = $T/maillog
maillog_file_prefixes = $T
biff = no
# The sink's "defer" recipients must not keep the queue busy.
minimal_backoff_time = 300s
maximal_backoff_time = 600s

$1
EOF2
	pf_more=${2:+$2
}
	cat >"$PF/master.cf" <<EOF2
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTPPORT inet n - n - - smtpd
${pf_more}pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF2
}

# start_postfix: a private instance on 127.0.0.1:$SMTPPORT asking outpostd on
# $POLICYPORT (contrib's restriction lists), relaying to the sink, logging to
# $T/maillog (maillog_file, postlogd).  Sets PF, PFQ.
start_postfix() {
	postfix_conf "# ---- from contrib/postfix/main.cf (policy port changed) ----
$(contrib_params "$CONTRIB/main.cf" smtpd_recipient_restrictions smtpd_end_of_data_restrictions)"
	pf_out=$(timeout "$WAIT" postfix -c "$PF" start 2>&1)
	pf_rc=$?
	if [ $pf_rc = 0 ] && wait_for "$WAIT" port_open "$SMTPPORT"; then
		ok "private Postfix instance started (127.0.0.1:$SMTPPORT, maillog_file $T/maillog, sink :$SINKPORT)"
	else
		notok "private Postfix instance started" "postfix start: exit $pf_rc: $pf_out" "$(tailf "$T/maillog")"
		bail
	fi
}

# send ID LOGIN FROM RCPT[,RCPT...]: one swaks session to $SMTPPORT with XCLIENT
# LOGIN=LOGIN; the transcript goes to $T/swaks.ID.
send() {
	timeout "$WAIT" swaks --server 127.0.0.1 --port "$SMTPPORT" --xclient-login "$2" \
		--helo client.outpost-e2e.test --from "$3" --to "$4" \
		--header "Subject: outpost e2e $1" --header "Message-Id: <$1.e2e@app.test>" \
		--timeout 25 >"$T/swaks.$1" 2>&1
}

# rcpt_reply ID RCPT: the server's reply line to "RCPT TO:<RCPT>" in that transcript.
rcpt_reply() {
	awk -v r="RCPT TO:<$2>" '
		found && /^ *<(-|\*\*) / { sub(/^ *<(-|\*\*) +/, ""); print; exit }
		index($0, r) { found = 1 }
	' "$T/swaks.$1"
}

queued_id() {
	sed -n 's/^ *<- *250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/swaks.$1" | tail -n 1
}

transcript() { sed 's/^/swaks: /' "$T/swaks.$1"; }
