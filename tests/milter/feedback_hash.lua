-- feedback_hash.lua -- milter.feedback_id = "%h:outpost": a hash, not the name.
--
-- Runs against the second outpostd (hport).  %h is 16 hex digits derived
-- from the account name: the same for every message of the account,
-- different for another account, and the name itself does not appear.
dofile(mtlib)

local pat = "^" .. string.rep("%x", 16) .. ":outpost$"
local c = open(hport)
mail(c, "h1@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QH1")
local h1 = feedback_id(c)
check(h1 ~= nil, "a Feedback-ID header was added")
check(h1:match(pat), string.format("Feedback-ID %q is 16 hex digits + \":outpost\"", h1))
check(not h1:find("acct1", 1, true), "the account name does not appear: " .. h1)
check(mt.eom_check(c, MT_HDRADD, "Feedback-ID", h1), "MT_HDRADD Feedback-ID " .. h1)

mail(c, "h2@app.test", "acct1")
rcpt(c, "a@dest.test")
eom(c, "QH2")
header_is(c, h1, "the same account, the same hash")

mail(c, "h3@app.test", "acct9")
rcpt(c, "a@dest.test")
eom(c, "QH3")
local h3 = feedback_id(c)
check(h3 ~= nil and h3:match(pat), "acct9's Feedback-ID is a hash: " .. tostring(h3))
check(h3 ~= h1, "another account, another hash (" .. h1 .. " vs " .. h3 .. ")")
mt.disconnect(c)
mt.echo("# Feedback-ID acct1 " .. h1 .. ", acct9 " .. h3)
