-- SPDX-License-Identifier: BSD-2-Clause
-- DKIM-Signature is inserted last; the shell verifies it with dkimpy.
dofile(srcdir .. "/tests/milter/tap.lua")

local headers = {{"From", "Alice <alice@example.com>"},
                 {"To", "bob@example.net"},
                 {"Subject", "signed by ses-milter"},
                 {"Date", "Wed, 25 Nov 2026 10:00:00 +0000"},
                 {"Message-ID", "<orig@example.com>"},
                 {"X-SES-CONFIGURATION-SET", "client-set"},
                 {"MIME-Version", "1.0"}}
local conn = open("127.0.0.1")
local _, eom = message(conn, {qid = "DKIM1", from = "<alice@example.com>",
                              rcpts = {"<bob@example.net>"}, headers = headers,
                              body = "Hello Bob,\r\n\r\nsigned.\r\n"})
ok(eom == SMFIR_CONTINUE, alg .. ": the message is accepted")
ok(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
   alg .. ": DKIM-Signature is inserted")
write_file(sigfile, mt.getheader(conn, "DKIM-Signature", 0) or "")
mt.disconnect(conn)

conn = open("127.0.0.1")
_, eom = message(conn, {qid = "DKIM2", from = "<x@unsigned.example>",
                        rcpts = {"<bob@example.net>"},
                        headers = {{"From", "x@unsigned.example"}}})
ok(eom == SMFIR_CONTINUE and not mt.eom_check(conn, MT_HDRINSERT),
   alg .. ": mail from a domain without a key is passed unsigned")
mt.disconnect(conn)
