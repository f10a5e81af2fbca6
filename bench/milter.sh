#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 1: milter CPU per message, ses-milter against Debian's opendkim.
#
# Same corpus (4 KB messages), same RSA-2048 key, relaxed/relaxed, unix
# sockets, 2 concurrent connections, driven by bench/milterload (one
# milter-protocol load driver for both). CPU time is read from
# /proc/PID/stat of the milter process. ses-milter also does its rules and a
# suppression lookup (1,000,000 stored addresses when BENCH_SUPPRESS_N
# allows) for every recipient. Also reports ses-milter with ed25519.
. "$(dirname "$0")/lib.sh"
N=${BENCH_MILTER_N:-5000}
tmpdir_make
LOAD=$top_builddir/bench/milterload
[ -x "$LOAD" ] || { echo "build bench/milterload first (make bench)"; exit 1; }
command -v opendkim >/dev/null || { echo "opendkim is not installed"; exit 1; }

make_corpus "$T/msg.eml" 4096
openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
chmod 600 "$T/rsa.pem" "$T/ed.pem"

run_load() { # SOCKET PID
    "$LOAD" -s "$1" -f "$T/msg.eml" -n "$N" -c 2 -k 10 -p "$2"
}

# --- opendkim ---
cat > "$T/opendkim.conf" <<CONF
Syslog no
Mode s
KeyTable file:$T/keytable
SigningTable refile:$T/signingtable
Canonicalization relaxed/relaxed
Socket local:$T/opendkim.sock
UserID root
RequireSafeKeys no
Background no
CONF
echo "s1._domainkey.bench.example bench.example:s1:$T/rsa.pem" > "$T/keytable"
echo "*@bench.example s1._domainkey.bench.example" > "$T/signingtable"
opendkim -x "$T/opendkim.conf" -f > "$T/opendkim.log" 2>&1 &
ODK=$!
add_cleanup "kill $ODK 2>/dev/null"
wait_for 10 test -S "$T/opendkim.sock"
run_load "unix:$T/opendkim.sock" "$ODK" > "$T/odk.out"
kill $ODK
odk_cpu=$(awk '$1=="cpu_ms_per_msg"{print $2}' "$T/odk.out")
odk_rate=$(awk '$1=="msgs_per_sec"{print $2}' "$T/odk.out")
odk_sig=$(awk '$1=="dkim_signatures"{print $2}' "$T/odk.out")

# --- ses-milter ---
ses_milter_run() { # ALG KEY LABEL
    mkdir -p "$T/data"
    echo "s1._domainkey.bench.example bench.example:s1:$2" > "$T/keytable.ses"
    cat > "$T/ses.conf" <<CONF
Socket unix:$T/ses.sock
DataDirectory $T/data
Syslog no
LogLevel warning
KeyTable file:$T/keytable.ses
SigningTable refile:$T/signingtable
SignatureAlgorithm $1
Canonicalization relaxed/relaxed
RequireSafeKeys no
ConfigurationSet bench
RulesFile $T/rules
CONF
    cat > "$T/rules" <<RULES
sender *@billing.bench.example  set=transactional tags=team:billing route=ses
header List-Id:*                set=marketing
recipient *@example.net         tags=dest:example route=ses
RULES
    rm -f "$T/ses.sock"
    "$top_builddir/milter/ses-milter" -f -c "$T/ses.conf" > "$T/ses-$3.log" 2>&1 &
    SES=$!
    wait_for 10 test -S "$T/ses.sock" || { cat "$T/ses-$3.log"; return 1; }
    run_load "unix:$T/ses.sock" "$SES" > "$T/ses-$3.out"
    kill $SES; wait $SES 2>/dev/null
}
if [ -x "$top_builddir/relay/ses-suppress" ] && [ "${BENCH_SUPPRESS_N:-1000000}" -gt 0 ]; then
    mkdir -p "$T/data"
    /usr/bin/python3 -c "
import sys
for i in range(${BENCH_SUPPRESS_N:-1000000}): sys.stdout.write('user%d@suppressed.example,bounce\n' % i)" > "$T/supp.csv"
    printf 'DataDirectory %s\nSyslog no\n' "$T/data" > "$T/supp.conf"
    "$top_builddir/relay/ses-suppress" -c "$T/supp.conf" import "$T/supp.csv" >/dev/null 2>&1 ||
        echo "(suppression import failed: lookups run against an empty store)"
fi
ses_milter_run rsa-sha256 "$T/rsa.pem" rsa
ses_cpu=$(awk '$1=="cpu_ms_per_msg"{print $2}' "$T/ses-rsa.out")
ses_rate=$(awk '$1=="msgs_per_sec"{print $2}' "$T/ses-rsa.out")
ses_sig=$(awk '$1=="dkim_signatures"{print $2}' "$T/ses-rsa.out")
ses_milter_run ed25519-sha256 "$T/ed.pem" ed25519
ed_cpu=$(awk '$1=="cpu_ms_per_msg"{print $2}' "$T/ses-ed25519.out")
ed_rate=$(awk '$1=="msgs_per_sec"{print $2}' "$T/ses-ed25519.out")

result "milter.messages" "$N"
result "milter.opendkim.cpu_ms_per_msg" "$odk_cpu"
result "milter.opendkim.msgs_per_sec" "$odk_rate"
result "milter.opendkim.signatures" "$odk_sig"
result "milter.ses_milter.rsa.cpu_ms_per_msg" "$ses_cpu"
result "milter.ses_milter.rsa.msgs_per_sec" "$ses_rate"
result "milter.ses_milter.rsa.signatures" "$ses_sig"
result "milter.ses_milter.ed25519.cpu_ms_per_msg" "$ed_cpu"
result "milter.ses_milter.ed25519.msgs_per_sec" "$ed_rate"
r=$(ratio "$odk_cpu" "$ses_cpu")
result "milter.ratio.msgs_per_cpu_second" "${r}x (target >= 3x)"
