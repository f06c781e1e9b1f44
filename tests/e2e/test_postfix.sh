#!/bin/sh
# shellcheck disable=SC2317  # functions called through wait_for and the traps
# test_postfix.sh -- Outpost behind a real Postfix, end to end.
#
#   sh tests/e2e/test_postfix.sh        (from the repository root, as root)
#
# Starts, all on loopback and all under one temporary directory:
#   * a sink SMTP server (tests/e2e/sink.py, python3-aiosmtpd) that records
#     each delivered recipient;
#   * a real outpostd (binaries from $OUTPOST_BUILD/src, default this tree);
#   * a PRIVATE Postfix instance (postfix -c DIR: own main.cf/master.cf, queue
#     and data directories, log file) that relays everything to the sink and
#     asks outpostd with the restriction lines of contrib/postfix/main.cf and
#     the -o lines of contrib/postfix/master.cf (only the port is changed);
# then sends mail with swaks, logged in with XCLIENT LOGIN=<account>, and
# checks what the client, the sink, Postfix's log and outpostd's log show.
#
# Needs root and the Debian packages postfix, swaks, python3-aiosmtpd.  Works
# without any /etc/postfix/main.cf.  Prints "ok N - ..." / "not ok N - ..." per
# check and ends with "N passed, N failed"; exit status 0 only if all passed.
# Every wait is bounded (30 s), the whole run by a watchdog (150 s + one step);
# the trap stops the Postfix instance, the processes this script started (by
# their PIDs) and removes the temporary directory.  OUTPOST_E2E_KEEP=1 keeps
# the directory for inspection.

set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
BUDGET=150 # seconds, the watchdog (every single wait: $WAIT, 30 s)
. "$TOP/tests/e2e/lib.sh"

e2e_init
e2e_prereqs
if [ ! -f "$CONTRIB/master.cf" ]; then
	notok "prerequisites" "missing: contrib/postfix/master.cf"
	bail
fi

# Three distinct free loopback ports: outpostd, smtpd, the submission smtpd.
# shellcheck disable=SC2046
set -- $(free_ports 3)
POLICYPORT=$1 SMTPPORT=$2 SUBPORT=$3

start_sink

# ---------------------------------------------------------------- outpostd
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
EOF
OLOG=$T/outpostd.log
"$OUTPOSTD" -c "$OCONF" -f >"$OLOG" 2>&1 &
OUTPOSTD_PID=$!
if wait_for "$WAIT" port_open "$POLICYPORT"; then
	ok "outpostd started (pid $OUTPOSTD_PID, inet:127.0.0.1:$POLICYPORT)"
else
	notok "outpostd started" "$(tailf "$OLOG")"
	bail
fi

ctl() { timeout "$WAIT" "$OUTPOSTCTL" -c "$OCONF" "$@"; }

# ---------------------------------------------------------------- Postfix
# contrib_oline FILE NAME: the "#  -o NAME=..." line of contrib master.cf.
contrib_oline() {
	sed -n "s/^#\([ \t][ \t]*-o[ \t][ \t]*$2=.*\)/\1/p" "$1"
}

CONTRIB_MAIN=$(contrib_params "$CONTRIB/main.cf" \
	smtpd_recipient_restrictions smtpd_end_of_data_restrictions \
	outpost_submission_recipient_restrictions outpost_submission_end_of_data_restrictions)
CONTRIB_SUB=$(contrib_oline "$CONTRIB/master.cf" smtpd_recipient_restrictions;
	contrib_oline "$CONTRIB/master.cf" smtpd_end_of_data_restrictions)

# The second smtpd is contrib's submission service: its Outpost -o lines come
# from contrib/postfix/master.cf; its TLS-only lines are left out (no
# certificate here), and smtpd_sasl_auth_enable=yes is what makes
# permit_sasl_authenticated honour an XCLIENT LOGIN.
postfix_conf "# ---- from contrib/postfix/main.cf (policy port changed) ----
$CONTRIB_MAIN" "127.0.0.1:$SUBPORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_client_restrictions=
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
$CONTRIB_SUB"

# The restriction lists Postfix actually parsed must be contrib's.
rr=$(postconf -c "$PF" -h smtpd_recipient_restrictions 2>&1)
eod=$(postconf -c "$PF" -h smtpd_end_of_data_restrictions 2>&1)
subrr=$(postconf -c "$PF" -P "127.0.0.1:$SUBPORT/inet/smtpd_recipient_restrictions" 2>&1)
subrr_val=$(postconf -c "$PF" -h outpost_submission_recipient_restrictions 2>&1)
case $rr in
"check_policy_service { inet:127.0.0.1:$POLICYPORT,"*"{ default_action = 4"*" } }, permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination")
	rr_ok=1 ;;
*)	rr_ok=0 ;;
esac
case $eod in
"check_policy_service { inet:127.0.0.1:$POLICYPORT,"*"default_action=DUNNO }") eod_ok=1 ;;
*) eod_ok=0 ;;
esac
case $subrr in
*"smtpd_recipient_restrictions = \$outpost_submission_recipient_restrictions")
	case $subrr_val in
	"check_policy_service { inet:127.0.0.1:$POLICYPORT,"*"}, permit_sasl_authenticated, reject") sub_ok=1 ;;
	*) sub_ok=0 ;;
	esac ;;
*) sub_ok=0 ;;
esac
if [ $rr_ok = 1 ] && [ $eod_ok = 1 ] && [ $sub_ok = 1 ]; then
	ok "Postfix parses contrib's restriction lists (policy first, fail-closed at RCPT, fail-open at end of data)"
else
	notok "Postfix parses contrib's restriction lists" \
		"smtpd_recipient_restrictions = $rr" "smtpd_end_of_data_restrictions = $eod" \
		"submission: $subrr" "outpost_submission_recipient_restrictions = $subrr_val"
fi

pf_out=$(timeout "$WAIT" postfix -c "$PF" start 2>&1)
pf_rc=$?
if [ $pf_rc = 0 ] && wait_for "$WAIT" port_open "$SMTPPORT" && wait_for "$WAIT" port_open "$SUBPORT"; then
	b1=$(smtp_banner "$SMTPPORT")
	b2=$(smtp_banner "$SUBPORT")
fi
case "$pf_rc|${b1:-}|${b2:-}" in
"0|220 "*"|220 "*)
	ok "private Postfix instance started, both smtpd services answer 220 (127.0.0.1:$SMTPPORT, :$SUBPORT; sink :$SINKPORT)" ;;
*)
	notok "private Postfix instance started and smtpd answers 220" "postfix start: exit $pf_rc: $pf_out" \
		"banners: ${b1:-} / ${b2:-}" "$(tailf "$T/maillog")"
	bail ;;
esac

# ---------------------------------------------------------------- helpers
# send ID PORT LOGIN FROM RCPT[,RCPT...]: one swaks session with XCLIENT
# LOGIN=LOGIN; the transcript goes to $T/swaks.ID.
send() {
	timeout "$WAIT" swaks --server 127.0.0.1 --port "$2" --xclient-login "$3" \
		--helo client.outpost-e2e.test --from "$4" --to "$5" \
		--header "Subject: outpost e2e $1" --header "Message-Id: <$1.e2e@app.test>" \
		--timeout 25 >"$T/swaks.$1" 2>&1
	echo $? >"$T/swaks.$1.rc"
	# What outpostd must have seen: one request per RCPT, one per queued
	# message (END-OF-MESSAGE), a refusal per refused RCPT.
	if [ "$OUTPOSTD_PID" ]; then
		EXP_REQ=$((EXP_REQ + $(grep -c -- '-> RCPT TO:' "$T/swaks.$1")))
		[ -n "$(queued_id "$1")" ] && EXP_REQ=$((EXP_REQ + 1))
		EXP_REF=$((EXP_REF + $(grep -c '^ *<\*\* [45][0-9][0-9] [45]\.[0-9]*\.[0-9]* <[^>]*>: Recipient address rejected' "$T/swaks.$1")))
	fi
}
EXP_REQ=0
EXP_REF=0

# delivered RCPT: how many times the sink received RCPT.
delivered() {
	grep -c "^to=<$1> " "$T/sink.log" 2>/dev/null || true
}
in_sink() { [ "$(delivered "$1")" -ge 1 ]; }


# ---------------------------------------------------------------- 1. setup
setup_out=""
setup_ok=1
# setup ARGS...: one outpostctl command; a failure is remembered with its output.
setup() {
	s_out=$(ctl "$@" 2>&1)
	s_rc=$?
	[ $s_rc = 0 ] || setup_ok=0
	setup_out="$setup_out
outpostctl $*: exit $s_rc $s_out"
}
setup account add acct1
setup account add acct2
setup account pause acct2 --reason "bounce rate too high"
setup suppress add supp@dest.test --account acct1 --reason bounce
setup suppress add @blocked.test
show=$(ctl account show acct2 2>&1)
case $show in *paused*) ;; *) setup_ok=0; setup_out="$setup_out
account show acct2: $show" ;; esac
if [ $setup_ok = 1 ]; then
	ok "outpostctl: acct1, acct2 paused (\"bounce rate too high\"), supp@dest.test suppressed for acct1, @blocked.test globally"
else
	notok "outpostctl setup" "$setup_out"
fi

# ---------------------------------------------------------------- 2. accepted and delivered
send ok1 "$SMTPPORT" acct1 a@app.test ok@dest.test
r=$(rcpt_reply ok1 ok@dest.test)
qid_ok1=$(queued_id ok1)
case $r in
250*)
	if [ -n "$qid_ok1" ]; then
		ok "acct1 -> ok@dest.test: RCPT $r, queued as $qid_ok1"
	else
		notok "acct1 -> ok@dest.test: message queued" "$(transcript ok1)"
	fi ;;
*) notok "acct1 -> ok@dest.test: RCPT accepted (got: $r)" "$(transcript ok1)" "$(tailf "$OLOG" 5)" ;;
esac
if wait_for "$WAIT" in_sink ok@dest.test; then
	ok "acct1 -> ok@dest.test delivered to the sink"
else
	notok "acct1 -> ok@dest.test delivered to the sink within ${WAIT}s" "$(tailf "$T/maillog")" "sink: $(tailf "$T/sink.log")"
fi

# ---------------------------------------------------------------- 3. paused account
send paused "$SMTPPORT" acct2 b@app.test retry@dest.test
r=$(rcpt_reply paused retry@dest.test)
case $r in
4[0-9][0-9]*paused*"bounce rate too high"*)
	ok "acct2 (paused) -> retry@dest.test: RCPT $r" ;;
*) notok "acct2 (paused): RCPT 4xx with \"paused\" and the reason (got: $r)" "$(transcript paused)" "$(tailf "$OLOG" 5)" ;;
esac
if [ -z "$(queued_id paused)" ]; then
	ok "acct2 (paused): no message queued"
else
	notok "acct2 (paused): no message queued" "$(transcript paused)"
fi

# ---------------------------------------------------------------- 4. suppressions
send supp "$SMTPPORT" acct1 a@app.test supp@dest.test
r=$(rcpt_reply supp supp@dest.test)
case $r in
5[0-9][0-9]*"suppression list"*) ok "acct1 -> supp@dest.test (account suppression): RCPT $r" ;;
*) notok "acct1 -> supp@dest.test: RCPT 5xx \"suppression list\" (got: $r)" "$(transcript supp)" ;;
esac
send blocked "$SMTPPORT" acct1 a@app.test x@blocked.test
r=$(rcpt_reply blocked x@blocked.test)
case $r in
5[0-9][0-9]*) ok "acct1 -> x@blocked.test (global @blocked.test): RCPT $r" ;;
*) notok "acct1 -> x@blocked.test: RCPT 5xx (got: $r)" "$(transcript blocked)" ;;
esac

# ---------------------------------------------------------------- 5. one good, one suppressed
# The good recipient first: the suppressed RCPT then already has a queue id.
send multi "$SMTPPORT" acct1 a@app.test good@dest.test,supp@dest.test
r_good=$(rcpt_reply multi good@dest.test)
r_supp=$(rcpt_reply multi supp@dest.test)
qid_multi=$(queued_id multi)
case "$r_good|$r_supp" in
250*"|"5[0-9][0-9]*"suppression list"*)
	if [ -n "$qid_multi" ]; then
		ok "acct1 -> good@ + supp@dest.test: good $r_good; supp $r_supp; queued as $qid_multi"
	else
		notok "acct1 -> good@ + supp@dest.test: message queued" "$(transcript multi)"
	fi ;;
*) notok "acct1 -> good@ + supp@dest.test: only supp@ refused (good: $r_good; supp: $r_supp)" "$(transcript multi)" ;;
esac
if wait_for "$WAIT" in_sink good@dest.test; then
	# Both would be in the same envelope: once good@ is there, supp@ never will be.
	if [ "$(delivered supp@dest.test)" = 0 ]; then
		ok "good@dest.test delivered, supp@dest.test not"
	else
		notok "supp@dest.test must not reach the sink" "$(cat "$T/sink.log")"
	fi
else
	notok "good@dest.test delivered to the sink within ${WAIT}s" "$(tailf "$T/maillog")" "sink: $(tailf "$T/sink.log")"
fi

# ---------------------------------------------------------------- 6. resume, the retry goes through
out=$(ctl account resume acct2 2>&1)
rc=$?
if [ $rc = 0 ]; then
	ok "outpostctl account resume acct2"
else
	notok "outpostctl account resume acct2: exit $rc" "$out"
fi
send resumed "$SMTPPORT" acct2 b@app.test retry@dest.test
r=$(rcpt_reply resumed retry@dest.test)
case $r in
250*) ok "acct2 (resumed) retries retry@dest.test: RCPT $r, queued as $(queued_id resumed)" ;;
*) notok "acct2 (resumed): RCPT accepted (got: $r)" "$(transcript resumed)" "$(tailf "$OLOG" 5)" ;;
esac
if wait_for "$WAIT" in_sink retry@dest.test; then
	n=$(delivered retry@dest.test)
	if [ "$n" = 1 ]; then
		ok "retry@dest.test delivered exactly once (the paused attempt sent nothing; its retry is delivered)"
	else
		notok "retry@dest.test delivered exactly once (got $n)" "$(cat "$T/sink.log")"
	fi
else
	notok "retry@dest.test delivered within ${WAIT}s" "$(tailf "$T/maillog")" "sink: $(tailf "$T/sink.log")"
fi

# ---------------------------------------------------------------- submission service (contrib master.cf)
send sub_supp "$SUBPORT" acct1 a@app.test supp@dest.test
r=$(rcpt_reply sub_supp supp@dest.test)
case $r in
5[0-9][0-9]*"suppression list"*) ok "submission service (contrib master.cf -o lines): acct1 -> supp@dest.test RCPT $r" ;;
*) notok "submission service: acct1 -> supp@dest.test RCPT 5xx (got: $r)" "$(transcript sub_supp)" ;;
esac
send sub_ok "$SUBPORT" acct1 a@app.test sub@dest.test
r=$(rcpt_reply sub_ok sub@dest.test)
case $r in
250*)
	if wait_for "$WAIT" in_sink sub@dest.test; then
		ok "submission service: acct1 -> sub@dest.test accepted ($r) and delivered"
	else
		notok "submission service: sub@dest.test delivered within ${WAIT}s" "$(tailf "$T/maillog")"
	fi ;;
*) notok "submission service: acct1 -> sub@dest.test accepted (got: $r)" "$(transcript sub_ok)" ;;
esac

# ---------------------------------------------------------------- the sink's bounce/defer answers
send sinkcodes "$SMTPPORT" acct1 a@app.test bounce-me@dest.test,defer-me@dest.test
bounced_logged() {
	grep -q 'to=<bounce-me@dest.test>.*dsn=5\.1\.1, status=bounced' "$T/maillog" 2>/dev/null &&
	grep -q 'to=<defer-me@dest.test>.*dsn=4\.3\.0, status=deferred' "$T/maillog" 2>/dev/null
}
if wait_for "$WAIT" bounced_logged; then
	ok "sink answers 550 5.1.1 to bounce*, 451 4.3.0 to defer* (Postfix logs status=bounced / status=deferred)"
else
	notok "sink bounce/defer answers logged by Postfix within ${WAIT}s" "$(transcript sinkcodes)" "$(tailf "$T/maillog")"
fi

# ---------------------------------------------------------------- 7. outpostd's decision log
pl=$(grep 'decision ' "$OLOG" | grep 'rule=paused' | grep 'account=acct2' | grep 'rcpt=<retry@dest.test>' | head -n 1)
case $pl in
*"instance="[0-9a-f]*.[0-9a-f]*.[0-9a-f]*.[0-9a-f]*" "*"sasl=acct2"*"action=tempfail"*)
	ok "outpostd logged the paused refusal with its instance: $(echo "$pl" | sed 's/.*\(decision .*\) from=.*/\1/')" ;;
*) notok "outpostd log: decision ... rule=paused with the instance (got: $pl)" "$(grep decision "$OLOG")" ;;
esac
sl=$(grep 'decision ' "$OLOG" | grep 'rule=suppressed' | grep "queue_id=$qid_multi " | grep 'rcpt=<supp@dest.test>' | head -n 1)
qid_rejected() { grep -q "$qid_multi: reject: RCPT from .*<supp@dest.test>: .*suppression list" "$T/maillog"; }
if [ -n "$qid_multi" ] && [ -n "$sl" ] && wait_for "$WAIT" qid_rejected; then
	ok "outpostd logged the suppressed refusal with Postfix's queue id $qid_multi (same id in Postfix's reject line)"
else
	notok "outpostd log: decision queue_id=$qid_multi ... rule=suppressed" "outpostd: $sl" \
		"$(grep decision "$OLOG")" "postfix: $(grep "reject: RCPT" "$T/maillog")"
fi

# ---------------------------------------------------------------- Postfix's side of the story
pf_logged() {
	grep -q "client=[^,]*\[127\.0\.0\.1\], sasl_method=XCLIENT, sasl_username=acct1" "$T/maillog" &&
	grep -q "NOQUEUE: reject: RCPT from .*: 450 4\.7\.1 <retry@dest.test>: Recipient address rejected: .*paused" "$T/maillog"
}
if wait_for "$WAIT" pf_logged; then
	ok "Postfix logged the XCLIENT login (sasl_username=acct1) and the paused account's 450 4.7.1"
else
	notok "Postfix log: sasl_username=acct1 and the 450 reject" "$(grep -E 'client=|reject:' "$T/maillog")"
fi
probs=$(grep -E 'problem talking to server|Server configuration problem|Policy service unavailable|warning: .*policy' "$T/maillog")
if [ -z "$probs" ]; then
	ok "no policy-service trouble in Postfix's log (no timeouts, retries or default_action)"
else
	notok "policy-service trouble in Postfix's log" "$probs"
fi

# ---------------------------------------------------------------- outpostd's counters
# stats FIELD: the sum of FIELD over outpostd's workers (outpostctl status --json).
stats() {
	ctl status --json 2>/dev/null | $PY -c '
import json, sys
o = json.loads(sys.stdin.read())
print(sum(w.get(sys.argv[1], 0) for w in o["workers"]))
' "$1" 2>/dev/null
}
counters_match() {
	[ "$(stats requests)" = "$EXP_REQ" ] && [ "$(stats refusals)" = "$EXP_REF" ]
}
if wait_for "$WAIT" counters_match && [ "$(stats bad_requests)" = 0 ] && [ "$(stats store_errors)" = 0 ]; then
	ok "outpostd saw every RCPT and END-OF-MESSAGE request: $EXP_REQ requests, $EXP_REF refusals, 0 bad, 0 store errors"
else
	notok "outpostd's counters: want $EXP_REQ requests, $EXP_REF refusals, 0 bad, 0 store errors" \
		"$(ctl status 2>&1)"
fi

# ---------------------------------------------------------------- quotas
# acct4 may send 20 recipients a day.  A message refused for another reason
# consumes nothing; then 15 + 15 recipients: 20 accepted and delivered, the
# last 10 get a 4xx naming the limit.
ctl account add acct4 >/dev/null 2>&1
out=$(ctl account set acct4 daily-quota=20 2>&1) || notok "outpostctl account set acct4 daily-quota=20" "$out"
send qrej "$SMTPPORT" acct4 d@app.test x@blocked.test
rcpts() { i=$1; l=""; while [ "$i" -le "$2" ]; do l="$l${l:+,}q$i@dest.test"; i=$((i + 1)); done; echo "$l"; }
send q1 "$SMTPPORT" acct4 d@app.test "$(rcpts 1 15)"
send q2 "$SMTPPORT" acct4 d@app.test "$(rcpts 16 30)"
n250=0 n452=0 other=""
for i in $(seq 1 30); do
	id=q1
	[ "$i" -gt 15 ] && id=q2
	r=$(rcpt_reply "$id" "q$i@dest.test")
	case $r in
	250*) n250=$((n250 + 1)) ;;
	"452 4.5.3 "*"Daily sending quota exceeded (20 recipients per 24 h); retry after "*) n452=$((n452 + 1)) ;;
	*) other="$other q$i: $r;" ;;
	esac
done
if [ "$n250" = 20 ] && [ "$n452" = 10 ] && [ -z "$other" ]; then
	ok "acct4 (daily-quota=20) sends 30 recipients: 20 accepted, 10 refused \"452 4.5.3 Daily sending quota exceeded (20 recipients per 24 h); retry after ...\""
else
	notok "acct4: 20 accepted and 10 refused with 452 4.5.3 (got $n250 accepted, $n452 refused;$other)" \
		"$(transcript q2 | tail -n 40)"
fi
sink_q() { grep -c '^to=<q[0-9]*@dest.test> ' "$T/sink.log" 2>/dev/null || true; }
twenty_in_sink() { [ "$(sink_q)" -ge 20 ]; }
if wait_for "$WAIT" twenty_in_sink; then
	sleep 1 # anything more would arrive now
	late=$(grep -c '^to=<q\(2[1-9]\|30\)@dest.test> ' "$T/sink.log" || true)
	if [ "$(sink_q)" = 20 ] && [ "$late" = 0 ]; then
		ok "exactly 20 of acct4's recipients reached the sink (q1..q20), none of q21..q30"
	else
		notok "exactly 20 of acct4's recipients in the sink (got $(sink_q), $late of q21..q30)" "$(grep q "$T/sink.log")"
	fi
else
	notok "20 of acct4's recipients in the sink within ${WAIT}s (got $(sink_q))" "$(tailf "$T/maillog")"
fi
used=$(ctl account show acct4 --json 2>&1 | $PY -c 'import json,sys; q=json.load(sys.stdin)["quota"]; print(q["daily"]["used"], q["in_flight"])' 2>&1)
if [ "$used" = "20 0" ]; then
	ok "outpostctl account show acct4: 20 of 20 used, nothing in flight (the refused message consumed nothing)"
else
	notok "account show acct4: daily used 20, in flight 0 (got: $used)" "$(ctl account show acct4 2>&1)"
fi

# ---------------------------------------------------------------- paused_action = hold, resume --release
# The hold queue: a paused account's mail is accepted and parked; resume
# --release hands exactly that account's held messages back to Postfix.
cat >>"$OCONF" <<EOF
accounts = { paused_action = "hold"; };
postfix = { config_directory = "$PF"; postsuper = "$(command -v postsuper)";
            postqueue = "$(command -v postqueue)"; };
EOF
out=$(ctl reload 2>&1) || notok "outpostctl reload with paused_action = hold" "$out"
ctl account add acct3 >/dev/null 2>&1
ctl account pause acct3 --reason "held for review" >/dev/null 2>&1
send held "$SMTPPORT" acct3 c@app.test held@dest.test
r=$(rcpt_reply held held@dest.test)
qid_held=$(queued_id held)
in_hold() { [ -n "$qid_held" ] && [ -f "$PFQ/hold/$qid_held" ]; }
if wait_for "$WAIT" in_hold; then
	ok "acct3 (paused, paused_action=hold): accepted ($r) and parked in the hold queue as $qid_held"
else
	notok "acct3 (paused, hold): message in the hold queue (RCPT $r, queue id '$qid_held')" \
		"$(postqueue -c "$PF" -p 2>&1)" "$(transcript held)" "$(tailf "$OLOG" 5)"
fi
sleep 1
if [ "$(delivered held@dest.test)" = 0 ]; then
	ok "held@dest.test not delivered while held"
else
	notok "held@dest.test not delivered while held" "$(cat "$T/sink.log")"
fi
out=$(ctl account resume acct3 --release 2>&1)
rc=$?
case "$rc:$out" in
0:*"released 1 held message of account acct3"*) ok "outpostctl account resume acct3 --release: $(echo "$out" | tail -n 1)" ;;
*) notok "outpostctl account resume acct3 --release (exit $rc)" "$out" ;;
esac
if wait_for "$WAIT" in_sink held@dest.test; then
	ok "held@dest.test delivered after --release"
else
	notok "held@dest.test delivered after --release" "$(postqueue -c "$PF" -p 2>&1)" "$(tailf "$T/maillog")"
fi
out=$(ctl account resume acct3 --release 2>&1)
case "$out" in
*"released 0 held messages"*) ok "a second --release finds nothing left to release" ;;
*) notok "a second --release finds nothing left to release" "$out" ;;
esac

# ---------------------------------------------------------------- outpostd stops cleanly
kill -TERM "$OUTPOSTD_PID" 2>/dev/null
i=0
while kill -0 "$OUTPOSTD_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
if kill -0 "$OUTPOSTD_PID" 2>/dev/null; then
	notok "outpostd exits on SIGTERM within 30s" "$(tailf "$OLOG")"
else
	wait "$OUTPOSTD_PID"
	rc=$?
	OUTPOSTD_PID=""
	if [ $rc = 0 ]; then
		ok "outpostd exits 0 on SIGTERM"
	else
		notok "outpostd exits 0 on SIGTERM (got $rc)" "$(tailf "$OLOG")"
	fi
fi
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$OLOG"; then
	notok "no sanitizer report in outpostd's log" "$(grep -A20 -E 'Sanitizer|runtime error' "$OLOG" | head -40)"
fi

# ---------------------------------------------------------------- fail-closed without outpostd
# contrib's default_action: after try_limit (2) refused connections Postfix
# answers 451 4.3.0 itself -- the client keeps the message, nothing slips by.
if [ -z "$OUTPOSTD_PID" ]; then
	send down "$SMTPPORT" acct1 a@app.test down@dest.test
	r=$(rcpt_reply down down@dest.test)
	case $r in
	"451 4.3.0 "*"Policy service unavailable"*)
		if [ -z "$(queued_id down)" ]; then
			ok "outpostd down: RCPT $r (contrib's fail-closed default_action), nothing queued"
		else
			notok "outpostd down: nothing queued" "$(transcript down)"
		fi ;;
	*) notok "outpostd down: RCPT 451 4.3.0 Policy service unavailable (got: $r)" "$(transcript down)" "$(tailf "$T/maillog" 8)" ;;
	esac
fi

echo "# $(( $(date +%s) - START_TIME ))s"
DONE=1
exit 0
