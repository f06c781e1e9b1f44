#!/bin/sh
# shellcheck disable=SC2317  # functions called through wait_for, run_script and the traps
# run.sh -- Outpost's milter driven by OpenDKIM's miltertest, no MTA needed.
#
#   sh tests/milter/run.sh [NAME...]    (from anywhere; NAMEs: scripts to run, default all)
#
# Starts two real outpostd (binaries from $OUTPOST_BUILD/src, default this
# tree) on loopback, each with its own config and store under one temporary
# directory:
#   A  milter.listen + milter.non_smtpd_listen, feedback_id "%a:outpost",
#      accounts and suppressions seeded with outpostctl;
#   B  milter.listen only, feedback_id "%h:outpost", accounts.paused_action
#      "reject" (switched to "hold" by outpostctl reload, mid-session);
# then runs each tests/milter/NAME.lua with
#   miltertest -s NAME.lua -D mtlib=lib.lua -D port=A -D nport=A' -D hport=B
# and, for some, checks what outpostd logged and stored (decision lines with
# the exact reply texts, message records).  Then: contrib/sendmail/outpost.mc
# compiled with Sendmail's cf.m4 (if sendmail-cf is installed), every refusal
# logged once, no milter restarted, the last messages before SIGTERM
# (stop.lua) still recorded, both daemons and their milters gone on SIGTERM.
# Prints "ok NAME" / "FAIL NAME"
# per script or check (details indented with "#") and ends with exactly
# "N passed, N failed"; exit status 0 only if all passed.  Each script is
# bounded (60 s), every wait too (20 s), the whole run by a watchdog (300 s).
# The trap stops the daemons this script started (by PID) and removes the
# directory; OUTPOST_MILTER_KEEP=1 keeps it.  Needs miltertest (Debian
# package miltertest), python3 and mdb_dump (lmdb-utils) for the store checks.

set -u
ONLY="$*"
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
BUILD=${OUTPOST_BUILD:-$TOP}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
OUTPOSTD=$BUILD/src/outpostd
OUTPOSTCTL=$BUILD/src/outpostctl
MT=$TOP/tests/milter
PY=/usr/bin/python3
WAIT=20           # seconds, every single wait
SCRIPT_TIMEOUT=60 # seconds, one miltertest run
BUDGET=300        # seconds, the watchdog

PASSED=0
FAILED=0
T=""
A_PID=""
B_PID=""
WATCHDOG_PID=""
START_TIME=$(date +%s)

pass() {
	PASSED=$((PASSED + 1))
	echo "ok $1"
}

# fail NAME [DETAIL...]: each detail printed indented with "#".
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}

tailf() { [ -f "$1" ] && tail -n "${2:-15}" "$1"; }

stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$WATCHDOG_PID" ]; then
		kill "$WATCHDOG_PID" 2>/dev/null
		wait "$WATCHDOG_PID" 2>/dev/null
	fi
	for p in $A_PID $B_PID; do stop_pid "$p"; done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${OUTPOST_MILTER_KEEP:-}" = 1 ]; then
			echo "# kept $T"
		else
			rm -rf "$T"
		fi
	fi
	if [ "${DONE:-0}" != 1 ]; then
		fail "run_to_the_end" "aborted: exit status $rc"
	fi
	echo "# $(( $(date +%s) - START_TIME ))s"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 2' INT TERM HUP

bail() { DONE=1; exit 1; }

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds.
wait_for() {
	w_end=$(( $(date +%s) + $1 )); shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge "$w_end" ] && return 1
		sleep 0.1
	done
}

port_open() {
	$PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

# ---------------------------------------------------------------- prerequisites
missing=""
command -v miltertest >/dev/null 2>&1 || missing="$missing miltertest(apt-get install miltertest)"
command -v timeout >/dev/null 2>&1 || missing="$missing timeout"
command -v mdb_dump >/dev/null 2>&1 || missing="$missing mdb_dump(lmdb-utils)"
[ -x "$PY" ] || missing="$missing python3"
[ -x "$OUTPOSTD" ] && [ -x "$OUTPOSTCTL" ] || missing="$missing outpostd/outpostctl in $BUILD/src (build first)"
if [ -n "$missing" ]; then
	fail prerequisites "missing:$missing"
	bail
fi

T=$(mktemp -d /tmp/outpost-milter.XXXXXX) || exit 1

MAIN_PID=$$
(
	sleep "$BUDGET" &
	sp=$!
	trap 'kill $sp 2>/dev/null; exit 0' TERM
	wait $sp && { echo "# watchdog: run exceeded ${BUDGET}s"; kill -TERM "$MAIN_PID"; }
) &
WATCHDOG_PID=$!

# Six distinct free loopback ports.
# shellcheck disable=SC2046
set -- $($PY -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
')
A_POLICY=$1 A_MILTER=$2 A_NSMILTER=$3 B_POLICY=$4 B_MILTER=$5 B_NSMILTER=$6

# ---------------------------------------------------------------- the daemons
# write_conf DIR POLICYPORT MILTER_BLOCK [EXTRA]
write_conf() {
	mkdir -p "$1"
	cat >"$1/outpost.conf" <<EOF
user = "";
pidfile = "run/outpostd.pid";
control_socket = "run/outpostd.ctl";
store = { path = "db"; map_size = "64M"; };
http = { listen = ""; };
policy = { listen = "inet:127.0.0.1:$2"; workers = 1; };
dns = { servers = [ "127.0.0.1:1" ]; };
milter = { $3 };
${4:-}
EOF
}

A=$T/a
B=$T/b
write_conf "$A" "$A_POLICY" "listen = \"inet:$A_MILTER@127.0.0.1\"; non_smtpd_listen = \"inet:$A_NSMILTER@127.0.0.1\"; feedback_id = \"%a:outpost\";"
B_MILTER_BLOCK="listen = \"inet:$B_MILTER@127.0.0.1\"; feedback_id = \"%h:outpost\"; non_smtpd_listen = \"inet:$B_NSMILTER@127.0.0.1\"; non_smtpd_empty = \"discard\";"
B_QUOTA='quota = { front_door = "milter"; };'
write_conf "$B" "$B_POLICY" "$B_MILTER_BLOCK" "accounts = { paused_action = \"reject\"; }; $B_QUOTA"

"$OUTPOSTD" -c "$A/outpost.conf" -f >"$T/a.log" 2>&1 &
A_PID=$!
"$OUTPOSTD" -c "$B/outpost.conf" -f >"$T/b.log" 2>&1 &
B_PID=$!
if wait_for "$WAIT" port_open "$A_MILTER" && wait_for "$WAIT" port_open "$A_NSMILTER" &&
   wait_for "$WAIT" port_open "$B_MILTER" && wait_for "$WAIT" port_open "$B_NSMILTER" &&
   wait_for "$WAIT" port_open "$A_POLICY"; then
	pass "daemons_started # A pid $A_PID milter :$A_MILTER non_smtpd :$A_NSMILTER; B pid $B_PID milter :$B_MILTER"
else
	fail daemons_started "A: $(tailf "$T/a.log")" "B: $(tailf "$T/b.log")"
	bail
fi

ctla() { timeout "$WAIT" "$OUTPOSTCTL" -c "$A/outpost.conf" "$@"; }
ctlb() { timeout "$WAIT" "$OUTPOSTCTL" -c "$B/outpost.conf" "$@"; }

# milter_pids CTL: "kind:pid:restarts" of the milter processes (outpostctl status --json).
milter_pids() {
	"$1" status --json 2>/dev/null | $PY -c '
import json, sys
o = json.loads(sys.stdin.read())
print(" ".join("%s:%s:%s" % (w["kind"], w["pid"], w.get("restarts", 0))
               for w in o["workers"] if w["kind"].startswith("milter")))
' 2>/dev/null
}
A_MILTERS=$(milter_pids ctla)
B_MILTERS=$(milter_pids ctlb)

# ---------------------------------------------------------------- seed
seed_out=""
seed_ok=1
seed() {
	s_ctl=$1; shift
	s_out=$($s_ctl "$@" 2>&1)
	s_rc=$?
	[ $s_rc = 0 ] || seed_ok=0
	seed_out="$seed_out
$s_ctl $*: exit $s_rc $s_out"
}
seed ctla account add acct1
seed ctla account map acct1 sender:app@acct1.test
seed ctla account add acct2
seed ctla account pause acct2 --reason "bounce rate too high"
seed ctla account map acct2 sender:app@paused.test
seed ctla account add acct3
seed ctla account map acct3 sender:app@mapped.test
seed ctla account add acct4
seed ctla account map acct4 domain:mapped-domain.test
seed ctla account add acct5
seed ctla account map acct5 cidr:192.0.2.0/24
seed ctla suppress add supp@dest.test --account acct1 --reason bounce
seed ctla suppress add @blocked.test --reason complaint
seed ctlb account add acct1
seed ctlb account map acct1 sender:app@acct1.test
seed ctlb suppress add supp@dest.test --account acct1 --reason bounce
seed ctlb account add acct2
seed ctlb account pause acct2 --reason "manual review"
seed ctlb account add acct6
seed ctlb account map acct6 sender:app@quota.test
seed ctlb account set acct6 daily-quota=3
if [ $seed_ok = 1 ]; then
	pass "seed # A: acct1..acct5 (acct2 paused), supp@dest.test for acct1, @blocked.test global; B: acct1, acct2 paused, acct6 daily-quota=3"
else
	fail seed "$seed_out"
fi

# ---------------------------------------------------------------- helpers for the checks
# decisions LOG PATTERN...: outpostd's decision lines of the milter matching every PATTERN (grep -E).
decisions() {
	d_log=$1; shift
	d_out=$(grep ' decision ' "$d_log" | grep ' door=milter ')
	for d_pat in "$@"; do
		d_out=$(printf '%s\n' "$d_out" | grep -E -- "$d_pat")
	done
	[ -n "$d_out" ] && printf '%s\n' "$d_out"
}
# one_decision LOG PATTERN...: exactly one such line; else a detail in $DETAIL.
one_decision() {
	od=$(decisions "$@")
	od_n=$(printf '%s' "$od" | grep -c .)
	[ "$od_n" = 1 ] && return 0
	shift
	DETAIL="$DETAIL
want exactly one decision line matching: $*
got $od_n:
$od"
	return 1
}

# records DIR: the message records of a store, one line "QID RECIPIENTS ACCOUNT DOOR FLAGS".
records() {
	mdb_dump -s message "$1/db" 2>/dev/null | $PY -c '
import sys
out = sys.stdin.read().split("HEADER=END\n", 1)[-1].splitlines()
for k, v in zip(out[0::2], out[1::2]):
    if k == "DATA=END":
        break
    key, val = bytes.fromhex(k.strip()).decode("utf-8", "replace"), bytes.fromhex(v.strip())
    if val[0] != 1:
        print(key, "bad-version", val[0])
        continue
    acct = val[15:].split(b"\0", 1)[0].decode("utf-8", "replace")
    door = {1: "policy", 2: "milter"}.get(val[13], str(val[13]))
    print(key, int.from_bytes(val[9:13], "little"), acct, door, val[14])
'
}
# has_records DIR "QID N ACCOUNT DOOR"...: each is recorded as given (flags not compared).
has_records() {
	hr_dir=$1; shift
	hr_all=$(records "$hr_dir")
	for hr in "$@"; do
		printf '%s\n' "$hr_all" | grep -q "^$hr " || return 1
	done
}
# want_records DIR "QID N ACCOUNT DOOR"...: wait for them (the ledger is flushed every 100 ms).
want_records() {
	if ! wait_for 5 has_records "$@"; then
		DETAIL="$DETAIL
want message records (queue id, recipients, account, door): $(shift; printf '[%s] ' "$@")
got:
$(records "$1")"
		return 1
	fi
}

# policy_eom PORT QID ACCOUNT COUNT: the policy service's END-OF-MESSAGE request; prints its action.
policy_eom() {
	$PY -c '
import socket, sys
port, qid, acct, n = sys.argv[1:5]
req = ("request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\n"
       "client_address=127.0.0.1\nclient_name=localhost\nhelo_name=client.test\n"
       "sender=once@app.test\nrecipient=\nrecipient_count=%s\nqueue_id=%s\n"
       "instance=%s.0.0.0\nsasl_method=PLAIN\nsasl_username=%s\nsize=100\n\n") % (n, qid, qid, acct)
s = socket.create_connection(("127.0.0.1", int(port)), 5)
s.settimeout(10)
s.sendall(req.encode())
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().strip())
' "$@" 2>&1
}

DATE_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}'

# ---------------------------------------------------------------- per-script checks
# pre_NAME / check_NAME run before / after NAME.lua; check_ returns non-zero
# with $DETAIL set when outpostd's log or store is not as the script implies.

check_paused() {
	ok=0
	for from in paused-sasl@app.test app@paused.test paused-order@app.test; do
		one_decision "$T/a.log" "account=acct2 " "from=<$from> " \
			'rule=paused action=tempfail reply="450 4\.7\.1 Sending paused for account acct2 since .+: bounce rate too high"$' ||
			ok=1
	done
	want_records "$A" "QPAUSED1 1 acct1 milter" || ok=1
	return "$ok"
}

check_suppressed() {
	ok=0
	one_decision "$T/a.log" "account=acct1 " "from=<s1@app.test> " "rcpt=<supp@dest.test> " \
		"rule=suppressed action=reject reply=\"550 5\\.7\\.1 <supp@dest\\.test> is on the account acct1 suppression list \\(bounce since $DATE_RE\\); not sent\"\$" ||
		ok=1
	one_decision "$T/a.log" "account=acct1 " "from=<s1@app.test> " "rcpt=<x@blocked.test> " \
		"rule=suppressed action=reject reply=\"550 5\\.7\\.1 <x@blocked\\.test> is on the global suppression list \\(complaint since $DATE_RE\\); not sent\"\$" ||
		ok=1
	one_decision "$T/a.log" "account=acct1 " "from=<s1@app.test> " "rcpt=<SUPP@Dest.TEST> " \
		"rule=suppressed action=reject reply=\"550 5\\.7\\.1 <supp@dest\\.test> is on the account acct1 suppression list" ||
		ok=1
	one_decision "$T/a.log" "account=acct3 " "from=<app@mapped.test> " "rcpt=<y@blocked.test> " \
		'rule=suppressed action=reject reply="550 5\.7\.1 <y@blocked\.test> is on the global suppression list' ||
		ok=1
	n=$(decisions "$T/a.log" "from=<s1@app.test> " | grep -c .)
	if [ "$n" != 3 ]; then
		ok=1
		DETAIL="$DETAIL
want 3 decision lines for s1@app.test's message (3 refused RCPTs), got $n:
$(decisions "$T/a.log" "from=<s1@app.test> ")"
	fi
	want_records "$A" "QSUPP1 4 acct1 milter" "QSUPP2 1 acct3 milter" || ok=1
	return "$ok"
}

check_unknown() {
	ok=0
	if decisions "$T/a.log" "from=<(someone|other)@unknown\\.test> " >/dev/null; then
		ok=1
		DETAIL="$DETAIL
unmatched mail refused or logged:
$(decisions "$T/a.log" "from=<(someone|other)@unknown\\.test> ")"
	fi
	want_records "$A" "QUNKNOWN2 1 acct1 milter" || ok=1
	return "$ok"
}

pre_feedback() {
	# The policy service sees QONCE1 first, with 7 recipients.
	r=$(policy_eom "$A_POLICY" QONCE1 acct1 7)
	[ "$r" = "action=DUNNO" ] || echo "# policy END-OF-MESSAGE QONCE1: $r"
	wait_for 5 has_records "$A" "QONCE1 7 acct1 policy"
}
check_feedback() {
	ok=0
	want_records "$A" "QFB1 1 acct1 milter" "QFB2 2 newlogin milter" "QFB3 3 acct3 milter" \
		"QFB4 1 acct4 milter" "QFB5 1 acct1 milter" "QFB6 1 acct5 milter" "QFB7 1 acct5 milter" \
		"QONCE2 2 acct1 milter" || ok=1
	# The milter saw QONCE2 first; the policy's later END-OF-MESSAGE changes nothing.
	r=$(policy_eom "$A_POLICY" QONCE2 acct1 9)
	[ "$r" = "action=DUNNO" ] || { ok=1; DETAIL="$DETAIL
policy END-OF-MESSAGE QONCE2: $r"; }
	sleep 0.5
	want_records "$A" "QONCE1 7 acct1 policy" "QONCE2 2 acct1 milter" || ok=1
	n=$(records "$A" | grep -c '^QONCE[12] ')
	[ "$n" = 2 ] || { ok=1; DETAIL="$DETAIL
QONCE1/QONCE2: want one record each, got $n"; }
	st=$(ctla account show newlogin 2>&1) || { ok=1; DETAIL="$DETAIL
account newlogin auto-created by the milter: $st"; }
	return "$ok"
}

check_nonsmtpd() {
	ok=0
	want_records "$A" "QNS1 1 acct1 milter" "QNS5 2 acct1 milter" || ok=1
	# Nothing was refused on the non-SMTP listener (recipients removed,
	# messages held); the spec says nothing of its log, so only a note.
	nl=$(grep ' decision ' "$T/a.log" | grep 'milter-non-smtpd' |
		grep -E 'from=<app@(acct1|paused)\.test>' | grep -E 'action=(reject|tempfail) ')
	if [ -n "$nl" ]; then
		echo "# note: the non-SMTP milter logged $(printf '%s\n' "$nl" | grep -c .) decision lines with action=reject/tempfail" \
			"for recipients it removed and messages it held (nothing was refused there), e.g.:"
		printf '%s\n' "$nl" | grep 'rule=paused' | head -n 1 | sed 's/^/#   /'
	fi
	return "$ok"
}

pre_malformed() { A_MILTERS=$(milter_pids ctla); }
check_malformed() {
	ok=0
	now=$(milter_pids ctla)
	if [ "$now" != "$A_MILTERS" ]; then
		ok=1
		DETAIL="$DETAIL
milter processes changed (crash + restart?): before [$A_MILTERS], after [$now]
$(grep -iE 'exit|signal|restart|crash' "$T/a.log" | tail -n 10)"
	fi
	if grep -q '^2026-11-24T00:00:00Z outpostd\[1\]: decision forged' "$T/a.log"; then
		ok=1
		DETAIL="$DETAIL
a SASL login with a newline forged a log line:
$(grep -B1 'decision forged' "$T/a.log")"
	fi
	want_records "$A" "QALIVE1 1 acct1 milter" "QMAL2 1 acct3 milter" || ok=1
	return "$ok"
}

check_interleaved() {
	ok=0
	set -- "QIA1 1 acct1 milter" "QIB1 1 acct5 milter" "QID1 1 acct3 milter"
	i=1
	while [ $i -le 20 ]; do
		set -- "$@" "QMANY$i 1 many$i milter"
		i=$((i + 1))
	done
	want_records "$A" "$@" || ok=1
	return "$ok"
}

check_paused_reject() {
	ok=0
	one_decision "$T/b.log" "account=acct2 " "from=<pr1@app.test> " \
		'rule=paused action=reject reply="554 5\.7\.1 Sending paused for account acct2 since .+: manual review"$' ||
		ok=1
	return "$ok"
}

check_quota() {
	ok=0
	one_decision "$T/b.log" "account=acct6 " "rcpt=<q4@dest.test> " \
		'rule=daily_quota action=tempfail reply="452 4\.5\.3 Daily sending quota exceeded \(3 recipients per 24 h\); retry after .+ UTC"$' ||
		ok=1
	used=$(ctlb account show acct6 --json 2>&1 | $PY -c 'import json,sys; q=json.load(sys.stdin)["quota"]; print(q["daily"]["used"], q["in_flight"])' 2>&1)
	[ "$used" = "3 0" ] || { ok=1; DETAIL="$DETAIL
acct6: want 3 used and 0 in flight, got: $used"; }
	return "$ok"
}

# paused_hold.lua reloads B itself (mid-session): here only B's file changes.
pre_paused_hold() {
	write_conf "$B" "$B_POLICY" "$B_MILTER_BLOCK" "accounts = { paused_action = \"hold\"; }; $B_QUOTA"
}
check_paused_hold() {
	ok=0
	now=$(milter_pids ctlb)
	if [ "$now" != "$B_MILTERS" ]; then
		ok=1
		DETAIL="$DETAIL
B's milter was restarted by the reload (want in place): before [$B_MILTERS], after [$now]"
	fi
	want_records "$B" "QHOLD1 2 acct2 milter" "QHOLD2 1 acct1 milter" || ok=1
	fl=$(records "$B" | awk '$1 == "QHOLD1" { print $5 }')
	[ "$fl" = 1 ] || { ok=1; DETAIL="$DETAIL
QHOLD1: want the held flag (1) in its message record, got '$fl'"; }
	return "$ok"
}

# run_script NAME: one miltertest script, its pre_/check_ functions, ok/FAIL.
run_script() {
	name=$1
	DETAIL=""
	if command -v "pre_$name" >/dev/null 2>&1; then
		"pre_$name"
	fi
	t0=$(date +%s)
	timeout "$SCRIPT_TIMEOUT" miltertest -s "$MT/$name.lua" -D "mtlib=$MT/lib.lua" \
		-D "port=$A_MILTER" -D "nport=$A_NSMILTER" -D "hport=$B_MILTER" -D "hnport=$B_NSMILTER" \
		-D "reload=timeout $WAIT $OUTPOSTCTL -c $B/outpost.conf reload" >"$T/$name.out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	# miltertest's own messages (mt.echo) that say something.
	notes=$(grep '^# ' "$T/$name.out")
	if [ $rc != 0 ]; then
		[ $rc = 124 ] && DETAIL="timed out after ${SCRIPT_TIMEOUT}s"
		fail "$name" "miltertest exit $rc: $DETAIL" "$(cat "$T/$name.out")" \
			"outpostd log:" "$(tailf "$T/a.log" 6)" "$(tailf "$T/b.log" 3)"
		return
	fi
	if command -v "check_$name" >/dev/null 2>&1 && ! "check_$name"; then
		fail "$name" "the script passed, but outpostd's log or store disagree:$DETAIL"
		return
	fi
	pass "$name${notes:+ $(printf '%s' "$notes" | tr '\n' ' ')} (${secs}s)"
}

# ---------------------------------------------------------------- the scripts
ALL="paused suppressed unknown feedback nonsmtpd nonsmtpd_discard interleaved malformed feedback_hash paused_reject quota paused_hold"
[ -n "$ONLY" ] && ALL=$ONLY
for s in $ALL; do
	if [ ! -f "$MT/$s.lua" ]; then
		fail "$s" "no $MT/$s.lua"
		continue
	fi
	run_script "$s"
done

# ---------------------------------------------------------------- contrib/sendmail/outpost.mc
# Compiled with Sendmail's own cf.m4 (package sendmail-cf, or
# OUTPOST_SENDMAIL_CF=DIR of an unpacked .../sendmail/cf): the generated
# sendmail.cf must declare the filter and the macros Outpost reads.
CFDIR=${OUTPOST_SENDMAIL_CF:-/usr/share/sendmail/cf}
if [ -n "$ONLY" ]; then
	:
elif [ -f "$CFDIR/m4/cf.m4" ] && command -v m4 >/dev/null 2>&1; then
	printf "include(\`%s/m4/cf.m4')dnl\nOSTYPE(\`linux')dnl\ninclude(\`%s')dnl\nMAILER(\`smtp')dnl\n" \
		"$CFDIR" "$TOP/contrib/sendmail/outpost.mc" >"$T/sendmail.mc"
	m4 "$T/sendmail.mc" >"$T/sendmail.cf" 2>"$T/sendmail.m4err"
	m4rc=$?
	cfl() { grep -E "$1" "$T/sendmail.cf"; }
	if [ $m4rc = 0 ] && [ ! -s "$T/sendmail.m4err" ] &&
	   cfl '^Xoutpost, S=inet:10041@127\.0\.0\.1, F=T, T=C:10s;S:10s;R:30s;E:5m$' >/dev/null &&
	   cfl '^O InputMailFilters=outpost$' >/dev/null &&
	   cfl '^O Milter\.macros\.connect=.*, \{client_addr\}$' >/dev/null &&
	   cfl '^O Milter\.macros\.envfrom=.*\{auth_authen\}' >/dev/null &&
	   cfl '^O Milter\.macros\.eom=.*, i$' >/dev/null &&
	   [ "$(cfl '^O Milter\.macros\.envfrom=' | grep -o '{auth_authen}' | grep -c .)" = 1 ]; then
		pass "sendmail_mc # contrib/sendmail/outpost.mc compiles with $CFDIR/m4/cf.m4: $(cfl '^Xoutpost')"
	else
		fail sendmail_mc "m4 exit $m4rc: $(cat "$T/sendmail.m4err")" "$(cfl '^X|InputMailFilters|Milter\.macros')"
	fi
else
	echo "# skip sendmail_mc: no $CFDIR/m4/cf.m4 (apt-get install sendmail-cf, or set OUTPOST_SENDMAIL_CF)"
fi

# ---------------------------------------------------------------- whole-run checks
# Every refusal logged once: no two decision lines alike (timestamps aside),
# and the smtpd milter's refusal counter equals its refusal lines.
dups=$(grep -h ' decision ' "$T/a.log" "$T/b.log" | cut -d' ' -f2- | sort | uniq -d)
# milter_stat CTL KIND FIELD
milter_stat() {
	"$1" status --json 2>/dev/null | $PY -c '
import json, sys
o = json.loads(sys.stdin.read())
print(sum(w.get(sys.argv[2], 0) for w in o["workers"] if w["kind"] == sys.argv[1]))
' "$2" "$3" 2>/dev/null
}
refusals=$(milter_stat ctla milter refusals)
lines=$(grep ' decision ' "$T/a.log" | grep -c ' milter: .*action=\(tempfail\|reject\) ')
if [ -z "$dups" ] && [ "$refusals" = "$lines" ]; then
	pass "refusals_logged_once # A's milter: $refusals refusals, $lines decision lines, none twice"
else
	fail refusals_logged_once "duplicate lines: $dups" \
		"A's milter refusal counter: $refusals; its refusal decision lines: $lines"
fi

a_now=$(milter_pids ctla)
b_now=$(milter_pids ctlb)
# shellcheck disable=SC2086
restarted=$(printf '%s\n' $a_now $b_now | awk -F: '$3 != 0')
if [ -n "$a_now" ] && [ -n "$b_now" ] && [ -z "$restarted" ]; then
	pass "milters_never_restarted # A: $a_now; B: $b_now (kind:pid:restarts)"
else
	fail milters_never_restarted "A: '$a_now' B: '$b_now' (kind:pid:restarts, status --json)"
fi

# SIGTERM: outpostd exits 0 and takes its milter processes with it.
stop_ok=1
stop_detail=""
# stop_daemon NAME PID MILTERS ("kind:pid:restarts ...")
stop_daemon() {
	kill -TERM "$2" 2>/dev/null
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$2" 2>/dev/null; then
		stop_ok=0; stop_detail="$stop_detail $1: still running after 10s;"
		return
	fi
	wait "$2"
	rc=$?
	[ $rc = 0 ] || { stop_ok=0; stop_detail="$stop_detail $1: exit $rc;"; }
	sleep 0.2
	for k in $(printf '%s\n' "$3" | tr ' ' '\n' | cut -d: -f2); do
		if kill -0 "$k" 2>/dev/null && grep -q outpostd "/proc/$k/cmdline" 2>/dev/null; then
			stop_ok=0; stop_detail="$stop_detail $1: milter pid $k left running;"
		fi
	done
}
# The last messages before the stop (stop.lua) must be recorded all the same.
timeout "$SCRIPT_TIMEOUT" miltertest -s "$MT/stop.lua" -D "mtlib=$MT/lib.lua" -D "apid=$A_PID" \
	-D "port=$A_MILTER" -D "nport=$A_NSMILTER" -D "hport=$B_MILTER" -D "hnport=$B_NSMILTER" >"$T/stop.out" 2>&1
stop_rc=$?
stop_daemon A "$A_PID" "$a_now"
kill -0 "$A_PID" 2>/dev/null || A_PID=""
if [ $stop_rc = 0 ] && has_records "$A" "QSTOP1 1 acct1 milter" "QSTOP2 2 acct1 milter"; then
	pass "recorded_before_sigterm # the last messages before SIGTERM are in the store"
else
	fail recorded_before_sigterm "miltertest stop.lua: exit $stop_rc $(cat "$T/stop.out")" \
		"want message records QSTOP1 (smtpd milter) and QSTOP2 (non-SMTP milter) after SIGTERM; got:" \
		"$(records "$A" | grep '^QSTOP')" \
		"\"milter stopped\" lines (libmilter's graceful stop + last flush): $(grep -c 'milter.*: milter stopped' "$T/a.log")"
fi
stop_daemon B "$B_PID" "$b_now"
kill -0 "$B_PID" 2>/dev/null || B_PID=""
if [ $stop_ok = 1 ]; then
	pass "sigterm_stops_all # both outpostd exit 0, no milter process left"
else
	fail sigterm_stops_all "$stop_detail" "$(tailf "$T/a.log" 5)" "$(tailf "$T/b.log" 5)"
fi

if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$T/a.log" "$T/b.log"; then
	fail no_sanitizer_report "$(grep -h -A20 -E 'Sanitizer|runtime error' "$T/a.log" "$T/b.log" | head -40)"
fi

DONE=1
exit 0
