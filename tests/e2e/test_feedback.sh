#!/bin/sh
# shellcheck disable=SC2317  # functions called through wait_for and the traps
# test_feedback.sh -- the reputation loop behind a real Postfix, end to end.
#
#   sh tests/e2e/test_feedback.sh        (from the repository root, as root)
#
# A private Postfix instance (tests/e2e/lib.sh) asks outpostd with contrib's
# restriction lines, relays to the sink (250, or 550 5.1.1 for bounce*) and
# writes its log with maillog_file to $T/maillog, which outpostd's feedback
# process follows (feedback.maillog; min_volume = 10 so the test is quick).
# One account sends until it crosses the bounce thresholds; checked from the
# outside (outpostctl --json, swaks): the bounced addresses are suppressed,
# the account goes to review, then paused, its next message gets a 4xx, and
# `outpostctl account resume` lets mail through again without the old bounces
# pausing it anew.  The feedback process is killed with SIGKILL between two
# sends (the master restarts it) and the counts must still equal what was sent.
#
# Needs root, postfix, swaks, python3-aiosmtpd.  Prints "ok N - ..." /
# "not ok N - ..." and "N passed, N failed"; exit 0 only if all passed.

set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
BUDGET=180
. "$TOP/tests/e2e/lib.sh"

e2e_prereqs
e2e_init
set -- $(free_ports 2)
POLICYPORT=$1 SMTPPORT=$2
start_sink

# ---------------------------------------------------------------- outpostd with a feedback process
mkdir -p "$T/outpost"
OCONF=$T/outpost/outpost.conf
cat >"$OCONF" <<EOF
user = "";
pidfile = "run/outpostd.pid";
control_socket = "run/outpostd.ctl";
store = { path = "db"; map_size = "64M"; };
http = { listen = ""; };
policy = { listen = "inet:127.0.0.1:$POLICYPORT"; workers = 2; };
dns = { servers = [ "127.0.0.1:1" ]; };
milter = { listen = ""; };
feedback = { rules = "$TOP/etc/outpost-bounce.rules"; maillog = "$T/maillog";
             poll_interval = "200ms"; min_volume = 10; };
EOF
OLOG=$T/outpostd.log
"$OUTPOSTD" -c "$OCONF" -f >"$OLOG" 2>&1 &
OUTPOSTD_PID=$!
ctl() { timeout "$WAIT" "$OUTPOSTCTL" -c "$OCONF" "$@"; }
# feedback_pid: the pid of the running feedback process (outpostctl status --json).
feedback_pid() {
	ctl status --json 2>/dev/null | $PY -c '
import json, sys
print(next((w["pid"] for w in json.load(sys.stdin)["workers"] if w["kind"] == "feedback" and w["pid"]), ""))' 2>/dev/null
}
has_feedback() { [ -n "$(feedback_pid)" ]; }
if wait_for "$WAIT" port_open "$POLICYPORT" && wait_for "$WAIT" has_feedback; then
	ok "outpostd started with a feedback process (pid $(feedback_pid)) following $T/maillog"
else
	notok "outpostd started with a feedback process" "$(tailf "$OLOG")"
	bail
fi
ctl account add acct1 >/dev/null || notok "outpostctl account add acct1"
start_postfix

# stat EXPR: a Python expression on `outpostctl account stats acct1 --json` (o; r, w inside it).
stat() {
	ctl account stats acct1 --json 2>/dev/null | $PY -c '
import json, sys
o = json.load(sys.stdin)
r = o["reputation"]; w = r["window"]
print(eval(sys.argv[1]))' "$1" 2>/dev/null
}
# counts_are "(DELIVERED, HARD)": the account's counters of the last 24 h.
counts() { stat '(o["windows"]["24h"]["delivered"], o["windows"]["24h"]["hard_bounces"])'; }
counts_are() { [ "$(counts)" = "$1" ]; }
state_is() { [ "$(stat 'o["state"]')" = "$1" ]; }
sink_ok() { grep -c '^to=<ok' "$T/sink.log" 2>/dev/null || true; }

# ---------------------------------------------------------------- 10 delivered
RCPTS=$(seq 0 9 | sed 's/.*/ok&@dest.test/' | paste -sd, -)
send good acct1 a@app.test "$RCPTS"
if wait_for "$WAIT" counts_are "(10, 0)"; then
	ok "10 recipients delivered and counted from Postfix's log: (eligible, bounce rate, state) = $(stat '(w["eligible"], r["bounce_rate"], o["state"])')"
else
	notok "10 delivered counted" "counts: $(counts)" "$(tailf "$OLOG")" "$(tailf "$T/maillog")"
fi

# ---------------------------------------------------------------- a bounce: review (1/11 = 9.09 %)
send b1 acct1 a@app.test bounce1@dest.test
if wait_for "$WAIT" state_is review; then
	ok "1 hard bounce in 11: account under review ($(stat 'o["reason"]'))"
else
	notok "account under review after 1 bounce in 11" "$(stat 'o')" "$(tailf "$OLOG")"
fi
supp=$(ctl suppress show bounce1@dest.test --account acct1 --json 2>&1)
case $supp in
*'"reason": "bounce"'* | *'"reason":"bounce"'*) ok "bounce1@dest.test is on acct1's suppression list" ;;
*) notok "bounce1@dest.test suppressed for acct1" "$supp" ;;
esac
send again acct1 a@app.test bounce1@dest.test
r=$(rcpt_reply again bounce1@dest.test)
case $r in
5[0-9][0-9]*"suppression list"*) ok "a new message to bounce1@dest.test is refused: $r" ;;
*) notok "bounce1@dest.test refused at RCPT (got: $r)" "$(transcript again)" ;;
esac

# ---------------------------------------------------------------- kill -9 the feedback process
fpid=$(feedback_pid)
[ -n "$fpid" ] && kill -9 "$fpid" 2>/dev/null
restarted() { p=$(feedback_pid); [ -n "$p" ] && [ "$p" != "$fpid" ]; }
if [ -n "$fpid" ] && wait_for "$WAIT" restarted; then
	ok "feedback process killed with SIGKILL (pid $fpid), restarted by the master (pid $(feedback_pid))"
else
	notok "feedback process restarted after SIGKILL" "$(tailf "$OLOG")"
fi

# ---------------------------------------------------------------- another bounce: paused (2/12)
send b2 acct1 a@app.test bounce2@dest.test
if wait_for "$WAIT" state_is paused; then
	ok "2 hard bounces in 12: account paused ($(stat 'o["reason"]'))"
else
	notok "account paused after 2 bounces in 12" "$(stat 'o')" "$(tailf "$OLOG")"
fi
hist=$(ctl account show acct1 --json | $PY -c '
import json, sys
o = json.load(sys.stdin)
print(" ".join("%s>%s:%s" % (h["from"], h["to"], h["by"]) for h in o["history"][1:]))')
case $hist in
"active>review:rule:bounce-rate review>paused:rule:bounce-rate") ok "history: $hist" ;;
*) notok "history: active -> review -> paused by rule:bounce-rate" "$hist" ;;
esac
if counts_are "(10, 2)"; then
	ok "counted exactly what was sent, across the SIGKILL: 10 delivered (sink: $(sink_ok)), 2 hard bounces"
else
	notok "counts equal what was sent (10, 2)" "$(counts)"
fi

# ---------------------------------------------------------------- paused: 4xx
send paused acct1 a@app.test ok-paused@dest.test
r=$(rcpt_reply paused ok-paused@dest.test)
case $r in
4[0-9][0-9]*paused*) ok "paused account's next message: RCPT $r" ;;
*) notok "paused account: RCPT 4xx (got: $r)" "$(transcript paused)" ;;
esac

# ---------------------------------------------------------------- resume: mail flows, fresh window
ctl account resume acct1 --reason "list cleaned" >/dev/null || notok "outpostctl account resume acct1"
send resumed acct1 a@app.test ok-resumed@dest.test
r=$(rcpt_reply resumed ok-resumed@dest.test)
case $r in
250*) ok "after resume: RCPT $r" ;;
*) notok "after resume: RCPT 250 (got: $r)" "$(transcript resumed)" ;;
esac
if wait_for "$WAIT" counts_are "(11, 2)" && [ "$(sink_ok)" = 11 ]; then
	st=$(stat '(o["state"], w["eligible"], r["judged"])')
	if [ "$st" = "('active', 1, False)" ]; then
		ok "delivered after resume and counted in a fresh window: (state, eligible, judged) = $st"
	else
		notok "fresh window after resume: (active, 1, False)" "$st"
	fi
else
	notok "the message after resume counted" "$(counts)"
fi
if grep -q 'account=acct1 state review -> paused by=rule:bounce-rate' "$OLOG"; then
	ok "outpostd logged the transition with its figures"
else
	notok "transition logged" "$(grep account= "$OLOG" | tail -n 5)"
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
