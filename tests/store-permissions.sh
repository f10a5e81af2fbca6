#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The group rule of the store (README, "The stores"): one user creates the
# environment under any umask; another user of DataDirectory's group can
# read AND write it (Berkeley DB locking writes even for lookups); a user
# outside the group gets a clear temporary error, never a crash.
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || tap_skip_all "switching users needs root"
command -v setpriv >/dev/null 2>&1 || tap_skip_all "setpriv is not installed"
tmpdir_make
B=$top_builddir
D=$T/data
install -d -o root -g nogroup -m 2770 "$D"
printf 'DataDirectory %s\nSyslog no\nLogLevel warning\n' "$D" > "$T/ses.conf"
chmod 644 "$T/ses.conf"
as() { _u=$1 _g=$2; shift 2; setpriv --reuid "$_u" --regid "$_g" --clear-groups "$@"; }

(umask 077; "$B/relay/ses-suppress" -c "$T/ses.conf" add root@example.com --reason bounce)
ok $? "root creates the store with umask 077"
bad=$(find "$D" -type f ! -perm -0660 -o -type f ! -group nogroup | tr '\n' ' ')
is "$bad" "" "every file is group read-write and in the directory's group"
out=$(as nobody nogroup "$B/relay/ses-suppress" -c "$T/ses.conf" check root@example.com 2>&1); rc=$?
is "$rc" 0 "a user of the group reads it (check)"
as nobody nogroup "$B/relay/ses-suppress" -c "$T/ses.conf" add nobody@example.com 2>/dev/null
is $? 0 "a user of the group writes it (add)"
"$B/relay/ses-suppress" -c "$T/ses.conf" check nobody@example.com >/dev/null
is $? 0 "root sees what the other user wrote"
out=$(as daemon daemon "$B/relay/ses-suppress" -c "$T/ses.conf" check root@example.com 2>&1); rc=$?
is "$rc" 75 "a user outside the group gets a temporary error (75)"
like "$out" "Permission denied" "... that says why"
tap_done
