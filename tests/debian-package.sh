#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/debian: the package builds with dpkg-buildpackage -us -uc -b from
# a copy of the tree, holds what it should (dpkg -c), and - installed with
# dpkg into a throwaway overlay of this machine - creates the ses-milter
# user and group and /var/lib/ses-milter, lets postfix reach the milter's
# socket through its directory's group (not by joining group ses-milter,
# which RequireSafeKeys would refuse keys for),
# keeps /etc/ses-milter.conf as a conffile, and purges cleanly.
. "${top_srcdir:-.}/tests/lib.sh"
S=$top_srcdir

command -v dpkg-buildpackage >/dev/null 2>&1 || tap_skip_all "no dpkg-buildpackage (Debian package dpkg-dev)"
[ -x /usr/bin/dh ] || tap_skip_all "no debhelper (Debian package debhelper)"
tmpdir_make

version=$(sed -n '1s/^ses-milter (\([^)]*\)).*/\1/p' "$S/contrib/debian/changelog")
upstream=${version%-*}
src=$T/ses-milter-$upstream
mkdir -p "$src"
# A copy of the tree: the tracked files of a checkout, or the whole of a
# distribution tarball's tree.
if [ -d "$S/.git" ] || [ -f "$S/.git" ]; then
    (cd "$S" && git ls-files -z | xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$src"
else
    (cd "$S" && tar -cf - --exclude=node_modules --exclude='*.o' .) | tar -xf - -C "$src"
    (cd "$src" && { [ ! -f Makefile ] || make -s distclean >/dev/null 2>&1; })
fi
cp -r "$src/contrib/debian" "$src/debian"

start=$(date +%s)
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
diag "dpkg-buildpackage took $(( $(date +%s) - start )) s"
is "$rc" 0 "dpkg-buildpackage -us -uc -b builds the package"
[ "$rc" -eq 0 ] || { tail -30 "$T/build.log" | sed 's/^/# /'; tap_done; exit 1; }
deb=$(ls "$T"/ses-milter_"$version"_*.deb)
[ -f "$deb" ]; ok $? "the .deb is there ($(basename "$deb"))"

dpkg -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | sort > "$T/contents"
missing=""
for f in /usr/sbin/ses-milter /usr/sbin/ses-relay /usr/sbin/ses-feedback \
         /usr/sbin/ses-suppress /usr/sbin/ses-keygen /usr/sbin/ses-metrics \
         /etc/ses-milter.conf /etc/ses-milter \
         /usr/share/man/man5/ses-milter.conf.5.gz \
         /usr/share/man/man8/ses-milter.8.gz /usr/share/man/man8/ses-relay.8.gz \
         /usr/share/man/man8/ses-feedback.8.gz /usr/share/man/man8/ses-suppress.8.gz \
         /usr/share/man/man8/ses-keygen.8.gz /usr/share/man/man8/ses-metrics.8.gz \
         /lib/systemd/system/ses-milter.service /lib/systemd/system/ses-relay.service \
         /lib/systemd/system/ses-feedback.service /lib/systemd/system/ses-metrics.service \
         /usr/share/doc/ses-milter/copyright \
         /usr/share/doc/ses-milter/examples/ses-milter.conf.example; do
    grep -qx "$f" "$T/contents" || missing="$missing $f"
done
is "$missing" "" "dpkg -c: programs, configuration, man pages, units and examples are in the package"
odd=$(grep -Ev '^/(etc(/ses-milter(\.conf)?)?|lib(/systemd(/system(/ses-[a-z]+\.service)?)?)?|usr(/sbin(/ses-[a-z]+)?|/share(/man(/man[58](/ses-[a-z.]+\.[58]\.gz)?)?|/doc(/ses-milter(/.*)?)?|/lintian(/overrides(/ses-milter)?)?)?)?)?)?$' "$T/contents")
is "$odd" "" "dpkg -c: nothing in odd places"
dpkg-deb -e "$deb" "$T/control"
like "$(cat "$T/control/conffiles")" "^/etc/ses-milter.conf$" "/etc/ses-milter.conf is a conffile"
like "$(dpkg-deb -f "$deb" Depends)" "adduser" "the package depends on adduser"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/ses-milter.service > "$T/unit"
grep -q '^ExecStart=/usr/sbin/ses-milter -f -c /etc/ses-milter.conf$' "$T/unit"
ok $? "the units run /usr/sbin programs with /etc/ses-milter.conf"
sh -n "$T/control/postinst" && sh -n "$T/control/postrm"
ok $? "the maintainer scripts are valid sh"
if command -v lintian >/dev/null 2>&1; then
    # -I: informational tags too; what is deliberate is overridden, with
    # the reason, in contrib/debian/ses-milter.lintian-overrides
    lintian -I --tag-display-limit 0 "$deb" > "$T/lintian.out" 2>&1
    is "$(grep -E '^[EWI]: ' "$T/lintian.out")" "" \
        "lintian -I finds no error, warning or information tag"
else
    skip "lintian -I finds no error, warning or information tag" "lintian is not installed"
fi

# Install for real, into an overlay of / in a private mount namespace: the
# machine itself is not changed.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 ||
   ! unshare -m sh -c "mkdir -p $T/ov/u $T/ov/w $T/ov/m &&
        mount -t overlay overlay -o lowerdir=/,upperdir=$T/ov/u,workdir=$T/ov/w $T/ov/m" 2>/dev/null; then
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do skip "installation test $i" "needs root and overlay mounts"; done
    tap_done; exit $?
fi
rm -rf "$T/ov"; mkdir -p "$T/ov/u" "$T/ov/w" "$T/ov/m"
cp "$deb" "$T/pkg.deb"
cat > "$T/inside.sh" <<'INSIDE'
set -u
# a fresh machine: whatever this host has at /var/lib/ses-milter (the
# overlay hides it; the host itself is not touched) is not the package's
rm -rf /var/lib/ses-milter
echo "install: $(dpkg -i /pkg.deb >/tmp/dpkg.log 2>&1; echo $?)"
echo "user: $(getent passwd ses-milter | cut -d: -f1,6,7)"
echo "group: $(getent group ses-milter | cut -d: -f1)"
echo "datadir: $(stat -c '%U:%G %a' /var/lib/ses-milter)"
echo "etcdir: $(stat -c '%U:%G %a' /etc/ses-milter)"
echo "postfix-in-group: $(id -nG postfix 2>/dev/null | tr ' ' '\n' | grep -cx ses-milter)"
echo "spooldir: $(stat -c '%U:%G %a' /var/spool/postfix/ses-milter 2>&1)"
echo "check: $(/usr/sbin/ses-milter -n -c /etc/ses-milter.conf; echo $?)"
# a key as the README makes it, checked as the unit's ExecStartPre does
# (User=ses-milter): RequireSafeKeys accepts it while group ses-milter
# holds no one else, refuses it once postfix is in that group (as an
# earlier build's postinst did), and the upgrade takes postfix out again
keycheck() {
    setpriv --reuid=ses-milter --regid=ses-milter --init-groups \
        /usr/sbin/ses-milter -n -c /tmp/k.conf >/tmp/keycheck.out 2>&1
    rc=$?
    echo "keycheck-said: $(tr '\n' ' ' < /tmp/keycheck.out)" >> /tmp/keycheck.all
    echo $rc
}
install -d -o root -g ses-milter -m 0750 /etc/ses-milter/keys
/usr/sbin/ses-keygen -d example.com -s s1 -a ed25519 -D /etc/ses-milter/keys -u ses-milter >/dev/null 2>&1
chgrp ses-milter /etc/ses-milter/keys/s1.private && chmod 0640 /etc/ses-milter/keys/s1.private
sed 's|^DataDirectory.*|DataDirectory /var/lib/ses-milter|' /etc/ses-milter.conf > /tmp/k.conf
printf 'Domain example.com\nSelector s1\nKeyFile /etc/ses-milter/keys/s1.private\n' >> /tmp/k.conf
echo "key-accepted: $(keycheck)"
adduser --quiet postfix ses-milter
echo "key-postfix-in-group: $(keycheck) $(grep -c 'which has other members (e.g. \"postfix\")' /tmp/keycheck.out)"
echo "ChangedByAdmin yes" >> /etc/ses-milter.conf
echo "reinstall: $(dpkg -i /pkg.deb >/tmp/dpkg2.log 2>&1; echo $?)"
echo "upgrade-postfix-in-group: $(id -nG postfix 2>/dev/null | tr ' ' '\n' | grep -cx ses-milter)"
echo "key-after-upgrade: $(keycheck)"
cat /tmp/keycheck.all
echo "conffile-kept: $(grep -c '^ChangedByAdmin yes$' /etc/ses-milter.conf)"
echo "purge: $(dpkg --purge ses-milter >/tmp/dpkg3.log 2>&1; echo $?)"
echo "after-purge: $(ls -d /var/lib/ses-milter /usr/sbin/ses-milter /var/spool/postfix/ses-milter 2>/dev/null | wc -l)"
INSIDE
unshare -m sh -c "
    mount -t overlay overlay -o lowerdir=/,upperdir=$T/ov/u,workdir=$T/ov/w $T/ov/m &&
    mount --bind /proc $T/ov/m/proc && mount --bind /dev $T/ov/m/dev &&
    mount -t tmpfs tmpfs $T/ov/m/tmp && mount -t tmpfs tmpfs $T/ov/m/run &&
    cp $T/pkg.deb $T/ov/m/pkg.deb && cp $T/inside.sh $T/ov/m/inside.sh &&
    DEBIAN_FRONTEND=noninteractive chroot $T/ov/m sh /inside.sh
" > "$T/inside.out" 2>&1
r() { sed -n "s/^$1: //p" "$T/inside.out"; }
is "$(r install)" 0 "dpkg -i installs the package"
[ "$(r install)" = 0 ] || sed 's/^/# /' "$T/inside.out"
is "$(r user)" "ses-milter:/var/lib/ses-milter:/usr/sbin/nologin" "postinst creates the ses-milter system user"
is "$(r group)" "ses-milter" "postinst creates the ses-milter group"
is "$(r datadir)" "ses-milter:ses-milter 750" "postinst creates /var/lib/ses-milter for the user"
is "$(r etcdir)" "root:ses-milter 750" "/etc/ses-milter (keys, credentials) is readable by the group only"
if getent passwd postfix >/dev/null; then
    is "$(r postfix-in-group)" 0 \
        "postfix is not put in the ses-milter group (it would read keys and credentials, write the stores)"
    is "$(r spooldir)" "ses-milter:postfix 2750" \
        "postinst makes the milter's socket directory in Postfix's chroot, which Postfix reaches by its group"
else
    skip "postfix is not put in the ses-milter group" "no postfix user on this machine"
    skip "postinst makes the milter's socket directory" "no postfix user on this machine"
fi
is "$(r check)" 0 "the installed configuration passes ses-milter -n"
is "$(r reinstall):$(r conffile-kept)" "0:1" "reinstalling keeps the administrator's /etc/ses-milter.conf"
is "$(r key-accepted)" 0 \
    "RequireSafeKeys accepts a ses-keygen key of group ses-milter, mode 0640, checked as User=ses-milter"
[ "$(r key-accepted)" = 0 ] || r keycheck-said | sed 's/^/# /'
if getent passwd postfix >/dev/null; then
    is "$(r key-postfix-in-group)" "78 1" \
        "... and refuses it, naming postfix, once postfix is in group ses-milter (as opendkim would)"
    is "$(r upgrade-postfix-in-group):$(r key-after-upgrade)" "0:0" \
        "an upgrade takes postfix out of group ses-milter, and the key is accepted again"
else
    skip "RequireSafeKeys refuses it once postfix is in group ses-milter" "no postfix user on this machine"
    skip "an upgrade takes postfix out of group ses-milter" "no postfix user on this machine"
fi
is "$(r purge):$(r after-purge)" "0:0" "dpkg --purge removes the programs, /var/lib/ses-milter and the socket directory"

tap_done
