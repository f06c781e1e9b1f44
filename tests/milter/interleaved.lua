-- interleaved.lua -- concurrent connections keep their own state.
--
-- libmilter runs the callbacks of different connections in parallel and
-- those of one connection on any thread: the account, recipients and
-- queue id of a transaction must not leak into another connection's.
dofile(mtlib)

local a = open(port)
local b = open(port, "app-server.test", "192.0.2.9")   -- acct5 by client address
local d = open(port)
mail(a, "ia@app.test", "acct1")
mail(b, "ib@elsewhere.test", nil)
mail(d, "app@paused.test", nil, SMFIR_REPLYCODE)
rcpt(a, "supp@dest.test", SMFIR_REPLYCODE)   -- acct1's list
rcpt(b, "supp@dest.test")                    -- not acct5's
rcpt(a, "good@dest.test")
rcpt(b, "x@blocked.test", SMFIR_REPLYCODE)   -- global
mail(d, "id@app.test", "acct3")
rcpt(d, "supp@dest.test")
eom(b, "QIB1")
eom(a, "QIA1")
eom(d, "QID1")
header_is(a, "acct1:outpost", "connection a")
header_is(b, "acct5:outpost", "connection b")
header_is(d, "acct3:outpost", "connection d")
mt.disconnect(a)
mt.disconnect(b)
mt.disconnect(d)

-- Many connections at once, each with its own account.
local conns = {}
for i = 1, 20 do
	conns[i] = open(port)
	mail(conns[i], "many" .. i .. "@app.test", "many" .. i)
end
for i = 20, 1, -1 do
	rcpt(conns[i], "good@dest.test")
	eom(conns[i], "QMANY" .. i)
	header_is(conns[i], "many" .. i .. ":outpost", "connection " .. i)
	mt.disconnect(conns[i])
end
