-- SPDX-License-Identifier: BSD-2-Clause
-- X-SES-* header trust: untrusted clients' headers go, trusted ones stay.
dofile(srcdir .. "/tests/milter/tap.lua")

local function msg(qid, extra)
    local h = {{"From", "a@example.com"}, {"Subject", "trust"}}
    for _, x in ipairs(extra) do
        table.insert(h, x)
    end
    return {qid = qid, from = "<a@example.com>", rcpts = {"<b@example.net>"},
            headers = h}
end

local conn = open("192.0.2.7")
local _, eom = message(conn, msg("TRUST1", {
    {"X-SES-CONFIGURATION-SET", "evil"},
    {"X-SES-TENANT", "someone-else"},
    {"X-SES-SOURCE-ARN", "arn:aws:ses:us-east-1:1:identity/evil.example"},
    {"X-Ses-Source-Arn", "arn:aws:ses:us-east-1:1:identity/evil2.example"}}))
ok(eom == SMFIR_CONTINUE, "untrusted client: the message is accepted")
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET"),
   "untrusted client: its X-SES-CONFIGURATION-SET is removed")
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-SOURCE-ARN") or
   mt.eom_check(conn, MT_HDRDELETE, "X-Ses-Source-Arn"),
   "untrusted client: its X-SES-SOURCE-ARN headers are removed")
ok(added(conn, "X-SES-CONFIGURATION-SET") == "default-set",
   "untrusted client: the configured set replaces the client's")
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-TENANT") and
   added(conn, "X-SES-TENANT") == "default-tenant",
   "untrusted client: its X-SES-TENANT is replaced by TenantName")
ok(added(conn, "X-SES-MESSAGE-TAGS") == "env=test",
   "untrusted client: the configured tags are added")
mt.disconnect(conn)

conn = open("192.0.2.7")
_, eom = message(conn, msg("TRUST2", {}))
ok(not mt.eom_check(conn, MT_HDRDELETE),
   "untrusted client without X-SES-* headers: nothing removed")
ok(added(conn, "X-SES-CONFIGURATION-SET") == "default-set",
   "untrusted client without X-SES-* headers: the set is added")
mt.disconnect(conn)

conn = open("127.0.0.1", "localhost")
_, eom = message(conn, msg("TRUST3", {
    {"X-SES-CONFIGURATION-SET", "client-set"},
    {"X-SES-TENANT", "client-tenant"},
    {"X-SES-SOURCE-ARN", "arn:aws:ses:us-east-1:1:identity/ok.example"}}))
ok(eom == SMFIR_CONTINUE, "trusted client: the message is accepted")
ok(not mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET") and
   not mt.eom_check(conn, MT_HDRADD, "X-SES-CONFIGURATION-SET"),
   "trusted client: its own X-SES-CONFIGURATION-SET is kept as it is")
ok(not mt.eom_check(conn, MT_HDRDELETE, "X-SES-TENANT") and
   not mt.eom_check(conn, MT_HDRADD, "X-SES-TENANT"),
   "trusted client: its own X-SES-TENANT is kept as it is")
ok(not mt.eom_check(conn, MT_HDRDELETE, "X-SES-SOURCE-ARN"),
   "trusted client: its other X-SES-* headers are kept")
mt.disconnect(conn)

conn = open("127.0.0.1", "localhost")
_, eom = message(conn, msg("TRUST4", {
    {"X-SES-CONFIGURATION-SET", "not a valid name!"},
    {"X-SES-MESSAGE-TAGS", "campaign=fall"}}))
ok(added(conn, "X-SES-CONFIGURATION-SET") == "default-set",
   "trusted client with an invalid set name: the configured set is used")
ok(added(conn, "X-SES-MESSAGE-TAGS") == "env=test, campaign=fall",
   "trusted client's tags are merged over the configured tags")
mt.disconnect(conn)

conn = open("192.0.2.8")
_, eom = message(conn, {qid = "TRUST5", auth = "alice", from = "<a@example.com>",
                        rcpts = {"<b@example.net>"},
                        headers = {{"X-SES-CONFIGURATION-SET", "auth-set"}}})
ok(not mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET"),
   "SMTP-authenticated client (TrustAuthenticated yes) keeps its header")
mt.disconnect(conn)

conn = open(nil, "localhost")
_, eom = message(conn, {qid = "TRUST6", from = "<a@example.com>",
                        rcpts = {"<b@example.net>"},
                        headers = {{"X-SES-CONFIGURATION-SET", "local-set"}}})
ok(not mt.eom_check(conn, MT_HDRDELETE, "X-SES-CONFIGURATION-SET"),
   "local submission (no client address) keeps its header")
mt.disconnect(conn)
