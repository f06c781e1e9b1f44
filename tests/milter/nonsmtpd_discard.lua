-- nonsmtpd_discard.lua -- milter.non_smtpd_empty = "discard" (daemon B).
--
-- On B's non_smtpd listener a message whose recipients are all suppressed is
-- discarded (SMFIR_DISCARD) instead of quarantined; a message with a
-- recipient left goes on as usual.  B: acct1 exists, sender mapping
-- app@acct1.test -> acct1, supp@dest.test suppressed for acct1.
dofile(mtlib)

local c = open(hnport, "localhost", "127.0.0.1")
mail(c, "app@acct1.test", nil)
rcpt(c, "supp@dest.test")
eom(c, "QND1", SMFIR_DISCARD)
check(not mt.eom_check(c, MT_QUARANTINE), "discarded, not quarantined")

mail(c, "app@acct1.test", nil)
rcpt(c, "good@dest.test")
rcpt(c, "supp@dest.test")
eom(c, "QND2")
check(deleted(c, "supp@dest.test"), "supp@dest.test deleted")
check(not deleted(c, "good@dest.test"), "good@dest.test kept")
check(not mt.eom_check(c, MT_QUARANTINE), "a recipient left: not quarantined")
mt.disconnect(c)
