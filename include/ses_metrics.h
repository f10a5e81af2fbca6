/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_metrics.h - delivery counters and latency histograms shared by every
 * process of the package, rendered in the Prometheus text format
 *
 * ses-relay in pipe mode is one short-lived process per delivery, so the
 * numbers cannot live in one process's memory. They live in a fixed-layout
 * file, DataDirectory/metrics.mmap, that every process maps and updates
 * with atomic increments (no lock on the hot path; a flock only while the
 * file is created). ses-metrics(8) renders it for Prometheus: on stdout,
 * as a node_exporter textfile, or over a loopback HTTP listener.
 *
 * Each series is one slot: a kind (counter or histogram) and its labels
 * (configuration set, status, reason). Slots are claimed once, by atomic
 * compare-and-swap, and never freed; when the table is full an update is
 * counted in sesmilter_metrics_dropped_total instead.
 *
 * Programs use the three process-wide calls, which open the store named by
 * the configuration on first use and never fail the caller:
 *   metrics_count()     one recipient's outcome (sent, deferred, bounced,
 *                       suppressed) for a status_t
 *   metrics_observe()   one delivery's latency in milliseconds
 *   metrics_delivery()  both, for a whole delivery
 * The handle API underneath (metrics_open() ... metrics_close()) serves the
 * renderer and the tests.
 *
 * DIAGNOSTICS
 *   metrics_open() returns METRICS_OK, METRICS_NOTFOUND (no store yet and
 *   read-only access asked for) or METRICS_FAIL with a message in err.
 *   metrics_add()/metrics_observe_ms() return METRICS_FULL when no slot is
 *   left. The process-wide calls log one line at the first failure and
 *   then stay quiet; nothing here exits or aborts.
 */
#ifndef SES_METRICS_H
#define SES_METRICS_H

#include "ses_conf.h"
#include "ses_ses.h"
#include "ses_status.h"
#include "ses_util.h"

#include <stdint.h>

#define METRICS_FILE "metrics.mmap" /* inside DataDirectory */

typedef enum {
    METRICS_OK = 0,
    METRICS_NOTFOUND, /* read-only open of a store that does not exist */
    METRICS_FULL,     /* no free slot: the update was dropped and counted */
    METRICS_FAIL,     /* I/O or a bad argument */
} metrics_status_t;

typedef enum {
    METRICS_READ = 1,  /* never creates or changes the file */
    METRICS_WRITE = 2, /* creates (or replaces an incompatible) file */
} metrics_mode_t;

typedef struct metrics metrics_t;

/* path is the store file itself (normally DataDirectory/metrics.mmap). */
metrics_status_t metrics_open(const char *path, metrics_mode_t mode,
                              metrics_t **out, char *err, size_t errlen);
void metrics_close(metrics_t *m); /* NULL is fine */

/* The outcome word for a status: "sent", "deferred", "bounced" or
 * "suppressed" (the same words as the status= of the log lines). */
const char *metrics_outcome(status_t st);

/* Adds n to the counter {configuration_set, status, reason}. NULL or ""
 * labels are left out of the output. Labels longer than the slot holds are
 * truncated. */
metrics_status_t metrics_add(metrics_t *m, const char *config_set,
                             const char *status, const char *reason,
                             uint64_t n);
/* One observation of the delivery-latency histogram of config_set. */
metrics_status_t metrics_observe_ms(metrics_t *m, const char *config_set,
                                    int64_t ms);

/* Appends the Prometheus text exposition (format 0.0.4) to out. */
metrics_status_t metrics_render(metrics_t *m, buf_t *out);
/* Series kept outside the file (the host-wide breakers): fn appends them
 * to every rendering; returns 0, or -1 when out is full. */
typedef int (*metrics_renderer_t)(void *ud, buf_t *out);
void metrics_add_renderer(metrics_t *m, metrics_renderer_t fn, void *ud);
/* Renders into path atomically (temporary file + rename, mode 0644), as
 * node_exporter's textfile collector wants. */
metrics_status_t metrics_write_textfile(metrics_t *m, const char *path,
                                        char *err, size_t errlen);

/* ---- process-wide calls for the programs ---- */

void metrics_count(const conf_t *conf, const char *config_set, status_t st);
void metrics_observe(const conf_t *conf, const char *config_set, int64_t ms);
/* One delivery: each recipient's outcome, counted under the configuration
 * set its plan chose (ses_plan.h; NULL: none), and its latency. */
void metrics_delivery(const conf_t *conf, const char *config_set,
                      const ses_result_t *res, size_t n, int64_t ms);

#endif
