/* metrics.c - the Prometheus registry, its text rendering (exposition format
 * 0.0.4) and the libmicrohttpd server behind GET /metrics (see metrics.h and
 * agent/METRICS.md).
 *
 * Layout: two tables allocated once (families, series); each family keeps a
 * singly linked list of its series (indices into the series table) so they
 * render together in creation order. Everything a series or family needs to
 * be printed but its values (names, escaped labels, bucket bounds and their
 * text) is built at creation and never changes, so rendering copies only the
 * values under the mutex and formats outside it.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define S_ERRMSG_MAX 512
#define S_NUM_MAX 40            /* a formatted double: "-1.2345678901234567e-308" fits */
#define S_MAX_CAPACITY 1000000
#define S_HTTP_MEMORY_LIMIT (16u * 1024u)  /* per-connection pool: request line + headers */
#define S_CONN_MIN 8
#define S_CONN_MAX 65536
#define S_TIMEOUT_MIN_S 0.1
#define S_TIMEOUT_MAX_S 3600.0
#define S_WATCHDOG_TICK_S 0.1   /* how often the watchdog looks for late connections */
#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct s_family {
    enum rls_metric_type type;
    char *name;                 /* metric name */
    char *help;                 /* help text, escaped */
    int32_t n_labels;
    char *label_names[RLS_METRICS_MAX_LABELS];
    int32_t n_bounds;           /* finite bucket bounds (histograms) */
    double *bounds;             /* [n_bounds] strictly increasing */
    char (*le)[S_NUM_MAX];      /* [n_bounds] bounds as text for le="..." */
    /* guarded by the mutex once published */
    int32_t first;              /* first series, -1 = none */
    int32_t last;               /* last series, -1 = none */
};

struct s_series {
    int32_t family;
    char *labels;               /* `a="x",b="y"` escaped, "" when no labels */
    /* guarded by the mutex */
    int32_t next;               /* next series of the family, -1 = end */
    double value;               /* counter / gauge value; histogram sum */
    uint64_t count;             /* histogram observations */
    uint64_t *buckets;          /* [n_bounds + 1] per-bucket (not cumulative) counts;
                                   the last is the +Inf overflow */
};

/* One open HTTP connection, as the server's connection table sees it. */
enum s_conn_state {
    S_CONN_FREE = 0,            /* slot unused */
    S_CONN_WAITING,             /* waiting for (the rest of) a request */
    S_CONN_ANSWERING,           /* request read, answer being sent */
    S_CONN_CLOSING              /* shut down by us, libmicrohttpd closes it next */
};

struct s_conn {
    enum s_conn_state state;
    int fd;                     /* the connection's socket (owned by libmicrohttpd) */
    double t0;                  /* monotonic seconds: opened or last answer completed */
};

struct rls_metrics {
    struct rls_metrics_params p;
    pthread_mutex_t mu;         /* guards counts, list links and values */
    struct s_family *fam;       /* [p.max_families] */
    struct s_series *ser;       /* [p.max_series] */
    int32_t n_families;         /* published families (mutex) */
    int32_t n_series;           /* published series (mutex) */
    /* server (owner thread) */
    struct MHD_Daemon *daemon;
    uint16_t port;
    uint64_t http_200, http_404, http_405;  /* mutex */
    /* the process_* series (rls_metrics_process), refreshed at each render */
    int proc_on;                /* mutex: 1 once created */
    int32_t proc_cpu, proc_rss, proc_vm, proc_fds, proc_max_fds, proc_start;
    /* connection table and watchdog (all guarded by conn_mu) */
    pthread_mutex_t conn_mu;
    pthread_cond_t conn_cv;     /* wakes the watchdog to stop */
    struct s_conn *conns;       /* [p.max_connections] while serving */
    int32_t n_open;             /* slots not free */
    int32_t n_closing;          /* slots closing */
    int watchdog_run;           /* 1 while the watchdog should run */
    int watchdog_started;
    pthread_t watchdog;
    struct rls_metrics_http_stats stats;
    pthread_mutex_t log_mu;     /* guards mhd_log */
    char mhd_log[256];          /* libmicrohttpd's last log line */
    char errmsg[S_ERRMSG_MAX];
};

/* ------------------------------------------------------------------ */
/* small helpers */

static int s_fail(struct rls_metrics *m, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_metrics *m, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->errmsg, sizeof m->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

static char *s_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static int s_is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static int s_valid_metric_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || !(s_is_alpha_(s[0]) || s[0] == ':'))
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!(s_is_alpha_(*p) || s_is_digit(*p) || *p == ':'))
            return 0;
    return 1;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, not "__..." (reserved by Prometheus) */
static int s_valid_label_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || !s_is_alpha_(s[0]))
        return 0;
    if (s[0] == '_' && s[1] == '_')
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!(s_is_alpha_(*p) || s_is_digit(*p)))
            return 0;
    return 1;
}

/* Escapes src into a new string: backslash and newline always, the double
 * quote too when quote is 1 (label values; help text leaves quotes). */
static char *s_escape(const char *src, int quote)
{
    size_t n = strlen(src);
    char *out = malloc(2 * n + 1);
    char *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = src; *p; p++) {
        if (*p == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else if (*p == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (*p == '"' && quote) {
            *o++ = '\\';
            *o++ = '"';
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* The shortest of %.15g, %.16g, %.17g that reads back to v; integers below
 * 1e15 without a fraction; NaN, +Inf, -Inf as Prometheus spells them. */
static void s_fmt_double(char out[S_NUM_MAX], double v)
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, S_NUM_MAX, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, S_NUM_MAX, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return;
    }
}

/* ------------------------------------------------------------------ */
/* lifecycle */

/* A condition variable timed on CLOCK_MONOTONIC (the watchdog's clock). */
static int s_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

struct rls_metrics_params rls_metrics_default_params(void)
{
    struct rls_metrics_params p;
    memset(&p, 0, sizeof p);
    p.max_families = 64;
    p.max_series = 4096;
    p.max_connections = 256;
    p.request_timeout_s = 5.0;
    return p;
}

struct rls_metrics *rls_metrics_new(const struct rls_metrics_params *p, struct rls_err *err)
{
    struct rls_metrics *m = NULL;
    struct rls_metrics_params prm = p != NULL ? *p : rls_metrics_default_params();

    if (prm.max_families < 1 || prm.max_families > S_MAX_CAPACITY) {
        rls_err_set(err, RLS_ERR_RANGE, "metrics: max_families %d: must be 1..%d",
                    (int)prm.max_families, S_MAX_CAPACITY);
        return NULL;
    }
    if (prm.max_series < 1 || prm.max_series > S_MAX_CAPACITY) {
        rls_err_set(err, RLS_ERR_RANGE, "metrics: max_series %d: must be 1..%d",
                    (int)prm.max_series, S_MAX_CAPACITY);
        return NULL;
    }
    if (prm.max_connections < S_CONN_MIN || prm.max_connections > S_CONN_MAX) {
        rls_err_set(err, RLS_ERR_RANGE, "metrics: max_connections %d: must be %d..%d",
                    (int)prm.max_connections, S_CONN_MIN, S_CONN_MAX);
        return NULL;
    }
    if (!(prm.request_timeout_s >= S_TIMEOUT_MIN_S && prm.request_timeout_s <= S_TIMEOUT_MAX_S)) {
        rls_err_set(err, RLS_ERR_RANGE, "metrics: request_timeout_s %g: must be %g..%g",
                    prm.request_timeout_s, S_TIMEOUT_MIN_S, S_TIMEOUT_MAX_S);
        return NULL;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL)
        goto nomem;
    m->p = prm;
    m->fam = calloc((size_t)prm.max_families, sizeof *m->fam);
    m->ser = calloc((size_t)prm.max_series, sizeof *m->ser);
    if (m->fam == NULL || m->ser == NULL)
        goto nomem;
    if (pthread_mutex_init(&m->mu, NULL) != 0)
        goto nomem;
    if (pthread_mutex_init(&m->log_mu, NULL) != 0) {
        pthread_mutex_destroy(&m->mu);
        goto nomem;
    }
    if (pthread_mutex_init(&m->conn_mu, NULL) != 0) {
        pthread_mutex_destroy(&m->log_mu);
        pthread_mutex_destroy(&m->mu);
        goto nomem;
    }
    if (s_cond_init_monotonic(&m->conn_cv) != 0) {
        pthread_mutex_destroy(&m->conn_mu);
        pthread_mutex_destroy(&m->log_mu);
        pthread_mutex_destroy(&m->mu);
        goto nomem;
    }
    return m;

nomem:
    if (m != NULL) {
        free(m->fam);
        free(m->ser);
        free(m);
    }
    rls_err_set(err, RLS_ERR_NOMEM, "metrics: out of memory for the registry");
    return NULL;
}

static void s_family_free(struct s_family *f)
{
    free(f->name);
    free(f->help);
    for (int32_t i = 0; i < RLS_METRICS_MAX_LABELS; i++)
        free(f->label_names[i]);
    free(f->bounds);
    free(f->le);
    memset(f, 0, sizeof *f);
}

void rls_metrics_destroy(struct rls_metrics **mp)
{
    struct rls_metrics *m = NULL;
    if (mp == NULL || *mp == NULL)
        return;
    m = *mp;
    rls_metrics_stop(m);
    for (int32_t i = 0; i < m->n_families; i++)
        s_family_free(&m->fam[i]);
    for (int32_t i = 0; i < m->n_series; i++) {
        free(m->ser[i].labels);
        free(m->ser[i].buckets);
    }
    free(m->fam);
    free(m->ser);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->log_mu);
    pthread_mutex_destroy(&m->conn_mu);
    pthread_cond_destroy(&m->conn_cv);
    free(m);
    *mp = NULL;
}

const char *rls_metrics_errmsg(const struct rls_metrics *m)
{
    return m != NULL ? m->errmsg : "";
}

/* ------------------------------------------------------------------ */
/* creation */

int32_t rls_metrics_family(struct rls_metrics *m, enum rls_metric_type type, const char *name,
                           const char *help, int32_t n_labels, const char *const *label_names,
                           const double *buckets, int32_t n_buckets)
{
    struct s_family f;
    int32_t id = -1;
    int status = RLS_OK;

    memset(&f, 0, sizeof f);
    if (m == NULL)
        return RLS_ERR_INVALID;
    m->errmsg[0] = '\0';
    if (name == NULL || help == NULL)
        return s_fail(m, RLS_ERR_INVALID, "metrics: family: NULL name or help");
    if (type != RLS_METRIC_COUNTER && type != RLS_METRIC_GAUGE && type != RLS_METRIC_HISTOGRAM)
        return s_fail(m, RLS_ERR_INVALID, "metrics: %s: unknown type %d", name, (int)type);
    if (strlen(name) > RLS_METRICS_NAME_MAX)
        return s_fail(m, RLS_ERR_RANGE, "metrics: family name longer than %d bytes",
                      RLS_METRICS_NAME_MAX);
    if (!s_valid_metric_name(name))
        return s_fail(m, RLS_ERR_INVALID,
                      "metrics: \"%s\": not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", name);
    if (strlen(help) > RLS_METRICS_HELP_MAX)
        return s_fail(m, RLS_ERR_RANGE, "metrics: %s: help longer than %d bytes", name,
                      RLS_METRICS_HELP_MAX);
    if (n_labels < 0 || n_labels > RLS_METRICS_MAX_LABELS)
        return s_fail(m, RLS_ERR_RANGE, "metrics: %s: n_labels %d: must be 0..%d", name,
                      (int)n_labels, RLS_METRICS_MAX_LABELS);
    if (n_labels > 0 && label_names == NULL)
        return s_fail(m, RLS_ERR_INVALID, "metrics: %s: NULL label_names", name);
    for (int32_t i = 0; i < n_labels; i++) {
        const char *ln = label_names[i];
        if (ln == NULL || strlen(ln) > RLS_METRICS_NAME_MAX || !s_valid_label_name(ln))
            return s_fail(m, RLS_ERR_INVALID,
                          "metrics: %s: label_names[%d] \"%s\": not a label name "
                          "([a-zA-Z_][a-zA-Z0-9_]*, not __...)",
                          name, (int)i, ln != NULL ? ln : "(null)");
        if (type == RLS_METRIC_HISTOGRAM && strcmp(ln, "le") == 0)
            return s_fail(m, RLS_ERR_INVALID,
                          "metrics: %s: label_names[%d]: \"le\" is reserved for histograms",
                          name, (int)i);
        for (int32_t j = 0; j < i; j++)
            if (strcmp(label_names[j], ln) == 0)
                return s_fail(m, RLS_ERR_INVALID, "metrics: %s: label \"%s\" given twice",
                              name, ln);
    }
    if (type == RLS_METRIC_HISTOGRAM) {
        int32_t n = n_buckets;
        if (n < 0 || (n > 0 && buckets == NULL))
            return s_fail(m, RLS_ERR_RANGE, "metrics: %s: %d buckets with %s array", name,
                          (int)n, buckets == NULL ? "a NULL" : "an");
        if (n > 0 && isinf(buckets[n - 1]) && buckets[n - 1] > 0)
            n--;                                   /* +Inf is implicit */
        if (n > RLS_METRICS_MAX_BUCKETS)
            return s_fail(m, RLS_ERR_RANGE, "metrics: %s: %d buckets: at most %d", name,
                          (int)n, RLS_METRICS_MAX_BUCKETS);
        for (int32_t i = 0; i < n; i++) {
            if (!isfinite(buckets[i]))
                return s_fail(m, RLS_ERR_RANGE, "metrics: %s: buckets[%d]: not finite", name,
                              (int)i);
            if (i > 0 && !(buckets[i] > buckets[i - 1]))
                return s_fail(m, RLS_ERR_RANGE,
                              "metrics: %s: buckets[%d] = %g: not above buckets[%d] = %g",
                              name, (int)i, buckets[i], (int)(i - 1), buckets[i - 1]);
        }
        f.n_bounds = n;
    } else if (n_buckets != 0) {
        return s_fail(m, RLS_ERR_RANGE, "metrics: %s: buckets given for a %s", name,
                      type == RLS_METRIC_COUNTER ? "counter" : "gauge");
    }

    /* build the family outside the lock */
    f.type = type;
    f.first = -1;
    f.last = -1;
    f.n_labels = n_labels;
    f.name = s_strdup(name);
    f.help = s_escape(help, 0);
    if (f.name == NULL || f.help == NULL)
        goto nomem;
    for (int32_t i = 0; i < n_labels; i++) {
        f.label_names[i] = s_strdup(label_names[i]);
        if (f.label_names[i] == NULL)
            goto nomem;
    }
    if (f.n_bounds > 0) {
        f.bounds = malloc((size_t)f.n_bounds * sizeof *f.bounds);
        f.le = malloc((size_t)f.n_bounds * sizeof *f.le);
        if (f.bounds == NULL || f.le == NULL)
            goto nomem;
        for (int32_t i = 0; i < f.n_bounds; i++) {
            f.bounds[i] = buckets[i];
            s_fmt_double(f.le[i], buckets[i]);
        }
    }

    /* publish: names are checked against the published families under the lock */
    pthread_mutex_lock(&m->mu);
    for (int32_t i = 0; i < m->n_families && status == RLS_OK; i++)
        if (strcmp(m->fam[i].name, name) == 0)
            status = RLS_ERR_INVALID;
    if (status == RLS_OK && m->n_families >= m->p.max_families)
        status = RLS_ERR_NOMEM;
    if (status == RLS_OK) {
        id = m->n_families;
        m->fam[id] = f;
        m->n_families = id + 1;
    }
    pthread_mutex_unlock(&m->mu);
    if (status == RLS_ERR_INVALID) {
        s_family_free(&f);
        return s_fail(m, status, "metrics: %s: a family of that name exists", name);
    }
    if (status == RLS_ERR_NOMEM) {
        s_family_free(&f);
        return s_fail(m, status, "metrics: %s: registry full (max_families %d)", name,
                      (int)m->p.max_families);
    }
    return id;

nomem:
    s_family_free(&f);
    return s_fail(m, RLS_ERR_NOMEM, "metrics: %s: out of memory", name);
}

int32_t rls_metrics_series(struct rls_metrics *m, int32_t family,
                           const char *const *label_values)
{
    struct s_family *f = NULL;
    char *labels = NULL;
    uint64_t *buckets = NULL;
    size_t cap = 1, pos = 0;
    int32_t id = -1;
    int32_t n_families = 0;
    int status = RLS_OK;

    if (m == NULL)
        return RLS_ERR_INVALID;
    m->errmsg[0] = '\0';
    pthread_mutex_lock(&m->mu);
    n_families = m->n_families;
    pthread_mutex_unlock(&m->mu);
    if (family < 0 || family >= n_families)
        return s_fail(m, RLS_ERR_INVALID, "metrics: series: no family %d", (int)family);
    f = &m->fam[family];            /* immutable fields of a published family */
    if (f->n_labels > 0 && label_values == NULL)
        return s_fail(m, RLS_ERR_INVALID, "metrics: %s: NULL label_values", f->name);

    /* `name="escaped value",...` */
    for (int32_t i = 0; i < f->n_labels; i++) {
        if (label_values[i] == NULL)
            return s_fail(m, RLS_ERR_INVALID, "metrics: %s: label %s: NULL value", f->name,
                          f->label_names[i]);
        if (strlen(label_values[i]) > RLS_METRICS_VALUE_MAX)
            return s_fail(m, RLS_ERR_RANGE, "metrics: %s: label %s: value longer than %d bytes",
                          f->name, f->label_names[i], RLS_METRICS_VALUE_MAX);
        cap += strlen(f->label_names[i]) + 2 * strlen(label_values[i]) + 4;
    }
    labels = malloc(cap);
    if (labels == NULL)
        goto nomem;
    labels[0] = '\0';
    for (int32_t i = 0; i < f->n_labels; i++) {
        char *esc = s_escape(label_values[i], 1);
        if (esc == NULL)
            goto nomem;
        pos += (size_t)snprintf(labels + pos, cap - pos, "%s%s=\"%s\"", i > 0 ? "," : "",
                                f->label_names[i], esc);
        free(esc);
    }
    if (f->type == RLS_METRIC_HISTOGRAM) {
        buckets = calloc((size_t)f->n_bounds + 1, sizeof *buckets);
        if (buckets == NULL)
            goto nomem;
    }

    pthread_mutex_lock(&m->mu);
    for (int32_t s = f->first; s >= 0 && status == RLS_OK; s = m->ser[s].next)
        if (strcmp(m->ser[s].labels, labels) == 0)
            status = RLS_ERR_INVALID;   /* escaping is one-to-one: same text, same values */
    if (status == RLS_OK && m->n_series >= m->p.max_series)
        status = RLS_ERR_NOMEM;
    if (status == RLS_OK) {
        struct s_series *s = NULL;
        id = m->n_series;
        s = &m->ser[id];
        memset(s, 0, sizeof *s);
        s->family = family;
        s->labels = labels;
        s->buckets = buckets;
        s->next = -1;
        if (f->last >= 0)
            m->ser[f->last].next = id;
        else
            f->first = id;
        f->last = id;
        m->n_series = id + 1;
        labels = NULL;
        buckets = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    if (status == RLS_ERR_INVALID) {
        s_fail(m, status, "metrics: %s: a series {%s} exists", f->name, labels);
        free(labels);
        free(buckets);
        return status;
    }
    if (status == RLS_ERR_NOMEM) {
        free(labels);
        free(buckets);
        return s_fail(m, status, "metrics: %s: registry full (max_series %d)", f->name,
                      (int)m->p.max_series);
    }
    return id;

nomem:
    free(labels);
    free(buckets);
    return s_fail(m, RLS_ERR_NOMEM, "metrics: %s: out of memory", f->name);
}

static int32_t s_single(struct rls_metrics *m, enum rls_metric_type type, const char *name,
                        const char *help, const double *buckets, int32_t n_buckets)
{
    int32_t fam = rls_metrics_family(m, type, name, help, 0, NULL, buckets, n_buckets);
    if (fam < 0)
        return fam;
    return rls_metrics_series(m, fam, NULL);
}

int32_t rls_metrics_counter(struct rls_metrics *m, const char *name, const char *help)
{
    return s_single(m, RLS_METRIC_COUNTER, name, help, NULL, 0);
}

int32_t rls_metrics_gauge(struct rls_metrics *m, const char *name, const char *help)
{
    return s_single(m, RLS_METRIC_GAUGE, name, help, NULL, 0);
}

int32_t rls_metrics_histogram(struct rls_metrics *m, const char *name, const char *help,
                              const double *buckets, int32_t n_buckets)
{
    return s_single(m, RLS_METRIC_HISTOGRAM, name, help, buckets, n_buckets);
}

static int32_t s_vec(struct rls_metrics *m, enum rls_metric_type type, const char *name,
                     const char *help, const char *label_name, int32_t n,
                     const char *const *values, int32_t *ids_out)
{
    const char *ln[1] = {label_name};
    int32_t fam = -1;
    if (m == NULL)
        return RLS_ERR_INVALID;
    if (n < 0 || (n > 0 && (values == NULL || ids_out == NULL)))
        return s_fail(m, RLS_ERR_INVALID, "metrics: %s: bad value list (n %d)",
                      name != NULL ? name : "(null)", (int)n);
    fam = rls_metrics_family(m, type, name, help, 1, ln, NULL, 0);
    if (fam < 0)
        return fam;
    for (int32_t i = 0; i < n; i++) {
        const char *v[1] = {values[i]};
        int32_t id = rls_metrics_series(m, fam, v);
        if (id < 0)
            return id;
        ids_out[i] = id;
    }
    return fam;
}

int32_t rls_metrics_counter_vec(struct rls_metrics *m, const char *name, const char *help,
                                const char *label_name, int32_t n, const char *const *values,
                                int32_t *ids_out)
{
    return s_vec(m, RLS_METRIC_COUNTER, name, help, label_name, n, values, ids_out);
}

int32_t rls_metrics_gauge_vec(struct rls_metrics *m, const char *name, const char *help,
                              const char *label_name, int32_t n, const char *const *values,
                              int32_t *ids_out)
{
    return s_vec(m, RLS_METRIC_GAUGE, name, help, label_name, n, values, ids_out);
}

static const double s_latency_buckets[] = {
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3,
    2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0};

const double *rls_metrics_latency_buckets(int32_t *n)
{
    if (n != NULL)
        *n = (int32_t)(sizeof s_latency_buckets / sizeof s_latency_buckets[0]);
    return s_latency_buckets;
}

/* ------------------------------------------------------------------ */
/* updates: everything under the lock is a handful of instructions */

/* The series id if valid (call with the lock held), else NULL. */
static struct s_series *s_lookup(struct rls_metrics *m, int32_t id)
{
    if (id < 0 || id >= m->n_series)
        return NULL;
    return &m->ser[id];
}

int rls_metrics_inc(struct rls_metrics *m, int32_t id)
{
    struct s_series *s = NULL;
    int status = RLS_ERR_INVALID;
    if (m == NULL)
        return RLS_ERR_INVALID;
    pthread_mutex_lock(&m->mu);
    s = s_lookup(m, id);
    if (s != NULL && m->fam[s->family].type == RLS_METRIC_COUNTER) {
        s->value += 1.0;
        status = RLS_OK;
    }
    pthread_mutex_unlock(&m->mu);
    return status;
}

int rls_metrics_add(struct rls_metrics *m, int32_t id, double v)
{
    struct s_series *s = NULL;
    int status = RLS_ERR_INVALID;
    if (m == NULL)
        return RLS_ERR_INVALID;
    pthread_mutex_lock(&m->mu);
    s = s_lookup(m, id);
    if (s != NULL) {
        enum rls_metric_type t = m->fam[s->family].type;
        if (t == RLS_METRIC_HISTOGRAM)
            status = RLS_ERR_INVALID;
        else if (!isfinite(v) || (t == RLS_METRIC_COUNTER && v < 0))
            status = RLS_ERR_RANGE;
        else {
            s->value += v;
            status = RLS_OK;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return status;
}

int rls_metrics_set(struct rls_metrics *m, int32_t id, double v)
{
    struct s_series *s = NULL;
    int status = RLS_ERR_INVALID;
    if (m == NULL)
        return RLS_ERR_INVALID;
    pthread_mutex_lock(&m->mu);
    s = s_lookup(m, id);
    if (s != NULL) {
        enum rls_metric_type t = m->fam[s->family].type;
        if (t == RLS_METRIC_HISTOGRAM)
            status = RLS_ERR_INVALID;
        else if (t == RLS_METRIC_COUNTER && (isnan(v) || v < 0))
            status = RLS_ERR_RANGE;
        else {
            s->value = v;
            status = RLS_OK;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return status;
}

int rls_metrics_observe(struct rls_metrics *m, int32_t id, double v)
{
    struct s_series *s = NULL;
    int status = RLS_ERR_INVALID;
    if (m == NULL)
        return RLS_ERR_INVALID;
    pthread_mutex_lock(&m->mu);
    s = s_lookup(m, id);
    if (s != NULL && m->fam[s->family].type == RLS_METRIC_HISTOGRAM) {
        const struct s_family *f = &m->fam[s->family];
        /* first bound >= v; NaN compares false everywhere and lands in +Inf */
        int32_t lo = 0, hi = f->n_bounds;
        while (lo < hi) {
            int32_t mid = lo + (hi - lo) / 2;
            if (f->bounds[mid] >= v)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (isnan(v))
            lo = f->n_bounds;
        s->buckets[lo]++;
        s->count++;
        s->value += v;
        status = RLS_OK;
    }
    pthread_mutex_unlock(&m->mu);
    return status;
}

double rls_metrics_get(struct rls_metrics *m, int32_t id)
{
    struct s_series *s = NULL;
    double v = NAN;
    if (m == NULL)
        return NAN;
    pthread_mutex_lock(&m->mu);
    s = s_lookup(m, id);
    if (s != NULL)
        v = m->fam[s->family].type == RLS_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->mu);
    return v;
}

/* ------------------------------------------------------------------ */
/* the process_* metrics and build info */

struct s_proc {
    double cpu_s;               /* user + system CPU time, seconds */
    double vsize;               /* virtual memory, bytes */
    double rss;                 /* resident memory, bytes */
    double start_s;             /* start time, Unix seconds */
};

/* Reads /proc/self/stat, and with_start /proc/stat's btime for the start
 * time (constant: read once; /proc/stat is the slow part). Returns 0, or -1
 * when /proc cannot be read. */
static int s_proc_read(struct s_proc *out, int with_start)
{
    char buf[1024];
    size_t n = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    const char *c = NULL;
    unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
    long long rss = 0;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    c = strrchr(buf, ')');          /* the command name may hold spaces and parens */
    if (c == NULL || tck <= 0 || page <= 0)
        return -1;
    /* after ")": field 3 (state) onwards; utime 14, stime 15, starttime 22, vsize 23, rss 24 */
    if (sscanf(c + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                      "%*d %llu %llu %lld", &utime, &stime, &starttime, &vsize, &rss) != 5)
        return -1;
    out->cpu_s = (double)(utime + stime) / (double)tck;
    out->vsize = (double)vsize;
    out->rss = (double)rss * (double)page;
    out->start_s = NAN;
    f = with_start ? fopen("/proc/stat", "r") : NULL;
    if (f != NULL) {
        char line[256];
        unsigned long long btime = 0;
        while (fgets(line, sizeof line, f) != NULL) {
            if (sscanf(line, "btime %llu", &btime) == 1) {
                out->start_s = (double)btime + (double)starttime / (double)tck;
                break;
            }
        }
        fclose(f);
    }
    return 0;
}

/* Open file descriptors (/proc/self/fd, less the one reading it); -1 if unreadable. */
static double s_proc_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e = NULL;
    double n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n += 1;
    closedir(d);
    return n > 0 ? n - 1 : 0;
}

/* Sets the process_* series to what /proc says now (no lock held while
 * reading). */
static void s_proc_refresh(struct rls_metrics *m)
{
    struct s_proc pr;
    struct rlimit rl;
    int on = 0;
    pthread_mutex_lock(&m->mu);
    on = m->proc_on;
    pthread_mutex_unlock(&m->mu);
    if (!on || s_proc_read(&pr, 0) != 0)
        return;
    rls_metrics_set(m, m->proc_cpu, pr.cpu_s);
    rls_metrics_set(m, m->proc_rss, pr.rss);
    rls_metrics_set(m, m->proc_vm, pr.vsize);
    rls_metrics_set(m, m->proc_fds, s_proc_open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        rls_metrics_set(m, m->proc_max_fds,
                        rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
}

int rls_metrics_process(struct rls_metrics *m)
{
    struct s_proc pr;
    int32_t id[6];
    if (m == NULL)
        return RLS_ERR_INVALID;
    m->errmsg[0] = '\0';
    if (s_proc_read(&pr, 1) != 0)
        return s_fail(m, RLS_ERR_UNSUPPORTED, "metrics: process metrics: cannot read /proc/self/stat");
    id[0] = rls_metrics_counter(m, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.");
    if (id[0] < 0)
        return id[0];
    id[1] = rls_metrics_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.");
    if (id[1] < 0)
        return id[1];
    id[2] = rls_metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.");
    if (id[2] < 0)
        return id[2];
    id[3] = rls_metrics_gauge(m, "process_open_fds", "Number of open file descriptors.");
    if (id[3] < 0)
        return id[3];
    id[4] = rls_metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors.");
    if (id[4] < 0)
        return id[4];
    id[5] = rls_metrics_gauge(m, "process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.");
    if (id[5] < 0)
        return id[5];
    rls_metrics_set(m, id[5], pr.start_s);
    pthread_mutex_lock(&m->mu);
    m->proc_cpu = id[0];
    m->proc_rss = id[1];
    m->proc_vm = id[2];
    m->proc_fds = id[3];
    m->proc_max_fds = id[4];
    m->proc_start = id[5];
    m->proc_on = 1;
    pthread_mutex_unlock(&m->mu);
    s_proc_refresh(m);
    return RLS_OK;
}

int32_t rls_metrics_build_info(struct rls_metrics *m, const char *name, const char *version)
{
    static const char *const labels[2] = {"version", "compiler"};
    const char *values[2] = {version, "unknown"};
    int32_t fam = -1, id = -1;
#if defined(__clang__)
    values[1] = "clang " __clang_version__;
#elif defined(__GNUC__)
    values[1] = "gcc " __VERSION__;
#endif
    if (m == NULL)
        return RLS_ERR_INVALID;
    if (version == NULL || name == NULL)
        return s_fail(m, RLS_ERR_INVALID, "metrics: build info: NULL name or version");
    fam = rls_metrics_family(m, RLS_METRIC_GAUGE, name,
                             "A metric with a constant '1' value labeled by version and compiler.",
                             2, labels, NULL, 0);
    if (fam < 0)
        return fam;
    id = rls_metrics_series(m, fam, values);
    if (id < 0)
        return id;
    rls_metrics_set(m, id, 1.0);
    return id;
}

/* ------------------------------------------------------------------ */
/* rendering */

/* An snprintf-like writer: keeps counting past the end of the buffer. */
struct s_out {
    char *buf;
    size_t len;     /* buffer size, NUL included */
    size_t pos;     /* bytes the full text needs so far */
};

static void s_put(struct s_out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->pos < o->len) {
        size_t room = o->len - 1 - o->pos;     /* keep one byte for the NUL */
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->pos, s, k);
    }
    o->pos += n;
}

static void s_put_u64(struct s_out *o, uint64_t v)
{
    char num[S_NUM_MAX];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    s_put(o, num);
}

static void s_put_double(struct s_out *o, double v)
{
    char num[S_NUM_MAX];
    s_fmt_double(num, v);
    s_put(o, num);
}

/* name{labels} or name when labels is "" */
static void s_put_sample_name(struct s_out *o, const char *name, const char *suffix,
                              const char *labels)
{
    s_put(o, name);
    s_put(o, suffix);
    if (labels[0] != '\0') {
        s_put(o, "{");
        s_put(o, labels);
        s_put(o, "}");
    }
    s_put(o, " ");
}

static const char *s_type_str(enum rls_metric_type t)
{
    switch (t) {
    case RLS_METRIC_COUNTER:
        return "counter";
    case RLS_METRIC_GAUGE:
        return "gauge";
    case RLS_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

int64_t rls_metrics_render(struct rls_metrics *m, char *buf, size_t len)
{
    struct s_out o = {buf, len, 0};
    uint64_t counts[RLS_METRICS_MAX_BUCKETS + 1];
    int32_t n_families = 0;

    if (m == NULL || (buf == NULL && len > 0))
        return RLS_ERR_INVALID;
    s_proc_refresh(m);
    pthread_mutex_lock(&m->mu);
    n_families = m->n_families;
    pthread_mutex_unlock(&m->mu);

    for (int32_t fi = 0; fi < n_families; fi++) {
        const struct s_family *f = &m->fam[fi];
        int32_t sid = -1;
        pthread_mutex_lock(&m->mu);
        sid = f->first;
        pthread_mutex_unlock(&m->mu);
        if (sid < 0)
            continue;
        s_put(&o, "# HELP ");
        s_put(&o, f->name);
        s_put(&o, " ");
        s_put(&o, f->help);
        s_put(&o, "\n# TYPE ");
        s_put(&o, f->name);
        s_put(&o, " ");
        s_put(&o, s_type_str(f->type));
        s_put(&o, "\n");
        while (sid >= 0) {
            const struct s_series *s = &m->ser[sid];
            double value = 0.0;
            uint64_t count = 0;
            /* snapshot one series */
            pthread_mutex_lock(&m->mu);
            value = s->value;
            count = s->count;
            if (f->type == RLS_METRIC_HISTOGRAM)
                memcpy(counts, s->buckets, ((size_t)f->n_bounds + 1) * sizeof counts[0]);
            sid = s->next;
            pthread_mutex_unlock(&m->mu);

            if (f->type != RLS_METRIC_HISTOGRAM) {
                s_put_sample_name(&o, f->name, "", s->labels);
                s_put_double(&o, value);
                s_put(&o, "\n");
                continue;
            }
            uint64_t cum = 0;
            for (int32_t b = 0; b <= f->n_bounds; b++) {
                cum += counts[b];
                s_put(&o, f->name);
                s_put(&o, "_bucket{");
                if (s->labels[0] != '\0') {
                    s_put(&o, s->labels);
                    s_put(&o, ",");
                }
                s_put(&o, "le=\"");
                s_put(&o, b < f->n_bounds ? f->le[b] : "+Inf");
                s_put(&o, "\"} ");
                s_put_u64(&o, cum);
                s_put(&o, "\n");
            }
            s_put_sample_name(&o, f->name, "_sum", s->labels);
            s_put_double(&o, value);
            s_put(&o, "\n");
            s_put_sample_name(&o, f->name, "_count", s->labels);
            s_put_u64(&o, count);
            s_put(&o, "\n");
        }
    }
    if (len > 0)
        buf[o.pos < len ? o.pos : len - 1] = '\0';
    return (int64_t)o.pos;
}

char *rls_metrics_render_dup(struct rls_metrics *m, size_t *len_out)
{
    size_t cap = 4096;
    char *buf = NULL;
    if (m == NULL)
        return NULL;
    /* values can grow between two calls: retry with room to spare */
    for (int attempt = 0; attempt < 8; attempt++) {
        int64_t need = 0;
        char *nb = realloc(buf, cap);
        if (nb == NULL)
            break;
        buf = nb;
        need = rls_metrics_render(m, buf, cap);
        if (need < 0)
            break;
        if ((size_t)need < cap) {
            if (len_out != NULL)
                *len_out = (size_t)need;
            return buf;
        }
        cap = (size_t)need + (size_t)need / 4 + 256;
    }
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the HTTP server */

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct rls_metrics *m = cls;
    pthread_mutex_lock(&m->log_mu);
    vsnprintf(m->mhd_log, sizeof m->mhd_log, fmt, ap);
    for (char *p = m->mhd_log; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_unlock(&m->log_mu);
}

/* ---- the connection table: eviction and the request deadline ----
 *
 * libmicrohttpd's own timeout counts from the last byte received, so a client
 * trickling one byte a second keeps a connection forever, and its connection
 * limit makes later clients wait behind idle ones. So the registry keeps a
 * table of the open connections (libmicrohttpd's connection notifications:
 * STARTED fills a slot, CLOSED frees it, always before libmicrohttpd closes
 * the socket, so an fd in the table is always the connection's own) and:
 * - eviction: a new connection that leaves fewer than max/8 slots free shuts
 *   down the oldest connection still waiting for its request (the answering
 *   ones only when none waits), so a newcomer, such as a real scrape, always
 *   finds room and is the last to be evicted;
 * - deadline: a watchdog thread shuts down every connection that has not
 *   completed a request within request_timeout_s of opening or of its
 *   previous answer, however it trickles.
 * Shutting down (shutdown(2), SHUT_RDWR) wakes libmicrohttpd's poll on the
 * socket with an end of file; it then closes the connection itself. */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Shuts down slot c's socket and marks it closing. Holds conn_mu. */
static void s_conn_shut(struct rls_metrics *m, struct s_conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->state = S_CONN_CLOSING;
    m->n_closing++;
}

/* Evicts the oldest waiting connection (else the oldest answering one) other
 * than keep. Returns 1 when one was shut down, 0 when none could be. Holds
 * conn_mu. */
static int s_conn_evict_oldest(struct rls_metrics *m, const struct s_conn *keep)
{
    struct s_conn *oldest_waiting = NULL, *oldest_any = NULL, *victim = NULL;
    for (int32_t i = 0; i < m->p.max_connections; i++) {
        struct s_conn *c = &m->conns[i];
        if (c == keep || c->state == S_CONN_FREE || c->state == S_CONN_CLOSING)
            continue;
        if (oldest_any == NULL || c->t0 < oldest_any->t0)
            oldest_any = c;
        if (c->state == S_CONN_WAITING && (oldest_waiting == NULL || c->t0 < oldest_waiting->t0))
            oldest_waiting = c;
    }
    victim = oldest_waiting != NULL ? oldest_waiting : oldest_any;
    if (victim == NULL)
        return 0;
    s_conn_shut(m, victim);
    m->stats.evicted++;
    return 1;
}

static void s_conn_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct rls_metrics *m = cls;
    struct s_conn *c = NULL;
    const union MHD_ConnectionInfo *info = NULL;
    int32_t reserve = m->p.max_connections / 8;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        pthread_mutex_lock(&m->conn_mu);
        c = *socket_context;
        if (c != NULL && c->state != S_CONN_FREE) {
            if (c->state == S_CONN_CLOSING)
                m->n_closing--;
            c->state = S_CONN_FREE;
            c->fd = -1;
            m->n_open--;
        }
        *socket_context = NULL;
        pthread_mutex_unlock(&m->conn_mu);
        return;
    }
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    pthread_mutex_lock(&m->conn_mu);
    m->stats.accepted++;
    for (int32_t i = 0; info != NULL && i < m->p.max_connections; i++) {
        if (m->conns[i].state == S_CONN_FREE) {
            c = &m->conns[i];
            break;
        }
    }
    *socket_context = c;
    if (c != NULL) {        /* no free slot cannot happen (libmicrohttpd's limit is ours) */
        c->state = S_CONN_WAITING;
        c->fd = info->connect_fd;
        c->t0 = s_now();
        m->n_open++;
    }
    while (m->p.max_connections - (m->n_open - m->n_closing) < reserve &&
           s_conn_evict_oldest(m, c))
        ;
    pthread_mutex_unlock(&m->conn_mu);
}

/* The connection's slot moves to state (ANSWERING when a request has been
 * read, WAITING with a fresh t0 when its answer is done). */
static void s_conn_mark(struct rls_metrics *m, struct MHD_Connection *connection,
                        enum s_conn_state state)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct s_conn *c = info != NULL ? info->socket_context : NULL;
    if (c == NULL)
        return;
    pthread_mutex_lock(&m->conn_mu);
    if (c->state == S_CONN_WAITING || c->state == S_CONN_ANSWERING) {
        c->state = state;
        if (state == S_CONN_WAITING)
            c->t0 = s_now();
    }
    pthread_mutex_unlock(&m->conn_mu);
}

static void s_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                                enum MHD_RequestTerminationCode toe)
{
    (void)req_cls;
    (void)toe;
    s_conn_mark(cls, connection, S_CONN_WAITING);
}

/* The watchdog thread: every S_WATCHDOG_TICK_S, shuts down the connections
 * past their deadline, until watchdog_run drops to 0. */
static void *s_watchdog_main(void *arg)
{
    struct rls_metrics *m = arg;
    struct timespec wake;
    pthread_mutex_lock(&m->conn_mu);
    while (m->watchdog_run) {
        double now = s_now();
        double next = now + S_WATCHDOG_TICK_S;
        for (int32_t i = 0; i < m->p.max_connections; i++) {
            struct s_conn *c = &m->conns[i];
            if ((c->state == S_CONN_WAITING || c->state == S_CONN_ANSWERING) &&
                now - c->t0 > m->p.request_timeout_s) {
                s_conn_shut(m, c);
                m->stats.timed_out++;
            }
        }
        wake.tv_sec = (time_t)next;
        wake.tv_nsec = (long)((next - (double)wake.tv_sec) * 1e9);
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        while (m->watchdog_run && s_now() < next)
            if (pthread_cond_timedwait(&m->conn_cv, &m->conn_mu, &wake) != 0)
                break;
    }
    pthread_mutex_unlock(&m->conn_mu);
    return NULL;
}

/* Frees the connection table (the server stopped: no connection is open). */
static void s_conn_table_free(struct rls_metrics *m)
{
    pthread_mutex_lock(&m->conn_mu);
    free(m->conns);
    m->conns = NULL;
    m->n_open = m->n_closing = 0;
    pthread_mutex_unlock(&m->conn_mu);
}

/* Stops and joins the watchdog. */
static void s_watchdog_stop(struct rls_metrics *m)
{
    if (m->watchdog_started) {
        pthread_mutex_lock(&m->conn_mu);
        m->watchdog_run = 0;
        pthread_cond_signal(&m->conn_cv);
        pthread_mutex_unlock(&m->conn_mu);
        pthread_join(m->watchdog, NULL);
        m->watchdog_started = 0;
    }
}

static enum MHD_Result s_reply_text(struct MHD_Connection *c, unsigned int code,
                                    const char *text, const char *allow)
{
    enum MHD_Result r = MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    r = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return r;
}

static void s_count_http(struct rls_metrics *m, int code)
{
    pthread_mutex_lock(&m->mu);
    if (code == 200)
        m->http_200++;
    else if (code == 404)
        m->http_404++;
    else if (code == 405)
        m->http_405++;
    pthread_mutex_unlock(&m->mu);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct rls_metrics *m = cls;
    struct MHD_Response *resp = NULL;
    enum MHD_Result r = MHD_NO;
    char *body = NULL;
    size_t len = 0;

    (void)version;
    (void)upload_data;
    /* The first call comes with the headers: the request is in (its deadline
     * now covers the answer). Errors are answered at once (libmicrohttpd then
     * closes the connection, unread body and all); the metrics on a later
     * call, once any body is skipped: libmicrohttpd 0.9.75 closes a
     * connection answered on the first call, and Prometheus keeps its
     * connection alive between scrapes. */
    if (*req_cls == NULL) {
        s_conn_mark(m, c, S_CONN_ANSWERING);
        if (method == NULL || (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
                               strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)) {
            s_count_http(m, 405);
            return s_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n",
                                "GET, HEAD");
        }
        if (url == NULL || strcmp(url, "/metrics") != 0) {
            s_count_http(m, 404);
            return s_reply_text(c, MHD_HTTP_NOT_FOUND,
                                "not found: the metrics are at /metrics\n", NULL);
        }
        *req_cls = (void *)m;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {   /* a GET with a body: skipped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    body = rls_metrics_render_dup(m, &len);
    if (body == NULL)
        return s_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, S_CONTENT_TYPE);
    r = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    s_count_http(m, 200);
    return r;
}

int rls_metrics_serve(struct rls_metrics *m, const char *bind_addr, uint16_t port,
                      struct rls_err *err)
{
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa = NULL;
    const char *addr = bind_addr != NULL ? bind_addr : "127.0.0.1";
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info = NULL;
    struct s_conn *conns = NULL;
    unsigned int mhd_timeout = 0;
    int saved_errno = 0;

    if (m == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "metrics: serve: NULL registry");
    m->errmsg[0] = '\0';
    if (m->daemon != NULL) {
        s_fail(m, RLS_ERR_STATE, "metrics: already serving on port %u", (unsigned)m->port);
        return rls_err_set(err, RLS_ERR_STATE, "%s", m->errmsg);
    }
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (strchr(addr, ':') != NULL) {
        if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) != 1)
            goto bad_addr;
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons(port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        if (inet_pton(AF_INET, addr, &sa4.sin_addr) != 1)
            goto bad_addr;
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons(port);
        sa = (struct sockaddr *)&sa4;
    }
    pthread_mutex_lock(&m->log_mu);
    m->mhd_log[0] = '\0';
    pthread_mutex_unlock(&m->log_mu);
    conns = calloc((size_t)m->p.max_connections, sizeof *conns);
    if (conns == NULL) {
        s_fail(m, RLS_ERR_NOMEM, "metrics: out of memory for %d connections",
               (int)m->p.max_connections);
        return rls_err_set(err, RLS_ERR_NOMEM, "%s", m->errmsg);
    }
    for (int32_t i = 0; i < m->p.max_connections; i++)
        conns[i].fd = -1;
    pthread_mutex_lock(&m->conn_mu);
    m->conns = conns;
    m->n_open = m->n_closing = 0;
    memset(&m->stats, 0, sizeof m->stats);
    pthread_mutex_unlock(&m->conn_mu);
    /* libmicrohttpd's own inactivity timeout backs up the watchdog */
    mhd_timeout = (unsigned int)ceil(m->p.request_timeout_s) + 1u;
    errno = 0;
    m->daemon = MHD_start_daemon(flags, port, NULL, NULL, s_handler, m,
                                 MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, (void *)m,
                                 MHD_OPTION_SOCK_ADDR, sa,
                                 MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned int)m->p.max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, mhd_timeout,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)S_HTTP_MEMORY_LIMIT,
                                 MHD_OPTION_NOTIFY_CONNECTION, s_conn_notify, (void *)m,
                                 MHD_OPTION_NOTIFY_COMPLETED, s_request_completed, (void *)m,
                                 MHD_OPTION_END);
    saved_errno = errno;
    if (m->daemon != NULL) {
        m->watchdog_run = 1;
        if (pthread_create(&m->watchdog, NULL, s_watchdog_main, m) != 0) {
            MHD_stop_daemon(m->daemon);
            m->daemon = NULL;
            s_conn_table_free(m);
            s_fail(m, RLS_ERR_IO, "metrics: cannot start the connection watchdog thread");
            return rls_err_set(err, RLS_ERR_IO, "%s", m->errmsg);
        }
        m->watchdog_started = 1;
    }
    if (m->daemon == NULL) {
        s_conn_table_free(m);
        pthread_mutex_lock(&m->log_mu);
        s_fail(m, RLS_ERR_IO, "metrics: cannot serve on %s port %u: %s", addr, (unsigned)port,
               m->mhd_log[0] != '\0' ? m->mhd_log
               : saved_errno != 0    ? strerror(saved_errno)
                                     : "libmicrohttpd failed to start");
        pthread_mutex_unlock(&m->log_mu);
        return rls_err_set(err, RLS_ERR_IO, "%s", m->errmsg);
    }
    info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info != NULL && info->port != 0 ? info->port : port;
    pthread_mutex_lock(&m->mu);
    m->http_200 = m->http_404 = m->http_405 = 0;
    pthread_mutex_unlock(&m->mu);
    return RLS_OK;

bad_addr:
    s_fail(m, RLS_ERR_INVALID, "metrics: bind address \"%s\": not a numeric IPv4 or IPv6 address",
           addr);
    return rls_err_set(err, RLS_ERR_INVALID, "%s", m->errmsg);
}

int rls_metrics_parse_listen(const char *spec, char *host, uint16_t *port, struct rls_err *err)
{
    const char *port_s = NULL;
    size_t host_len = 0;
    const char *host_s = NULL;
    unsigned long v = 0;
    unsigned char addr[sizeof(struct in6_addr)];
    char tmp[RLS_METRICS_HOST_MAX];

    if (spec == NULL || host == NULL || port == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "metrics address: NULL argument");
    if (spec[0] == '[') {                           /* [v6]:port */
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return rls_err_set(err, RLS_ERR_INVALID,
                               "metrics address \"%s\": expected [IPV6]:PORT", spec);
        host_s = spec + 1;
        host_len = (size_t)(close - host_s);
        port_s = close + 2;
    } else if (strchr(spec, ':') != NULL) {         /* v4:port */
        port_s = strrchr(spec, ':') + 1;
        host_s = spec;
        host_len = (size_t)(port_s - 1 - spec);
        if (memchr(spec, ':', host_len) != NULL)
            return rls_err_set(err, RLS_ERR_INVALID,
                               "metrics address \"%s\": write an IPv6 address in brackets, "
                               "[::1]:PORT", spec);
    } else {                                        /* port alone */
        port_s = spec;
        host_s = "127.0.0.1";
        host_len = strlen(host_s);
    }
    if (port_s[0] == '\0' || strspn(port_s, "0123456789") != strlen(port_s) ||
        strlen(port_s) > 5 || (v = strtoul(port_s, NULL, 10)) > 65535)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "metrics address \"%s\": the port must be a number 0..65535", spec);
    if (host_len == 0 || host_len >= sizeof tmp)
        return rls_err_set(err, RLS_ERR_INVALID, "metrics address \"%s\": bad host", spec);
    memcpy(tmp, host_s, host_len);
    tmp[host_len] = '\0';
    if (strcmp(tmp, "localhost") == 0)
        strcpy(tmp, "127.0.0.1");
    if (inet_pton(spec[0] == '[' ? AF_INET6 : AF_INET, tmp, addr) != 1)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "metrics address \"%s\": \"%s\" is not a numeric IP%s address", spec,
                           tmp, spec[0] == '[' ? "v6" : "v4");
    memcpy(host, tmp, strlen(tmp) + 1);
    *port = (uint16_t)v;
    return RLS_OK;
}

uint16_t rls_metrics_port(const struct rls_metrics *m)
{
    return m != NULL && m->daemon != NULL ? m->port : 0;
}

uint64_t rls_metrics_http_count(struct rls_metrics *m, int http_status)
{
    uint64_t n = 0;
    if (m == NULL)
        return 0;
    pthread_mutex_lock(&m->mu);
    if (http_status == 200)
        n = m->http_200;
    else if (http_status == 404)
        n = m->http_404;
    else if (http_status == 405)
        n = m->http_405;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int rls_metrics_http_stats(struct rls_metrics *m, struct rls_metrics_http_stats *out)
{
    if (m == NULL || out == NULL)
        return RLS_ERR_INVALID;
    pthread_mutex_lock(&m->conn_mu);
    *out = m->stats;
    out->open = m->n_open;
    pthread_mutex_unlock(&m->conn_mu);
    return RLS_OK;
}

void rls_metrics_stop(struct rls_metrics *m)
{
    if (m == NULL || m->daemon == NULL)
        return;
    s_watchdog_stop(m);
    MHD_stop_daemon(m->daemon);     /* CLOSED for every connection: the table empties */
    m->daemon = NULL;
    m->port = 0;
    s_conn_table_free(m);
}
