/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsonlimit.c - JSON from outside, parsed within bounds
 *
 * jsonlimit_depth() scans the text once, skipping strings (and escapes in
 * them), and counts '{' and '[' levels; jsonlimit_load() refuses a text
 * that is too large or too deep and hands the rest to json_loadb().
 *
 * DIAGNOSTICS
 *   See ses_jsonlimit.h.
 */
#include "config.h"

#include "ses_jsonlimit.h"

#include <stdbool.h>
#include <stdio.h>

int jsonlimit_depth(const char *data, size_t len, int limit)
{
    int depth = 0, deepest = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > deepest && (deepest = depth) > limit)
                break;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

json_t *jsonlimit_load(const char *data, size_t len, size_t flags,
                       size_t max_size, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j;

    if (data == NULL) {
        data = "";
        len = 0;
    }
    if (len > max_size) {
        if (err)
            snprintf(err, errlen, "JSON of %zu bytes is over the %zu limit",
                     len, max_size);
        return NULL;
    }
    if (jsonlimit_depth(data, len, JSONLIMIT_MAX_DEPTH) > JSONLIMIT_MAX_DEPTH) {
        if (err)
            snprintf(err, errlen, "JSON nested deeper than %d levels",
                     JSONLIMIT_MAX_DEPTH);
        return NULL;
    }
    if ((j = json_loadb(data, len, flags, &jerr)) == NULL && err)
        snprintf(err, errlen, "JSON error at line %d: %s", jerr.line,
                 jerr.text);
    return j;
}
