/* haproxy_api.c - HAProxy's runtime API client and the parsers and rules
 * of haproxy_api.h. */
#include "haproxy_api.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define S_REPLY_MAX (16 * 1024 * 1024)  /* a longer answer is refused */

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rls_haproxy_api_call(const char *sock_path, const char *cmd, int timeout_ms, char **reply,
                         struct rls_err *err)
{
    struct sockaddr_un sa;
    int fd = -1, rc = RLS_ERR_IO;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    int64_t end;

    if (reply != NULL)
        *reply = NULL;
    if (sock_path == NULL || cmd == NULL || reply == NULL || strchr(cmd, '\n') != NULL || timeout_ms < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "haproxy api: NULL or multi-line command");
    if (strlen(sock_path) >= sizeof sa.sun_path)
        return rls_err_set(err, RLS_ERR_INVALID, "haproxy api: socket path too long: %s", sock_path);
    end = s_now_ms() + timeout_ms;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        rls_err_set(err, RLS_ERR_IO, "haproxy api %s: connect: %s", sock_path, strerror(errno));
        goto done;
    }
    {
        /* the command and its newline; HAProxy closes after answering */
        n = strlen(cmd);
        char *line = malloc(n + 2);
        if (line == NULL) {
            rc = rls_err_set(err, RLS_ERR_NOMEM, "haproxy api: out of memory");
            goto done;
        }
        memcpy(line, cmd, n);
        line[n] = '\n';
        size_t off = 0;
        while (off < n + 1) {
            ssize_t k = send(fd, line + off, n + 1 - off, MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                free(line);
                rls_err_set(err, RLS_ERR_IO, "haproxy api %s: send: %s", sock_path, strerror(errno));
                goto done;
            }
            off += (size_t)k;
        }
        free(line);
    }
    for (;;) {
        int64_t left = end - s_now_ms();
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0) {
            rls_err_set(err, RLS_ERR_IO, "haproxy api %s: no complete answer to '%s' within %d ms", sock_path, cmd,
                        timeout_ms);
            goto done;
        }
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            rls_err_set(err, RLS_ERR_IO, "haproxy api %s: poll: %s", sock_path, strerror(errno));
            goto done;
        }
        if (pr == 0)
            continue;
        if (cap - len < 4096) {
            size_t ncap = cap > 0 ? cap * 2 : 8192;
            char *nb = ncap <= S_REPLY_MAX ? realloc(buf, ncap) : NULL;
            if (nb == NULL) {
                rls_err_set(err, RLS_ERR_IO, "haproxy api %s: answer to '%s' too long", sock_path, cmd);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rls_err_set(err, RLS_ERR_IO, "haproxy api %s: receive: %s", sock_path, strerror(errno));
            goto done;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    if (buf == NULL) {
        buf = malloc(1);
        if (buf == NULL) {
            rc = rls_err_set(err, RLS_ERR_NOMEM, "haproxy api: out of memory");
            goto done;
        }
    }
    buf[len] = '\0';
    *reply = buf;
    buf = NULL;
    rc = RLS_OK;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

int rls_haproxy_name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n >= RLS_HAPROXY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.'))
            return 0;
    }
    return 1;
}

int rls_haproxy_reply_ok(const char *reply)
{
    const char *p = reply;
    if (reply == NULL)
        return 0;
    while (*p == '\n' || *p == '\r' || *p == ' ')
        p++;
    return *p == '\0' || strncmp(p, "New server registered.", 22) == 0 || strncmp(p, "Server deleted.", 15) == 0;
}

/* snprintf into buf; the length, or 0 when it did not fit. */
static size_t s_fit(char *buf, size_t cap, int n)
{
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

static int s_ipv4_ok(const char *addr)
{
    int a, b, c, d;
    char tail;
    if (addr == NULL || strlen(addr) > 15)
        return 0;
    if (sscanf(addr, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) != 4)
        return 0;
    return a >= 0 && a <= 255 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
}

size_t rls_haproxy_fmt_add_server(char *buf, size_t cap, const char *backend, const char *server,
                                  const char *addr, int port, int weight, int maxconn)
{
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    if (!rls_haproxy_name_ok(backend) || !rls_haproxy_name_ok(server) || !s_ipv4_ok(addr) || port < 1 ||
        port > 65535 || weight < 0 || weight > 256 || maxconn < 1 || maxconn > 100000)
        return 0;
    return s_fit(buf, cap,
                 snprintf(buf, cap,
                          "add server %s/%s %s:%d weight %d maxconn %d check inter 200 fastinter 100 "
                          "downinter 200 rise 1 fall 2 disabled",
                          backend, server, addr, port, weight, maxconn));
}

size_t rls_haproxy_fmt_server(char *buf, size_t cap, const char *verb, const char *backend, const char *server)
{
    static const char *const verbs[] = { "enable server", "disable server", "enable health", "del server",
                                         "shutdown sessions server" };
    int known = 0;
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; verb != NULL && i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i]) == 0)
            known = 1;
    if (!known || !rls_haproxy_name_ok(backend) || !rls_haproxy_name_ok(server))
        return 0;
    return s_fit(buf, cap, snprintf(buf, cap, "%s %s/%s", verb, backend, server));
}

size_t rls_haproxy_fmt_set_weight(char *buf, size_t cap, const char *backend, const char *server, int weight)
{
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    if (!rls_haproxy_name_ok(backend) || !rls_haproxy_name_ok(server) || weight < 0 || weight > 256)
        return 0;
    return s_fit(buf, cap, snprintf(buf, cap, "set server %s/%s weight %d", backend, server, weight));
}

size_t rls_haproxy_fmt_set_state(char *buf, size_t cap, const char *backend, const char *server,
                                 const char *state)
{
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    if (!rls_haproxy_name_ok(backend) || !rls_haproxy_name_ok(server) || state == NULL ||
        (strcmp(state, "ready") != 0 && strcmp(state, "drain") != 0 && strcmp(state, "maint") != 0))
        return 0;
    return s_fit(buf, cap, snprintf(buf, cap, "set server %s/%s state %s", backend, server, state));
}

/* ---------------------------------------------------------------------------
 * show stat */

/* The field number k (0-based) of a CSV line [p, e) into out (cap bytes);
 * returns 1 when it exists. HAProxy's CSV has no quoting. */
static int s_field(const char *p, const char *e, int k, char *out, size_t cap)
{
    int i = 0;
    const char *f = p;
    for (const char *q = p; q <= e; q++) {
        if (q == e || *q == ',') {
            if (i == k) {
                size_t n = (size_t)(q - f);
                if (n >= cap)
                    n = cap - 1;
                memcpy(out, f, n);
                out[n] = '\0';
                return 1;
            }
            i++;
            f = q + 1;
        }
    }
    return 0;
}

static int64_t s_int_or(const char *s, int64_t dflt)
{
    char *end = NULL;
    long long v;
    if (s == NULL || *s == '\0')
        return dflt;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return dflt;
    return (int64_t)v;
}

int32_t rls_haproxy_parse_stat(const char *text, struct rls_haproxy_stat *out, int32_t cap)
{
    static const char *const names[] = { "pxname", "svname", "qcur", "scur", "stot", "status",
                                         "weight", "check_status", "rtime" };
    enum { NCOL = 9 };
    int col[NCOL];
    const char *p, *nl, *e;
    int32_t rows = 0;
    char f[128];

    if (text == NULL)
        return RLS_ERR_PARSE;
    p = text;
    while (*p == '\n' || *p == ' ')
        p++;
    if (strncmp(p, "# ", 2) != 0)
        return RLS_ERR_PARSE;
    nl = strchr(p, '\n');
    e = nl != NULL ? nl : p + strlen(p);
    p += 2;
    for (int c = 0; c < NCOL; c++) {
        col[c] = -1;
        for (int k = 0; s_field(p, e, k, f, sizeof f); k++)
            if (strcmp(f, names[c]) == 0) {
                col[c] = k;
                break;
            }
        if (col[c] < 0 && c < 6)     /* weight, check_status, rtime may be absent */
            return RLS_ERR_PARSE;
    }
    p = nl != NULL ? nl + 1 : e;
    while (*p != '\0') {
        nl = strchr(p, '\n');
        e = nl != NULL ? nl : p + strlen(p);
        if (e > p && *p != '#') {
            if (out != NULL && rows < cap) {
                struct rls_haproxy_stat *r = &out[rows];
                memset(r, 0, sizeof *r);
                s_field(p, e, col[0], r->backend, sizeof r->backend);
                s_field(p, e, col[1], r->server, sizeof r->server);
                s_field(p, e, col[5], r->status, sizeof r->status);
                if (col[7] >= 0)
                    s_field(p, e, col[7], r->check_status, sizeof r->check_status);
                r->qcur = s_field(p, e, col[2], f, sizeof f) ? s_int_or(f, -1) : -1;
                r->scur = s_field(p, e, col[3], f, sizeof f) ? s_int_or(f, 0) : 0;
                r->stot = s_field(p, e, col[4], f, sizeof f) ? s_int_or(f, 0) : 0;
                r->weight = col[6] >= 0 && s_field(p, e, col[6], f, sizeof f) ? s_int_or(f, -1) : -1;
                r->rtime_ms = col[8] >= 0 && s_field(p, e, col[8], f, sizeof f) ? s_int_or(f, -1) : -1;
            }
            rows++;
        }
        p = nl != NULL ? nl + 1 : e;
    }
    return rows;
}

/* ---------------------------------------------------------------------------
 * The request log */

int rls_haproxy_parse_log(const char *line, size_t len, struct rls_haproxy_logrec *out)
{
    char tmp[512], be[128], sv[128], term[8];
    int st, ta, tw, tc, tr;

    if (line == NULL || out == NULL || len == 0 || len >= sizeof tmp)
        return RLS_ERR_PARSE;
    memcpy(tmp, line, len);
    tmp[len] = '\0';
    /* a syslog header (if a format adds one) is skipped up to our tag */
    const char *p = strstr(tmp, "rlsreq ");
    if (p == NULL)
        return RLS_ERR_PARSE;
    if (sscanf(p, "rlsreq %127s %127s %d %d %d %d %d %7s", be, sv, &st, &ta, &tw, &tc, &tr, term) != 8)
        return RLS_ERR_PARSE;
    if (strlen(be) >= sizeof out->backend || strlen(sv) >= sizeof out->server || strlen(term) != 2)
        return RLS_ERR_PARSE;
    memset(out, 0, sizeof *out);
    memcpy(out->backend, be, strlen(be) + 1);
    memcpy(out->server, sv, strlen(sv) + 1);
    out->status = st;
    out->ta_ms = ta;
    out->tw_ms = tw;
    out->tc_ms = tc;
    out->tr_ms = tr;
    memcpy(out->term, term, 3);
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * The adaptive weights */

int rls_haproxy_adaptive_weights(const double *latency_ms, int32_t n, int32_t scale, int32_t *weight,
                                 double *share)
{
    double known = 0.0, sum = 0.0;
    int32_t nk = 0;

    if (latency_ms == NULL || weight == NULL || n < 1 || scale < 1 || scale > 128)
        return RLS_ERR_INVALID;
    for (int32_t i = 0; i < n; i++)
        if (latency_ms[i] > 0.0 && isfinite(latency_ms[i])) {
            known += latency_ms[i];
            nk++;
        }
    double fill = nk > 0 ? known / nk : 1.0;
    for (int32_t i = 0; i < n; i++) {
        double l = latency_ms[i] > 0.0 && isfinite(latency_ms[i]) ? latency_ms[i] : fill;
        sum += 1.0 / l;
    }
    for (int32_t i = 0; i < n; i++) {
        double l = latency_ms[i] > 0.0 && isfinite(latency_ms[i]) ? latency_ms[i] : fill;
        double s = (1.0 / l) / sum;
        double w = floor((double)scale * (double)n * s + 0.5);
        if (share != NULL)
            share[i] = s;
        weight[i] = w < 1.0 ? 1 : (w > 256.0 ? 256 : (int32_t)w);
    }
    return RLS_OK;
}
