/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_conf.h - the ses-milter.conf parser and configuration snapshots
 *
 * conf_load() parses a file into an immutable, reference-counted snapshot.
 * Readers call conf_str()/conf_int()/conf_bool()/conf_list() with a key id
 * from ses_conf_keys.h. Daemons keep the current snapshot in a holder
 * (ses_holder.h, with conf_holder_ops) and take a reference per unit of
 * work; a SIGHUP reload swaps in a new snapshot while work in flight keeps
 * the one it started with.
 *
 * DIAGNOSTICS
 *   conf_load() returns CONF_OK, CONF_NOFILE (missing or unreadable file) or
 *   CONF_INVALID and writes "file:line: message" into the caller's buffer.
 *   Nothing here logs or exits.
 */
#ifndef SES_CONF_H
#define SES_CONF_H

#include "ses_holder.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CT_STRING,
    CT_PATH,
    CT_INT,
    CT_BOOL,
    CT_ENUM,
    CT_SIZE,     /* bytes; suffixes K, M, G */
    CT_DURATION, /* milliseconds; suffixes ms, s, m, h, d; bare = seconds */
    CT_LIST,     /* comma or blank separated words */
    CT_MAP,      /* "NAME VALUE" lines; the key repeats, once per NAME */
} conf_type_t;

typedef enum {
#define CONF_KEY(id, name, type, def, cons, val, doc) CK_##id,
#include "ses_conf_keys.h"
#undef CONF_KEY
    CK__COUNT
} conf_key_t;

typedef enum {
    CONF_OK = 0,
    CONF_NOFILE,
    CONF_INVALID,
} conf_status_t;

/* Description of one key, for the documentation checks and --help. */
typedef struct {
    const char *name;
    conf_type_t type;
    const char *def;
    const char *constraint;
    const char *doc;
} conf_keyinfo_t;

#define CONF_MAX_LINE 4096      /* bytes per configuration line */
#define CONF_MAX_FILE (1 << 20) /* bytes per configuration file */

typedef struct conf conf_t;

conf_status_t conf_load(const char *path, conf_t **out, char *err,
                        size_t errlen);
/* A snapshot of the defaults only (for programs run without a file). */
conf_t *conf_defaults(void);

const char *conf_str(const conf_t *c, conf_key_t k); /* NULL when unset */
long long conf_int(const conf_t *c, conf_key_t k);   /* INT/SIZE/DURATION */
bool conf_bool(const conf_t *c, conf_key_t k);
/* NULL-terminated word list; never NULL (an empty list when unset). */
const char *const *conf_list(const conf_t *c, conf_key_t k);
/* CT_MAP: the value given for name, or NULL. conf_list() holds the pairs
 * as name, value, name, value, ... */
const char *conf_map_get(const conf_t *c, conf_key_t k, const char *name);
bool conf_is_set(const conf_t *c, conf_key_t k);  /* given in the file */
int conf_key_line(const conf_t *c, conf_key_t k); /* its line there, or 0 */
const char *conf_path(const conf_t *c);           /* file it came from */
/* For enum keys: true when the value equals `value` (case-insensitive). */
bool conf_is(const conf_t *c, conf_key_t k, const char *value);

const conf_keyinfo_t *conf_keyinfo(conf_key_t k);
const char *conf_type_name(conf_type_t t);
/* Looks a key up by its name (case-insensitive); -1 when unknown. */
int conf_key_by_name(const char *name);

conf_t *conf_ref(conf_t *c);
void conf_unref(conf_t *c); /* NULL is fine */

/* conf_ref()/conf_unref() for a holder of conf_t snapshots. */
extern const holder_ops_t conf_holder_ops;

/* Shared value checks, also used by the rules parser and the relay. */
bool conf_url_ok(const char *url, char *err, size_t errlen);
/* The REGION field of an ARN ("*" for every region; "" for global
 * services); false when s is not an ARN. */
bool conf_arn_region(const char *arn, char *region, size_t regionlen);

#endif
