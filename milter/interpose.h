/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * interpose.h - the library calls ses-milter takes over (see interpose.c)
 */
#ifndef SES_MILTER_INTERPOSE_H
#define SES_MILTER_INTERPOSE_H

#include <stdbool.h>

/* From now on libmilter's signal thread no longer waits for SIGHUP. */
void interpose_reserve_sighup(void);
/* The milter listens on TCP: ACK an ABORT at once (see interpose.c). */
void interpose_tcp_acks(void);
/* Number of accepted TCP connections given TCP_NODELAY (for tests). */
unsigned long interpose_nodelay_count(void);

#endif
