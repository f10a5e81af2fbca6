-- SPDX-License-Identifier: BSD-2-Clause
-- Option negotiation: only the protocol steps ses-milter needs.
dofile(srcdir .. "/tests/milter/tap.lua")

local conn = open("127.0.0.1")
ok(mt.test_option(conn, SMFIP_NOHELO) and mt.test_option(conn, SMFIP_NODATA) and
   mt.test_option(conn, SMFIP_NOUNKNOWN), kind .. ": HELO, DATA and unknown commands are not sent")
ok(mt.test_action(conn, SMFIF_ADDHDRS) and mt.test_action(conn, SMFIF_CHGHDRS) and
   mt.test_action(conn, SMFIF_DELRCPT), kind .. ": may add and change headers and remove recipients")
if kind == "unix" then
    ok(mt.test_option(conn, SMFIP_NR_HDR) and mt.test_option(conn, SMFIP_NR_BODY) and
       mt.test_option(conn, SMFIP_NR_EOH) and mt.test_option(conn, SMFIP_NR_CONN),
       "unix socket: headers, body, end of headers and connect get no answer")
    ok(mt.test_option(conn, SMFIP_NOBODY), "unix socket without DKIM: the body is not sent")
else
    ok(not mt.test_option(conn, SMFIP_NR_HDR) and not mt.test_option(conn, SMFIP_NR_BODY),
       "TCP socket: every command is answered (no delayed-ACK waits)")
    ok(not mt.test_option(conn, SMFIP_NOBODY), "TCP socket with DKIM: the body is sent")
end
mt.disconnect(conn)
