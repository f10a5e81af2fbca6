-- SPDX-License-Identifier: BSD-2-Clause
-- SIGHUP: new rules for new messages; a message in flight keeps its own.
dofile(srcdir .. "/tests/milter/tap.lua")

local m = {from = "<a@reload.example>", rcpts = {"<b@example.net>"},
           headers = {{"From", "a@reload.example"}}}
local conn = open("127.0.0.1")
m.qid = "HUP1"
local r = envelope(conn, m)
-- the message has started; now change the rules and reload
write_file(rulesfile, "sender *@reload.example set=after\n")
os.execute("kill -HUP " .. pid)
ok(wait_log(logfile, "configuration reloaded", 10), "SIGHUP reloads")
local eom = content(conn, m)
ok(added(conn, "X-SES-CONFIGURATION-SET") == "before",
   "a message begun before the reload keeps the old rules")
m.qid = "HUP2"
message(conn, m)
ok(added(conn, "X-SES-CONFIGURATION-SET") == "after",
   "the next message on the same connection gets the new rules")
mt.disconnect(conn)

write_file(rulesfile, "sender *@reload.example set=bad.name\n")
os.execute("kill -HUP " .. pid)
ok(wait_log(logfile, "reload failed, the previous configuration stays: .*rules:1: set=bad.name", 10),
   "a broken RulesFile is refused at reload with file:line")
conn = open("127.0.0.1")
m.qid = "HUP3"
message(conn, m)
ok(added(conn, "X-SES-CONFIGURATION-SET") == "after",
   "after a failed reload the previous rules still apply")
mt.disconnect(conn)
