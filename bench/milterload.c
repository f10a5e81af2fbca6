/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milterload - a milter-protocol load driver (the MTA side), for benchmarks
 *
 * milterload -s SOCKET -f MESSAGE [-n MESSAGES] [-c CONNECTIONS]
 *            [-k PER-CONNECTION] [-r RCPTS] [-p MILTER-PID] [-q]
 *
 * Plays Postfix's part of the milter protocol (version 6) against any milter
 * on SOCKET (unix:PATH, local:PATH or inet:PORT@HOST): option negotiation,
 * then per SMTP session CONNECT and HELO, and per message the macros
 * Postfix sends (i = queue id), MAIL, RCPT, headers, EOH, body, end of
 * message, reading every modification up to the final answer, then ABORT
 * to reset for the next message on the same connection. It obeys the
 * milter's negotiated "skip" and "no reply" flags like Postfix does.
 *
 * CONNECTIONS threads run at once; each opens a new milter connection every
 * PER-CONNECTION messages. With -p it reads the milter process's CPU time
 * from /proc/PID/stat before and after and reports CPU ms per message.
 *
 * Output, one "key value" per line: messages, seconds, msgs_per_sec,
 * cpu_ms_per_msg (with -p), and counts of final answers and of added
 * DKIM-Signature headers, so a benchmark can check that work was done.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define P_NOCONNECT 0x1
#define P_NOHELO 0x2
#define P_NOMAIL 0x4
#define P_NORCPT 0x8
#define P_NOBODY 0x10
#define P_NOHDRS 0x20
#define P_NOEOH 0x40
#define P_NR_HDR 0x80
#define P_NR_CONN 0x1000
#define P_NR_HELO 0x2000
#define P_NR_MAIL 0x4000
#define P_NR_RCPT 0x8000
#define P_NR_EOH 0x40000
#define P_NR_BODY 0x80000

static const char *sockspec;
static char *headers[256][2];
static int nheaders;
static char *body;
static size_t bodylen;
static int nmessages = 1000, nconn = 2, perconn = 10, nrcpts = 1, quiet;
static atomic_int next_msg;
static atomic_int n_continue, n_accept, n_reject, n_tempfail, n_discard,
    n_other, n_dkim, n_errors;

static int connect_milter(void)
{
    int fd = -1;

    if (strncmp(sockspec, "unix:", 5) == 0 || strncmp(sockspec, "local:", 6) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", strchr(sockspec, ':') + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(fd);
            return -1;
        }
    } else if (strncmp(sockspec, "inet:", 5) == 0) {
        char port[16], *at;
        const char *host = "127.0.0.1";
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
        int one = 1;
        snprintf(port, sizeof(port), "%s", sockspec + 5);
        if ((at = strchr(port, '@')) != NULL) {
            *at = '\0';
            host = strchr(sockspec, '@') + 1;
        }
        if (getaddrinfo(host, port, &hints, &ai) != 0)
            return -1;
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        /* Postfix's milter client does not set TCP_NODELAY: neither do we,
         * unless asked, so the measurement matches real life. */
        if (getenv("MILTERLOAD_NODELAY"))
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
        freeaddrinfo(ai);
    }
    return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends one packet: len(4) cmd(1) data. Small packets are built in one
 * buffer so each is one write, as Postfix does. */
static int send_pkt(int fd, char cmd, const void *data, size_t len)
{
    char buf[70000];
    uint32_t n = htonl((uint32_t)len + 1);

    if (len + 5 > sizeof(buf))
        return -1;
    memcpy(buf, &n, 4);
    buf[4] = cmd;
    if (len)
        memcpy(buf + 5, data, len);
    return write_all(fd, buf, len + 5);
}

/* Reads one reply packet; returns its command, data in buf (NUL-ended). */
static int read_pkt(int fd, char *buf, size_t cap, size_t *len)
{
    uint32_t n;

    if (read_all(fd, &n, 4) < 0)
        return -1;
    n = ntohl(n);
    if (n == 0 || n > cap)
        return -1;
    if (read_all(fd, buf, n) < 0)
        return -1;
    *len = n - 1;
    buf[n] = '\0';
    return (unsigned char)buf[0];
}

/* Reads until a final answer; counts modifications. */
static int read_final(int fd)
{
    static char *bufs;
    char buf[262144];
    size_t len;
    (void)bufs;
    for (;;) {
        int c = read_pkt(fd, buf, sizeof(buf) - 1, &len);
        switch (c) {
        case 'c':
            return 'c';
        case 'a':
        case 'r':
        case 't':
        case 'd':
        case 'y':
            return c;
        case 'h':
        case 'i': {
            const char *name = buf + 1 + (c == 'i' ? 4 : 0);
            if (strcasecmp(name, "DKIM-Signature") == 0)
                atomic_fetch_add(&n_dkim, 1);
            continue;
        }
        case 'm': case '+': case '-': case '2': case 'b': case 'e':
        case 'q': case 'p': case 's':
            continue;
        default:
            return -1;
        }
    }
}

static void count_final(int c)
{
    switch (c) {
    case 'c': atomic_fetch_add(&n_continue, 1); break;
    case 'a': atomic_fetch_add(&n_accept, 1); break;
    case 'r': case 'y': atomic_fetch_add(&n_reject, 1); break;
    case 't': atomic_fetch_add(&n_tempfail, 1); break;
    case 'd': atomic_fetch_add(&n_discard, 1); break;
    default: atomic_fetch_add(&n_other, 1); break;
    }
}

static size_t put(char *buf, size_t off, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(buf + off, s, n);
    return off + n;
}

/* Sends a command and, unless "no reply" was negotiated, reads the answer.
 * Returns the answer ('c' when none is expected), or -1. */
static int step(int fd, uint32_t proto, uint32_t skipflag, uint32_t nrflag,
                char cmd, const void *data, size_t len)
{
    if (proto & skipflag)
        return 'c';
    if (send_pkt(fd, cmd, data, len) < 0)
        return -1;
    if (proto & nrflag)
        return 'c';
    return read_final(fd);
}

static int session(int fd, uint32_t *proto_out)
{
    char buf[512];
    uint32_t v[3] = {htonl(6), htonl(0x1ff), htonl(0x1fffff)};
    size_t len, off;
    int c;

    if (send_pkt(fd, 'O', v, sizeof(v)) < 0)
        return -1;
    if ((c = read_pkt(fd, buf, sizeof(buf) - 1, &len)) != 'O' || len < 12)
        return -1;
    memcpy(&v, buf + 1, 12);
    *proto_out = ntohl(v[2]);
    off = 0;
    buf[off++] = 'C';
    off = put(buf, off, "j");
    off = put(buf, off, "mta.bench.example");
    off = put(buf, off, "{daemon_name}");
    off = put(buf, off, "smtpd");
    if (send_pkt(fd, 'D', buf, off) < 0)
        return -1;
    off = put(buf, 0, "localhost");
    buf[off++] = '4';
    buf[off++] = 0;
    buf[off++] = 25;
    off = put(buf, off, "127.0.0.1");
    if (step(fd, *proto_out, P_NOCONNECT, P_NR_CONN, 'C', buf, off) != 'c')
        return -1;
    if (step(fd, *proto_out, P_NOHELO, P_NR_HELO, 'H', "client.example", 15) != 'c')
        return -1;
    return 0;
}

static int one_message(int fd, uint32_t proto, int msgno)
{
    char buf[70000], qid[32];
    size_t off;
    int c;

    snprintf(qid, sizeof(qid), "%010X", (unsigned)msgno * 2654435761u);
    off = 0;
    buf[off++] = 'M';
    off = put(buf, off, "i");
    off = put(buf, off, qid);
    off = put(buf, off, "{mail_addr}");
    off = put(buf, off, "sender@bench.example");
    if (send_pkt(fd, 'D', buf, off) < 0)
        return -1;
    off = put(buf, 0, "<sender@bench.example>");
    if ((c = step(fd, proto, P_NOMAIL, P_NR_MAIL, 'M', buf, off)) != 'c')
        return c;
    for (int r = 0; r < nrcpts; r++) {
        char rc[64];
        snprintf(rc, sizeof(rc), "<rcpt%d-%d@example.net>", r, msgno);
        off = put(buf, 0, rc);
        if ((c = step(fd, proto, P_NORCPT, P_NR_RCPT, 'R', buf, off)) != 'c')
            return c;
    }
    for (int h = 0; h < nheaders; h++) {
        char mid[128];
        const char *val = headers[h][1];
        if (strcasecmp(headers[h][0], "Message-ID") == 0) {
            snprintf(mid, sizeof(mid), "<%d.%s@bench.example>", msgno, qid);
            val = mid;
        }
        off = put(buf, 0, headers[h][0]);
        off = put(buf, off, val);
        if ((c = step(fd, proto, P_NOHDRS, P_NR_HDR, 'L', buf, off)) != 'c')
            return c;
    }
    if ((c = step(fd, proto, P_NOEOH, P_NR_EOH, 'N', NULL, 0)) != 'c')
        return c;
    for (size_t o = 0; o < bodylen; o += 65535) {
        size_t n = bodylen - o < 65535 ? bodylen - o : 65535;
        if ((c = step(fd, proto, P_NOBODY, P_NR_BODY, 'B', body + o, n)) != 'c')
            return c;
    }
    off = 0;
    buf[off++] = 'E';
    off = put(buf, off, "i");
    off = put(buf, off, qid);
    if (send_pkt(fd, 'D', buf, off) < 0)
        return -1;
    if (send_pkt(fd, 'E', NULL, 0) < 0)
        return -1;
    return read_final(fd);
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = connect_milter(), done = 0;
        uint32_t proto = 0;
        if (fd < 0 || session(fd, &proto) < 0) {
            if (fd >= 0)
                close(fd);
            if (atomic_fetch_add(&n_errors, 1) > 100)
                return NULL;
            usleep(10000);
            if (atomic_load(&next_msg) >= nmessages)
                return NULL;
            continue;
        }
        while (done < perconn) {
            int m = atomic_fetch_add(&next_msg, 1), c;
            if (m >= nmessages) {
                send_pkt(fd, 'Q', NULL, 0);
                close(fd);
                return NULL;
            }
            c = one_message(fd, proto, m);
            count_final(c);
            if (c < 0)
                break;
            send_pkt(fd, 'A', NULL, 0); /* reset for the next message */
            done++;
        }
        send_pkt(fd, 'Q', NULL, 0);
        close(fd);
    }
}

static long long proc_cpu_ticks(int pid)
{
    char path[64], buf[4096], *p;
    unsigned long long ut, st;
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    /* fields after ") ": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void load_message(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[8192];
    size_t cap = 1 << 20;
    int in_headers = 1;

    if (fp == NULL) {
        perror(path);
        exit(2);
    }
    body = malloc(cap);
    while (fgets(line, sizeof(line), fp)) {
        size_t l = strcspn(line, "\r\n");
        line[l] = '\0';
        if (in_headers) {
            if (l == 0) {
                in_headers = 0;
                continue;
            }
            if ((line[0] == ' ' || line[0] == '\t') && nheaders) {
                char *old = headers[nheaders - 1][1], *nv;
                if (asprintf(&nv, "%s\r\n%s", old, line) < 0)
                    exit(2);
                free(old);
                headers[nheaders - 1][1] = nv;
                continue;
            }
            char *colon = strchr(line, ':');
            if (!colon || nheaders == 256)
                continue;
            *colon = '\0';
            headers[nheaders][0] = strdup(line);
            colon++;
            while (*colon == ' ')
                colon++;
            headers[nheaders][1] = strdup(colon);
            nheaders++;
        } else {
            if (bodylen + l + 2 > cap)
                body = realloc(body, cap *= 2);
            memcpy(body + bodylen, line, l);
            bodylen += l;
            body[bodylen++] = '\r';
            body[bodylen++] = '\n';
        }
    }
    fclose(fp);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int ch, pid = 0;
    struct timespec t0, t1;
    long long cpu0 = 0, cpu1 = 0;
    pthread_t th[64];

    while ((ch = getopt(argc, argv, "s:f:n:c:k:r:p:q")) != -1) {
        switch (ch) {
        case 's': sockspec = optarg; break;
        case 'f': file = optarg; break;
        case 'n': nmessages = atoi(optarg); break;
        case 'c': nconn = atoi(optarg); break;
        case 'k': perconn = atoi(optarg); break;
        case 'r': nrcpts = atoi(optarg); break;
        case 'p': pid = atoi(optarg); break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: milterload -s SOCKET -f MESSAGE [-n N] "
                            "[-c CONN] [-k PER-CONN] [-r RCPTS] [-p PID]\n");
            return 2;
        }
    }
    if (!sockspec || !file || nconn < 1 || nconn > 64 || perconn < 1) {
        fprintf(stderr, "milterload: -s and -f are required\n");
        return 2;
    }
    load_message(file);
    if (pid)
        cpu0 = proc_cpu_ticks(pid);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < nconn; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < nconn; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (pid)
        cpu1 = proc_cpu_ticks(pid);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    int done = n_continue + n_accept + n_reject + n_tempfail + n_discard;
    printf("messages %d\nseconds %.3f\nmsgs_per_sec %.1f\n", done, secs, done / secs);
    if (pid) {
        double ms = (double)(cpu1 - cpu0) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
        printf("cpu_ms %.1f\ncpu_ms_per_msg %.3f\n", ms, done ? ms / done : 0);
    }
    printf("continue %d\naccept %d\nreject %d\ntempfail %d\ndiscard %d\n"
           "other %d\ndkim_signatures %d\nerrors %d\n",
           n_continue, n_accept, n_reject, n_tempfail, n_discard, n_other,
           n_dkim, n_errors);
    return n_other || done != nmessages ? 1 : 0;
}
