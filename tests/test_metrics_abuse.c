/* test_metrics_abuse.c - the /metrics server under abuse, over real loopback
 * sockets in one process (server thread, attacker thread, scraping main
 * thread): 500 idle connections and 100 that trickle a request one byte every
 * 100 ms, reconnecting every 100 ms those the server dropped so the
 * pressure stays on, while 10 ordinary scrapes must each be answered within 1 s; a trickling
 * connection is cut at the request deadline however it trickles; the server's
 * memory stays bounded. Everything is bounded: the attacker stops by itself
 * after S_ATTACK_MAX_S seconds and S_RECONNECT_MAX reconnections, every socket
 * wait has a timeout. The measurement behind the limits is in
 * agent/METRICS.md ("Abuse").
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent/metrics.h"

#define S_IDLE 500                  /* idle connections: connect and say nothing */
#define S_TRICKLE 100               /* connections sending one byte every S_TRICKLE_MS */
#define S_TRICKLE_MS 100
#define S_ATTACK_MAX_S 30.0         /* the attacker stops by itself after this */
#define S_RECONNECT_MAX 100000      /* and reconnects at most this many times */
#define S_SCRAPES 10
#define S_SCRAPE_MAX_S 1.0          /* each scrape must be answered within this */
#define S_FDS_NEEDED 2048           /* our 600 + the server's + slack */
#define S_RESP_MAX (1024 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define S_RSS_GROWTH_MAX_KB (256 * 1024)  /* ASan keeps freed memory in quarantine */
#else
#define S_RSS_GROWTH_MAX_KB (32 * 1024)   /* 256 connections x 16 KiB pools = 4 MiB */
#endif

static const char s_trickle_text[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/* ------------------------------------------------------------------ */
/* helpers */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Resident memory of this process, KiB (0 when /proc cannot be read). */
static long s_rss_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Raises the soft fd limit to at least need (up to the hard limit). Returns
 * 0 when the soft limit is now >= need, -1 when the hard limit is lower. */
static int s_raise_fd_limit(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        return -1;
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : -1;
}

/* A non-blocking TCP socket connecting to 127.0.0.1:port (the connection
 * completes in the background), or -1. */
static int s_connect_nb(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to the absolute monotonic time `until` for events on fd. Returns
 * poll's revents, 0 on timeout. */
static short s_wait(int fd, short events, double until)
{
    struct pollfd pfd = {fd, events, 0};
    double left = until - s_now();
    if (left <= 0)
        return 0;
    if (poll(&pfd, 1, (int)(left * 1000.0) + 1) <= 0)
        return 0;
    return pfd.revents;
}

/* One scrape as Prometheus does it (connect, GET /metrics, read the whole
 * answer; HTTP/1.0 so the server closes after it), all within max_s. Puts
 * the answer in resp[cap], returns its length, or -1 on error or timeout;
 * *took_s gets the time it took. */
static ssize_t s_scrape(uint16_t port, char *resp, size_t cap, double max_s, double *took_s)
{
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                              "Accept: text/plain;version=0.0.4\r\n\r\n";
    double t0 = s_now(), until = t0 + max_s;
    size_t sent = 0, got = 0;
    ssize_t n = 0, result = -1;
    int fd = s_connect_nb(port);
    if (fd < 0)
        goto done;
    while (sent < sizeof req - 1) {
        if (!(s_wait(fd, POLLOUT, until) & POLLOUT))
            goto done;
        n = send(fd, req + sent, sizeof req - 1 - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            goto done;
        if (n > 0)
            sent += (size_t)n;
    }
    for (;;) {
        if (got + 1 >= cap || !(s_wait(fd, POLLIN, until) & (POLLIN | POLLHUP | POLLERR)))
            goto done;
        n = recv(fd, resp + got, cap - 1 - got, 0);
        if (n == 0)
            break;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            goto done;
        if (n > 0)
            got += (size_t)n;
    }
    resp[got] = '\0';
    result = (ssize_t)got;
done:
    *took_s = s_now() - t0;
    if (fd >= 0)
        close(fd);
    return result;
}

/* ------------------------------------------------------------------ */
/* the attacker: S_IDLE + S_TRICKLE connections kept open by one thread */

struct s_attack {
    uint16_t port;
    int fds[S_IDLE + S_TRICKLE];    /* [0, S_IDLE) idle, then trickling; -1 = to reconnect */
    size_t pos[S_IDLE + S_TRICKLE]; /* bytes of the trickle text sent */
    atomic_int stop;
    atomic_long reconnects;         /* connections opened again after the server dropped them */
    atomic_long trickled;           /* bytes sent by the trickling connections */
    pthread_t thread;
};

/* Sends connection i's next byte: the request text, then 'a' forever (the
 * headers never end). Returns -1 when the connection is gone. */
static int s_trickle_one(struct s_attack *a, int i)
{
    char byte = a->pos[i] < sizeof s_trickle_text - 1 ? s_trickle_text[a->pos[i]] : 'a';
    ssize_t n = send(a->fds[i], &byte, 1, MSG_NOSIGNAL);
    if (n == 1) {
        a->pos[i]++;
        atomic_fetch_add(&a->trickled, 1);
        return 0;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN) ? 0 : -1;
}

static void *s_attack_main(void *arg)
{
    struct s_attack *a = arg;
    enum { N = S_IDLE + S_TRICKLE };
    static struct pollfd pfd[N];
    char sink[256];
    double end = s_now() + S_ATTACK_MAX_S, next_trickle = s_now();
    while (!atomic_load(&a->stop) && s_now() < end) {
        if (s_now() >= next_trickle) {
            next_trickle += S_TRICKLE_MS / 1000.0;
            /* the server dropped some: come back, every tick (bounded) */
            for (int i = 0; i < N; i++) {
                if (a->fds[i] >= 0 || atomic_load(&a->reconnects) >= S_RECONNECT_MAX)
                    continue;
                a->fds[i] = s_connect_nb(a->port);
                a->pos[i] = 0;
                atomic_fetch_add(&a->reconnects, 1);
            }
            for (int i = S_IDLE; i < N; i++)
                if (a->fds[i] >= 0 && s_trickle_one(a, i) != 0) {
                    close(a->fds[i]);
                    a->fds[i] = -1;
                }
        }
        for (int i = 0; i < N; i++) {
            pfd[i].fd = a->fds[i];      /* a negative fd is ignored by poll */
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, N, 20) <= 0)
            continue;
        for (int i = 0; i < N; i++) {
            ssize_t n = 0;
            if (pfd[i].revents == 0 || a->fds[i] < 0)
                continue;
            n = recv(a->fds[i], sink, sizeof sink, 0);
            if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
                continue;               /* an error page: keep reading until the close */
            close(a->fds[i]);
            a->fds[i] = -1;
        }
    }
    return NULL;
}

/* Opens the connections (all of them, or fails the test) and starts the
 * attacker thread. */
static void s_attack_start(struct s_attack *a, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->port = port;
    for (int i = 0; i < S_IDLE + S_TRICKLE; i++) {
        a->fds[i] = s_connect_nb(port);
        if (a->fds[i] < 0)
            fail_msg("attacker connection %d: %s", i, strerror(errno));
    }
    assert_int_equal(pthread_create(&a->thread, NULL, s_attack_main, a), 0);
}

static void s_attack_stop(struct s_attack *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    for (int i = 0; i < S_IDLE + S_TRICKLE; i++)
        if (a->fds[i] >= 0)
            close(a->fds[i]);
}

/* A registry with a realistic page: one gauge for each of 300 services,
 * about 20 KiB of text. */
static struct rls_metrics *s_registry(const struct rls_metrics_params *p)
{
    enum { N = 300 };
    struct rls_err err = {0};
    struct rls_metrics *m = rls_metrics_new(p, &err);
    static char names[N][32];
    const char *values[N];
    int32_t ids[N];
    if (m == NULL)
        fail_msg("rls_metrics_new: %s", err.msg);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "service-%03d", i);
        values[i] = names[i];
    }
    assert_true(rls_metrics_gauge_vec(m, "rlsched_replicas_desired", "Replicas asked for.",
                                      "service", N, values, ids) >= 0);
    for (int i = 0; i < N; i++)
        rls_metrics_set(m, ids[i], i % 17);
    return m;
}

/* ------------------------------------------------------------------ */
/* tests */

static void test_scrapes_answer_within_1s_under_500_idle_and_100_trickling(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_metrics *m = NULL;
    struct rls_metrics_http_stats st;
    static struct s_attack a;
    char *resp = NULL;
    double took[S_SCRAPES], worst = 0;
    long rss0 = 0, rss1 = 0;

    if (s_raise_fd_limit(S_FDS_NEEDED) != 0) {
        print_message("SKIPPED: the hard fd limit is below %d\n", S_FDS_NEEDED);
        skip();
    }
    resp = malloc(S_RESP_MAX);
    assert_non_null(resp);
    m = s_registry(NULL);           /* the agent's defaults */
    assert_int_equal(rls_metrics_serve(m, NULL, 0, &err), RLS_OK);
    uint16_t port = rls_metrics_port(m);

    /* warm up: one scrape before the attack (allocations, page size) */
    assert_true(s_scrape(port, resp, S_RESP_MAX, S_SCRAPE_MAX_S, &took[0]) > 0);
    assert_non_null(strstr(resp, " 200 OK\r\n"));
    size_t page = strlen(resp);
    rss0 = s_rss_kb();

    s_attack_start(&a, port);
    /* wait until the server has seen all of them (bounded) */
    double until = s_now() + 5.0;
    do {
        s_sleep_ms(20);
        assert_int_equal(rls_metrics_http_stats(m, &st), RLS_OK);
    } while (st.accepted < S_IDLE + S_TRICKLE && s_now() < until);
    assert_true(st.accepted >= S_IDLE + S_TRICKLE);
    s_sleep_ms(300);                /* a few trickled bytes each */

    for (int i = 0; i < S_SCRAPES; i++) {
        ssize_t n = s_scrape(port, resp, S_RESP_MAX, S_SCRAPE_MAX_S, &took[i]);
        if (n <= 0 || strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) != 0 || strlen(resp) != page)
            fail_msg("scrape %d under attack: %s after %.3f s", i + 1,
                     n <= 0 ? "no full answer" : "wrong answer", took[i]);
        if (took[i] > worst)
            worst = took[i];
        s_sleep_ms(100);
    }
    rss1 = s_rss_kb();
    assert_int_equal(rls_metrics_http_stats(m, &st), RLS_OK);
    print_message("10 scrapes under %d idle + %d trickling: worst %.1f ms; server: accepted %llu, "
                  "evicted %llu, timed out %llu, open %d; attacker reconnected %ld times, "
                  "trickled %ld bytes; RSS %ld -> %ld KiB\n",
                  S_IDLE, S_TRICKLE, worst * 1e3, (unsigned long long)st.accepted,
                  (unsigned long long)st.evicted, (unsigned long long)st.timed_out, st.open,
                  atomic_load(&a.reconnects), atomic_load(&a.trickled), rss0, rss1);
    assert_true(worst < S_SCRAPE_MAX_S);
    /* 600 attackers over 256 slots: the server made room by evicting them */
    assert_true(st.evicted > 0);
    assert_true(st.open <= rls_metrics_default_params().max_connections);
    assert_true(atomic_load(&a.trickled) > 0);
    if (rss0 > 0)
        assert_true(rss1 - rss0 < S_RSS_GROWTH_MAX_KB);
    assert_true(rls_metrics_http_count(m, 200) >= S_SCRAPES + 1);

    s_attack_stop(&a);
    rls_metrics_destroy(&m);
    free(resp);
}

static void test_trickling_cannot_extend_the_request_deadline(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_metrics_params p = rls_metrics_default_params();
    struct rls_metrics_http_stats st;
    struct rls_metrics *m = NULL;
    char sink[512];
    double t0 = 0, closed_after = -1;
    size_t pos = 0;
    int fd = -1;

    p.request_timeout_s = 1.5;      /* shorter than the default 5 s to keep the test short */
    m = s_registry(&p);
    assert_int_equal(rls_metrics_serve(m, NULL, 0, &err), RLS_OK);
    fd = s_connect_nb(rls_metrics_port(m));
    assert_true(fd >= 0);
    t0 = s_now();
    /* a byte every 50 ms (libmicrohttpd's inactivity timer would restart at
     * each); the server must cut the connection at ~1.5 s, well before 5 s */
    while (s_now() - t0 < 5.0 && closed_after < 0) {
        char byte = pos < sizeof s_trickle_text - 1 ? s_trickle_text[pos] : 'a';
        ssize_t n = send(fd, &byte, 1, MSG_NOSIGNAL);
        if (n == 1)
            pos++;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
            closed_after = s_now() - t0;
        if (s_wait(fd, POLLIN, s_now() + 0.05) & (POLLIN | POLLHUP | POLLERR)) {
            n = recv(fd, sink, sizeof sink, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                closed_after = s_now() - t0;
        }
    }
    close(fd);
    assert_int_equal(rls_metrics_http_stats(m, &st), RLS_OK);
    print_message("trickling connection (%zu bytes sent) closed after %.2f s (deadline %.1f s); "
                  "timed out %llu\n", pos, closed_after, p.request_timeout_s,
                  (unsigned long long)st.timed_out);
    assert_true(closed_after >= p.request_timeout_s - 0.05);
    assert_true(closed_after < p.request_timeout_s + 1.0);
    assert_int_equal(st.timed_out, 1);
    assert_true(pos > 20);          /* it really trickled all along */

    /* an ordinary request on a keep-alive connection is not cut by it */
    double took = 0;
    char *resp = malloc(S_RESP_MAX);
    assert_non_null(resp);
    assert_true(s_scrape(rls_metrics_port(m), resp, S_RESP_MAX, S_SCRAPE_MAX_S, &took) > 0);
    assert_non_null(strstr(resp, " 200 OK\r\n"));
    free(resp);
    rls_metrics_destroy(&m);
}

static void test_idle_keepalive_connection_is_closed_after_the_deadline(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_metrics_params p = rls_metrics_default_params();
    struct rls_metrics *m = NULL;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[4096];
    size_t got = 0;
    double t_answer = 0, closed_after = -1;

    p.request_timeout_s = 1.0;
    m = s_registry(&p);
    assert_int_equal(rls_metrics_serve(m, NULL, 0, &err), RLS_OK);
    int fd = s_connect_nb(rls_metrics_port(m));
    assert_true(fd >= 0);
    assert_true(s_wait(fd, POLLOUT, s_now() + 1.0) & POLLOUT);
    assert_int_equal(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    /* read the answer (keep-alive: the connection stays open), then wait */
    double until = s_now() + 4.0;
    while (s_wait(fd, POLLIN, until) & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 && got == 0)
            t_answer = s_now();
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        closed_after = s_now() - t_answer;
        break;
    }
    close(fd);
    print_message("keep-alive connection: %zu bytes answered, closed %.2f s after the answer\n",
                  got, closed_after);
    assert_true(got > 1000);
    /* the deadline restarts after an answer: closed ~1 s after it, not at once */
    assert_true(closed_after >= 0.9);
    assert_true(closed_after < 2.0);
    rls_metrics_destroy(&m);
}

static void test_server_limits_are_range_checked(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_metrics_params p = rls_metrics_default_params();
    assert_int_equal(p.max_connections, 256);
    assert_true(p.request_timeout_s == 5.0);
    p.max_connections = 7;
    assert_null(rls_metrics_new(&p, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "max_connections"));
    p = rls_metrics_default_params();
    p.request_timeout_s = NAN;
    assert_null(rls_metrics_new(&p, &err));
    assert_non_null(strstr(err.msg, "request_timeout_s"));
    p.request_timeout_s = 0.01;
    assert_null(rls_metrics_new(&p, &err));
    struct rls_metrics_http_stats st;
    assert_int_equal(rls_metrics_http_stats(NULL, &st), RLS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_limits_are_range_checked),
        cmocka_unit_test(test_trickling_cannot_extend_the_request_deadline),
        cmocka_unit_test(test_idle_keepalive_connection_is_closed_after_the_deadline),
        cmocka_unit_test(test_scrapes_answer_within_1s_under_500_idle_and_100_trickling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
