-- nonsmtpd.lua -- the non_smtpd listener: never refuses, deletes and quarantines.
--
-- milter.non_smtpd_listen serves Postfix's non_smtpd_milters (sendmail(1),
-- pickup), where refusing a RCPT is a configuration error.  Postfix's
-- cleanup fakes the SMTP steps with client localhost/127.0.0.1 and no SASL
-- login; the account comes from the sender mapping (app@acct1.test -> acct1,
-- app@paused.test -> acct2 paused).  Every step continues; at end of message
-- the suppressed recipients are removed with smfi_delrcpt, a message with
-- none left is quarantined ("all recipients suppressed"), and so is the
-- message of a paused account.
dofile(mtlib)

local c = open(nport, "localhost", "127.0.0.1")
-- One good, two suppressed (account list, global domain).
mail(c, "app@acct1.test", nil)
rcpt(c, "good@dest.test")
rcpt(c, "supp@dest.test")
rcpt(c, "x@blocked.test")
eom(c, "QNS1")
check(deleted(c, "supp@dest.test"), "supp@dest.test deleted (MT_RCPTDELETE)")
check(deleted(c, "x@blocked.test"), "x@blocked.test deleted (MT_RCPTDELETE)")
check(not deleted(c, "good@dest.test"), "good@dest.test kept")
check(not mt.eom_check(c, MT_QUARANTINE), "a recipient is left: not quarantined")
check(smtp_reply(c) == nil, "no SMTP reply")
header_is(c, "acct1:outpost", "acct1's message")

-- Every recipient suppressed: both deleted, the message quarantined.
mail(c, "app@acct1.test", nil)
rcpt(c, "supp@dest.test")
rcpt(c, "z@blocked.test")
eom(c, "QNS2")
check(deleted(c, "supp@dest.test"), "supp@dest.test deleted")
check(deleted(c, "z@blocked.test"), "z@blocked.test deleted")
check(mt.eom_check(c, MT_QUARANTINE), "no recipient left: quarantined (MT_QUARANTINE)")
if mt.eom_check(c, MT_QUARANTINE, "all recipients suppressed") then
	mt.echo("# quarantine reason: \"all recipients suppressed\"")
elseif mt.eom_check(c, MT_QUARANTINE, "outpost: all recipients suppressed") then
	mt.echo("# quarantine reason: \"outpost: all recipients suppressed\"")
else
	error("quarantine reason is neither \"all recipients suppressed\" nor \"outpost: all recipients suppressed\"")
end

-- A paused account: never refused, quarantined at end of message.
mail(c, "app@paused.test", nil)
rcpt(c, "good@dest.test")
rcpt(c, "supp@dest.test")
eom(c, "QNS3")
check(mt.eom_check(c, MT_QUARANTINE), "paused account's message quarantined")
check(smtp_reply(c) == nil, "no SMTP reply")

-- Unmatched mail (a local cron job, say) passes untouched.
mail(c, "root@localhost", nil)
rcpt(c, "supp@dest.test")
eom(c, "QNS4")
no_changes(c, "unmatched non-SMTP message", "supp@dest.test")

-- Nothing suppressed: nothing deleted, the header added.
mail(c, "app@acct1.test", nil)
rcpt(c, "good@dest.test")
rcpt(c, "good2@dest.test")
eom(c, "QNS5")
check(not deleted(c, "good@dest.test") and not deleted(c, "good2@dest.test"), "nothing deleted")
check(not mt.eom_check(c, MT_QUARANTINE), "not quarantined")
header_is(c, "acct1:outpost", "acct1's clean message")
mt.disconnect(c)

-- Even a SASL-identified paused account is not refused on this listener.
c = open(nport, "localhost", "127.0.0.1")
mail(c, "x@app.test", "acct2")
rcpt(c, "good@dest.test")
eom(c, "QNS6")
check(mt.eom_check(c, MT_QUARANTINE), "paused (SASL) message quarantined")
mt.disconnect(c)
