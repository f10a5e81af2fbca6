/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filter.h - the libmilter callbacks of ses-milter (see filter.c)
 */
#ifndef SES_MILTER_FILTER_H
#define SES_MILTER_FILTER_H

#include <libmilter/mfapi.h>

#include <stdbool.h>

extern struct smfiDesc filter_desc;

/* tcp: the milter listens on a TCP socket (see filter.c). */
void filter_init(bool tcp);

#endif
