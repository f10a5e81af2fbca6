-- SPDX-License-Identifier: BSD-2-Clause
-- Suppressed recipients at RCPT TO: reject (default), discard, observe.
dofile(srcdir .. "/tests/milter/tap.lua")

local conn = open("127.0.0.1")
local r, eom = message(conn, {qid = "SUP" .. action, from = "<a@example.com>",
                              rcpts = {"<Bounced@Example.NET>",
                                       "<ok@example.net>",
                                       "<complained@example.net>"},
                              headers = {{"From", "a@example.com"}}})
if action == "reject" then
    ok(r[1] == SMFIR_REPLYCODE,
       "reject: a bounced recipient is refused (case-insensitive)")
    ok(r[2] == SMFIR_CONTINUE, "reject: the other recipient is accepted")
    ok(r[3] == SMFIR_REPLYCODE, "reject: a complained recipient is refused")
    ok(eom == SMFIR_CONTINUE and
       not mt.eom_check(conn, MT_RCPTDELETE, "<ok@example.net>"),
       "reject: the message goes on with the accepted recipient")
    mt.disconnect(conn)
    -- stored as SES reports it (A-label), written by the sender as U-label
    conn = open("127.0.0.1")
    r = message(conn, {qid = "SUPIDN", from = "<a@example.com>",
                       rcpts = {"<User@B\195\188cher.example>",
                                "<idn@xn--bcher-kva.example>"},
                       headers = {{"From", "a@example.com"}}})
    ok(r[1] == SMFIR_REPLYCODE,
       "reject: a U-label recipient matches its A-label entry")
    ok(r[2] == SMFIR_REPLYCODE,
       "reject: an A-label recipient matches an entry added as U-label")
elseif action == "discard" then
    ok(r[1] == SMFIR_CONTINUE and r[3] == SMFIR_CONTINUE,
       "discard: suppressed recipients are accepted at RCPT TO")
    ok(mt.eom_check(conn, MT_RCPTDELETE, "<Bounced@Example.NET>") and
       mt.eom_check(conn, MT_RCPTDELETE, "<complained@example.net>"),
       "discard: they are removed at end of message")
    ok(not mt.eom_check(conn, MT_RCPTDELETE, "<ok@example.net>"),
       "discard: the other recipient stays")
    mt.disconnect(conn)
    conn = open("127.0.0.1")
    r, eom = message(conn, {qid = "SUPALL", from = "<a@example.com>",
                            rcpts = {"<bounced@example.net>"},
                            headers = {{"From", "a@example.com"}}})
    ok(eom == SMFIR_DISCARD,
       "discard: a message whose recipients are all suppressed is discarded")
else
    ok(r[1] == SMFIR_CONTINUE and r[3] == SMFIR_CONTINUE,
       "observe: suppressed recipients are accepted")
    ok(not mt.eom_check(conn, MT_RCPTDELETE, "<Bounced@Example.NET>") and
       not mt.eom_check(conn, MT_RCPTDELETE, "<complained@example.net>"),
       "observe: no recipient is removed")
    ok(wait_log(logfile, "to=<Bounced@Example.NET>: on the suppression list %(bounce%): accepted %(SuppressionAction observe%)", 5),
       "observe: the suppression hit is logged")
end
mt.disconnect(conn)
