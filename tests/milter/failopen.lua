-- SPDX-License-Identifier: BSD-2-Clause
-- OnError accept never lets an outside client's X-SES-* headers through:
-- when the milter fails on such a message it removes them, and when it
-- cannot know them all (more than it keeps) it defers the message.
dofile(srcdir .. "/tests/milter/tap.lua")

local long = "<" .. string.rep("a", 400) .. "@example.com>"
local function msg(qid, from, extra)
    local h = {{"From", "a@example.com"}, {"Subject", "fail open"}}
    for _, x in ipairs(extra) do
        table.insert(h, x)
    end
    return {qid = qid, from = from, rcpts = {"<b@example.net>"}, headers = h}
end
local evil = {{"X-SES-CONFIGURATION-SET", "attacker-set"},
              {"X-SES-SOURCE-ARN", "arn:aws:ses:us-east-1:1:identity/evil.example"}}
local flood = {}
for i = 1, 80 do -- 80 kB, more than the 64 kB the milter keeps
    table.insert(flood, {"X-SES-Filler-" .. i, string.rep("x", 1000)})
end
table.insert(flood, {"X-SES-SOURCE-ARN", "arn:aws:ses:us-east-1:1:identity/evil.example"})

local conn = open("192.0.2.90")
local _, eom = message(conn, msg("FAIL1", long, evil))
ok(eom == SMFIR_ACCEPT or eom == SMFIR_CONTINUE,
   "untrusted client, envelope sender over 320 bytes: accepted (OnError accept)")
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET") and
   mt.eom_check(conn, MT_HDRDELETE, "X-SES-SOURCE-ARN"),
   "... but without the client's X-SES-* headers")
ok(wait_log(logfile, "FAIL1: envelope sender longer than 320 bytes; message accepted without the client's X%-SES%-%* headers", 5),
   "... and the failure is logged")
mt.disconnect(conn)

conn = open("192.0.2.91")
_, eom = message(conn, msg("FAIL2", "<a@example.com>", flood))
ok(eom == SMFIR_REPLYCODE or eom == SMFIR_TEMPFAIL,
   "untrusted client with more X-SES-* headers than the milter keeps: deferred despite OnError accept")
ok(not mt.eom_check(conn, MT_HDRDELETE) and not mt.eom_check(conn, MT_HDRADD),
   "... and nothing is half done")
ok(wait_log(logfile, "FAIL2: more than 65536 bytes of X%-SES%-%* headers; message deferred: the untrusted client's X%-SES%-%* headers cannot all be removed", 5),
   "... and why is logged")
mt.disconnect(conn)

conn = open("127.0.0.1")
_, eom = message(conn, msg("FAIL3", "<a@example.com>", flood))
ok(eom == SMFIR_ACCEPT,
   "trusted client with that many X-SES-* headers: accepted unchanged (OnError accept)")
mt.disconnect(conn)
