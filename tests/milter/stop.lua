-- stop.lua -- the last message before outpostd's SIGTERM.
--
-- run.sh runs this with -D apid=PID of outpostd A: right after the last
-- end of message the script sends SIGTERM to that PID itself (to leave the
-- milters no time for their periodic flush), then run.sh checks that QSTOP1
-- and QSTOP2 were recorded: the milters record messages in batches, and a
-- clean stop (libmilter's smfi_stop, then a last flush) must not lose the
-- last batch.
dofile(mtlib)

local c = open(port)
mail(c, "stop@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QSTOP1")
header_is(c, "acct1:outpost", "last smtpd-mode message")
mt.disconnect(c)
c = open(nport, "localhost", "127.0.0.1")
mail(c, "app@acct1.test", nil)
rcpt(c, "a@dest.test")
rcpt(c, "b@dest.test")
eom(c, "QSTOP2")
if apid then os.execute("kill -TERM " .. math.floor(tonumber(apid))) end
header_is(c, "acct1:outpost", "last non-SMTP message")
mt.disconnect(c)
