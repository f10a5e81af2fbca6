/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_lmtp.c - libFuzzer target: the LMTP server session
 *
 * The input is everything a client sends on one connection. A client
 * thread (one for the whole run: starting a thread per input costs more
 * than the session under ASan) writes it into one end of a socketpair,
 * closes its sending side and reads the replies; lmtp_serve() runs on the other
 * end with small limits (3 recipients, 4 KB messages), so the limit paths are
 * reached too. The handler checks each transaction it is given and answers
 * every recipient, one accepted, one refused, one deferred in turn. Every reply
 * line the session writes must be a well-formed "NNN " or "NNN-" line.
 */
#include "config.h"

#include "fuzz.h"
#include "ses_lmtp.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/socket.h>

typedef struct {
    int fd;
    const uint8_t *data;
    size_t size;
    char replies[64 * 1024];
    size_t rlen;
} client_t;

static sem_t go, done;
static client_t *current;

/* libFuzzer's timer signal interrupts sem_wait(): go on waiting, or the
 * client would still be writing the input after it was freed */
static void sem_wait_all(sem_t *s)
{
    while (sem_wait(s) < 0 && errno == EINTR)
        ;
}

static void client_run(client_t *c)
{
    size_t off = 0;
    ssize_t n;

    while (off < c->size) {
        if ((n = write(c->fd, c->data + off, c->size - off)) <= 0)
            break; /* the server hung up (QUIT, too many errors) */
        off += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    for (;;) {
        char buf[4096];
        if ((n = read(c->fd, buf, sizeof(buf))) <= 0)
            break;
        if (c->rlen + (size_t)n < sizeof(c->replies)) {
            memcpy(c->replies + c->rlen, buf, (size_t)n);
            c->rlen += (size_t)n;
        }
    }
}

static void *client_main(void *ud)
{
    for (;;) {
        sem_wait_all(&go);
        client_run(current);
        sem_post(&done);
    }
    return NULL;
}

static void deliver(void *ud, const lmtp_txn_t *txn, lmtp_reply_t *replies)
{
    char subject[256];

    if (txn->sender == NULL || txn->nrcpts == 0 || txn->nrcpts > 3 ||
        txn->spool == NULL)
        abort();
    for (size_t i = 0; i < txn->nrcpts; i++)
        if (txn->rcpts[i] == NULL || strlen(txn->rcpts[i]) > LMTP_MAX_ADDR)
            abort();
    if (txn->queue_id && strlen(txn->queue_id) > 64)
        abort();
    (void)spool_header(txn->spool, "Subject", subject, sizeof(subject));
    for (size_t i = 0; i < txn->nrcpts; i++) {
        replies[i].status = i % 3 == 0   ? ST_OK
                            : i % 3 == 1 ? ST_PERM_REJECTED
                                         : ST_TEMP_SERVER;
        snprintf(replies[i].text, sizeof(replies[i].text), "%s",
                 i % 2 ? "" : "queued as X\r\n500 injected?");
    }
}

/* Each reply line: three digits, then ' ' or '-', then text, CRLF. */
static void check_replies(const char *r, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const char *eol = memchr(r + off, '\n', len - off);
        size_t l;
        if (eol == NULL)
            break; /* cut by our buffer */
        l = (size_t)(eol - (r + off));
        if (l < 5 || r[off + l - 1] != '\r' ||
            !isdigit((unsigned char)r[off]) ||
            !isdigit((unsigned char)r[off + 1]) ||
            !isdigit((unsigned char)r[off + 2]) ||
            (r[off + 3] != ' ' && r[off + 3] != '-') ||
            memchr(r + off, '\r', l - 1) != NULL) {
            fprintf(stderr, "bad reply line: %.*s\n", (int)l, r + off);
            abort();
        }
        off += l + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lmtp_limits_t lim = {.max_message = 4096,
                                      .max_rcpts = 3,
                                      .timeout_ms = 5000,
                                      .hostname = "relay.fuzz"};
    lmtp_handler_t h = {.deliver = deliver};
    static client_t c;
    static pthread_t th;
    static bool started;
    int sv[2], stop[2];

    if (!started) {
        /* the client writes on after the server hung up (QUIT, 421), as
         * ses-relay's clients may: the server ignores SIGPIPE too */
        signal(SIGPIPE, SIG_IGN);
        if (sem_init(&go, 0, 0) < 0 || sem_init(&done, 0, 0) < 0 ||
            pthread_create(&th, NULL, client_main, NULL) != 0)
            abort();
        started = true;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(stop) < 0)
        abort();
    c.fd = sv[1];
    current = &c;
    c.data = data;
    c.size = size;
    c.rlen = 0;
    sem_post(&go);
    (void)lmtp_serve(sv[0], stop[0], &lim, &h);
    close(sv[0]);
    sem_wait_all(&done);
    close(sv[1]);
    close(stop[0]);
    close(stop[1]);
    check_replies(c.replies, c.rlen);
    return 0;
}
