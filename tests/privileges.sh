#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What root does before it drops to UserID cannot be turned against root by
# that user (SECURITY.md, "Privileges"): the service user owns the
# directories of PidFile, LogFile and the sockets, so it can put symbolic
# links there - a planted link is replaced or refused, never followed, and
# a socket swapped for a link between its creation and its chown is not
# chowned. UserID is applied fully (uid, gid, supplementary groups) or
# refused: a numeric UserID gets its passwd entry's group, ":group" alone
# and a uid without a passwd entry or group are configuration errors.
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (UserID, files owned by root)"
id nobody >/dev/null 2>&1 || tap_skip_all "no user nobody"
tmpdir_make
B=$top_builddir
M=$B/milter/ses-milter
R=$B/relay/ses-relay
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)

# the service user's directory, and root's files an attacker would want
mkdir -p "$T/run" "$T/data"
chown nobody "$T/run" "$T/data"
for v in v1 v2 v3 v4 v5 v6; do echo "root's $v" > "$T/$v"; chmod 600 "$T/$v"; done
victims() { for v in v1 v2 v3 v4 v5 v6; do stat -c "%n %U %a %s" "$T/$v"; done; }
before=$(victims)

conf() { # conf NAME LINES...
    _n=$1; shift
    { echo "Socket unix:$T/run/$_n.sock"; echo "DataDirectory $T/data"
      for l in "$@"; do echo "$l"; done; } > "$T/$_n.conf"
}

# ---- PidFile and LogFile ----
ln -s "$T/v1" "$T/run/m.pid.tmp"   # the temporary name
ln -s "$T/v2" "$T/run/m.pid"       # the pid file itself
ln -s "$T/v3" "$T/run/m.log"       # the log file
conf m "UserID nobody" "PidFile $T/run/m.pid" "LogFile $T/run/m.log"
"$M" -f -c "$T/m.conf" > "$T/m.out" 2>&1 &
MP=$!
add_cleanup "kill $MP 2>/dev/null"
wait_for 10 test -S "$T/run/m.sock"; ok $? "ses-milter starts with links planted in its run directory"
wait_for 10 test -f "$T/run/m.pid" -a ! -L "$T/run/m.pid"
is "$(cat "$T/run/m.pid" 2>/dev/null)" "$MP" "PidFile: the pid is written to a new file in place of the planted link"
is "$(cat "$T/v1") $(cat "$T/v2")" "root's v1 root's v2" \
    "PidFile: the files the links pointed to are not written (not truncated)"
is "$(cat "$T/v3")" "root's v3" "LogFile: the file a planted link points to gets no log line"
like "$(cat "$T/m.out")" "LogFile $T/run/m.log: a symbolic link: refused; logging to standard error" \
    "LogFile: the link is refused, and that is said where the log goes instead"
kill $MP; wait $MP 2>/dev/null
ln "$T/v4" "$T/run/h.log"
# (its socket cannot be created, so it stops right after opening the log)
printf 'Socket unix:%s/none/h.sock\nLogFile %s/run/h.log\n' "$T" "$T" > "$T/h.conf"
out=$("$M" -f -c "$T/h.conf" 2>&1)
is "$(cat "$T/v4")" "root's v4" "LogFile: a hard link to another file is not written"
like "$out" "LogFile $T/run/h.log: the file has another name \\(a hard link\\): refused" \
    "LogFile: ... and is refused"

# ---- sockets swapped for a link before their chown ----
# strace holds the chown system calls for 8 s; meanwhile the socket is
# replaced by a link to a root file, as the service user could do in its
# own directory. Followed, the link would give the file to UserID.
if command -v strace >/dev/null 2>&1 &&
   strace -o /dev/null true >/dev/null 2>&1; then
    swap() { # swap SOCKET VICTIM: once SOCKET exists, a link to VICTIM replaces it
        wait_for 20 test -S "$1" && rm -f "$1" && ln -s "$2" "$1"
    }
    # the traced program, then strace, which ends with it
    stop_traced() { kill -9 $(pgrep -P "$1") 2>/dev/null; wait "$1" 2>/dev/null; }
    DELAY="-e inject=chown,fchownat,lchown,chmod,fchmodat:delay_enter=8000000"
    conf s "UserID nobody" "SocketMode 0666"
    strace -f -o /dev/null $DELAY "$M" -f -c "$T/s.conf" > "$T/s.out" 2>&1 &
    SP=$!
    add_cleanup "kill $SP 2>/dev/null"
    swap "$T/run/s.sock" "$T/v5"; ok $? "the milter socket is replaced by a link while its chown waits"
    wait_for 20 sh -c "grep -q 'milter socket:\\|starting on' '$T/s.out'"
    is "$(stat -c '%U %a' "$T/v5")" "root 600" \
        "milter socket: the linked root file keeps its owner and mode"
    stop_traced $SP
    printf 'Region us-east-1\nRelaySocketOwner nobody\nSocketMode 0666\nDataDirectory %s\n' \
        "$T/data" > "$T/r.conf"
    strace -f -o /dev/null $DELAY "$R" -F -c "$T/r.conf" -l "unix:$T/run/r.sock" > "$T/r.out" 2>&1 &
    RP=$!
    add_cleanup "kill $RP 2>/dev/null"
    swap "$T/run/r.sock" "$T/v6"; ok $? "the LMTP socket is replaced by a link while its chown waits"
    wait_for 20 sh -c "grep -q 'socket' '$T/r.out'"
    is "$(stat -c '%U %a' "$T/v6")" "root 600" \
        "LMTP socket: the linked root file keeps its owner and mode"
    stop_traced $RP
else
    skip "milter socket swapped for a link" "strace missing or not permitted"
    skip "milter socket: the linked root file keeps its owner and mode" "no strace"
    skip "LMTP socket swapped for a link" "no strace"
    skip "LMTP socket: the linked root file keeps its owner and mode" "no strace"
fi
is "$(victims)" "$before" "no root file was changed"

# ---- UserID: all ids, or refused ----
ids() { awk '/^Uid:|^Gid:|^Groups:/ {$1=""; printf "%s;", $0}' "/proc/$1/status"; }
conf n1 "UserID :$(id -gn nobody)"
out=$("$M" -n -c "$T/n1.conf" 2>&1); rc=$?
is "$rc" 78 "UserID :group (no user) is a configuration error (78)"
like "$out" "names no user: the program would keep running as root" "... saying why"
conf n2 "UserID 4242"
out=$("$M" -n -c "$T/n2.conf" 2>&1); rc=$?
is "$rc" 78 "UserID with a uid that has no passwd entry and no group: 78"
like "$out" "uid 4242 has no passwd entry, so its group is unknown: give it as 4242:GROUP" "... saying what to write"
conf n3 "UserID $NOBODY"
"$M" -f -c "$T/n3.conf" > "$T/n3.out" 2>&1 &
P=$!
add_cleanup "kill $P 2>/dev/null"
wait_for 10 test -S "$T/run/n3.sock"; sleep 0.3
is "$(ids $P)" " $NOBODY $NOBODY $NOBODY $NOBODY; $NOGROUP $NOGROUP $NOGROUP $NOGROUP; $(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//');" \
    "numeric UserID $NOBODY: uid, the passwd entry's gid and its groups (no group root)"
kill $P; wait $P 2>/dev/null
conf n4 "UserID 4242:4343"
"$M" -f -c "$T/n4.conf" > "$T/n4.out" 2>&1 &
P=$!
add_cleanup "kill $P 2>/dev/null"
wait_for 10 test -S "$T/run/n4.sock"; sleep 0.3
is "$(ids $P)" " 4242 4242 4242 4242; 4343 4343 4343 4343; 4343;" \
    "UserID uid:gid without a passwd entry: exactly those ids, no other group"
kill $P; wait $P 2>/dev/null
printf 'Region us-east-1\nUserID %s\nDataDirectory %s\n' "$NOBODY" "$T/data" > "$T/rn.conf"
"$R" -F -c "$T/rn.conf" -l "unix:$T/run/rn.sock" > "$T/rn.out" 2>&1 &
P=$!
add_cleanup "kill $P 2>/dev/null"
wait_for 10 test -S "$T/run/rn.sock"; sleep 0.3
like "$(ids $P)" "^ $NOBODY $NOBODY $NOBODY $NOBODY; $NOGROUP $NOGROUP $NOGROUP $NOGROUP;" \
    "ses-relay -l with numeric UserID $NOBODY runs with its group, not root's"
kill $P; wait $P 2>/dev/null
tap_done
