-- paused_hold.lua -- reload in place to accounts.paused_action = "hold".
--
-- Runs against the second outpostd (hport), started with paused_action =
-- "reject"; run.sh has already rewritten its file with "hold" and passes
-- -D reload="outpostctl -c FILE reload".  A connection opened BEFORE the
-- reload must survive it (the milter reloads in place, SIGUSR1) and follow
-- the new configuration: the paused account's message then passes MAIL and
-- RCPT and is quarantined (Postfix: hold queue) at end of message; an active
-- account's message is not.
dofile(mtlib)

local c = open(hport)
mail(c, "ph0@app.test", "acct2", SMFIR_REPLYCODE)   -- still "reject"

check(reload ~= nil, "run.sh passes -D reload=COMMAND")
local okr = os.execute(reload .. " >/dev/null")
check(okr, "outpostctl reload succeeded")
-- The reload reaches the milter asynchronously: probe on other connections.
local switched = false
for _ = 1, 50 do
	local p = open(hport)
	must(mt.macro(p, SMFIC_MAIL, "{mail_addr}", "probe@app.test", "{auth_authen}", "acct2"), "macro")
	must(mt.mailfrom(p, "<probe@app.test>"), "mailfrom probe")
	local r = mt.getreply(p)
	mt.disconnect(p)
	if r == SMFIR_CONTINUE then switched = true break end
	mt.sleep(0.2)
end
check(switched, "the milter follows paused_action = hold within 10 s of the reload")

-- The connection opened before the reload still works, with the new rules.
mail(c, "ph1@app.test", "acct2")
rcpt(c, "a@dest.test")
rcpt(c, "b@dest.test")
eom(c, "QHOLD1")
check(mt.eom_check(c, MT_QUARANTINE), "paused account's message quarantined")
check(not deleted(c, "a@dest.test") and not deleted(c, "b@dest.test"), "no recipient deleted")
mail(c, "ph2@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QHOLD2")
check(not mt.eom_check(c, MT_QUARANTINE), "active account's message not quarantined")
mt.disconnect(c)
