/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_lmtp.h - the server side of one LMTP session (RFC 2033)
 *
 * lmtp_serve() speaks LMTP on a connected socket until the client quits,
 * goes away, times out or the server stops: LHLO (announcing PIPELINING,
 * ENHANCEDSTATUSCODES, SIZE, 8BITMIME, SMTPUTF8 and XFORWARD IDENT), MAIL
 * FROM (SIZE=, BODY=, SMTPUTF8), RCPT TO, DATA with dot-unstuffing, RSET,
 * NOOP, QUIT, XFORWARD, VRFY, HELP. After DATA the handler's deliver()
 * gets the whole transaction and answers once per accepted recipient; the
 * session sends one reply per recipient, in RCPT order, as RFC 2033 wants.
 *
 * Pipelining: commands are read as they arrive and answered in order; the
 * replies collect in an output buffer that is written in one write() just
 * before the session would wait for more input, so a pipelined group
 * (MAIL, RCPT..., DATA) gets its replies in one segment.
 *
 * Limits: command lines of at most LMTP_MAX_LINE bytes (longer ones are
 * answered 500 5.5.2 and skipped), addresses of at most LMTP_MAX_ADDR
 * bytes, max_rcpts recipients per transaction (452 4.5.3 beyond, so the
 * client sends the rest in another transaction), max_message bytes
 * (552 5.3.4 at MAIL FROM when SIZE= says so, else for every recipient
 * after DATA), LMTP_MAX_ERRORS protocol errors per session, timeout_ms per
 * read or write. Message lines have no length limit: DATA is streamed into
 * the spool.
 *
 * Queue id: Postfix's lmtp client sends no queue id of its own. The
 * session takes it from the first Received: header, which the Postfix that
 * queued the message wrote ("... id 4F2A1C0D3B; date" from smtpd, pickup,
 * qmqpd and Postfix's own bounces alike), else from XFORWARD IDENT when
 * the client sends it (lmtp_send_xforward_command = yes; Postfix omits it
 * for locally submitted mail), else none.
 *
 * Shutdown: when stop_fd becomes readable, a session waiting between
 * transactions answers 421 4.3.2 and ends; a transaction in progress is
 * finished first. A transaction whose DATA does not end (connection lost,
 * timeout) is never delivered.
 *
 * DIAGNOSTICS
 *   lmtp_serve() returns how the session ended; the protocol errors went to
 *   the client as replies. Nothing here logs; deliver() does.
 */
#ifndef SES_LMTP_H
#define SES_LMTP_H

#include "ses_spool.h"
#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>

#define LMTP_MAX_LINE   2048 /* command line, CRLF included */
#define LMTP_MAX_ADDR   512  /* bytes of one address */
#define LMTP_MAX_ERRORS 20   /* protocol errors before 421 */
#define LMTP_MAX_TEXT   300  /* reply text from deliver() */

typedef struct {
    size_t max_message;   /* bytes */
    size_t max_rcpts;     /* per transaction */
    int timeout_ms;       /* per read or write */
    const char *hostname; /* in the greeting and the LHLO reply */
} lmtp_limits_t;

typedef struct {
    const char *sender; /* "" for the null sender */
    const char *const *rcpts;
    size_t nrcpts;
    const char *queue_id; /* see above; NULL when unknown */
    spool_t *spool;       /* the message: CRLF, dot-unstuffed */
    bool smtputf8;        /* MAIL FROM carried SMTPUTF8 */
} lmtp_txn_t;

typedef struct {
    status_t status;
    char text[LMTP_MAX_TEXT]; /* "" for the status's default text */
} lmtp_reply_t;

typedef struct {
    /* Called at LHLO and MAIL FROM: the limits for what follows (a new
     * configuration snapshot after a reload). NULL keeps the first ones. */
    void (*limits)(void *ud, lmtp_limits_t *lim);
    /* One transaction; replies[i] answers rcpts[i] (preset to a temporary
     * failure, so a reply left alone defers). */
    void (*deliver)(void *ud, const lmtp_txn_t *txn, lmtp_reply_t *replies);
    void *ud;
} lmtp_handler_t;

typedef enum {
    LMTP_END_QUIT,    /* QUIT */
    LMTP_END_EOF,     /* the client closed the connection */
    LMTP_END_TIMEOUT, /* timeout_ms passed waiting for the client */
    LMTP_END_STOP,    /* stop_fd: 421 sent */
    LMTP_END_ERRORS,  /* too many errors: 421 sent */
    LMTP_END_IO,      /* read/write error, or out of memory */
} lmtp_end_t;

lmtp_end_t lmtp_serve(int fd, int stop_fd, const lmtp_limits_t *lim,
                      const lmtp_handler_t *h);
const char *lmtp_end_name(lmtp_end_t e);

/* The queue id in a Received: header value ("... id 4F2A1C0D3B; ..."):
 * 0 and the id in out, or -1. */
int lmtp_received_queue_id(const char *received, char *out, size_t outlen);

#endif
