-- quota.lua -- quotas with quota.front_door = "milter" (daemon B).
--
-- acct6 (sender app@quota.test) may send 3 recipients a day.  The first
-- message commits 2; in the second, q3 takes the last place and q4 is
-- tempfailed while q3 is still in flight (452 4.5.3, checked in B's log by
-- run.sh); that message is aborted, which gives q3's place back, so q5 in a
-- third message goes through.  run.sh then checks acct6's usage: 3 used,
-- nothing in flight.
dofile(mtlib)

local c = open(hport)
mail(c, "app@quota.test", nil)
rcpt(c, "q1@dest.test")
rcpt(c, "q2@dest.test")
eom(c, "QQUOTA1")
mail(c, "app@quota.test", nil)
rcpt(c, "q3@dest.test")
rcpt(c, "q4@dest.test", SMFIR_REPLYCODE)
must(mt.abort(c), "abort")
mail(c, "app@quota.test", nil)
rcpt(c, "q5@dest.test")
eom(c, "QQUOTA2")
mt.disconnect(c)
