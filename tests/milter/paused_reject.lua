-- paused_reject.lua -- accounts.paused_action = "reject": 554 5.7.1 at MAIL FROM.
--
-- Runs against the second outpostd (hport), where acct2 is paused ("manual
-- review").  The reply code is checked in its decision log by run.sh.
dofile(mtlib)

local c = open(hport)
mail(c, "pr1@app.test", "acct2", SMFIR_REPLYCODE)
mail(c, "pr2@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QPR1")
check(not mt.eom_check(c, MT_QUARANTINE), "an active account's message is not quarantined")
mt.disconnect(c)
