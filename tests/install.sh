#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# make install puts programs in sbindir, the example configuration in
# sysconfdir (never over an existing ses-milter.conf), man pages in man5 and
# man8 - and nothing anywhere else. make uninstall takes it all back but a
# configuration the administrator changed.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir
D=$T/root
MAKE=${MAKE:-make}

$MAKE -s -C "$B" install DESTDIR="$D" >"$T/install.out" 2>&1
is "$?" 0 "make install DESTDIR=... succeeds"
(cd "$D" && find . -type f -o -type l | sed 's|^\./|/|' | sort) > "$T/tree"
diag "installed tree:" $(cat "$T/tree")

odd=$(grep -Ev '/sbin/ses-(milter|relay|feedback|suppress|keygen|metrics)$|/etc/ses-milter\.conf(\.example)?$|/man/man8/ses-(milter|relay|feedback|suppress|keygen|metrics)\.8$|/man/man5/ses-milter\.conf\.5$|/systemd/system/ses-(milter|relay|feedback|metrics)\.service$' "$T/tree")
is "$odd" "" "nothing is installed in odd places"
is "$(grep -c '/sbin/ses-' "$T/tree")" 6 "six programs in sbindir"
is "$(grep -c '/man/man8/' "$T/tree")" 6 "six pages in man8"
is "$(grep -c '/man/man5/ses-milter.conf.5$' "$T/tree")" 1 "ses-milter.conf(5) in man5"
conf=$(grep '/etc/ses-milter.conf$' "$T/tree")
[ -n "$conf" ] && grep -q '/etc/ses-milter.conf.example$' "$T/tree"
ok $? "the example and a first ses-milter.conf are in sysconfdir"
sbin=$(dirname "$(grep '/sbin/ses-milter$' "$T/tree")")
for p in ses-milter ses-relay ses-feedback ses-suppress ses-keygen ses-metrics; do
    [ -x "$D$sbin/$p" ] || echo "$p"
done > "$T/notexec"
is "$(cat "$T/notexec")" "" "the programs are executable"
"$D$sbin/ses-milter" -n -c "$D$conf"
is "$?" 0 "the installed configuration passes ses-milter -n"
is "$(stat -c %a "$D$conf")" 644 "ses-milter.conf is installed mode 0644"
man8=$(dirname "$(grep '/man8/ses-relay.8$' "$T/tree")")
out=$(MANWIDTH=80 man -l "$D$man8/ses-relay.8" 2>&1 | head -5 | tr -s " ")
like "$out" "ses-relay - deliver mail" "installed man pages open with man(1)"

# A changed configuration survives reinstalling and uninstalling.
echo "ConfigurationSet mine" >> "$D$conf"
$MAKE -s -C "$B" install DESTDIR="$D" >"$T/install2.out" 2>&1
is "$?" 0 "make install again succeeds"
like "$(tail -1 "$D$conf")" "^ConfigurationSet mine$" "reinstalling keeps an existing ses-milter.conf"
$MAKE -s -C "$B" uninstall DESTDIR="$D" >"$T/uninstall.out" 2>&1
is "$?" 0 "make uninstall succeeds"
left=$(cd "$D" && find . -type f | sed 's|^\./|/|')
is "$left" "$conf" "make uninstall leaves only the changed ses-milter.conf"

# An unchanged one goes with the package.
rm -rf "$D"
$MAKE -s -C "$B" install DESTDIR="$D" >/dev/null 2>&1
$MAKE -s -C "$B" uninstall DESTDIR="$D" >/dev/null 2>&1
is "$(cd "$D" && find . -type f | wc -l)" 0 "make uninstall removes an unchanged ses-milter.conf"

tap_done
