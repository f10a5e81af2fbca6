/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * interpose.c - the library calls ses-milter takes over
 *
 * The ses-milter executable defines accept(), read(), sigwait() and
 * PEM_read_bio_PrivateKey(). The dynamic linker resolves a shared
 * library's call to the first definition in lookup order, and the
 * executable comes first, so libmilter's and libopendkim's calls land
 * here; each function then does the real work through another entry
 * point (accept4(), the next read() in lookup order, sigwaitinfo(),
 * PEM_read_bio_PrivateKey_ex()), never through itself. Nothing else in
 * the process changes behaviour.
 *
 * accept() and read(): libmilter does not expose its sockets. On TCP
 *   (Socket inet:...) two Nagle/delayed-ACK stalls of about 40 ms each
 *   would hit every message:
 *   - ours: an end-of-message answer is several small writes (header
 *     changes, then the verdict); the second waits for the MTA's delayed
 *     ACK. TCP_NODELAY on each accepted TCP socket removes it.
 *   - the MTA's: Postfix does not set TCP_NODELAY; after a message it
 *     sends ABORT, which gets no answer, and its next command (MAIL FROM
 *     of the next message) waits until our kernel ACKs the ABORT - by
 *     default 40 ms later. (MTAs that write macros apart from their
 *     command, as Sendmail does, stall the same way on every macro.)
 *     libmilter reads each command's 5-byte head (length, command) in
 *     one read(); when that is an ABORT or a macro on a TCP socket,
 *     read() sets TCP_QUICKACK, which sends the pending ACK at once.
 *     libmilter does not tell the filter about an ABORT that follows a
 *     completed message, so the read is the only place to see it.
 *     (filter.c answers every other command on TCP sockets, so an answer
 *     carries each ACK.) Unix sockets are left alone.
 *
 * sigwait(): libmilter's signal thread waits for SIGHUP, SIGTERM and
 *   SIGINT and stops the milter on any of them. ses-milter reloads on
 *   SIGHUP, as mail daemons do: after interpose_reserve_sighup() SIGHUP is
 *   taken out of libmilter's set and daemon.c's reload thread waits for it.
 *
 * PEM_read_bio_PrivateKey(): libopendkim parses the private key from text
 *   at every signature; keycache_lookup() recognizes the text of the key
 *   being used on this thread and returns the key parsed at load time
 *   instead (see keycache.c). Any other call is passed through unchanged.
 *
 * DIAGNOSTICS
 *   As the functions replaced: accept() and sigwait() keep their return
 *   conventions; a failing setsockopt() is logged at debug level and the
 *   connection proceeds without TCP_NODELAY.
 */
#include "config.h"

#undef _FORTIFY_SOURCE /* read() is defined here, not inlined */

#include "interpose.h"
#include "ses_keycache.h"
#include "ses_log.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>

static atomic_bool sighup_reserved;
static atomic_ulong nodelay_count;
static atomic_bool tcp_acks;

typedef ssize_t (*read_fn)(int, void *, size_t);
static _Atomic(read_fn) real_read;

void interpose_reserve_sighup(void)
{
    atomic_store(&sighup_reserved, true);
}

unsigned long interpose_nodelay_count(void)
{
    return atomic_load(&nodelay_count);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int s = accept4(fd, addr, len, 0), one = 1, family;

    if (s < 0)
        return s;
    if (addr && len && *len >= sizeof(sa_family_t))
        family = addr->sa_family;
    else if (getsockname(s, (struct sockaddr *)&ss, &sl) == 0)
        family = ss.ss_family;
    else
        family = AF_UNSPEC;
    if (family == AF_INET || family == AF_INET6) {
        if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
            atomic_fetch_add(&nodelay_count, 1);
            log_debug(NULL, "TCP_NODELAY set on milter connection %d", s);
        } else {
            log_debug(NULL, "TCP_NODELAY on milter connection: %s",
                      strerror(errno));
        }
    }
    return s;
}

ssize_t read(int fd, void *buf, size_t len)
{
    read_fn f = atomic_load_explicit(&real_read, memory_order_relaxed);
    ssize_t r;
    int one = 1;

    if (f == NULL) {
        f = (read_fn)dlsym(RTLD_NEXT, "read");
        if (f == NULL) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store_explicit(&real_read, f, memory_order_relaxed);
    }
    r = f(fd, buf, len);
    /* The head of an ABORT or macro command (see above). */
    if (r == 5 && len == 5 &&
        atomic_load_explicit(&tcp_acks, memory_order_relaxed) &&
        ((const char *)buf)[0] == 0 &&
        (((const char *)buf)[4] == 'A' || ((const char *)buf)[4] == 'D'))
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    return r;
}

void interpose_tcp_acks(void)
{
    atomic_store(&tcp_acks, true);
}

int sigwait(const sigset_t *set, int *sig)
{
    sigset_t s = *set;
    int r;

    if (atomic_load(&sighup_reserved))
        sigdelset(&s, SIGHUP);
    do
        r = sigwaitinfo(&s, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno;
    *sig = r;
    return 0;
}

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb,
                                  void *u)
{
    EVP_PKEY *k;

    if (x == NULL && (k = keycache_lookup(bp)) != NULL)
        return k;
    return PEM_read_bio_PrivateKey_ex(bp, x, cb, u, NULL, NULL);
}
