-- SPDX-License-Identifier: BSD-2-Clause
-- tap.lua - helpers for the miltertest scripts (loaded with dofile)
--
-- ok(cond, description) prints "ok - ..." or "not ok - ..."; tests/milter.sh
-- turns those lines into numbered TAP. message() plays one SMTP
-- transaction through a milter connection.

function ok(cond, desc)
    if cond then
        print("ok - " .. desc)
    else
        print("not ok - " .. desc)
    end
end

function must(err, what)
    if err ~= nil then
        error(what .. ": " .. tostring(err))
    end
end

-- A connection from ip (nil: a local submission) to the milter on sock.
function open(ip, host)
    local conn = mt.connect(sock, 50, 0.1)
    if conn == nil then
        error("cannot connect to " .. sock)
    end
    must(mt.conninfo(conn, host or "client.example", ip or "unspec"), "conninfo")
    return conn
end

-- Envelope only; returns the reply to each RCPT TO (list).
function envelope(conn, m)
    local replies = {}
    if m.qid then
        must(mt.macro(conn, SMFIC_MAIL, "i", m.qid, "{auth_authen}", m.auth or "",
                      "{daemon_name}", m.daemon or "mta.example"),
             "macro")
    end
    must(mt.mailfrom(conn, m.from), "mailfrom")
    replies.mail = mt.getreply(conn)
    if replies.mail ~= SMFIR_CONTINUE then
        return replies
    end
    for i, r in ipairs(m.rcpts or {}) do
        must(mt.rcptto(conn, r), "rcptto")
        replies[i] = mt.getreply(conn)
    end
    return replies
end

-- The rest of the message; returns the end-of-message reply.
function content(conn, m)
    for _, h in ipairs(m.headers or {}) do
        must(mt.header(conn, h[1], h[2]), "header " .. h[1])
    end
    must(mt.eoh(conn), "eoh")
    if not mt.test_option(conn, SMFIP_NOBODY) then
        must(mt.bodystring(conn, m.body or "Hello.\r\n"), "body")
    end
    must(mt.eom(conn), "eom")
    return mt.getreply(conn)
end

function message(conn, m)
    local replies = envelope(conn, m)
    if replies.mail ~= SMFIR_CONTINUE then
        return replies, nil
    end
    return replies, content(conn, m)
end

-- Header value added at end of message, without the leading blank.
function added(conn, name)
    local v = mt.getheader(conn, name, 0)
    if v == nil then
        return nil
    end
    return (string.gsub(v, "^%s+", ""))
end

-- Waits up to secs for pattern to appear in file (the milter's log).
function wait_log(file, pattern, secs)
    for _ = 1, secs * 10 do
        local f = io.open(file, "r")
        if f then
            local text = f:read("*a")
            f:close()
            if string.find(text, pattern) then
                return true
            end
        end
        mt.sleep(0.1)
    end
    return false
end

function write_file(path, text)
    local f = io.open(path, "w")
    f:write(text)
    f:close()
end
