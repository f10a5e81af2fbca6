#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# kill -9 of processes using the store, wherever they are: in the middle
# of a transaction holding its locks, inside Berkeley DB holding a mutex
# or flushing the log. Eight processes (tests/store-user churn: writers
# holding a shared record's locks a while, readers looking up and
# walking, each opening and closing the store all the time); every 300 ms
# a writer is killed and replaced. No other process may wait forever
# (one whose wait only a dead process could end exits 75 after 10 s, as
# the programs do, and is replaced), none may fail otherwise, and every
# address a writer saw committed must be in the store afterwards, read by
# a process that opens it anew. Berkeley DB 5.3 alone left processes
# waiting forever here (in a lock wait, a log flush, a mutex).
# Then the plain case: one process waits for the locks of another killed
# while its transaction was open.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
mkdir "$T/store"
out=$("$top_builddir/tests/store-user" churn "$T/store" 8 20 2000 300 2>"$T/err")
rc=$?
sum=$(printf '%s\n' "$out" | grep '^workers=')
diag "$sum"
field() { printf '%s\n' "$sum" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
is "$rc" 0 "the churn ends: no process hung, failed or lost data"
is "$(field hung)" 0 "no process waits forever"
is "$(field failed)" 0 "no process fails other than with a temporary error"
is "$(field lost)" 0 "every committed address is in the store"
[ "$(field killed)" -gt 10 ]; ok $? "writers were killed (kill -9) while working"
[ "$(field checked)" -gt 100 ]; ok $? "... and others committed meanwhile"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/err" | grep -v '^# lost' | head -50

# A process that opened the store waits for the locks of one killed in
# the middle of a transaction (outside Berkeley DB). Usually its write
# fails temporarily after the lock timeouts and the next one, after a
# reopen that recovers the store, succeeds. Sometimes (seen in CI, more
# often under load) the write stays inside Berkeley DB until the stuck
# limit: the process exits 75, as the programs do, and the next process
# recovers the store. Either way: no wait forever, and the write lands.
mkdir "$T/lockwait"
printf 'DataDirectory %s\nSyslog no\n' "$T/lockwait" > "$T/lw.conf"
out=$("$top_builddir/tests/store-user" lockwait "$T/lockwait" 2>"$T/lw.err")
rc=$?
[ -s "$T/lw.err" ] && sed 's/^/# /' "$T/lw.err"
case $rc in
0) like "$out" "^stored after" "a write waiting for a killed process's locks succeeds after a temporary failure" ;;
75) diag "the write stayed inside Berkeley DB until the stuck limit: exit 75, a new process recovers"
    "$top_builddir/relay/ses-suppress" -c "$T/lw.conf" add held@example.com >/dev/null 2>&1
    is "$?" 0 "a write waiting for a killed process's locks ends (exit 75 when stuck) and a new process writes" ;;
*) is "$rc" "0 or 75" "a write waiting for a killed process's locks ends (exit 0, or 75 when stuck)" ;;
esac
"$top_builddir/relay/ses-suppress" -c "$T/lw.conf" check held@example.com >/dev/null 2>&1
is "$?" 0 "... and the address is in the store, read by a new process"
tap_done
