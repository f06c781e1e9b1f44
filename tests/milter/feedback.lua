-- feedback.lua -- Feedback-ID: <account>:outpost added at end of message.
--
-- milter.feedback_id = "%a:outpost".  One header per message of an
-- identified account, with the exact value, whichever identity source named
-- the account; the queue ids QFB* are then checked in the store by run.sh
-- (message recorded: queue id -> account, recipient count).
dofile(mtlib)

local c = open(port)
-- SASL login.
mail(c, "fb1@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QFB1")
header_is(c, "acct1:outpost", "SASL login acct1")
check(not mt.eom_check(c, MT_HDRINSERT), "added, not inserted")
-- A new SASL login: auto-created, identified, tagged.
mail(c, "fb2@app.test", "newlogin")
rcpt(c, "a@dest.test")
rcpt(c, "b@dest.test")
eom(c, "QFB2")
header_is(c, "newlogin:outpost", "auto-created login newlogin")
-- Sender address mapping (sender:app@mapped.test -> acct3).
mail(c, "app@mapped.test", nil)
rcpt(c, "a@dest.test")
rcpt(c, "b@dest.test")
rcpt(c, "c@dest.test")
eom(c, "QFB3")
header_is(c, "acct3:outpost", "sender mapping")
-- Sender domain mapping (domain:mapped-domain.test -> acct4).
mail(c, "anyone@mapped-domain.test", nil)
rcpt(c, "a@dest.test")
eom(c, "QFB4")
header_is(c, "acct4:outpost", "sender domain mapping")
-- The SASL login comes before the sender mapping.
mail(c, "app@mapped.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QFB5")
header_is(c, "acct1:outpost", "SASL login before sender mapping")
mt.disconnect(c)

-- Client address mapping (cidr:192.0.2.0/24 -> acct5), from the connect
-- callback's address ...
c = open(port, "app-server.test", "192.0.2.7")
mail(c, "noreply@elsewhere.test", nil)
rcpt(c, "a@dest.test")
eom(c, "QFB6")
header_is(c, "acct5:outpost", "client address (connect)")
mt.disconnect(c)
-- ... or, with no address in the connect step, from the {client_addr} macro.
c = open(port, "app-server.test", "unspec", "192.0.2.8")
mail(c, "noreply@elsewhere.test", nil)
rcpt(c, "a@dest.test")
eom(c, "QFB7")
header_is(c, "acct5:outpost", "client address ({client_addr} macro)")
mt.disconnect(c)

-- The message the policy service already recorded (run.sh sent its
-- END-OF-MESSAGE for QONCE1 with recipient_count=7): still one record, the
-- policy's.  And QONCE2 is recorded here first (run.sh then sends the
-- policy's END-OF-MESSAGE for it).
c = open(port)
mail(c, "once@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QONCE1")
header_is(c, "acct1:outpost", "message the policy service saw first")
mail(c, "once@app.test", "acct1")
rcpt(c, "a@dest.test")
rcpt(c, "b@dest.test")
eom(c, "QONCE2")
header_is(c, "acct1:outpost", "message the milter sees first")
mt.disconnect(c)
