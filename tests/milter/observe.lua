-- SPDX-License-Identifier: BSD-2-Clause
-- Mode observe decides everything, logs it, and changes nothing.
dofile(srcdir .. "/tests/milter/tap.lua")

local conn = open("192.0.2.9")
local r, eom = message(conn, {qid = "OBS1", from = "<ann@billing.example.com>",
                              rcpts = {"<bounced@example.net>", "<b@example.net>"},
                              headers = {{"From", "Ann <ann@example.com>"},
                                         {"Subject", "observed"}}})
ok(r.mail == SMFIR_CONTINUE, "observe: an unverified sender is not refused")
ok(r[1] == SMFIR_CONTINUE, "observe: a suppressed recipient is not refused")
ok(eom == SMFIR_CONTINUE, "observe: the message is accepted")
ok(not mt.eom_check(conn, MT_HDRADD) and not mt.eom_check(conn, MT_HDRINSERT) and
   not mt.eom_check(conn, MT_HDRDELETE) and not mt.eom_check(conn, MT_HDRCHANGE) and
   not mt.eom_check(conn, MT_RCPTDELETE, "<bounced@example.net>"),
   "observe: no header or recipient is changed")
ok(wait_log(logfile, "observe: from=<ann@billing.example.com>: not a verified", 5),
   "observe: the sender decision is logged")
ok(wait_log(logfile, "OBS1: observe: from=<ann@billing.example.com> client=192.0.2.9 %(trusted: TrustedHosts%) rule=line 1 config%-set=transactional tenant=%(none%) tags=team=billing route=ses dkim=d=example.com s=s1 suppressed=1 untrusted%-x%-ses=0", 5),
   "observe: set, tags, route, signature and suppression are logged")
mt.disconnect(conn)
