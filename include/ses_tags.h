/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_tags.h - SES message tags (name/value pairs)
 *
 * tags_parse() reads "name:value,name2:value2" (configuration, rules; sep
 * ':') or "name=value, name2=value2" (the X-SES-MESSAGE-TAGS header; sep
 * '='). Names and values are checked against SES's rules: 1-256 of
 * A-Z a-z 0-9 _ -. At most TAGS_MAX tags; a later tag with the same name
 * replaces the earlier one (tags_set()), so header tags override config tags.
 *
 * DIAGNOSTICS
 *   tags_parse() returns 0, or -1 with a message in err. tags_set() returns
 *   -1 for an invalid name/value or a full list.
 */
#ifndef SES_TAGS_H
#define SES_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define TAGS_MAX 50

typedef struct tags tags_t;

/* The SES name rule, for tag names and values and configuration set
 * names: 1-256 of A-Z a-z 0-9 _ - (a configuration set name also has at
 * most 64). */
bool tags_name_ok(const char *s);
int tags_parse(const char *s, char sep, tags_t **out, char *err, size_t errlen);
tags_t *tags_new(void);
/* Adds or replaces a tag; values are copied. */
int tags_set(tags_t *t, const char *name, const char *value);
/* Merges src into dst (src wins). */
int tags_merge(tags_t *dst, const tags_t *src);
size_t tags_count(const tags_t *t);
const char *tags_name(const tags_t *t, size_t i);
const char *tags_value(const tags_t *t, size_t i);
/* Makes any string a valid tag value: bad bytes become '-', cut at 256. */
void tags_sanitize_value(const char *in, char *out, size_t outlen);
/* This host's name as the mta-host tag carries it (gethostname(),
 * sanitised; "localhost" when it has none): ses-relay sends it, and
 * ses-feedback compares a notification's tag with it. */
void tags_host(char *out, size_t outlen);
void tags_free(tags_t *t); /* NULL is fine */

#endif
