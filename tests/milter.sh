#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-milter through the milter protocol: miltertest (Debian's, the MTA
# side in Lua) plays each callback path against the real daemon, and the
# DKIM signatures are verified by dkimpy, an independent implementation.
# Also the daemon chores: -n, PidFile, SIGTERM, UserID, socket modes and
# TCP_NODELAY on inet sockets.
. "${top_srcdir:-.}/tests/lib.sh"
command -v miltertest >/dev/null 2>&1 || tap_skip_all "miltertest is not installed (Debian package miltertest)"
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3
M=$B/milter/ses-milter

# ---- fixtures ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
chmod 600 "$T/rsa.pem" "$T/ed.pem"
rsa_pub=$(openssl pkey -in "$T/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
ed_pub=$(openssl pkey -in "$T/ed.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
mkdir -p "$T/data"
"$B/tests/milter/supp-add" "$T/data" bounce bounced@example.net
"$B/tests/milter/supp-add" "$T/data" complaint Complained@Example.net
"$B/tests/milter/supp-add" "$T/data" bounce user@xn--bcher-kva.example
"$B/tests/milter/supp-add" "$T/data" bounce "idn@b$(printf '\303\274')cher.example"
ok $? "suppression list written through the store API"

# conf NAME LINES...: $T/NAME.conf for a milter on $T/NAME.sock
conf() {
    _n=$1; shift
    {
        echo "Socket unix:$T/$_n.sock"
        echo "LogFile $T/$_n.log"
        case " $* " in *" DataDirectory "*) ;; *) echo "DataDirectory $T/data" ;; esac
        for l in "$@"; do echo "$l"; done
    } > "$T/$_n.conf"
}

# start NAME: ses-milter -f on NAME's config; sets PID
start() {
    rm -f "$T/$1.sock"
    "$M" -f -c "$T/$1.conf" >> "$T/$1.out" 2>&1 &
    PID=$!
    add_cleanup "kill $PID 2>/dev/null"
    wait_for 10 test -S "$T/$1.sock" || { diag "ses-milter did not start:"; sed 's/^/# /' "$T/$1.out" "$T/$1.log"; }
    # the socket is bound before the keys are loaded: wait until it serves
    wait_for 10 grep -q "starting on" "$T/$1.log" 2>/dev/null
}

stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }

# lua NAME SCRIPT [-D name=value...]: runs a miltertest script against
# NAME's milter and reports its "ok"/"not ok" lines as TAP
lua() {
    _n=$1; _s=$2; shift 2
    _out=$(miltertest -s "$top_srcdir/tests/milter/$_s" -D "srcdir=$top_srcdir" \
        -D "sock=unix:$T/$_n.sock" -D "logfile=$T/$_n.log" -D "pid=$PID" "$@" 2>&1)
    _rc=$?
    printf '%s\n' "$_out" | while IFS= read -r line; do
        case $line in
        "ok - "*) echo "P ${line#ok - }" ;;
        "not ok - "*) echo "F ${line#not ok - }" ;;
        esac
    done > "$T/lua.res"
    while IFS= read -r r; do
        case $r in
        "P "*) ok 0 "${r#P }" ;;
        *) ok 1 "${r#F }" ;;
        esac
    done < "$T/lua.res"
    if [ $_rc -ne 0 ]; then
        ok 1 "$_s ran to the end"
        printf '%s\n' "$_out" | sed 's/^/# /'
        sed 's/^/# log: /' "$T/$_n.log"
    fi
}

# ---- header trust ----
conf trust "ConfigurationSet default-set" "MessageTags env:test" \
    "TrustedHosts 127.0.0.1" "TenantName default-tenant"
start trust
lua trust trust.lua

# ---- negotiation ----
lua trust negotiate.lua -D kind=unix
stop

# ---- only the site's own mail is signed and routed ----
echo "sender *@example.com route=ses" > "$T/spoof-rules"
conf spoof "Domain example.com" "Selector s1" "KeyFile $T/rsa.pem" \
    "TrustedHosts 127.0.0.1" "TrustedDaemonNames ORIGINATING" \
    "RulesFile $T/spoof-rules"
start spoof
lua spoof spoof.lua
stop

# ---- identities ----
conf ids "VerifiedIdentities billing@example.com, example.org" \
    "RequireVerifiedSender yes" "Sandbox yes"
start ids
lua ids identity.lua
stop

# ---- suppression ----
for action in reject discard observe; do
    conf "supp-$action" "SuppressionAction $action"
    start "supp-$action"
    lua "supp-$action" suppression.lua -D "action=$action"
    stop
done

# ---- a store that fails: OnError ----
# a record of an unknown version (written with Berkeley DB's own db_load)
# makes the lookup fail with STORE_PERMFAIL
mkdir -p "$T/cdata"
"$B/tests/milter/supp-add" "$T/cdata" bounce other@example.net
printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n broken@example.net\n \\ff\\00\\01\nDATA=END\n' |
    db_load -h "$T/cdata" suppression.db
ok $? "a corrupt suppression record is planted with db_load"
for onerror in tempfail accept; do
    conf "err-$onerror" "DataDirectory $T/cdata" "OnError $onerror"
    start "err-$onerror"
    lua "err-$onerror" onerror.lua -D "onerror=$onerror"
    stop
done

# ---- OnError accept: outside X-SES-* headers never pass ----
conf failopen "OnError accept" "TrustedHosts 127.0.0.1"
start failopen
lua failopen failopen.lua
stop

# ---- rules ----
cat > "$T/rules" <<'RULES'
# the rules of the milter tests
sender    *@billing.example.com  set=transactional tags=team:billing route=ses tenant=billing-tenant
recipient *@canary.example       route=ses:50%
header    List-Id:*              set=marketing
RULES
# two queue ids on either side of the 50 % canary (FNV-1a mod 100)
qids=$($PY -c '
def h(s):
    x = 2166136261
    for c in s.encode(): x = ((x ^ c) * 16777619) & 0xffffffff
    return x % 100
ins = [q for q in ("Q%04d" % i for i in range(100)) if h(q) < 50]
outs = [q for q in ("Q%04d" % i for i in range(100)) if h(q) >= 50]
print(ins[0], outs[0])')
conf rules "RulesFile $T/rules" "ConfigurationSet default-set" "MessageTags env:test" \
    "TenantName default-tenant"
start rules
lua rules rules.lua -D "canary_in=${qids% *}" -D "canary_out=${qids#* }"
stop

# ---- DKIM, verified by dkimpy as SES delivers the message ----
# verify SIGFILE ALG PUB: rebuilds the message with the signature, a new
# Message-ID and Date and without X-SES-* headers, and verifies it
verify() {
    $PY - "$1" "$2" "$3" <<'PYV'
import sys, dkim
sig, alg, pub = open(sys.argv[1]).read().strip(), sys.argv[2], sys.argv[3]
sel = "ed" if alg == "ed25519" else "s1"
msg = ("DKIM-Signature: " + sig.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
       "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
       "Subject: signed by ses-milter\r\n"
       "Date: Thu, 26 Nov 2026 08:00:00 +0000\r\n"
       "Message-ID: <010001-ses-rewritten@email.amazonses.com>\r\n"
       "MIME-Version: 1.0\r\n\r\nHello Bob,\r\n\r\nsigned.\r\n").encode()
rec = ("v=DKIM1; k=%s; p=%s" % ("ed25519" if alg == "ed25519" else "rsa", pub)).encode()
def dns(name, timeout=5):
    return rec if name.decode().startswith(sel + "._domainkey.example.com") else b""
print("valid" if dkim.verify(msg, dnsfunc=dns) else "invalid")
PYV
}
for alg in rsa ed25519; do
    key=$T/rsa.pem sel=s1 pub=$rsa_pub
    [ $alg = ed25519 ] && key=$T/ed.pem sel=ed pub=$ed_pub
    conf "dkim-$alg" "Domain example.com" "Selector $sel" "KeyFile $key"
    start "dkim-$alg"
    lua "dkim-$alg" dkim.lua -D "alg=$alg" -D "sigfile=$T/sig-$alg"
    stop
    is "$(verify "$T/sig-$alg" $alg "$pub")" valid \
        "$alg: dkimpy verifies the signature after SES replaces Message-ID and Date"
    sig=$(cat "$T/sig-$alg")
    like "$sig" "h=From:To:Subject:MIME-Version:From;" \
        "$alg: h= has no Date, Message-ID or X-SES-* and oversigns From"
done

# ---- observe ----
cat > "$T/obs-rules" <<'RULES'
sender *@billing.example.com set=transactional tags=team:billing route=ses
RULES
conf observe "Mode observe" "RulesFile $T/obs-rules" "TrustedHosts 192.0.2.9" \
    "VerifiedIdentities example.org" "RequireVerifiedSender yes" \
    "Domain example.com" "Selector s1" "KeyFile $T/rsa.pem"
start observe
lua observe observe.lua
stop

# ---- SIGHUP ----
echo "sender *@reload.example set=before" > "$T/reload-rules"
conf reload "RulesFile $T/reload-rules"
start reload
lua reload reload.lua -D "rulesfile=$T/reload-rules"
stop

# ---- -n checks the rules and keys too ----
printf 'sender *@a.example set=x\nsendr *@b set=y\n' > "$T/bad-rules"
conf badrules "RulesFile $T/bad-rules"
out=$("$M" -n -c "$T/badrules.conf" 2>&1); rc=$?
is "$rc" 78 "-n exits 78 on a broken RulesFile"
like "$out" "$T/bad-rules:2: unknown matcher \"sendr\"" "-n names the RulesFile line"
echo 'sender *@a.example tenant=acme' > "$T/v1-rules"
conf v1rules "RulesFile $T/v1-rules" "ApiVersion v1"
out=$("$M" -n -c "$T/v1rules.conf" 2>&1); rc=$?
is "$rc" 78 "-n exits 78 on tenant= with ApiVersion v1 (SES v1 has no tenants)"
like "$out" "$T/v1-rules:1: tenant= needs ApiVersion v2" "and names the rule's line"
conf v1tenant "TenantName acme" "ApiVersion v1"
out=$("$M" -n -c "$T/v1tenant.conf" 2>&1); rc=$?
is "$rc" 78 "-n exits 78 on TenantName with ApiVersion v1"
like "$out" "v1tenant.conf:4: TenantName needs ApiVersion v2" "and names the TenantName line"
cp "$T/rsa.pem" "$T/open.pem"; chmod 644 "$T/open.pem"
conf openkey "Domain example.com" "Selector s1" "KeyFile $T/open.pem"
out=$("$M" -n -c "$T/openkey.conf" 2>&1); rc=$?
is "$rc" 78 "-n exits 78 on a world-readable key (RequireSafeKeys)"
like "$out" "open.pem is readable or writable by every user" "-n says why the key is unsafe"

# ---- PidFile, SIGTERM, daemon mode ----
conf daemon "PidFile $T/daemon.pid"
"$M" -c "$T/daemon.conf"; rc=$?
is "$rc" 0 "without -f ses-milter goes to the background and the parent exits 0"
wait_for 10 test -s "$T/daemon.pid"; ok $? "PidFile is written"
dpid=$(cat "$T/daemon.pid" 2>/dev/null)
ok $(kill -0 "$dpid" 2>/dev/null; echo $?) "the pid in PidFile is the running daemon"
wait_for 10 test -S "$T/daemon.sock"
kill -TERM "$dpid"
wait_for 10 sh -c "! kill -0 $dpid"; ok $? "SIGTERM stops the daemon"
ok $(test ! -e "$T/daemon.pid"; echo $?) "PidFile is removed at exit"
like "$(cat "$T/daemon.log")" "stopped" "the stop is logged"

conf term
start term
kill -TERM "$PID"; wait "$PID"; rc=$?
is "$rc" 0 "SIGTERM: ses-milter -f exits 0"

# ---- UserID, socket permissions ----
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    mkdir -p "$T/userdata"; chown nobody "$T/userdata"
    cp "$T/rsa.pem" "$T/nobody.pem"; chown nobody "$T/nobody.pem"; chmod 600 "$T/nobody.pem"
    touch "$T/user.log"; chown nobody "$T/user.log"
    conf user "UserID nobody:$(id -gn nobody)" "SocketMode 0660" \
        "DataDirectory $T/userdata" "Domain example.com" "Selector s1" \
        "KeyFile $T/nobody.pem"
    start user
    uid=$(awk '/^Uid:/ {print $2, $3}' "/proc/$PID/status")
    is "$uid" "$(id -u nobody) $(id -u nobody)" "UserID: the daemon runs as nobody (real and effective)"
    is "$(stat -c '%U %a' "$T/user.sock")" "nobody 660" \
        "the unix socket belongs to UserID with SocketMode 0660"
    stop
else
    skip "UserID: the daemon runs as nobody" "needs root"
    skip "the unix socket belongs to UserID with SocketMode 0660" "needs root"
fi

# ---- inet socket: TCP_NODELAY on every accepted connection ----
port=$(free_port)
conf inet "LogLevel debug" "ConfigurationSet default-set" "TenantName default-tenant" \
    "Domain example.com" "Selector s1" "KeyFile $T/rsa.pem"
sed -i "s|^Socket .*|Socket inet:$port@127.0.0.1|" "$T/inet.conf"
out=$("$M" -n -c "$T/inet.conf" 2>&1); rc=$?
is "$rc:$out" "0:" "-n: libopendkim reaches the key cache through the seam (no warning)"
"$M" -f -c "$T/inet.conf" >> "$T/inet.out" 2>&1 &
PID=$!; add_cleanup "kill $PID 2>/dev/null"
wait_for 10 grep -q "starting on" "$T/inet.log"
out=$(miltertest -s "$top_srcdir/tests/milter/trust.lua" -D "srcdir=$top_srcdir" \
      -D "sock=inet:$port@127.0.0.1" -D "logfile=$T/inet.log" 2>&1)
like "$out" "ok - untrusted client: the message is accepted" "a message passes over an inet socket"
# The socket option itself, read from the milter's own descriptor of a
# connection it accepted (pidfd_getfd(2), Linux >= 5.6, as root).
nodelay=$("$PY" - "$PID" "$port" <<'PY'
import ctypes, os, socket, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
c = socket.create_connection(("127.0.0.1", port))
mine = "%04X" % c.getsockname()[1]
inode = None
for _ in range(50):    # the milter accepts it in its own time
    for line in open("/proc/net/tcp"):
        f = line.split()
        if f[1].endswith(":%04X" % port) and f[2].endswith(":" + mine) and f[3] == "01":
            inode = f[9]
    if inode:
        break
    time.sleep(0.1)
fd = None
for name in os.listdir("/proc/%d/fd" % pid):
    try:
        if os.readlink("/proc/%d/fd/%s" % (pid, name)) == "socket:[%s]" % inode:
            fd = int(name)
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
try:
    pidfd = os.pidfd_open(pid)
    got = libc.syscall(438, pidfd, fd, 0) if fd is not None else -1  # pidfd_getfd
except OSError:
    got = -1
if got < 0:
    print("unknown")
else:
    s = socket.socket(fileno=got)
    print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
PY
)
if [ "$nodelay" = unknown ]; then
    skip "TCP_NODELAY is set on accepted TCP connections" "pidfd_getfd(2) refused"
else
    is "$nodelay" True "TCP_NODELAY is set on accepted TCP connections (no 40 ms Nagle stall)"
fi
out=$(miltertest -s "$top_srcdir/tests/milter/negotiate.lua" -D "srcdir=$top_srcdir" \
      -D "sock=inet:$port@127.0.0.1" -D kind=tcp 2>&1)
like "$out" "ok - TCP socket: every command is answered" "TCP socket: every command is answered"
like "$out" "ok - TCP socket with DKIM: the body is sent" "TCP socket with DKIM: the body is sent"
kill -USR1 "$PID"
wait_for 10 grep -q "configuration reloaded" "$T/inet.log"
ok $? "SIGUSR1 reloads too (the route that needs no seam)"
kill -0 "$PID"; ok $? "... and the milter keeps running"
stop
# libmilter read each command head through the seam, and the macro and
# ABORT heads on TCP got their ACK at once
quick=$(sed -n 's/.*seam: \([0-9]*\) command heads read, \([0-9]*\) quick ACKs.*/\1 \2/p' "$T/inet.log")
heads=${quick% *}; quick=${quick#* }
[ "${heads:-0}" -gt 0 ] && [ "${quick:-0}" -gt 0 ]
ok $? "libmilter reads through the seam: macro and ABORT heads are ACKed at once ($heads heads, $quick quick ACKs)"
is "$(grep -c "does not wait through\|does not reach ses-milter's key cache" "$T/inet.log")" 0 \
    "the seam is in effect: no start-up warning about it"

tap_done
