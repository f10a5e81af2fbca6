#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The library's layers (Makefile.am: libcore, libnet, libaws, libstore,
# libmail, in that order) hold every file of src/ and include/ once, and no
# #include line goes up: a file includes only headers of its own layer or
# of the layers below (the link of src/layer-* stops the build on an upward
# symbol; this also catches a type or macro, and says which line). src/
# includes nothing of milter/ or relay/. The check itself is tried first on
# a small tree with one upward include, which it must report.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
LAYERS="core net aws store mail"

# layer_files DIR: "LAYERINDEX FILE" for every file of every layer library
layer_files() {
    i=0
    for l in $LAYERS; do
        awk -v v="src_lib${l}_a_SOURCES" -v i=$i '
            $1 == v && $2 == "=" { on = 1; $1 = ""; $2 = "" }
            on { for (f = 1; f <= NF; f++) if ($f != "\\" && $f != "") print i, $f
                 if ($NF != "\\") on = 0 }' "$1/Makefile.am"
        i=$((i + 1))
    done
}

# check DIR: one line per problem, nothing when the layers hold
check() {
    layer_files "$1" > "$T/map"
    # every file of src/ and include/ in exactly one layer
    (cd "$1" && ls src/*.c src/*.h include/ses_*.h 2>/dev/null) | grep -v '^src/layer\.c$' |
        while read -r f; do
            n=$(awk -v f="$f" '$2 == f' "$T/map" | wc -l)
            [ "$n" -eq 1 ] || echo "$f: in $n layers"
        done
    # every include line of a layer file: same layer or below
    while read -r li f; do
        grep -n '^#include "' "$1/$f" | while IFS=: read -r line inc; do
            h=$(printf '%s\n' "$inc" | sed 's/^#include "\(.*\)".*/\1/')
            case $h in config.h) continue ;; esac
            hl=$(awk -v a="include/$h" -v b="src/$h" '$2 == a || $2 == b { print $1; exit }' "$T/map")
            if [ -z "$hl" ]; then
                echo "$f:$line: includes $h, which is in no layer"
            elif [ "$hl" -gt "$li" ]; then
                set -- $LAYERS; eval "from=\${$((li + 1))} to=\${$((hl + 1))}"
                echo "$f:$line: $from includes $h of $to, a layer above"
            fi
        done
    done < "$T/map"
}

# the check reports an upward include in a tree made for it
mkdir -p "$T/tree/src" "$T/tree/include"
printf 'src_libcore_a_SOURCES = src/a.c include/ses_a.h\nsrc_libnet_a_SOURCES = \\\n\tsrc/b.c include/ses_b.h\n' > "$T/tree/Makefile.am"
printf '#include "config.h"\n#include "ses_a.h"\n#include "ses_b.h"\n' > "$T/tree/src/a.c"
printf '#include "ses_a.h"\n' > "$T/tree/src/b.c"
: > "$T/tree/include/ses_a.h"; : > "$T/tree/include/ses_b.h"
is "$(check "$T/tree")" "src/a.c:3: core includes ses_b.h of net, a layer above" \
    "the layer check finds an upward #include and names its line"

out=$(check "$S")
is "$out" "" "every file is in one layer and no #include goes up a layer"
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'

# src/ never reaches into the programs' directories
up=$(grep -ln '#include "\.\./\|#include "\(snapshot\|filter\|context\|seam\|deliver\|server\)\.h"' "$S"/src/*.c "$S"/src/*.h "$S"/include/*.h 2>/dev/null)
is "$up" "" "nothing in src/ or include/ includes a header of milter/ or relay/"

tap_done
