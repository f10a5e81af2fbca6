-- SPDX-License-Identifier: BSD-2-Clause
-- RequireVerifiedSender at MAIL FROM, Sandbox at RCPT TO.
dofile(srcdir .. "/tests/milter/tap.lua")

local conn = open("127.0.0.1")
local r = envelope(conn, {qid = "ID1", from = "<someone@unverified.example>"})
ok(r.mail == SMFIR_REPLYCODE,
   "unverified envelope sender is refused at MAIL FROM")
mt.abort(conn)
r = envelope(conn, {qid = "ID2", from = "<Billing@Example.com>",
                    rcpts = {"<friend@gmail.example>",
                             "<success@simulator.amazonses.com>",
                             "<x@mail.example.org>"}})
ok(r.mail == SMFIR_CONTINUE, "verified address identity is accepted")
ok(r[1] == SMFIR_REPLYCODE, "Sandbox: an unverified recipient is refused")
ok(r[2] == SMFIR_CONTINUE, "Sandbox: the mailbox simulator is accepted")
ok(r[3] == SMFIR_CONTINUE,
   "Sandbox: a recipient under a verified domain's subdomain is accepted")
mt.abort(conn)
r = envelope(conn, {qid = "ID3", from = "<a@sub.example.org>"})
ok(r.mail == SMFIR_CONTINUE, "sender under a verified domain is accepted")
mt.abort(conn)
r = envelope(conn, {qid = "ID4", from = "<>"})
ok(r.mail == SMFIR_CONTINUE, "the null sender (bounces) is never refused")
mt.disconnect(conn)

-- Inbound mail: a client that is not trusted is not the site's own sender,
-- so neither RequireVerifiedSender nor Sandbox applies to it.
conn = open("192.0.2.80", "mx.elsewhere.example")
r = envelope(conn, {qid = "ID5", from = "<someone@unverified.example>",
                    rcpts = {"<friend@gmail.example>"}})
ok(r.mail == SMFIR_CONTINUE,
   "untrusted client: an unverified envelope sender is accepted (inbound mail)")
ok(r[1] == SMFIR_CONTINUE,
   "untrusted client: Sandbox does not refuse its recipients")
mt.disconnect(conn)
