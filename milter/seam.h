/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seam.h - the library calls ses-milter must take over (see seam.c)
 *
 * ses-milter defines read(), sigwait() and PEM_read_bio_PrivateKey(), the
 * only three calls of libmilter and libopendkim it cannot reach another
 * way. This header is how the rest of the milter switches them on and
 * learns whether they are in effect.
 *
 * DIAGNOSTICS
 *   None: the switches cannot fail; the counters say what happened.
 */
#ifndef SES_MILTER_SEAM_H
#define SES_MILTER_SEAM_H

#include <stdbool.h>

/* From now on libmilter's signal thread no longer waits for SIGHUP. */
void seam_reserve_sighup(void);
/* True once libmilter's signal thread waits through the seam: SIGHUP
 * reloads. False after it started: SIGHUP would stop the milter. */
bool seam_sigwait_reached(void);

/* The milter listens on TCP: ACK an ABORT or macros at once. */
void seam_tcp_acks(void);
/* Command heads libmilter read through the seam on TCP sockets (after
 * seam_tcp_acks()), and of those the ABORT and macro heads that got an
 * immediate ACK. */
unsigned long seam_heads_read(void);
unsigned long seam_quick_acks(void);

/* Whether libopendkim reaches the key cache is keycache_reached()
 * (ses_keycache.h): the seam's PEM_read_bio_PrivateKey() asks it. */

#endif
