-- paused.lua -- a paused account is tempfailed at MAIL FROM, before any recipient.
--
-- acct2 is paused ("bounce rate too high").  Its MAIL gets TEMPFAIL with
-- smfi_setreply (miltertest shows SMFIR_REPLYCODE; the text is checked in
-- outpostd's decision log by run.sh: 450 4.7.1 Sending paused for account
-- acct2 since <time>: bounce rate too high).  The refusal ends only that
-- transaction: the next MAIL on the same connection, of an active account,
-- goes on.
dofile(mtlib)

local c = open(port)
-- By SASL login.
mail(c, "paused-sasl@app.test", "acct2", SMFIR_REPLYCODE)
-- Same connection, next transaction: acct1 is active.
mail(c, "next@app.test", "acct1")
rcpt(c, "ok@dest.test")
eom(c, "QPAUSED1")
header_is(c, "acct1:outpost", "acct1 after acct2's refused MAIL")
-- By sender address (no SASL login): acct2 is mapped to app@paused.test.
mail(c, "app@paused.test", nil, SMFIR_REPLYCODE)
mt.disconnect(c)

-- A paused account is refused at MAIL even on a fresh connection whose client
-- address maps to another account: the SASL login comes first.
c = open(port, "mapped-net.test", "192.0.2.44")
mail(c, "paused-order@app.test", "acct2", SMFIR_REPLYCODE)
mt.disconnect(c)
