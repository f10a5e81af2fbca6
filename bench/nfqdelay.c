/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nfqdelay - hold every packet of a netfilter queue for a fixed time: the
 * link delay of the WAN benchmark (bench/wan.sh) on kernels without netem
 *
 * nfqdelay [-q QUEUE] [-d MICROSECONDS] [-r]
 *
 * Binds netfilter queue QUEUE (default 0) of the network namespace it runs
 * in and accepts each queued packet MICROSECONDS (default 20000) after it
 * arrived here. wan.sh queues every IPv4 packet of the SES side's
 * namespace twice per round trip (iptables -A INPUT -j NFQUEUE and -A
 * OUTPUT -j NFQUEUE), so each direction of the link is held once and the
 * round trip grows by twice the delay, as netem on both ends of a veth
 * would do.
 *
 * It speaks nfnetlink directly (linux/netfilter/nfnetlink_queue.h, no
 * library). Packets are queued without payload (NFQNL_COPY_META) and
 * unsegmented (NFQA_CFG_F_GSO), so a held packet costs a queue entry and
 * one small netlink message. Every packet waits the same time and the
 * kernel numbers a queue's packets in the order it sends them here, so the
 * packets fall due in the order of their ids: one NFQNL_MSG_VERDICT_BATCH
 * (accept every id up to N) releases all packets due at once. The program
 * sleeps in ppoll() until the first held packet is due or another arrives,
 * with a timer slack of 1 ns; with -r it runs SCHED_FIFO, as netem's timer
 * runs in the kernel, so that a busy machine does not stretch the delay.
 *
 * Output: "ready" on stdout once the queue is bound; on SIGUSR1, and on
 * SIGTERM or SIGINT before it exits 0, one line "packets N late_avg_us A
 * late_max_us M early E": how many packets it released, how long after
 * their due time on average and at most (its own timing error; the
 * kernel's queueing path adds a few microseconds more), and how many it
 * released at once because QUEUE_MAX were held (0: the kernel queues no
 * more than that; beyond it, it drops).
 *
 * DIAGNOSTICS
 *   "nfqdelay: ..." on stderr and exit 1 when the queue cannot be bound
 *   (no CONFIG_NETFILTER_NETLINK_QUEUE, not root, queue taken) or netlink
 *   fails.
 */
#define _GNU_SOURCE
/* glibc's <netinet/in.h> before the kernel headers that would define the
 * same structures */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX 65536u /* packets held at most; a power of two */
#define BUF_SIZE  8192

typedef struct {
    uint32_t id;
    uint64_t due_ns;
} held_t;

static held_t ring[QUEUE_MAX];
static unsigned ring_head, ring_len;
static volatile sig_atomic_t stop, want_stats;
static int nl_fd;
static unsigned queue_num;
static uint32_t nl_seq;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_stats = 1;
    else
        stop = 1;
}

static void stats_print(uint64_t packets, uint64_t late_sum, uint64_t late_max,
                        unsigned early)
{
    printf("packets %llu late_avg_us %.1f late_max_us %.1f early %u\n",
           (unsigned long long)packets,
           packets ? (double)late_sum / (double)packets / 1000.0 : 0.0,
           (double)late_max / 1000.0, early);
    fflush(stdout);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Appends attribute TYPE with LEN bytes of DATA to message M. */
static void attr_put(struct nlmsghdr *m, uint16_t type, const void *data,
                     uint16_t len)
{
    struct nlattr *a = (struct nlattr *)((char *)m + NLMSG_ALIGN(m->nlmsg_len));

    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy((char *)a + NLA_HDRLEN, data, len);
    m->nlmsg_len = NLMSG_ALIGN(m->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Starts a queue message of type TYPE in BUF. */
static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *m = (struct nlmsghdr *)buf;
    struct nfgenmsg *g;

    memset(buf, 0, NLMSG_SPACE(sizeof(*g)));
    m->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
    m->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
    m->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    m->nlmsg_seq = ++nl_seq;
    g = NLMSG_DATA(m);
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons((uint16_t)queue_num);
    return m;
}

/* Sends M and waits for the kernel's acknowledgement: 0 or an errno. */
static int msg_send_acked(struct nlmsghdr *m)
{
    char buf[BUF_SIZE];
    ssize_t n;

    if (send(nl_fd, m, m->nlmsg_len, 0) < 0)
        return errno;
    for (;;) {
        if ((n = recv(nl_fd, buf, sizeof(buf), 0)) < 0)
            return errno;
        for (struct nlmsghdr *r = (struct nlmsghdr *)buf;
             NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_type == NLMSG_ERROR && r->nlmsg_seq == m->nlmsg_seq)
                return -((struct nlmsgerr *)NLMSG_DATA(r))->error;
        }
    }
}

static int queue_bind(void)
{
    char buf[256];
    struct nlmsghdr *m;
    struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND};
    struct nfqnl_msg_config_params params = {.copy_range = 0,
                                             .copy_mode = NFQNL_COPY_META};
    uint32_t maxlen = htonl(QUEUE_MAX), flags = htonl(NFQA_CFG_F_GSO);
    int err;

    m = msg_start(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
    attr_put(m, NFQA_CFG_CMD, &cmd, sizeof(cmd));
    if ((err = msg_send_acked(m)) != 0) {
        fprintf(stderr, "nfqdelay: cannot bind queue %u: %s\n", queue_num,
                strerror(err));
        return -1;
    }
    m = msg_start(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
    attr_put(m, NFQA_CFG_PARAMS, &params, sizeof(params));
    attr_put(m, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
    attr_put(m, NFQA_CFG_FLAGS, &flags, sizeof(flags));
    attr_put(m, NFQA_CFG_MASK, &flags, sizeof(flags));
    if ((err = msg_send_acked(m)) != 0) {
        fprintf(stderr, "nfqdelay: cannot configure queue %u: %s\n", queue_num,
                strerror(err));
        return -1;
    }
    return 0;
}

/* Accepts the packet ID, or with BATCH every packet with an id up to ID. */
static void verdict(uint32_t id, int batch)
{
    char buf[128];
    struct nlmsghdr *m =
        msg_start(buf, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, 0);
    struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT),
                                      .id = htonl(id)};

    attr_put(m, NFQA_VERDICT_HDR, &v, sizeof(v));
    if (send(nl_fd, m, m->nlmsg_len, 0) < 0)
        fprintf(stderr, "nfqdelay: verdict: %s\n", strerror(errno));
}

/* Records the packets of one netlink datagram, due at DUE. Returns the
 * number of packets that did not fit (released at once). */
static unsigned packets_take(char *buf, ssize_t n, uint64_t due)
{
    unsigned overflow = 0;

    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, (unsigned)n);
         m = NLMSG_NEXT(m, n)) {
        struct nlattr *a;
        int left;

        if ((m->nlmsg_type & 0xff) != NFQNL_MSG_PACKET ||
            (m->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
            continue;
        a = (struct nlattr *)((char *)NLMSG_DATA(m) +
                              NLMSG_ALIGN(sizeof(struct nfgenmsg)));
        left = (int)m->nlmsg_len - (int)((char *)a - (char *)m);
        while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
               a->nla_len <= left) {
            if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
                a->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
                struct nfqnl_msg_packet_hdr ph;
                uint32_t id;

                memcpy(&ph, (char *)a + NLA_HDRLEN, sizeof(uint32_t));
                id = ntohl(ph.packet_id);
                if (ring_len == QUEUE_MAX) {
                    verdict(id, 0);
                    overflow++;
                } else {
                    held_t *h = &ring[(ring_head + ring_len) % QUEUE_MAX];

                    h->id = id;
                    h->due_ns = due;
                    ring_len++;
                }
                break;
            }
            left -= NLA_ALIGN(a->nla_len);
            a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
        }
    }
    return overflow;
}

int main(int argc, char **argv)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    struct sigaction sig = {.sa_handler = on_signal};
    uint64_t delay_ns = 20000000u, packets = 0, late_sum = 0, late_max = 0;
    unsigned early = 0;
    int c, realtime = 0, one = 1, rcvbuf = 8 << 20;
    static char buf[BUF_SIZE * 8];

    while ((c = getopt(argc, argv, "q:d:r")) != -1) {
        switch (c) {
        case 'q':
            queue_num = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            delay_ns = strtoull(optarg, NULL, 10) * 1000u;
            break;
        case 'r':
            realtime = 1;
            break;
        default:
            fprintf(stderr, "usage: nfqdelay [-q QUEUE] [-d MICROSECONDS] "
                            "[-r]\n");
            return 2;
        }
    }
    if (queue_num > 65535) {
        fprintf(stderr, "nfqdelay: queue number %u over 65535\n", queue_num);
        return 2;
    }
    sigaction(SIGTERM, &sig, NULL);
    sigaction(SIGINT, &sig, NULL);
    sigaction(SIGUSR1, &sig, NULL);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (realtime) {
        struct sched_param sp = {.sched_priority = 10};

        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
            fprintf(stderr,
                    "nfqdelay: SCHED_FIFO refused (%s), timing on "
                    "a busy machine will be looser\n",
                    strerror(errno));
    }
    if ((nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
                        NETLINK_NETFILTER)) < 0 ||
        bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "nfqdelay: netlink socket: %s\n", strerror(errno));
        return 1;
    }
    if (setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                   sizeof(rcvbuf)) != 0)
        setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(nl_fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
    if (queue_bind() != 0)
        return 1;
    printf("ready\n");
    fflush(stdout);

    while (!stop) {
        struct pollfd pfd = {.fd = nl_fd, .events = POLLIN};
        struct timespec ts, *tsp = NULL;
        uint64_t now = now_ns();
        ssize_t n;

        if (want_stats) {
            want_stats = 0;
            stats_print(packets, late_sum, late_max, early);
        }
        /* release every packet that is due */
        if (ring_len > 0 && ring[ring_head].due_ns <= now) {
            uint32_t last = 0;
            uint64_t late = now - ring[ring_head].due_ns;

            while (ring_len > 0 && ring[ring_head].due_ns <= now) {
                last = ring[ring_head].id;
                late_sum += now - ring[ring_head].due_ns;
                packets++;
                ring_head = (ring_head + 1) % QUEUE_MAX;
                ring_len--;
            }
            verdict(last, 1);
            if (late > late_max)
                late_max = late;
        }
        if (ring_len > 0) {
            uint64_t wait = ring[ring_head].due_ns - now;

            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tsp = &ts;
        }
        if (ppoll(&pfd, 1, tsp, NULL) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "nfqdelay: poll: %s\n", strerror(errno));
            return 1;
        }
        if (!(pfd.revents & POLLIN))
            continue;
        while ((n = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            early += packets_take(buf, n, now_ns() + delay_ns);
        if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
            fprintf(stderr, "nfqdelay: recv: %s\n", strerror(errno));
            return 1;
        }
    }
    stats_print(packets, late_sum, late_max, early);
    return 0;
}
