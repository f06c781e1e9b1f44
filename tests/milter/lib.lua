-- lib.lua -- helpers shared by Outpost's miltertest scripts.
--
-- Loaded by every script with dofile(mtlib); tests/milter/run.sh passes
--   -D mtlib=PATH-OF-THIS-FILE
--   -D port=N    outpostd's milter.listen port (smtpd mode)
--   -D nport=N   outpostd's milter.non_smtpd_listen port (non-SMTP mode)
--   -D hport=N   the second outpostd's milter.listen port (feedback_id "%h:outpost")
-- Every helper raises a Lua error on a failed expectation: miltertest then
-- exits non-zero and run.sh prints "FAIL NAME" with this output.
--
-- What the MTA side must do by hand here (miltertest never sends macros on
-- its own): {auth_authen} and {mail_addr} at MAIL, i at end of message --
-- the macros Postfix (milter_mail_macros, milter_end_of_data_macros) and
-- Sendmail (confMILTER_MACROS_ENVFROM, confMILTER_MACROS_EOM) are told to send.

mt.set_timeout(10)

-- miltertest (Debian 2.11.0~beta2) exits 1 on a script error without printing
-- it: print every error raised with error() (so by all the helpers below)
-- with its traceback first.
local lua_error = error
function error(msg, level)
	level = level or 1
	local where = level > 0 and debug.traceback("", level + 1) or ""
	io.stdout:write("error: " .. tostring(msg) .. where:gsub("\n", "\n#   ") .. "\n")
	io.stdout:flush()
	lua_error(msg, level > 0 and level + 1 or 0)
end
-- The same for errors raised inside miltertest's own functions (bad
-- arguments, "Buffer overflow", a filter that hung up, ...).
for name, fn in pairs(mt) do
	if type(fn) == "function" then
		mt[name] = function(...)
			local r = table.pack(pcall(fn, ...))
			if not r[1] then error("mt." .. name .. ": " .. tostring(r[2]), 2) end
			return table.unpack(r, 2, r.n)
		end
	end
end

-- Macro stage of end of message: not exported by miltertest, any type char works.
SMFIC_EOM_STAGE = string.byte("E")

local names = {
	[SMFIR_CONTINUE] = "continue", [SMFIR_REJECT] = "reject", [SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_ACCEPT] = "accept", [SMFIR_DISCARD] = "discard", [SMFIR_REPLYCODE] = "replycode (setreply)",
}

function reply_name(r)
	if r == nil then return "nil" end
	return names[r] or string.format("%q", string.char(math.floor(r)))
end

function sock(p)
	return "inet:" .. p .. "@127.0.0.1"
end

-- must(ERR, WHAT): a miltertest call returned nil (ok) or an error string.
function must(err, what)
	if err ~= nil then error(what .. ": " .. tostring(err), 2) end
end

-- expect(C, WANT, WHAT): the filter's last reply on C is WANT (an SMFIR_* value).
function expect(c, want, what)
	local r = mt.getreply(c)
	if r ~= want then
		error(string.format("%s: reply %s, want %s", what, reply_name(r), reply_name(want)), 2)
	end
end

-- check(COND, WHAT): plain assertion with a message.
function check(cond, what)
	if not cond then error("check failed: " .. what, 2) end
end

-- open(PORT, HOST, IP[, CLIENT_ADDR]): connect (40 tries, 0.25 s apart) and
-- send the SMTP connection.  IP "unspec" sends no address: the filter must
-- then use the {client_addr} connect macro, sent when CLIENT_ADDR is given.
function open(p, host, ip, client_addr)
	local c = mt.connect(sock(p), 40, 0.25)
	if c == nil then error("cannot connect to the milter at " .. sock(p), 2) end
	if client_addr then
		must(mt.macro(c, SMFIC_CONNECT, "j", "mta.outpost-test.test", "{client_addr}", client_addr),
		     "connect macros")
	else
		must(mt.macro(c, SMFIC_CONNECT, "j", "mta.outpost-test.test"), "connect macros")
	end
	must(mt.conninfo(c, host or "client.outpost-test.test", ip or "198.51.100.20"), "conninfo")
	expect(c, SMFIR_CONTINUE, "connect")
	return c
end

-- mail(C, FROM, AUTH, WANT): MAIL FROM:<FROM> with {auth_authen}=AUTH (nil: no
-- SASL login, the macro is not sent at all); the reply must be WANT
-- (default continue).  FROM is given without brackets ("" = null sender).
function mail(c, from, auth, want)
	if auth then
		must(mt.macro(c, SMFIC_MAIL, "{mail_addr}", from, "{auth_type}", "PLAIN", "{auth_authen}", auth),
		     "MAIL macros")
	else
		must(mt.macro(c, SMFIC_MAIL, "{mail_addr}", from), "MAIL macros")
	end
	must(mt.mailfrom(c, "<" .. from .. ">"), "mailfrom <" .. from .. ">")
	expect(c, want or SMFIR_CONTINUE, "MAIL FROM:<" .. from .. ">")
end

-- rcpt(C, TO, WANT): RCPT TO:<TO>; the reply must be WANT (default continue).
function rcpt(c, to, want)
	must(mt.macro(c, SMFIC_RCPT, "{rcpt_addr}", to), "RCPT macros")
	must(mt.rcptto(c, "<" .. to .. ">"), "rcptto <" .. to .. ">")
	expect(c, want or SMFIR_CONTINUE, "RCPT TO:<" .. to .. ">")
end

-- eom(C, QID, WANT): end of message with the queue id macro i=QID (nil: no
-- i at all); the reply must be WANT (default continue).
function eom(c, qid, want)
	if qid then must(mt.macro(c, SMFIC_EOM_STAGE, "i", qid), "EOM macros") end
	must(mt.eom(c), "eom")
	expect(c, want or SMFIR_CONTINUE, "end of message" .. (qid and (" (i=" .. qid .. ")") or ""))
end

-- feedback_id(C): the value of the Feedback-ID header the filter added at
-- the last end of message, or nil; fails if it added two.
function feedback_id(c)
	local v = mt.getheader(c, "Feedback-ID", 0)
	if mt.getheader(c, "Feedback-ID", 1) ~= nil then
		error("two Feedback-ID headers added", 2)
	end
	return v
end

-- header_is(C, VALUE): exactly one Feedback-ID: VALUE added (mt.eom_check MT_HDRADD).
function header_is(c, value, what)
	local got = feedback_id(c)
	if not mt.eom_check(c, MT_HDRADD, "Feedback-ID", value) then
		error(string.format("%s: Feedback-ID %q wanted, got %s", what, value,
			got and string.format("%q", got) or "none"), 2)
	end
end

-- smtp_reply(C): the reply code the filter set at the last end of message,
-- or nil.  (miltertest's MT_SMTPREPLY check needs at least the code.)
function smtp_reply(c)
	for _, code in ipairs({ "421", "450", "451", "452", "550", "551", "552", "553", "554" }) do
		if mt.eom_check(c, MT_SMTPREPLY, code) then return code end
	end
	return nil
end

-- no_changes(C, WHAT, RCPT...): the filter asked for nothing at the last end
-- of message (no header, no deletion of any of the RCPTs, no quarantine, no
-- reply).  miltertest can only check a deletion of a named recipient.
function no_changes(c, what, ...)
	check(not mt.eom_check(c, MT_HDRADD), what .. ": no header added (got Feedback-ID " ..
	      tostring(mt.getheader(c, "Feedback-ID", 0)) .. ")")
	check(not mt.eom_check(c, MT_HDRINSERT), what .. ": no header inserted")
	check(not mt.eom_check(c, MT_HDRCHANGE), what .. ": no header changed")
	for _, r in ipairs({ ... }) do
		check(not deleted(c, r), what .. ": " .. r .. " not deleted")
	end
	check(not mt.eom_check(c, MT_QUARANTINE), what .. ": not quarantined")
	check(smtp_reply(c) == nil, what .. ": no SMTP reply set (got " .. tostring(smtp_reply(c)) .. ")")
end

-- deleted(C, ADDR): smfi_delrcpt was called for ADDR (with or without <>).
function deleted(c, addr)
	return mt.eom_check(c, MT_RCPTDELETE, "<" .. addr .. ">") or mt.eom_check(c, MT_RCPTDELETE, addr)
end
