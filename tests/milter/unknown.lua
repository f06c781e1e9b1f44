-- unknown.lua -- mail of no account (no SASL login, no mapping) passes untouched.
--
-- accounts.unmatched defaults to dunno: every step continues, even for
-- recipients on acct1's or the global suppression list (those lists are
-- about the platform's own senders, not inbound or local mail), and nothing
-- is changed at end of message: no Feedback-ID, no quarantine, no reply.
dofile(mtlib)

local c = open(port, "inbound.example.net", "203.0.113.9")
mail(c, "someone@unknown.test", nil)
rcpt(c, "good@dest.test")
rcpt(c, "supp@dest.test")
rcpt(c, "x@blocked.test")
eom(c, "QUNKNOWN1")
no_changes(c, "unmatched message", "good@dest.test", "supp@dest.test", "x@blocked.test")
-- A second message on the same connection, after one of acct1: the account
-- of the first must not stick to the second.
mail(c, "s2@app.test", "acct1")
rcpt(c, "good@dest.test")
eom(c, "QUNKNOWN2")
header_is(c, "acct1:outpost", "acct1's message")
mail(c, "other@unknown.test", nil)
rcpt(c, "supp@dest.test")
eom(c, "QUNKNOWN3")
no_changes(c, "unmatched message after acct1's", "supp@dest.test")
mt.disconnect(c)
