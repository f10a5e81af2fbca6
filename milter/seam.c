/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seam.c - the library calls ses-milter must take over
 *
 * The ses-milter executable defines read(), sigwait() and
 * PEM_read_bio_PrivateKey(). The dynamic linker resolves a shared
 * library's call to the first definition in lookup order, and the
 * executable comes first, so libmilter's and libopendkim's calls land
 * here; each does the real work through another entry point (the read
 * system call, sigwaitinfo(), PEM_read_bio_PrivateKey_ex()), never
 * through itself, and changes nothing for any other caller. Nothing else
 * in ses-milter defines a libc or OpenSSL symbol (tests/seam.sh checks
 * the binary), and each function records that it was reached, so a build
 * or a library that no longer calls through (LTO or -Bsymbolic hiding
 * these definitions, a libmilter that reads with recv(), a libopendkim
 * that parses keys another way) is reported by ses-milter at start and
 * fails the tests (tests/seam.sh, tests/milter.sh).
 *
 * Why each, and why not another way (see also ses-milter(8), SEAM):
 *
 * read(): on TCP (Socket inet:...) Postfix's ABORT after a message gets no
 *   answer, and its next command waits until our kernel ACKs the ABORT,
 *   40 ms later by default; Sendmail's macros, written apart from their
 *   command, stall the same way. libmilter reads each command's 5-byte
 *   head (length, command) in one read(); when that is an ABORT or a macro
 *   on a TCP socket, TCP_QUICKACK sends the pending ACK at once. libmilter
 *   does not tell the filter about an ABORT that follows a completed
 *   message, and exposes no socket, so this read is the only place.
 *   (TCP_NODELAY, the other stall, needs no seam: the listening socket
 *   gets it and Linux hands it down to every accepted connection, see
 *   setup_tcp_nodelay().)
 *
 * sigwait(): libmilter's signal thread waits for SIGHUP, SIGTERM and
 *   SIGINT and stops the milter on any of them. ses-milter reloads on
 *   SIGHUP, as mail daemons do (and as its design promises): after
 *   seam_reserve_sighup() SIGHUP is taken out of libmilter's set and
 *   setup.c's reload thread waits for it. A process-directed signal goes
 *   to any one thread waiting for it, so two threads waiting for SIGHUP
 *   cannot share it. SIGUSR1, which libmilter leaves alone, reloads too,
 *   as in opendkim, and needs no seam.
 *
 * PEM_read_bio_PrivateKey(): libopendkim parses the private key from text
 *   at every signature, and has no way to be given a parsed key; an
 *   OpenSSL provider cannot hand back an existing key object. The key
 *   cache (keycache.c) recognises the text of the key being used on this
 *   thread and returns the key parsed at load time instead. Any other call
 *   is passed through unchanged. Without it ses-milter would spend about
 *   twice the CPU per RSA-2048 signature (bench/README.md).
 *
 * DIAGNOSTICS
 *   As the functions replaced: read() and sigwait() keep their return
 *   conventions and errno; a failing setsockopt() is ignored (the ACK
 *   then comes as late as without the seam).
 */
#include "config.h"

#undef _FORTIFY_SOURCE /* read() is defined here, not inlined */

#include "seam.h"
#include "ses_keycache.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/pem.h>

static atomic_bool sighup_reserved;
static atomic_bool sigwait_reached;
static atomic_bool tcp_acks;
static atomic_ulong heads_read;
static atomic_ulong quick_acks;

void seam_reserve_sighup(void)
{
    atomic_store(&sighup_reserved, true);
}

bool seam_sigwait_reached(void)
{
    return atomic_load(&sigwait_reached);
}

void seam_tcp_acks(void)
{
    atomic_store(&tcp_acks, true);
}

unsigned long seam_heads_read(void)
{
    return atomic_load(&heads_read);
}

unsigned long seam_quick_acks(void)
{
    return atomic_load(&quick_acks);
}

ssize_t read(int fd, void *buf, size_t len)
{
    ssize_t r = syscall(SYS_read, fd, buf, len);
    const unsigned char *h = buf;
    int one = 1;

    /* the head of a command (4 bytes of length, 1 of command) on TCP;
     * on unix sockets nothing more than the one load */
    if (r != 5 || len != 5 ||
        !atomic_load_explicit(&tcp_acks, memory_order_relaxed))
        return r;
    atomic_fetch_add_explicit(&heads_read, 1, memory_order_relaxed);
    if (h[0] == 0 && (h[4] == 'A' || h[4] == 'D') &&
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)) == 0)
        atomic_fetch_add_explicit(&quick_acks, 1, memory_order_relaxed);
    return r;
}

int sigwait(const sigset_t *set, int *sig)
{
    sigset_t s = *set;
    int r;

    atomic_store(&sigwait_reached, true);
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
