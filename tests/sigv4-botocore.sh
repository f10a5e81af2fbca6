#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Cross-checks our SigV4 signatures against botocore (python3-botocore).
. "${top_srcdir:-.}/tests/lib.sh"
if ! /usr/bin/python3 -c 'import botocore' 2>/dev/null; then
    tap_skip_all "python3-botocore is not installed"
fi
exec /usr/bin/python3 "$top_srcdir/tests/sigv4_botocore.py" "$top_builddir/tests/sigv4-sign"
