/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppress_report.c - bounce and complaint rates for ses-suppress report
 *
 * DIAGNOSTICS
 *   None.
 */
#include "config.h"

#include "ses_suppress_report.h"

void suppress_report_rates(const uint64_t c[STAT__COUNT], report_rates_t *out)
{
    uint64_t notified = c[STAT_DELIVERED] + c[STAT_BOUNCE] + c[STAT_TRANSIENT];

    out->base = c[STAT_SENT] > notified ? c[STAT_SENT] : notified;
    out->bounce_rate =
        out->base ? (double)c[STAT_BOUNCE] / (double)out->base : 0.0;
    out->complaint_rate =
        out->base ? (double)c[STAT_COMPLAINT] / (double)out->base : 0.0;
    out->bounce_warning = out->base && out->bounce_rate >= REPORT_BOUNCE_REVIEW;
    out->complaint_warning =
        out->base && out->complaint_rate >= REPORT_COMPLAINT_REVIEW;
}
