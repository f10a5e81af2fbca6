/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_jsonlimit.h - JSON from outside, parsed within bounds
 *
 * Every JSON text that comes from outside (SNS and SES notifications, AWS
 * answers, credential documents) is parsed by jsonlimit_load(): at most
 * max_size bytes and at most JSONLIMIT_MAX_DEPTH levels of nested objects
 * and arrays, both checked before jansson sees a byte. jansson stops at
 * 2048 levels on its own; nothing we read is deeper than a handful, and a
 * shallow bound keeps every recursive walk over a parsed tree cheap.
 *
 * DIAGNOSTICS
 *   jsonlimit_load() returns the parsed value, or NULL with one line in err
 *   ("JSON error at line N: ...", "JSON of N bytes is over the N limit",
 *   "JSON nested deeper than N levels"). err may be NULL. Nothing logs.
 */
#ifndef SES_JSONLIMIT_H
#define SES_JSONLIMIT_H

#include <jansson.h>
#include <stddef.h>

#define JSONLIMIT_MAX_DEPTH 32 /* nested objects and arrays */

/* flags as for json_loadb() (JSON_REJECT_DUPLICATES, ...). */
json_t *jsonlimit_load(const char *data, size_t len, size_t flags,
                       size_t max_size, char *err, size_t errlen);

/* The deepest nesting of objects and arrays in data (strings skipped);
 * stops counting at limit + 1. Exposed for tests. */
int jsonlimit_depth(const char *data, size_t len, int limit);

#endif
