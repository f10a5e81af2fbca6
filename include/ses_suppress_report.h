/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_suppress_report.h - bounce and complaint rates for ses-suppress report
 *
 * suppress_report_rates() turns one configuration set's counters (stats.db,
 * summed over a window) into the rates SES reviews accounts on, and flags those
 * at or above SES's review thresholds: 5 % bounces, 0.1 % complaints.
 *
 * The base is what this host handed to SES: the recipients ses-relay sent
 * (STAT_SENT); when notifications outnumber that (other hosts share the
 * account or the queue), the notified outcomes (delivered + bounced) are
 * the base instead. Bounce rate counts permanent bounces only, as SES does.
 *
 * DIAGNOSTICS
 *   None.
 */
#ifndef SES_SUPPRESS_REPORT_H
#define SES_SUPPRESS_REPORT_H

#include "ses_store.h"

#include <stdint.h>

#define REPORT_BOUNCE_REVIEW    0.05
#define REPORT_COMPLAINT_REVIEW 0.001

typedef struct {
    uint64_t base;
    double bounce_rate;    /* 0..1 */
    double complaint_rate; /* 0..1 */
    int bounce_warning;
    int complaint_warning;
} report_rates_t;

void suppress_report_rates(const uint64_t counts[STAT__COUNT],
                           report_rates_t *out);

#endif
