/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_suppress_sync.h - two-way sync with the SESv2 account suppression list
 *
 * suppress_sync() reads the whole account list (ListSuppressedDestinations,
 * every page) and the whole local list (tombstones included), then settles
 * each address. The rule, newest change wins:
 *
 *   only in SES                      added here (source ses)
 *   in both                          kept; marked as known to SES
 *   removed here, still in SES       deleted from SES
 *                                    (DeleteSuppressedDestination) - unless
 *                                    SES's LastUpdateTime is later than the
 *                                    removal: then SES re-added it and it
 *                                    comes back here
 *   only here, never seen in SES     pushed (PutSuppressedDestination;
 *                                    manual entries as BOUNCE: SES knows
 *                                    only BOUNCE and COMPLAINT)
 *   only here, known to SES before   SES removed it since: removed here too
 *                                    (unless it changed here meanwhile,
 *                                    which makes it new again: pushed)
 *   a tombstone SES does not have    forgotten
 *
 * Nothing is decided unless the account list was read completely. Calls
 * that fail after the aws module's retries are counted and skipped; the
 * next sync picks them up.
 *
 * DIAGNOSTICS
 *   Returns ST_OK, or the listing's status (nothing changed), or the first
 *   failed change's status (others went through); err has one line. Each
 *   change is logged, and reported through the callback (dry_run: only
 *   reported, nothing changes).
 */
#ifndef SES_SUPPRESS_SYNC_H
#define SES_SUPPRESS_SYNC_H

#include "ses_aws.h"
#include "ses_http.h"
#include "ses_status.h"
#include "ses_store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t remote;         /* entries in the account list */
    size_t local;          /* entries here, tombstones included */
    size_t pulled;         /* added here from SES */
    size_t pushed;         /* added to SES */
    size_t deleted_remote; /* removed from SES (local removals) */
    size_t removed_local;  /* removed here (SES removed them) */
    size_t restored;       /* removed here, but re-added in SES later */
    size_t purged;         /* tombstones forgotten */
    size_t failed;         /* changes that did not go through */
} sync_stats_t;

/* action: "pull", "push", "delete-remote", "remove-local", "restore",
 * "purge". */
typedef void (*sync_report_fn)(void *ctx, const char *action, const char *addr);

status_t suppress_sync(store_t *st, const aws_service_t *ses, http_t *http,
                       int dry_run, sync_report_fn report, void *ctx,
                       sync_stats_t *stats, char *err, size_t errlen);

/* One ListSuppressedDestinations answer as suppress_sync() reads it: 0 with
 * the number of usable entries in *count and NextToken (malloc'd) or NULL
 * in *next, or -1 with err (exposed for tests and tests/fuzz). */
int suppress_sync_parse_page(const char *body, size_t len, size_t *count,
                             char **next, char *err, size_t errlen);

#endif
