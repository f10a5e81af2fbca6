-- SPDX-License-Identifier: BSD-2-Clause
-- RulesFile outcomes become X-SES-* headers.
dofile(srcdir .. "/tests/milter/tap.lua")

local function send(qid, from, rcpt, headers)
    local conn = open("127.0.0.1")
    local h = {{"From", from}, {"Subject", "rules"}}
    for _, x in ipairs(headers or {}) do
        table.insert(h, x)
    end
    local _, eom = message(conn, {qid = qid, from = "<" .. from .. ">",
                                  rcpts = {"<" .. rcpt .. ">"}, headers = h})
    return conn, eom
end

local conn, eom = send("R1", "ann@billing.example.com", "b@example.net")
ok(added(conn, "X-SES-CONFIGURATION-SET") == "transactional",
   "sender rule sets the configuration set")
ok(added(conn, "X-SES-MESSAGE-TAGS") == "env=test, team=billing",
   "sender rule's tags are merged with MessageTags")
ok(added(conn, "X-SES-Route") == "ses", "route=ses adds X-SES-Route: ses")
ok(added(conn, "X-SES-TENANT") == "billing-tenant",
   "tenant= sets X-SES-TENANT")
mt.disconnect(conn)

conn, eom = send("R2", "news@example.com", "b@example.net",
                 {{"List-Id", "<weekly.example.com>"}})
ok(added(conn, "X-SES-CONFIGURATION-SET") == "marketing",
   "header rule sets the configuration set")
ok(added(conn, "X-SES-Route") == nil, "a rule without route= adds no route")
mt.disconnect(conn)

conn, eom = send(canary_in, "a@example.com", "x@canary.example")
ok(added(conn, "X-SES-Route") == "ses",
   "route=ses:50%: a queue id inside the share goes to SES")
mt.disconnect(conn)
conn, eom = send(canary_out, "a@example.com", "x@canary.example")
ok(added(conn, "X-SES-Route") == nil,
   "route=ses:50%: a queue id outside the share stays local")
mt.disconnect(conn)

conn, eom = send("R5", "a@example.com", "b@example.net")
ok(added(conn, "X-SES-CONFIGURATION-SET") == "default-set",
   "no rule: ConfigurationSet applies")
ok(added(conn, "X-SES-MESSAGE-TAGS") == "env=test", "no rule: MessageTags apply")
ok(added(conn, "X-SES-TENANT") == "default-tenant", "no rule: TenantName applies")
mt.disconnect(conn)

conn = open("127.0.0.1")
local _, e2 = message(conn, {qid = "R6", from = "<a@example.com>",
                             rcpts = {"<b@example.net>"},
                             headers = {{"From", "a@example.com"},
                                        {"X-SES-Route", "ses"}}})
ok(mt.eom_check(conn, MT_HDRDELETE, "X-SES-Route") and
   added(conn, "X-SES-Route") == "ses",
   "a trusted client's X-SES-Route: ses is added again, for milter_header_checks")
mt.disconnect(conn)
