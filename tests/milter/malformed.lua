-- malformed.lua -- absent, empty and odd macros and arguments never crash the filter.
--
-- Every step must get an answer; an unidentified message passes.  run.sh
-- then checks that the milter processes were not restarted.
dofile(mtlib)

local function any_reply(c, what)
	local r = mt.getreply(c)
	check(r == SMFIR_CONTINUE or r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL or r == SMFIR_REJECT,
	      what .. ": a reply (got " .. reply_name(r) .. ")")
end

-- No macros at all, no client address ("unspec", no {client_addr}), null
-- sender, no queue id at end of message.
local c = mt.connect(sock(port), 40, 0.25)
check(c ~= nil, "connect")
must(mt.conninfo(c, "unknown", "unspec"), "conninfo unspec")
expect(c, SMFIR_CONTINUE, "connect without an address")
must(mt.mailfrom(c, "<>"), "mailfrom <>")
expect(c, SMFIR_CONTINUE, "MAIL FROM:<> without macros")
must(mt.rcptto(c, "<good@dest.test>"), "rcptto")
expect(c, SMFIR_CONTINUE, "RCPT without macros")
must(mt.eom(c), "eom")
expect(c, SMFIR_CONTINUE, "EOM without i")
no_changes(c, "no macros, null sender", "good@dest.test")
mt.disconnect(c)

c = open(port)
-- Null sender with macros, empty {auth_authen}.
mail(c, "", "")
rcpt(c, "good@dest.test")
eom(c, nil)
no_changes(c, "empty {auth_authen}, null sender", "good@dest.test")
-- Empty queue id.
mail(c, "", nil)
rcpt(c, "supp@dest.test")
eom(c, "")
no_changes(c, "empty i", "supp@dest.test")
-- An identified account without a queue id: still answered (header optional).
mail(c, "noqid@app.test", "acct1")
rcpt(c, "good@dest.test")
eom(c, nil)
-- Bare and odd arguments (no brackets, junk, ESMTP parameters).
must(mt.macro(c, SMFIC_MAIL, "{auth_authen}", "acct1"), "macro")
must(mt.mailfrom(c, "bare@app.test", "SIZE=100", "BODY=8BITMIME"), "mailfrom bare")
any_reply(c, "MAIL FROM:bare@app.test SIZE=100 BODY=8BITMIME")
for _, r in ipairs({ "bare@dest.test", "<>", "<@>", "<a@>", "<@b.test>", "<<x@y>>", "<x@y", "",
                     "<\"quoted local\"@dest.test>", "<@relay.test:route@dest.test>",
                     "<" .. string.rep("l", 300) .. "@" .. string.rep("d", 300) .. ".test>",
                     "<%s%n%x@dest.test>", "<\001\127@dest.test>" }) do
	must(mt.rcptto(c, r, "NOTIFY=NEVER"), "rcptto " .. r)
	any_reply(c, "RCPT TO:" .. r)
end
eom(c, "QMAL1")
-- Abort in the middle of a transaction, then a clean one on the same connection.
mail(c, "ab@app.test", "acct1")
rcpt(c, "good@dest.test")
must(mt.abort(c), "abort")
mail(c, "after-abort@app.test", "acct3")
rcpt(c, "good@dest.test")
eom(c, "QMAL2")
header_is(c, "acct3:outpost", "after an abort, the next message's own account")
mt.disconnect(c)

-- Odd SASL logins: very long, format characters, spaces, control bytes,
-- non-ASCII, a long sender.
local logins = { string.rep("L", 400), "%s%s%s%n%n", "a b\tc", "ctl\001\027[0m", "ümlaut@Ex.test",
                 "acct1\n2026-11-24T00:00:00Z outpostd[1]: decision forged" }
for _, login in ipairs(logins) do
	c = open(port)
	must(mt.macro(c, SMFIC_MAIL, "{auth_authen}", login), "macro")
	must(mt.mailfrom(c, "<" .. string.rep("s", 1000) .. "@app.test>"), "mailfrom long")
	any_reply(c, "MAIL with {auth_authen} of " .. #login .. " bytes")
	-- Globally suppressed: refused and logged, with the login escaped.
	must(mt.rcptto(c, "<x@blocked.test>"), "rcptto")
	any_reply(c, "RCPT after an odd login")
	must(mt.macro(c, SMFIC_EOM_STAGE, "i", "QMALLOGIN"), "macro")
	must(mt.eom(c), "eom")
	any_reply(c, "EOM after an odd login")
	mt.disconnect(c)
end

-- A connection dropped in the middle of a transaction (no QUIT, no abort).
c = open(port)
mail(c, "drop@app.test", "acct1")
rcpt(c, "good@dest.test")
mt.disconnect(c, false)

-- The same on the non-SMTP listener: no macros, null sender, no i.
c = mt.connect(sock(nport), 40, 0.25)
check(c ~= nil, "connect non_smtpd")
must(mt.conninfo(c, "localhost", "unspec"), "conninfo")
expect(c, SMFIR_CONTINUE, "non_smtpd connect")
must(mt.mailfrom(c, "<>"), "mailfrom")
expect(c, SMFIR_CONTINUE, "non_smtpd MAIL FROM:<>")
must(mt.rcptto(c, "<supp@dest.test>"), "rcptto")
expect(c, SMFIR_CONTINUE, "non_smtpd RCPT")
must(mt.eom(c), "eom")
expect(c, SMFIR_CONTINUE, "non_smtpd EOM")
no_changes(c, "non_smtpd, no macros", "supp@dest.test")
mt.disconnect(c, false)

-- Still answering, both listeners.
c = open(port)
mail(c, "alive@app.test", "acct1")
rcpt(c, "supp@dest.test", SMFIR_REPLYCODE)
rcpt(c, "good@dest.test")
eom(c, "QALIVE1")
header_is(c, "acct1:outpost", "still answering")
mt.disconnect(c)
c = open(nport, "localhost", "127.0.0.1")
mail(c, "app@acct1.test", nil)
rcpt(c, "supp@dest.test")
rcpt(c, "good@dest.test")
eom(c, "QALIVE2")
check(deleted(c, "supp@dest.test"), "non_smtpd still deletes")
mt.disconnect(c)
