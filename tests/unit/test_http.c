/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_http.c - a request libcurl refuses an option of is never sent
 *
 * libcurl refuses a string option longer than CURL_MAX_INPUT_LENGTH (8 MB)
 * and then keeps its default; http_perform() must notice and send nothing.
 * A listening socket nobody accepts on shows whether a connection came:
 * the kernel completes it and the socket turns readable.
 */
#include "config.h"

#include "testutil.h"
#include "ses_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static int listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Whether a connection is waiting on the listening socket. */
static bool connected(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 0) == 1;
}

static status_t get(const char *url, http_response_t *resp)
{
    http_t *h = http_new(2000, 300); /* nobody answers: time out soon */
    http_request_t req = {.method = "GET", .url = url};
    status_t st;

    assert_non_null(h);
    st = http_perform(h, &req, resp);
    http_free(h);
    return st;
}

static void test_refused_option_sends_nothing(void **state)
{
    size_t n = 8 * 1024 * 1024 + 64;
    char *url = malloc(n + 1);
    http_response_t resp;
    int port, fd = listener(&port);
    int head = snprintf(url, n + 1, "http://127.0.0.1:%d/", port);

    memset(url + head, 'a', n - (size_t)head);
    url[n] = '\0';
    http_response_init(&resp);
    assert_int_equal(get(url, &resp), ST_TEMP_CONFIG);
    assert_non_null(strstr(resp.error, "CURLOPT_URL"));
    assert_false(connected(fd));
    http_response_free(&resp);
    free(url);
    close(fd);
}

/* The control: the same listener sees a request whose options are fine. */
static void test_accepted_options_connect(void **state)
{
    char url[64];
    http_response_t resp;
    int port, fd = listener(&port);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    http_response_init(&resp);
    assert_int_equal(get(url, &resp), ST_TEMP_TIMEOUT);
    assert_true(connected(fd));
    http_response_free(&resp);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_option_sends_nothing),
        cmocka_unit_test(test_accepted_options_connect),
    };

    if (http_global_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
