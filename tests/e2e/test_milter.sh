#!/bin/sh
# shellcheck disable=SC2317  # functions called through wait_for and the traps
# test_milter.sh -- Outpost's milter behind a real Postfix, end to end.
#
#   sh tests/e2e/test_milter.sh        (from the repository root, as root)
#
# Starts, all on loopback and all under one temporary directory:
#   * a sink SMTP server (tests/e2e/sink.py, python3-aiosmtpd) that
#     records each delivered recipient and keeps each message;
#   * a real outpostd (binaries from $OUTPOST_BUILD/src, default this tree)
#     with both milters: milter.listen and milter.non_smtpd_listen;
#   * a PRIVATE Postfix instance (postfix -c DIR) that relays everything to
#     the sink and uses Outpost ONLY as a milter -- no policy service -- with
#     the lines of contrib/postfix/milter.cf (smtpd_milters,
#     non_smtpd_milters, milter_default_action, the milter_*_macros; only the
#     ports are changed);
# then sends mail with swaks (logged in with XCLIENT LOGIN=<account>) and with
# sendmail(1) -t (non-SMTP mail: the non_smtpd_milters path) and checks what
# the client, the sink (delivered messages and their Feedback-ID header),
# Postfix's log and queues, and outpostd's log and store show.
#
# Needs root and the Debian packages postfix, swaks, python3-aiosmtpd
# (lmdb-utils for the message-record check).  Works without any
# /etc/postfix/main.cf.  Prints "ok N - ..." / "not ok N - ..." per check and
# ends with "N passed, N failed"; exit status 0 only if all passed.  Every wait
# is bounded (30 s), the whole run by a watchdog (150 s + one step); the trap
# stops the Postfix instance, the processes this script started (by their
# PIDs) and removes the temporary directory.  OUTPOST_E2E_KEEP=1 keeps the
# directory for inspection.

set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
BUDGET=150 # seconds, the watchdog (every single wait: $WAIT, 30 s)
. "$TOP/tests/e2e/lib.sh"

e2e_init
e2e_prereqs
missing=""
for c in postqueue sendmail; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -f "$CONTRIB/milter.cf" ] || missing="$missing contrib/postfix/milter.cf"
if [ -n "$missing" ]; then
	notok "prerequisites" "missing:$missing"
	bail
fi

# Four distinct free loopback ports: outpostd's (unused) policy listener, its
# two milters, smtpd.
# shellcheck disable=SC2046
set -- $(free_ports 4)
POLICYPORT=$1 MILTERPORT=$2 NSMILTERPORT=$3 SMTPPORT=$4

# ---------------------------------------------------------------- the sink
start_sink --store "$T/sink"

# ---------------------------------------------------------------- outpostd
mkdir -p "$T/outpost"
OCONF=$T/outpost/outpost.conf
cat >"$OCONF" <<EOF
user = "";
pidfile = "run/outpostd.pid";
control_socket = "run/outpostd.ctl";
store = { path = "db"; map_size = "64M"; };
http = { listen = ""; };
policy = { listen = "inet:127.0.0.1:$POLICYPORT"; workers = 1; };
dns = { servers = [ "127.0.0.1:1" ]; };
milter = { listen = "inet:$MILTERPORT@127.0.0.1"; non_smtpd_listen = "inet:$NSMILTERPORT@127.0.0.1";
           feedback_id = "%a:outpost"; };
EOF
OLOG=$T/outpostd.log
"$OUTPOSTD" -c "$OCONF" -f >"$OLOG" 2>&1 &
OUTPOSTD_PID=$!
if wait_for "$WAIT" port_open "$MILTERPORT" && wait_for "$WAIT" port_open "$NSMILTERPORT"; then
	ok "outpostd started (pid $OUTPOSTD_PID), milters on inet:$MILTERPORT@127.0.0.1 and inet:$NSMILTERPORT@127.0.0.1 (non-SMTP)"
else
	notok "outpostd started with its two milters" "$(tailf "$OLOG")"
	bail
fi

ctl() { timeout "$WAIT" "$OUTPOSTCTL" -c "$OCONF" "$@"; }

# ---------------------------------------------------------------- Postfix
CONTRIB_MILTER=$(contrib_params "$CONTRIB/milter.cf" smtpd_milters non_smtpd_milters \
	milter_default_action milter_connect_macros milter_mail_macros milter_end_of_data_macros)

postfix_conf "# No policy service: Outpost is only a milter here.

# ---- from contrib/postfix/milter.cf (milter ports changed) ----
$CONTRIB_MILTER"

# What Postfix parsed must be contrib's lines.
pc() { postconf -c "$PF" -h "$1" 2>&1; }
v_sm=$(pc smtpd_milters)
v_nsm=$(pc non_smtpd_milters)
v_da=$(pc milter_default_action)
v_cm=$(pc milter_connect_macros)
v_mm=$(pc milter_mail_macros)
v_em=$(pc milter_end_of_data_macros)
parse_ok=1
[ "$v_sm" = "inet:127.0.0.1:$MILTERPORT" ] || parse_ok=0
[ "$v_nsm" = "inet:127.0.0.1:$NSMILTERPORT" ] || parse_ok=0
[ "$v_da" = tempfail ] || parse_ok=0
case " $v_cm " in *" {client_addr} "*) ;; *) parse_ok=0 ;; esac
case " $v_mm " in *" {auth_authen} "*) ;; *) parse_ok=0 ;; esac
case " $v_em " in *" i "*) ;; *) parse_ok=0 ;; esac
if [ $parse_ok = 1 ]; then
	ok "Postfix parses contrib/postfix/milter.cf: smtpd_milters, non_smtpd_milters, default_action tempfail, {client_addr} at connect, {auth_authen} at MAIL, i at end of data"
else
	notok "Postfix parses contrib/postfix/milter.cf" "smtpd_milters = $v_sm" "non_smtpd_milters = $v_nsm" \
		"milter_default_action = $v_da" "milter_connect_macros = $v_cm" "milter_mail_macros = $v_mm" \
		"milter_end_of_data_macros = $v_em" "extracted:" "$CONTRIB_MILTER"
fi

pf_out=$(timeout "$WAIT" postfix -c "$PF" start 2>&1)
pf_rc=$?
b1=""
if [ $pf_rc = 0 ] && wait_for "$WAIT" port_open "$SMTPPORT"; then
	b1=$(smtp_banner "$SMTPPORT")
fi
case "$pf_rc|$b1" in
"0|220 "*)
	ok "private Postfix instance started, smtpd answers 220 (127.0.0.1:$SMTPPORT; sink :$SINKPORT)" ;;
*)
	notok "private Postfix instance started and smtpd answers 220" "postfix start: exit $pf_rc: $pf_out" \
		"banner: $b1" "$(tailf "$T/maillog")"
	bail ;;
esac

# ---------------------------------------------------------------- helpers
# send ID LOGIN FROM RCPT[,RCPT...]: one swaks session to smtpd, with XCLIENT
# LOGIN=LOGIN unless LOGIN is "-"; the transcript goes to $T/swaks.ID.
send() {
	if [ "$2" = - ]; then set -- "$1" "" "$3" "$4"; else set -- "$1" "--xclient-login=$2" "$3" "$4"; fi
	# shellcheck disable=SC2086
	timeout "$WAIT" swaks --server 127.0.0.1 --port "$SMTPPORT" $2 \
		--helo client.outpost-e2e.test --from "$3" --to "$4" \
		--header "Subject: outpost milter e2e $1" --header "Message-Id: <$1.e2e@app.test>" \
		--timeout 25 >"$T/swaks.$1" 2>&1
	echo $? >"$T/swaks.$1.rc"
}

# reply_to ID COMMAND: the server's reply line to that command (e.g.
# "RCPT TO:<a@b>", "MAIL FROM:<a@b>") in that transcript.
reply_to() {
	awk -v r="$2" '
		found && /^ *<(-|\*\*) / { sub(/^ *<(-|\*\*) +/, ""); print; exit }
		index($0, "-> " r) { found = 1 }
	' "$T/swaks.$1"
}
rcpt_reply() { reply_to "$1" "RCPT TO:<$2>"; }
mail_reply() { reply_to "$1" "MAIL FROM:<$2>"; }

# delivered RCPT: how many times the sink received RCPT.
delivered() {
	grep -c "^to=<$1> " "$T/sink.log" 2>/dev/null || true
}
in_sink() { [ "$(delivered "$1")" -ge 1 ]; }

# message_of RCPT: the path of the (last) message the sink received for RCPT.
message_of() {
	f=$(sed -n "s/^to=<$1> .* file=\([0-9]*\.eml\)\$/\1/p" "$T/sink.log" | tail -n 1)
	[ -n "$f" ] && echo "$T/sink/$f"
}

# feedback_ids RCPT: the Feedback-ID header lines of the message delivered to RCPT.
feedback_ids() {
	m=$(message_of "$1")
	[ -n "$m" ] && $PY -c '
import email, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f)
for v in msg.get_all("Feedback-ID") or []:
    print("Feedback-ID: " + " ".join(str(v).split()))
' "$m"
}


# records: outpostd's message records, one line "QID RECIPIENTS ACCOUNT DOOR FLAGS".
records() {
	mdb_dump -s message "$T/outpost/db" 2>/dev/null | $PY -c '
import sys
out = sys.stdin.read().split("HEADER=END\n", 1)[-1].splitlines()
for k, v in zip(out[0::2], out[1::2]):
    if k == "DATA=END":
        break
    key, val = bytes.fromhex(k.strip()).decode("utf-8", "replace"), bytes.fromhex(v.strip())
    acct = val[15:].split(b"\0", 1)[0].decode("utf-8", "replace")
    door = {1: "policy", 2: "milter"}.get(val[13], str(val[13]))
    print(key, int.from_bytes(val[9:13], "little"), acct, door, val[14])
'
}
has_record() { records | grep -q "^$1 "; }

# ---------------------------------------------------------------- 1. setup
setup_out=""
setup_ok=1
setup() {
	s_out=$(ctl "$@" 2>&1)
	s_rc=$?
	[ $s_rc = 0 ] || setup_ok=0
	setup_out="$setup_out
outpostctl $*: exit $s_rc $s_out"
}
setup account add acct1
setup account map acct1 sender:cron@app.test
setup account add acct2
setup account pause acct2 --reason "bounce rate too high"
setup account map acct2 sender:paused-cron@app.test
setup suppress add supp@dest.test --account acct1 --reason bounce
setup suppress add @blocked.test
if [ $setup_ok = 1 ]; then
	ok "outpostctl: acct1 (+ sender:cron@app.test), acct2 paused (+ sender:paused-cron@app.test), supp@dest.test suppressed for acct1, @blocked.test globally"
else
	notok "outpostctl setup" "$setup_out"
fi

# ---------------------------------------------------------------- 2. accepted, delivered, Feedback-ID
send ok1 acct1 a@app.test ok@dest.test
r=$(rcpt_reply ok1 ok@dest.test)
qid_ok1=$(queued_id ok1)
case $r in
250*)
	if [ -n "$qid_ok1" ]; then
		ok "acct1 -> ok@dest.test: RCPT $r, queued as $qid_ok1"
	else
		notok "acct1 -> ok@dest.test: message queued" "$(transcript ok1)" "$(tailf "$T/maillog" 8)"
	fi ;;
*) notok "acct1 -> ok@dest.test: RCPT accepted (got: $r)" "$(transcript ok1)" "$(tailf "$OLOG" 5)" "$(tailf "$T/maillog" 8)" ;;
esac
if wait_for "$WAIT" in_sink ok@dest.test; then
	fb=$(feedback_ids ok@dest.test)
	if [ "$fb" = "Feedback-ID: acct1:outpost" ]; then
		ok "ok@dest.test delivered, the message carries exactly one \"$fb\""
	else
		notok "ok@dest.test's message carries one \"Feedback-ID: acct1:outpost\" (got: ${fb:-none})" \
			"$(sed -n '1,/^\r*$/p' "$(message_of ok@dest.test)")"
	fi
else
	notok "acct1 -> ok@dest.test delivered to the sink within ${WAIT}s" "$(tailf "$T/maillog")" "sink: $(tailf "$T/sink.log")"
fi

# ---------------------------------------------------------------- 3. paused account: 4xx at MAIL FROM
send paused acct2 b@app.test retry@dest.test
r=$(mail_reply paused b@app.test)
case $r in
"450 4.7.1 Sending paused for account acct2 since "*": bounce rate too high")
	ok "acct2 (paused): MAIL FROM refused with $r" ;;
*) notok "acct2 (paused): MAIL FROM 450 4.7.1 Sending paused for account acct2 since ...: bounce rate too high (got: $r)" \
	"$(transcript paused)" "$(tailf "$OLOG" 5)" ;;
esac
if [ -z "$(queued_id paused)" ] && ! grep -q -- '-> RCPT TO:<retry@dest.test>' "$T/swaks.paused"; then
	ok "acct2 (paused): refused before any recipient, nothing queued"
else
	notok "acct2 (paused): refused before RCPT, nothing queued" "$(transcript paused)"
fi

# ---------------------------------------------------------------- 4. one good, two suppressed
send multi acct1 a@app.test good@dest.test,supp@dest.test,x@blocked.test
r_good=$(rcpt_reply multi good@dest.test)
r_supp=$(rcpt_reply multi supp@dest.test)
r_blk=$(rcpt_reply multi x@blocked.test)
qid_multi=$(queued_id multi)
m_ok=1
case $r_good in 250*) ;; *) m_ok=0 ;; esac
case $r_supp in
"550 5.7.1 <supp@dest.test> is on the account acct1 suppression list (bounce since "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"); not sent") ;;
*) m_ok=0 ;;
esac
case $r_blk in
"550 5.7.1 <x@blocked.test> is on the global suppression list ("*" since "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"); not sent") ;;
*) m_ok=0 ;;
esac
[ -n "$qid_multi" ] || m_ok=0
if [ $m_ok = 1 ]; then
	ok "acct1 -> good@, supp@dest.test, x@blocked.test: good $r_good; supp $r_supp; blocked $r_blk; queued as $qid_multi"
else
	notok "acct1 -> good@ + supp@ + x@blocked: only the suppressed two refused (5xx), the message queued" \
		"good: $r_good" "supp: $r_supp" "blocked: $r_blk" "queue id: $qid_multi" "$(transcript multi)"
fi
if wait_for "$WAIT" in_sink good@dest.test; then
	fb=$(feedback_ids good@dest.test)
	if [ "$(delivered supp@dest.test)" = 0 ] && [ "$(delivered x@blocked.test)" = 0 ] &&
	   [ "$fb" = "Feedback-ID: acct1:outpost" ]; then
		ok "good@dest.test delivered with \"$fb\"; supp@dest.test and x@blocked.test not"
	else
		notok "good@dest.test delivered with Feedback-ID acct1:outpost, the suppressed ones not (Feedback-ID: ${fb:-none})" \
			"$(cat "$T/sink.log")"
	fi
else
	notok "good@dest.test delivered to the sink within ${WAIT}s" "$(tailf "$T/maillog")" "sink: $(tailf "$T/sink.log")"
fi

# ---------------------------------------------------------------- 5. no account: untouched
send unknown - someone@inbound.test in@dest.test,supp@dest.test
r1=$(rcpt_reply unknown in@dest.test)
r2=$(rcpt_reply unknown supp@dest.test)
case "$r1|$r2" in
250*"|"250*) ok "no SASL login, no mapping: both RCPTs accepted ($r1), even supp@dest.test (acct1's list)" ;;
*) notok "no account: RCPTs accepted (got: $r1 / $r2)" "$(transcript unknown)" ;;
esac
if wait_for "$WAIT" in_sink in@dest.test; then
	fb=$(feedback_ids in@dest.test)
	if [ -z "$fb" ]; then
		ok "the unmatched message was delivered without a Feedback-ID header"
	else
		notok "the unmatched message has no Feedback-ID (got: $fb)"
	fi
else
	notok "in@dest.test delivered within ${WAIT}s" "$(tailf "$T/maillog")"
fi

# ---------------------------------------------------------------- 6. outpostd's and Postfix's logs
pl=$(grep ' decision ' "$OLOG" | grep 'door=milter' | grep 'account=acct2 ' | grep 'from=<b@app.test>' | grep 'rule=paused')
case $pl in
*"action=tempfail reply=\"450 4.7.1 Sending paused for account acct2 since "*": bounce rate too high\"")
	if [ "$(printf '%s\n' "$pl" | grep -c .)" = 1 ]; then
		ok "outpostd logged the paused refusal once: $(echo "$pl" | sed 's/.*\(decision .*\) sasl=.*/\1/')"
	else
		notok "outpostd logged the paused refusal once (got $(printf '%s\n' "$pl" | grep -c .) lines)" "$pl"
	fi ;;
*) notok "outpostd log: decision ... door=milter account=acct2 ... rule=paused action=tempfail reply=\"450 4.7.1 ...\" (got: $pl)" \
	"$(grep decision "$OLOG")" ;;
esac
sl=$(grep ' decision ' "$OLOG" | grep "queue_id=$qid_multi " | grep 'door=milter' | grep 'rule=suppressed')
n_sl=$(printf '%s' "$sl" | grep -c .)
qid_rejected() {
	grep -q "$qid_multi: milter-reject: RCPT from .*: 550 5\.7\.1 <supp@dest.test> is on the account acct1 suppression list" "$T/maillog" &&
	grep -q "$qid_multi: milter-reject: RCPT from .*: 550 5\.7\.1 <x@blocked.test> is on the global suppression list" "$T/maillog"
}
if [ -n "$qid_multi" ] && [ "$n_sl" = 2 ] &&
   printf '%s\n' "$sl" | grep -q 'rcpt=<supp@dest.test> .*action=reject reply="550 5.7.1 ' &&
   printf '%s\n' "$sl" | grep -q 'rcpt=<x@blocked.test> .*action=reject reply="550 5.7.1 ' &&
   wait_for "$WAIT" qid_rejected; then
	ok "outpostd logged both suppressed refusals once with Postfix's queue id $qid_multi (Postfix logged milter-reject with the same id)"
else
	notok "outpostd log: two decision lines queue_id=$qid_multi door=milter rule=suppressed; Postfix: milter-reject lines" \
		"outpostd ($n_sl): $sl" "$(grep decision "$OLOG")" "postfix: $(grep 'milter-reject' "$T/maillog")"
fi
if grep -q "milter-reject: MAIL from .*: 450 4\.7\.1 Sending paused for account acct2" "$T/maillog" &&
   grep -q "sasl_method=XCLIENT, sasl_username=acct1" "$T/maillog"; then
	ok "Postfix logged the XCLIENT login and the milter's 450 4.7.1 at MAIL FROM"
else
	notok "Postfix log: sasl_username=acct1 and milter-reject: MAIL ... 450 4.7.1" "$(grep -E 'client=|milter' "$T/maillog")"
fi
if command -v mdb_dump >/dev/null 2>&1; then
	rec_multi() { has_record "$qid_multi 1 acct1 milter"; }
	if [ -n "$qid_multi" ] && wait_for 5 rec_multi; then
		ok "outpostd recorded $qid_multi (Postfix's queue id, macro i): 1 recipient, account acct1, by the milter"
	else
		notok "message record $qid_multi: 1 recipient, acct1, milter" "$(records)"
	fi
fi

# ---------------------------------------------------------------- 7. non-SMTP mail: sendmail(1) -t
# No SASL login here: cron@app.test is mapped to acct1.  The non_smtpd
# milter never refuses; it removes the suppressed recipient at end of message.
# submit ID FROM TO-HEADER: sendmail -C PF -f FROM -t with that To: header.
submit() {
	printf 'From: %s\nTo: %s\nSubject: outpost milter e2e %s\nMessage-Id: <%s.e2e@app.test>\n\nbody of %s\n' \
		"$2" "$3" "$1" "$1" "$1" |
		timeout "$WAIT" sendmail -C "$PF" -f "$2" -t >"$T/sendmail.$1" 2>&1
	echo $? >"$T/sendmail.$1.rc"
}
# pickup_qid MSGID-TAG: the queue id cleanup gave the message with that Message-Id.
pickup_qid() {
	sed -n "s/.* \([0-9A-Za-z]*\): message-id=<$1\.e2e@app\.test>.*/\1/p" "$T/maillog" | tail -n 1
}

submit ns1 cron@app.test "good-ns@dest.test, supp@dest.test"
rc=$(cat "$T/sendmail.ns1.rc")
if [ "$rc" = 0 ] && wait_for "$WAIT" in_sink good-ns@dest.test; then
	fb=$(feedback_ids good-ns@dest.test)
	if [ "$fb" = "Feedback-ID: acct1:outpost" ]; then
		ok "sendmail -t (cron@app.test -> acct1): good-ns@dest.test delivered with \"$fb\""
	else
		notok "sendmail -t: good-ns@dest.test's message carries Feedback-ID: acct1:outpost (got: ${fb:-none})"
	fi
else
	notok "sendmail -t (exit $rc): good-ns@dest.test delivered within ${WAIT}s" "$(cat "$T/sendmail.ns1")" \
		"$(tailf "$T/maillog")" "$(tailf "$OLOG" 5)"
fi
qid_ns1=$(pickup_qid ns1)
sleep 1
if [ -n "$qid_ns1" ] && ! grep -q "^to=<supp@dest.test> .* msgid=<ns1.e2e@app.test> " "$T/sink.log" &&
   [ "$(delivered cron@app.test)" = 0 ] && ! grep -q "$qid_ns1: to=<supp@dest.test>" "$T/maillog" &&
   grep -q "$qid_ns1: removed" "$T/maillog" &&
   ! grep -q "$qid_ns1: milter-\(reject\|hold\)" "$T/maillog"; then
	ok "sendmail -t: supp@dest.test removed from $qid_ns1 by the non-SMTP milter (not delivered, not bounced, no refusal)"
else
	notok "sendmail -t: supp@dest.test removed (queue id '$qid_ns1')" "sink: $(cat "$T/sink.log")" \
		"$(grep "$qid_ns1" "$T/maillog")"
fi

# Every recipient suppressed: the message goes on hold.
submit ns2 cron@app.test "supp@dest.test, y@blocked.test"
held_ns2() {
	q=$(pickup_qid ns2)
	[ -n "$q" ] && [ -f "$PFQ/hold/$q" ]
}
if wait_for "$WAIT" held_ns2; then
	q=$(pickup_qid ns2)
	hl=$(grep "$q: milter-hold: " "$T/maillog" | head -n 1 | sed 's/.*milter-hold: //')
	case $hl in
	*"all recipients suppressed"*) ok "sendmail -t, every recipient suppressed: $q on hold ($hl)" ;;
	# Postfix < 3.10 does not log the milter's quarantine reason.
	*": milter triggers HOLD action;"*) ok "sendmail -t, every recipient suppressed: $q on hold (Postfix $(postconf -c "$PF" -h mail_version) logs no reason: $hl)" ;;
	*) notok "sendmail -t, every recipient suppressed: milter-hold reason \"all recipients suppressed\" (got: $hl)" \
		"$(grep "$q" "$T/maillog")" ;;
	esac
else
	notok "sendmail -t, every recipient suppressed: message in the hold queue within ${WAIT}s" \
		"$(postqueue -c "$PF" -p 2>&1)" "$(tailf "$T/maillog")"
fi

# A paused account's non-SMTP mail: on hold, never refused.
submit ns3 paused-cron@app.test "held-ns@dest.test"
held_ns3() {
	q=$(pickup_qid ns3)
	[ -n "$q" ] && [ -f "$PFQ/hold/$q" ]
}
if wait_for "$WAIT" held_ns3; then
	ok "sendmail -t, paused acct2: $(pickup_qid ns3) on hold ($(grep "$(pickup_qid ns3): milter-hold: " "$T/maillog" | head -n 1 | sed 's/.*milter-hold: //'))"
else
	notok "sendmail -t, paused acct2: message in the hold queue within ${WAIT}s" \
		"$(postqueue -c "$PF" -p 2>&1)" "$(tailf "$T/maillog")"
fi
sleep 0.5
if [ "$(delivered held-ns@dest.test)" = 0 ] && [ "$(delivered y@blocked.test)" = 0 ]; then
	ok "nothing of the held messages reached the sink"
else
	notok "nothing of the held messages reached the sink" "$(cat "$T/sink.log")"
fi

# ---------------------------------------------------------------- 8. no milter trouble
probs=$(grep -E 'warning: .*milter|milter.*(timeout|unavailable|can.t read|protocol error)|Service unavailable' "$T/maillog")
if [ -z "$probs" ]; then
	ok "no milter trouble in Postfix's log (no timeouts, protocol warnings or default_action)"
else
	notok "milter trouble in Postfix's log" "$probs"
fi
restarts=$(ctl status --json 2>/dev/null | $PY -c '
import json, sys
o = json.loads(sys.stdin.read())
print(" ".join("%s:%s" % (w["kind"], w.get("restarts", 0)) for w in o["workers"] if w["kind"].startswith("milter")))
' 2>&1)
case " $restarts " in
*" milter:0 "*)
	case " $restarts " in
	*" milter-non-smtpd:0 "*) ok "outpostd's milters never restarted ($restarts)" ;;
	*) notok "outpostd's non-SMTP milter never restarted (got: $restarts)" "$(tailf "$OLOG")" ;;
	esac ;;
*) notok "outpostd's milter never restarted (got: $restarts)" "$(tailf "$OLOG")" ;;
esac
live=$(ctl status --json 2>/dev/null | $PY -c '
import json, sys
m = json.loads(sys.stdin.read())["live"]["milter"]
n = sum(v for cl in m["decisions"].values() for v in cl.values())
ok = n == m["latency"]["count"] > 0 and "4xx" in m["decisions"].get("paused", {}) and \
    "suppressed" in m["decisions"]
print("ok" if ok else "bad: %s" % json.dumps(m))
' 2>&1)
if [ "$live" = ok ]; then
	ok "status: the milter's decisions by rule (paused, suppressed) and its latency histogram count them all"
else
	notok "status: the milter's decisions by rule and latency" "$live"
fi

# ---------------------------------------------------------------- 9. outpostd stops; fail-closed without it
kill -TERM "$OUTPOSTD_PID" 2>/dev/null
i=0
while kill -0 "$OUTPOSTD_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
if kill -0 "$OUTPOSTD_PID" 2>/dev/null; then
	notok "outpostd exits on SIGTERM within 30s" "$(tailf "$OLOG")"
else
	wait "$OUTPOSTD_PID"
	rc=$?
	OUTPOSTD_PID=""
	if [ $rc = 0 ] && ! port_open "$MILTERPORT" && ! port_open "$NSMILTERPORT"; then
		ok "outpostd exits 0 on SIGTERM, its milters are gone"
	else
		notok "outpostd exits 0 on SIGTERM and its milter ports close (exit $rc)" "$(tailf "$OLOG")"
	fi
fi
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$OLOG"; then
	notok "no sanitizer report in outpostd's log" "$(grep -A20 -E 'Sanitizer|runtime error' "$OLOG" | head -40)"
fi
if [ -z "$OUTPOSTD_PID" ]; then
	send down acct1 a@app.test down@dest.test
	r=$(mail_reply down a@app.test)
	case $r in
	"451 4.7.1 "*)
		if [ -z "$(queued_id down)" ]; then
			ok "outpostd down: MAIL FROM $r (contrib's milter_default_action = tempfail), nothing queued"
		else
			notok "outpostd down: nothing queued" "$(transcript down)"
		fi ;;
	*) notok "outpostd down: MAIL FROM 451 4.7.1 (got: $r)" "$(transcript down)" "$(tailf "$T/maillog" 8)" ;;
	esac
fi

echo "# $(( $(date +%s) - START_TIME ))s"
DONE=1
exit 0
