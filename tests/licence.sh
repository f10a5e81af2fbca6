#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every source file the project wrote names its licence: an SPDX line
# (BSD-2-Clause) near the top of code and scripts, at the end of the
# Markdown and plain-text documents. COPYING holds the text and
# contrib/debian/copyright says the same. Third-party data (AWS's example
# notifications and test vectors under tests/data) keeps its own licence.
. "${top_srcdir:-.}/tests/lib.sh"
S=$top_srcdir

# The files to check: git's list in a checkout, else (a dist tarball, which
# holds only distributed files) everything under the tree.
list_files() {
    if git -C "$S" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$S" ls-files | sed 's|^|./|'
    else
        (cd "$S" && find . -type f)
    fi
}
missing=""
for f in $(list_files | grep -Ev '^\./(tests/data|tests/fuzz/corpus|m4|build-aux|autom4te.cache|contrib/debian|_san|_fuzz|ses-milter-[^/]*)/' |
        grep -E '\.(c|h|sh|py|lua|js|mc|am|ac|5|8|in|yaml|cf)$' | sort); do
    case $f in ./config.h.in|./Makefile.in|*/Makefile.in) continue ;; esac
    head -5 "$S/$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause' || missing="$missing $f"
done
for f in .ci/run tests/run bench/run contrib/demo/run contrib/deps/install \
        man/update-keys contrib/deps/debian-packages; do
    [ -f "$S/$f" ] || continue
    head -5 "$S/$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause' || missing="$missing $f"
done
is "$missing" "" "every source file carries SPDX-License-Identifier: BSD-2-Clause near its top"

missing=""
for f in README.md SECURITY.md bench/README.md contrib/postfix/MIGRATION.md tests/fuzz/README; do
    [ -f "$S/$f" ] || continue
    tail -3 "$S/$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause' || missing="$missing $f"
done
is "$missing" "" "every document ends with its SPDX line"

grep -q '^BSD 2-Clause License' "$S/COPYING"
ok $? "COPYING holds the BSD 2-Clause text"
grep -q '^License: BSD-2-Clause' "$S/contrib/debian/copyright" &&
    ! grep -qi 'unspecified' "$S/contrib/debian/copyright"
ok $? "contrib/debian/copyright names BSD-2-Clause"
tap_done
