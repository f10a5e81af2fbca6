-- SPDX-License-Identifier: BSD-2-Clause
-- Only the site's own mail is signed and routed to SES: a client outside
-- TrustedHosts that is not authenticated (inbound mail from the internet)
-- gets no DKIM-Signature for a From at a domain the site signs, however
-- it spoofs it, and no X-SES-Route; trusted clients (TrustedHosts, SMTP
-- AUTH, TrustedDaemonNames, a local submission) get both.
dofile(srcdir .. "/tests/milter/tap.lua")

local function ceo(qid, extra)
    local m = {qid = qid, from = "<ceo@example.com>",
               rcpts = {"<staff@example.com>"},
               headers = {{"From", "CEO <ceo@example.com>"},
                          {"To", "staff@example.com"},
                          {"Subject", "wire the money today"},
                          {"X-SES-CONFIGURATION-SET", "attacker-set"}},
               body = "Please.\r\n"}
    for k, v in pairs(extra or {}) do
        m[k] = v
    end
    return m
end

local conn = open("192.0.2.66", "mail.attacker.example")
local _, eom = message(conn, ceo("SPOOF1"))
ok(eom == SMFIR_CONTINUE, "untrusted client: the message is accepted (inbound mail)")
ok(not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "untrusted client: a From at the signed domain gets no DKIM-Signature")
ok(added(conn, "X-SES-Route") == nil,
   "untrusted client: a route=ses rule does not send it to SES")
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET"),
   "untrusted client: its X-SES-CONFIGURATION-SET is removed")
ok(wait_log(logfile, "SPOOF1: from=<ceo@example.com> client=192.0.2.66 %(untrusted%) .*route=default %(untrusted client%) dkim=none %(untrusted client%)", 5),
   "untrusted client: the decision is logged")
mt.disconnect(conn)

conn = open("127.0.0.1", "localhost")
_, eom = message(conn, ceo("SIGN1"))
ok(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "TrustedHosts client: signed")
ok(added(conn, "X-SES-Route") == "ses", "TrustedHosts client: routed to SES by the rule")
ok(wait_log(logfile, "SIGN1: from=<ceo@example.com> client=127.0.0.1 %(trusted: TrustedHosts%)", 5),
   "TrustedHosts client: the reason is logged")
mt.disconnect(conn)

conn = open("192.0.2.67")
_, eom = message(conn, ceo("SIGN2", {auth = "ceo"}))
ok(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "SMTP-authenticated client outside TrustedHosts: signed")
mt.disconnect(conn)

conn = open("192.0.2.68")
_, eom = message(conn, ceo("SIGN3", {daemon = "ORIGINATING"}))
ok(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "mail received by a service in TrustedDaemonNames: signed")
mt.disconnect(conn)

conn = open("192.0.2.69")
_, eom = message(conn, ceo("SPOOF2", {daemon = "originating"}))
ok(not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "TrustedDaemonNames compares the service name exactly")
mt.disconnect(conn)

conn = open(nil, "localhost")
_, eom = message(conn, ceo("SIGN4"))
ok(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   "a connection without a client address (local submission): signed")
ok(wait_log(logfile, "SIGN4: .*%(trusted: local submission%)", 5),
   "local submission: the reason is logged")
mt.disconnect(conn)
