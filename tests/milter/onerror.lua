-- SPDX-License-Identifier: BSD-2-Clause
-- A suppression lookup that fails follows OnError; other recipients don't care.
dofile(srcdir .. "/tests/milter/tap.lua")

local conn = open("127.0.0.1")
local r = envelope(conn, {qid = "ERR1", from = "<a@example.com>",
                          rcpts = {"<broken@example.net>", "<fine@example.net>"}})
if onerror == "tempfail" then
    ok(r[1] == SMFIR_REPLYCODE,
       "OnError tempfail: a failed suppression lookup defers that recipient")
else
    ok(r[1] == SMFIR_CONTINUE,
       "OnError accept: a failed suppression lookup lets the recipient pass")
end
ok(r[2] == SMFIR_CONTINUE, "OnError " .. onerror .. ": other recipients are unaffected")
ok(wait_log(logfile, "suppression lookup of <broken@example.net> failed: .*%(OnError " .. onerror .. "%)", 5),
   "OnError " .. onerror .. ": the failure is logged")
mt.disconnect(conn)
