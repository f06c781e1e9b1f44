-- suppressed.lua -- a suppressed recipient among good ones: only that one is refused.
--
-- acct1's list has supp@dest.test (bounce); the global list has @blocked.test
-- (complaint).  Each is refused at RCPT with REJECT + smfi_setreply (the
-- 550 5.7.1 text is checked in outpostd's log by run.sh); the recipients
-- around them go on, and the message itself goes through with acct1's
-- Feedback-ID and the accepted recipients counted.
dofile(mtlib)

local c = open(port)
mail(c, "s1@app.test", "acct1")
rcpt(c, "good1@dest.test")
rcpt(c, "supp@dest.test", SMFIR_REPLYCODE)
rcpt(c, "x@blocked.test", SMFIR_REPLYCODE)
-- Normalisation: the whole address is compared lower-case.
rcpt(c, "SUPP@Dest.TEST", SMFIR_REPLYCODE)
-- Not a subdomain of a domain entry, not another local part.
rcpt(c, "x@sub.blocked.test")
rcpt(c, "supp2@dest.test")
rcpt(c, "good2@dest.test")
eom(c, "QSUPP1")
header_is(c, "acct1:outpost", "acct1's message")
-- The MTA already refused those recipients: nothing to delete at EOM.
for _, r in ipairs({ "good1@dest.test", "supp@dest.test", "x@blocked.test", "good2@dest.test" }) do
	check(not deleted(c, r), "smtpd mode deletes no recipient at EOM (" .. r .. ")")
end
check(not mt.eom_check(c, MT_QUARANTINE), "message not quarantined")
mt.disconnect(c)

-- Another account's list does not apply: acct3 (mapped by sender) may send to
-- supp@dest.test, but not to the globally suppressed domain.
c = open(port)
mail(c, "app@mapped.test", nil)
rcpt(c, "supp@dest.test")
rcpt(c, "y@blocked.test", SMFIR_REPLYCODE)
eom(c, "QSUPP2")
header_is(c, "acct3:outpost", "acct3's message")
mt.disconnect(c)
