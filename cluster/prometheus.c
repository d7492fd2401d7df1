/* prometheus.c - the Prometheus HTTP API client (see prometheus.h): one
 * libcurl easy handle per client (its connection kept between queries), a
 * bounded body buffer, the API's JSON parsed with jansson, the autoscaler's
 * state with the HPA's missing-data rules, and range queries made into a
 * trace.
 */
#include "prometheus.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#ifndef RLS_VERSION
#define RLS_VERSION "0.0.0"
#endif

#define S_ERRMSG_MAX 512
#define S_QUOTE_MAX 60              /* bytes of a bad body quoted in an error */
#define S_BODY_MIN ((int64_t)1024)
#define S_BODY_MAX ((int64_t)4 << 30)
#define S_TIMEOUT_MIN_S 0.01
#define S_TIMEOUT_MAX_S 3600.0
#define S_PROM_MAX_STEPS 11000      /* Prometheus refuses more points per series */

struct s_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;                     /* refuse more than this */
    int over;                       /* 1 once the body passed max */
};

struct rls_prom {
    char *url;                      /* base URL, no trailing '/' */
    struct rls_prom_params p;
    CURL *curl;
    long http_status;               /* of the last answer, 0 = none */
    char curl_err[CURL_ERROR_SIZE];
    char errmsg[S_ERRMSG_MAX];
};

/* ------------------------------------------------------------------ */
/* small helpers */

static int s_fail(struct rls_prom *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_prom *p, int status, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->errmsg, sizeof p->errmsg, "prometheus %s: ", p->url);
    if (n < 0 || (size_t)n >= sizeof p->errmsg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(p->errmsg + n, sizeof p->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}

static double s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *s_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Copies up to S_QUOTE_MAX bytes of b[n] into out with non-printable bytes
 * as '?', for quoting a bad body in one line. */
static void s_quote(char out[S_QUOTE_MAX + 4], const char *b, size_t n)
{
    size_t k = n < S_QUOTE_MAX ? n : S_QUOTE_MAX;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)b[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > k) {
        memcpy(out + k, "...", 4);
    } else {
        out[k] = '\0';
    }
}

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static CURLcode s_curl_init_rc = CURLE_FAILED_INIT;

static void s_curl_init(void)
{
    s_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------------ */
/* lifecycle */

struct rls_prom_params rls_prom_default_params(void)
{
    struct rls_prom_params p;
    memset(&p, 0, sizeof p);
    p.timeout_s = 5.0;
    p.connect_timeout_s = 2.0;
    p.max_body_bytes = (int64_t)16 << 20;
    p.max_points = 2000000;
    return p;
}

static size_t s_write_cb(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct s_buf *b = ctx;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->over = 1;
        return 0;                   /* libcurl stops with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

struct rls_prom *rls_prom_new(const char *base_url, const struct rls_prom_params *params,
                              struct rls_err *err)
{
    struct rls_prom *p = NULL;
    struct rls_prom_params prm = params != NULL ? *params : rls_prom_default_params();
    size_t ul = 0;

    rls_err_clear(err);
    if (base_url == NULL || base_url[0] == '\0') {
        rls_err_set(err, RLS_ERR_INVALID, "prometheus: no URL");
        return NULL;
    }
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        rls_err_set(err, RLS_ERR_INVALID, "prometheus: URL '%.200s' must start with http:// or https://",
                    base_url);
        return NULL;
    }
    if (!(prm.timeout_s >= S_TIMEOUT_MIN_S && prm.timeout_s <= S_TIMEOUT_MAX_S) ||
        !(prm.connect_timeout_s >= S_TIMEOUT_MIN_S && prm.connect_timeout_s <= S_TIMEOUT_MAX_S)) {
        rls_err_set(err, RLS_ERR_RANGE, "prometheus: timeouts %g s / connect %g s: each must be %g..%g",
                    prm.timeout_s, prm.connect_timeout_s, S_TIMEOUT_MIN_S, S_TIMEOUT_MAX_S);
        return NULL;
    }
    if (prm.max_body_bytes < S_BODY_MIN || prm.max_body_bytes > S_BODY_MAX) {
        rls_err_set(err, RLS_ERR_RANGE, "prometheus: max_body_bytes %lld: must be %lld..%lld",
                    (long long)prm.max_body_bytes, (long long)S_BODY_MIN, (long long)S_BODY_MAX);
        return NULL;
    }
    if (prm.max_points < 1) {
        rls_err_set(err, RLS_ERR_RANGE, "prometheus: max_points %lld: must be >= 1",
                    (long long)prm.max_points);
        return NULL;
    }
    pthread_once(&s_curl_once, s_curl_init);
    if (s_curl_init_rc != CURLE_OK) {
        rls_err_set(err, RLS_ERR_EXTERNAL, "prometheus: libcurl does not start: %s",
                    curl_easy_strerror(s_curl_init_rc));
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto nomem;
    p->p = prm;
    p->url = s_strdup(base_url);
    if (p->url == NULL)
        goto nomem;
    ul = strlen(p->url);
    while (ul > 8 && p->url[ul - 1] == '/')
        p->url[--ul] = '\0';
    p->curl = curl_easy_init();
    if (p->curl == NULL) {
        rls_err_set(err, RLS_ERR_EXTERNAL, "prometheus %s: libcurl cannot make a handle", p->url);
        rls_prom_destroy(&p);
        return NULL;
    }
    return p;

nomem:
    rls_prom_destroy(&p);
    rls_err_set(err, RLS_ERR_NOMEM, "prometheus: out of memory");
    return NULL;
}

void rls_prom_destroy(struct rls_prom **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    if ((*pp)->curl != NULL)
        curl_easy_cleanup((*pp)->curl);
    free((*pp)->url);
    free(*pp);
    *pp = NULL;
}

const char *rls_prom_errmsg(const struct rls_prom *p)
{
    return p != NULL ? p->errmsg : "";
}

long rls_prom_http_status(const struct rls_prom *p)
{
    return p != NULL ? p->http_status : 0;
}

const char *rls_prom_url(const struct rls_prom *p)
{
    return p != NULL ? p->url : "";
}

/* ------------------------------------------------------------------ */
/* results and parsing */

static void s_series_free(struct rls_prom_series *s)
{
    for (int32_t i = 0; i < s->n_labels; i++) {
        if (s->label_names != NULL)
            free(s->label_names[i]);
        if (s->label_values != NULL)
            free(s->label_values[i]);
    }
    free(s->label_names);
    free(s->label_values);
    free(s->metric);
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void rls_prom_result_free(struct rls_prom_result *r)
{
    if (r == NULL)
        return;
    for (int32_t i = 0; i < r->n_series; i++)
        s_series_free(&r->series[i]);
    free(r->series);
    memset(r, 0, sizeof *r);
}

const char *rls_prom_label(const struct rls_prom_series *s, const char *name)
{
    if (s == NULL || name == NULL)
        return NULL;
    for (int32_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->label_names[i], name) == 0)
            return s->label_values[i];
    return NULL;
}

/* A value string as Prometheus writes it: a number, "NaN", "+Inf", "-Inf". */
static int s_parse_value(const char *s, double *out)
{
    char *end = NULL;
    if (s == NULL || s[0] == '\0' || s[0] == ' ')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE && isfinite(v) && v != 0.0)
        return -1;
    *out = v;
    return 0;
}

/* One [time, "value"] pair. */
static int s_parse_pair(const json_t *pair, double *t, double *v)
{
    if (!json_is_array(pair) || json_array_size(pair) != 2)
        return -1;
    const json_t *jt = json_array_get(pair, 0);
    const json_t *jv = json_array_get(pair, 1);
    if (!json_is_number(jt) || !json_is_string(jv))
        return -1;
    *t = json_number_value(jt);
    if (!isfinite(*t))
        return -1;
    return s_parse_value(json_string_value(jv), v);
}

/* Appends s to a growing string; -1 when out of memory. */
static int s_cat(char **dst, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        while (c < *len + n + 1)
            c *= 2;
        char *d = realloc(*dst, c);
        if (d == NULL)
            return -1;
        *dst = d;
        *cap = c;
    }
    memcpy(*dst + *len, s, n);
    *len += n;
    (*dst)[*len] = '\0';
    return 0;
}

/* The labels of one result entry: names, values and `{a="x",...}`. */
static int s_parse_metric(const json_t *metric, struct rls_prom_series *s, struct rls_err *err,
                          int32_t idx)
{
    const char *key = NULL;
    json_t *val = NULL;
    size_t n = 0, len = 0, cap = 0;
    int32_t i = 0;
    char *text = NULL;

    if (!json_is_object(metric))
        return rls_err_set(err, RLS_ERR_PARSE, "result[%d].metric is not an object", (int)idx);
    n = json_object_size(metric);
    if (n > 1000)
        return rls_err_set(err, RLS_ERR_RANGE, "result[%d].metric has %zu labels (at most 1000)",
                           (int)idx, n);
    if (n > 0) {
        s->label_names = calloc(n, sizeof *s->label_names);
        s->label_values = calloc(n, sizeof *s->label_values);
        if (s->label_names == NULL || s->label_values == NULL)
            return rls_err_set(err, RLS_ERR_NOMEM, "out of memory for labels");
    }
    if (s_cat(&text, &len, &cap, "{", 1) != 0)
        goto nomem;
    json_object_foreach((json_t *)metric, key, val) {
        const char *v = json_string_value(val);
        if (!json_is_string(val)) {
            free(text);
            return rls_err_set(err, RLS_ERR_PARSE, "result[%d].metric.%.60s is not a string",
                               (int)idx, key);
        }
        s->label_names[i] = s_strdup(key);
        s->label_values[i] = s_strdup(v);
        s->n_labels = ++i;
        if (s->label_names[i - 1] == NULL || s->label_values[i - 1] == NULL)
            goto nomem;
        if ((i > 1 && s_cat(&text, &len, &cap, ",", 1) != 0) ||
            s_cat(&text, &len, &cap, key, strlen(key)) != 0 ||
            s_cat(&text, &len, &cap, "=\"", 2) != 0)
            goto nomem;
        for (const char *c = v; *c; c++) {
            const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;
            if (esc != NULL ? s_cat(&text, &len, &cap, esc, 2) != 0 : s_cat(&text, &len, &cap, c, 1) != 0)
                goto nomem;
        }
        if (s_cat(&text, &len, &cap, "\"", 1) != 0)
            goto nomem;
    }
    if (s_cat(&text, &len, &cap, "}", 1) != 0)
        goto nomem;
    s->metric = text;
    return RLS_OK;
nomem:
    free(text);
    return rls_err_set(err, RLS_ERR_NOMEM, "out of memory for labels");
}

/* An error answer: "HTTP 400: bad_data: what". */
static int s_error_answer(const json_t *root, long http_status, struct rls_err *err)
{
    const char *type = json_string_value(json_object_get(root, "errorType"));
    const char *what = json_string_value(json_object_get(root, "error"));
    int status = (type != NULL && strcmp(type, "bad_data") == 0) ? RLS_ERR_INVALID : RLS_ERR_EXTERNAL;
    return rls_err_set(err, status, "HTTP %ld: %s: %s", http_status, type ? type : "error",
                       what ? what : "(no error message)");
}

int rls_prom_parse(const char *body, size_t len, long http_status, int64_t max_points,
                   struct rls_prom_result *out, struct rls_err *err)
{
    json_t *root = NULL;
    json_error_t jerr;
    const json_t *data = NULL, *res = NULL, *warn = NULL;
    const char *status = NULL, *rtype = NULL;
    int64_t total = 0;
    int rc = RLS_OK;
    char q[S_QUOTE_MAX + 4];

    rls_err_clear(err);
    if (out == NULL || (body == NULL && len > 0))
        return rls_err_set(err, RLS_ERR_INVALID, "NULL argument");
    memset(out, 0, sizeof *out);
    root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root) ||
        !json_is_string(json_object_get(root, "status"))) {
        s_quote(q, body ? body : "", len);
        if (http_status != 200)
            rc = rls_err_set(err, http_status >= 400 && http_status < 500 && http_status != 404 ?
                                 RLS_ERR_INVALID : RLS_ERR_EXTERNAL,
                             "HTTP %ld, not a Prometheus API answer: '%s'", http_status, q);
        else if (root == NULL)
            rc = rls_err_set(err, RLS_ERR_PARSE, "answer is not JSON (%s at byte %d): '%s'", jerr.text,
                             jerr.position, q);
        else
            rc = rls_err_set(err, RLS_ERR_PARSE, "answer has no \"status\" string: '%s'", q);
        goto done;
    }
    status = json_string_value(json_object_get(root, "status"));
    if (strcmp(status, "success") != 0 || http_status != 200) {
        if (strcmp(status, "success") == 0)
            rc = rls_err_set(err, RLS_ERR_EXTERNAL, "HTTP %ld with status success", http_status);
        else
            rc = s_error_answer(root, http_status, err);
        goto done;
    }
    warn = json_object_get(root, "warnings");
    if (json_is_array(warn) && json_array_size(warn) > 0) {
        out->n_warnings = (int32_t)(json_array_size(warn) > 1000000 ? 1000000 : json_array_size(warn));
        const char *w0 = json_string_value(json_array_get(warn, 0));
        snprintf(out->warning, sizeof out->warning, "%s", w0 ? w0 : "(not a string)");
    }
    data = json_object_get(root, "data");
    if (!json_is_object(data)) {
        rc = rls_err_set(err, RLS_ERR_PARSE, "answer has no \"data\" object");
        goto done;
    }
    rtype = json_string_value(json_object_get(data, "resultType"));
    res = json_object_get(data, "result");
    if (rtype == NULL) {
        rc = rls_err_set(err, RLS_ERR_PARSE, "data has no \"resultType\" string");
        goto done;
    }
    if (strcmp(rtype, "string") == 0) {
        rc = rls_err_set(err, RLS_ERR_UNSUPPORTED, "the query gives a string, not numbers");
        goto done;
    }
    if (strcmp(rtype, "scalar") == 0) {
        double t = 0, v = 0;
        if (s_parse_pair(res, &t, &v) != 0) {
            rc = rls_err_set(err, RLS_ERR_PARSE, "scalar result is not [time, \"value\"]");
            goto done;
        }
        out->series = calloc(1, sizeof *out->series);
        if (out->series == NULL)
            goto nomem;
        out->n_series = 1;
        out->type = RLS_PROM_SCALAR;
        out->series[0].metric = s_strdup("{}");
        out->series[0].t = malloc(sizeof(double));
        out->series[0].v = malloc(sizeof(double));
        if (out->series[0].metric == NULL || out->series[0].t == NULL || out->series[0].v == NULL)
            goto nomem;
        out->series[0].n = 1;
        out->series[0].t[0] = t;
        out->series[0].v[0] = v;
        goto done;
    }
    if (strcmp(rtype, "vector") == 0)
        out->type = RLS_PROM_VECTOR;
    else if (strcmp(rtype, "matrix") == 0)
        out->type = RLS_PROM_MATRIX;
    else {
        rc = rls_err_set(err, RLS_ERR_PARSE, "unknown resultType '%.40s'", rtype);
        goto done;
    }
    if (!json_is_array(res)) {
        rc = rls_err_set(err, RLS_ERR_PARSE, "data.result is not an array");
        goto done;
    }
    if (json_array_size(res) > (size_t)INT32_MAX / 2) {
        rc = rls_err_set(err, RLS_ERR_RANGE, "%zu series", json_array_size(res));
        goto done;
    }
    /* count the samples first: refuse before allocating */
    for (size_t i = 0; i < json_array_size(res); i++) {
        const json_t *e = json_array_get(res, i);
        const json_t *vals = json_object_get(e, out->type == RLS_PROM_MATRIX ? "values" : "value");
        if (!json_is_object(e)) {
            rc = rls_err_set(err, RLS_ERR_PARSE, "result[%zu] is not an object", i);
            goto done;
        }
        if (out->type == RLS_PROM_MATRIX) {
            if (!json_is_array(vals)) {
                rc = rls_err_set(err, RLS_ERR_PARSE, "result[%zu].values is not an array", i);
                goto done;
            }
            total += (int64_t)json_array_size(vals);
        } else {
            total += 1;
        }
    }
    if (max_points > 0 && total > max_points) {
        rc = rls_err_set(err, RLS_ERR_RANGE, "%lld samples in the answer, more than the limit %lld",
                         (long long)total, (long long)max_points);
        goto done;
    }
    if (json_array_size(res) > 0) {
        out->series = calloc(json_array_size(res), sizeof *out->series);
        if (out->series == NULL)
            goto nomem;
    }
    for (size_t i = 0; i < json_array_size(res); i++) {
        const json_t *e = json_array_get(res, i);
        struct rls_prom_series *s = &out->series[i];
        out->n_series = (int32_t)i + 1;
        rc = s_parse_metric(json_object_get(e, "metric"), s, err, (int32_t)i);
        if (rc != RLS_OK)
            goto done;
        if (out->type == RLS_PROM_VECTOR) {
            s->t = malloc(sizeof(double));
            s->v = malloc(sizeof(double));
            if (s->t == NULL || s->v == NULL)
                goto nomem;
            if (s_parse_pair(json_object_get(e, "value"), &s->t[0], &s->v[0]) != 0) {
                rc = rls_err_set(err, RLS_ERR_PARSE, "result[%zu].value is not [time, \"number\"]", i);
                goto done;
            }
            s->n = 1;
            continue;
        }
        const json_t *vals = json_object_get(e, "values");
        size_t n = json_array_size(vals);
        if (n > 0) {
            s->t = malloc(n * sizeof(double));
            s->v = malloc(n * sizeof(double));
            if (s->t == NULL || s->v == NULL)
                goto nomem;
        }
        for (size_t k = 0; k < n; k++) {
            if (s_parse_pair(json_array_get(vals, k), &s->t[k], &s->v[k]) != 0) {
                rc = rls_err_set(err, RLS_ERR_PARSE, "result[%zu].values[%zu] is not [time, \"number\"]",
                                 i, k);
                goto done;
            }
            if (k > 0 && !(s->t[k] > s->t[k - 1])) {
                rc = rls_err_set(err, RLS_ERR_PARSE, "result[%zu].values[%zu]: time %.3f not after %.3f",
                                 i, k, s->t[k], s->t[k - 1]);
                goto done;
            }
            s->n = (int64_t)k + 1;
        }
    }
    goto done;
nomem:
    rc = rls_err_set(err, RLS_ERR_NOMEM, "out of memory for the answer");
done:
    if (rc != RLS_OK)
        rls_prom_result_free(out);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ */
/* HTTP */

/* POSTs form to URL/path and parses the answer into *out. */
static int s_call(struct rls_prom *p, const char *path, const char *form, struct rls_prom_result *out)
{
    struct s_buf b = {NULL, 0, 0, (size_t)p->p.max_body_bytes, 0};
    struct rls_err err = {0};
    size_t ul = strlen(p->url) + strlen(path) + 1;
    char *url = malloc(ul);
    CURLcode cc;
    int rc = RLS_OK;

    p->http_status = 0;
    p->errmsg[0] = '\0';
    if (url == NULL)
        return s_fail(p, RLS_ERR_NOMEM, "out of memory");
    snprintf(url, ul, "%s%s", p->url, path);
    CURL *c = p->curl;
    curl_easy_reset(c);
    p->curl_err[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ceil(p->p.timeout_s * 1000.0));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(p->p.connect_timeout_s * 1000.0));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->p.max_body_bytes);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->curl_err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rlsched/" RLS_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->http_status);
    if (b.over || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = s_fail(p, RLS_ERR_RANGE, "answer to %s larger than %lld bytes: refused", path,
                    (long long)p->p.max_body_bytes);
        goto done;
    }
    if (cc != CURLE_OK) {
        rc = s_fail(p, RLS_ERR_IO, "%s: %s", path, p->curl_err[0] ? p->curl_err : curl_easy_strerror(cc));
        goto done;
    }
    rc = rls_prom_parse(b.data, b.len, p->http_status, p->p.max_points, out, &err);
    if (rc != RLS_OK)
        s_fail(p, rc, "%s: %s", path, err.msg);
    else if (out->n_warnings > 0)
        snprintf(p->errmsg, sizeof p->errmsg, "prometheus %s: warning: %s", p->url, out->warning);
done:
    free(url);
    free(b.data);
    return rc;
}

/* "query=ESC" plus the extra "&k=v" text. */
static char *s_form(struct rls_prom *p, const char *query, const char *extra)
{
    char *esc = curl_easy_escape(p->curl, query, 0);
    char *form = NULL;
    size_t n = 0;
    if (esc == NULL)
        return NULL;
    n = strlen(esc) + strlen(extra) + 16;
    form = malloc(n);
    if (form != NULL)
        snprintf(form, n, "query=%s%s", esc, extra);
    curl_free(esc);
    return form;
}

int rls_prom_query(struct rls_prom *p, const char *query, double time_s, struct rls_prom_result *out)
{
    char extra[128];
    char *form = NULL;
    int rc = RLS_OK;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (query == NULL || query[0] == '\0' || out == NULL)
        return s_fail(p, RLS_ERR_INVALID, "empty query");
    if (!isfinite(time_s) || time_s < 0)
        return s_fail(p, RLS_ERR_INVALID, "query time %g is not a Unix time", time_s);
    if (time_s > 0)
        snprintf(extra, sizeof extra, "&time=%.3f&timeout=%.3f", time_s, p->p.timeout_s);
    else
        snprintf(extra, sizeof extra, "&timeout=%.3f", p->p.timeout_s);
    form = s_form(p, query, extra);
    if (form == NULL)
        return s_fail(p, RLS_ERR_NOMEM, "out of memory");
    rc = s_call(p, "/api/v1/query", form, out);
    free(form);
    if (rc == RLS_OK && out->type != RLS_PROM_VECTOR && out->type != RLS_PROM_SCALAR) {
        rls_prom_result_free(out);
        rc = s_fail(p, RLS_ERR_PARSE, "/api/v1/query: answer is not a vector or scalar");
    }
    return rc;
}

int rls_prom_query_range(struct rls_prom *p, const char *query, double start_s, double end_s,
                         double step_s, struct rls_prom_result *out)
{
    char extra[192];
    char *form = NULL;
    int rc = RLS_OK;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (query == NULL || query[0] == '\0' || out == NULL)
        return s_fail(p, RLS_ERR_INVALID, "empty query");
    if (!isfinite(start_s) || !isfinite(end_s) || start_s < 0 || end_s < start_s)
        return s_fail(p, RLS_ERR_INVALID, "range %.3f..%.3f: need 0 <= start <= end (Unix seconds)",
                      start_s, end_s);
    if (!isfinite(step_s) || step_s < 0.001)
        return s_fail(p, RLS_ERR_INVALID, "step %g s: need >= 0.001 s", step_s);
    snprintf(extra, sizeof extra, "&start=%.3f&end=%.3f&step=%.3f&timeout=%.3f", start_s, end_s, step_s,
             p->p.timeout_s);
    form = s_form(p, query, extra);
    if (form == NULL)
        return s_fail(p, RLS_ERR_NOMEM, "out of memory");
    rc = s_call(p, "/api/v1/query_range", form, out);
    free(form);
    if (rc == RLS_OK && out->type != RLS_PROM_MATRIX) {
        const char *got = out->type == RLS_PROM_VECTOR ? "vector" : "scalar";
        rls_prom_result_free(out);
        rc = s_fail(p, RLS_ERR_PARSE, "/api/v1/query_range: answer is a %s, not a matrix", got);
    }
    return rc;
}

int rls_prom_query_value(struct rls_prom *p, const char *query, double *value, double *t_eval)
{
    struct rls_prom_result r;
    int rc = RLS_OK;
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (value == NULL)
        return s_fail(p, RLS_ERR_INVALID, "NULL value");
    rc = rls_prom_query(p, query, 0, &r);
    if (rc != RLS_OK)
        return rc;
    if (r.n_series == 0)
        rc = s_fail(p, RLS_ERR_NOTFOUND, "'%.200s': no series (missing or stale data)", query);
    else if (r.n_series > 1)
        rc = s_fail(p, RLS_ERR_RANGE, "'%.200s': %d series, want one (aggregate it, e.g. sum(...))",
                    query, (int)r.n_series);
    else {
        *value = r.series[0].v[0];
        if (t_eval != NULL)
            *t_eval = r.series[0].t[0];
    }
    rls_prom_result_free(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the autoscaler's state */

const char *rls_prom_health_str(int h)
{
    switch (h) {
    case RLS_PROM_FRESH:
        return "fresh";
    case RLS_PROM_HOLD:
        return "hold";
    case RLS_PROM_STALE:
        return "stale";
    }
    return "unknown";
}

struct rls_prom_state_queries rls_prom_state_default_queries(void)
{
    struct rls_prom_state_queries q;
    memset(&q, 0, sizeof q);
    q.quantile = 0.95;
    q.window_s = 30.0;
    q.stale_after_s = 60.0;
    return q;
}

static void s_signal_init(struct rls_prom_signal *s)
{
    s->value = NAN;
    s->age_s = INFINITY;
    s->t_good = -1.0;
    s->health = RLS_PROM_STALE;
    s->n_missing = 0;
}

void rls_prom_state_init(struct rls_prom_state *st)
{
    if (st == NULL)
        return;
    memset(st, 0, sizeof *st);
    s_signal_init(&st->rate_rps);
    s_signal_init(&st->latency_s);
    s_signal_init(&st->error_rps);
    s_signal_init(&st->ready);
    st->health = RLS_PROM_STALE;
}

static void s_signal_good(struct rls_prom_signal *s, double v, double now)
{
    s->value = v;
    s->t_good = now;
    s->age_s = 0.0;
    s->health = RLS_PROM_FRESH;
}

static void s_signal_missing(struct rls_prom_signal *s, double now, double stale_after_s)
{
    s->n_missing++;
    s->age_s = s->t_good >= 0 ? now - s->t_good : INFINITY;
    s->health = s->age_s < stale_after_s ? RLS_PROM_HOLD : RLS_PROM_STALE;
}

static void s_why(struct rls_prom_state *st, const char *what, const char *msg)
{
    if (st->why[0] == '\0')
        snprintf(st->why, sizeof st->why, "%.40s: %.200s", what, msg);
}

/* Runs the query of one signal; 1 with *v for a finite value, 0 when none
 * (why noted), -1 when the answer was "no series" (why noted too). */
static int s_read_one(struct rls_prom *p, const char *query, double *v, struct rls_prom_state *st,
                      const char *what)
{
    double x = NAN;
    int rc = rls_prom_query_value(p, query, &x, NULL);
    if (rc == RLS_ERR_NOTFOUND) {
        s_why(st, what, "no series");
        return -1;
    }
    if (rc != RLS_OK) {
        s_why(st, what, rls_prom_errmsg(p));
        return 0;
    }
    if (!isfinite(x)) {
        s_why(st, what, isnan(x) ? "NaN" : "infinite");
        *v = x;
        return 0;
    }
    *v = x;
    return 1;
}

static char *s_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *s_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int rls_prom_state_read(struct rls_prom *p, const struct rls_prom_state_queries *q,
                        struct rls_prom_state *st)
{
    char *query = NULL;
    double t0 = s_mono(), now = 0, v = NAN;
    int got = 0;
    long win_ms = 0;
    enum rls_prom_health worst = RLS_PROM_FRESH;

    if (p == NULL)
        return RLS_ERR_INVALID;
    if (q == NULL || st == NULL || q->requests == NULL || q->requests[0] == '\0')
        return s_fail(p, RLS_ERR_INVALID, "state: need the queries, a state and a requests selector");
    if (!(q->quantile >= 0.0 && q->quantile <= 1.0) || !(q->window_s >= 0.001) ||
        !(q->stale_after_s > 0) || !isfinite(q->window_s))
        return s_fail(p, RLS_ERR_INVALID, "state: quantile %g (0..1), window %g s, stale after %g s (> 0)",
                      q->quantile, q->window_s, q->stale_after_s);
    st->why[0] = '\0';
    win_ms = (long)llround(q->window_s * 1000.0);

    /* requests/s */
    query = s_printf("sum(rate(%s[%ldms]))", q->requests, win_ms);
    if (query == NULL)
        return s_fail(p, RLS_ERR_NOMEM, "out of memory");
    got = s_read_one(p, query, &v, st, "requests");
    free(query);
    now = s_mono();
    if (got == 1 && v >= 0)
        s_signal_good(&st->rate_rps, v, now);
    else
        s_signal_missing(&st->rate_rps, now, q->stale_after_s);
    worst = st->rate_rps.health;
    int traffic_fresh = st->rate_rps.health == RLS_PROM_FRESH;
    int no_traffic = traffic_fresh && st->rate_rps.value == 0.0;

    if (q->errors != NULL) {
        query = s_printf("sum(rate(%s[%ldms]))", q->errors, win_ms);
        if (query == NULL)
            return s_fail(p, RLS_ERR_NOMEM, "out of memory");
        got = s_read_one(p, query, &v, st, "errors");
        free(query);
        now = s_mono();
        if (got == 1 && v >= 0)
            s_signal_good(&st->error_rps, v, now);
        else if (got == -1 && traffic_fresh)     /* no error series yet: no errors */
            s_signal_good(&st->error_rps, 0.0, now);
        else
            s_signal_missing(&st->error_rps, now, q->stale_after_s);
        if (st->error_rps.health > worst)
            worst = st->error_rps.health;
    }
    if (q->latency_bucket != NULL) {
        query = s_printf("histogram_quantile(%.17g, sum by (le) (rate(%s[%ldms])))", q->quantile,
                         q->latency_bucket, win_ms);
        if (query == NULL)
            return s_fail(p, RLS_ERR_NOMEM, "out of memory");
        got = s_read_one(p, query, &v, st, "latency");
        free(query);
        now = s_mono();
        if (got == 1 && v >= 0)
            s_signal_good(&st->latency_s, v, now);
        else if (got != 1 && no_traffic)        /* nothing served: no latency to speak of */
            s_signal_good(&st->latency_s, 0.0, now);
        else
            s_signal_missing(&st->latency_s, now, q->stale_after_s);
        if (st->latency_s.health > worst)
            worst = st->latency_s.health;
    }
    if (q->ready != NULL) {
        got = s_read_one(p, q->ready, &v, st, "ready");
        now = s_mono();
        if (got == 1 && v >= 0)
            s_signal_good(&st->ready, v, now);
        else
            s_signal_missing(&st->ready, now, q->stale_after_s);
        if (st->ready.health > worst)
            worst = st->ready.health;
    }
    st->health = worst;
    st->read_s = s_mono() - t0;
    return RLS_OK;
}

/* ------------------------------------------------------------------ */
/* a range query as a trace */

struct rls_prom_trace_params rls_prom_trace_default_params(void)
{
    struct rls_prom_trace_params tp;
    memset(&tp, 0, sizeof tp);
    tp.unit = "rps";
    tp.max_gap_steps = 10000;
    tp.max_points = RLS_TRACE_MAX_POINTS_DEFAULT;
    tp.chunk_steps = 10000;
    return tp;
}

int rls_prom_trace(struct rls_prom *p, const char *query, const struct rls_prom_trace_params *tp,
                   struct rls_trace **out)
{
    struct rls_prom_result r;
    double *val = NULL;
    unsigned char *have = NULL;
    char *first_metric = NULL;
    struct rls_trace *t = NULL;
    int64_t n = 0, first = -1, last = -1, filled = 0;
    int rc = RLS_OK;

    memset(&r, 0, sizeof r);
    if (out != NULL)
        *out = NULL;
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (tp == NULL || out == NULL || query == NULL || query[0] == '\0')
        return s_fail(p, RLS_ERR_INVALID, "trace: need a query, params and an output");
    if (tp->unit == NULL || (strcmp(tp->unit, "rps") != 0 && strcmp(tp->unit, "shape") != 0))
        return s_fail(p, RLS_ERR_INVALID, "trace: unit '%s': must be rps or shape",
                      tp->unit ? tp->unit : "(null)");
    if (!isfinite(tp->start_s) || !isfinite(tp->end_s) || tp->start_s < 0 || tp->end_s < tp->start_s)
        return s_fail(p, RLS_ERR_INVALID, "trace: range %.3f..%.3f: need 0 <= start <= end",
                      tp->start_s, tp->end_s);
    if (!isfinite(tp->step_s) || tp->step_s < 0.001)
        return s_fail(p, RLS_ERR_INVALID, "trace: step %g s: need >= 0.001 s", tp->step_s);
    if (tp->chunk_steps < 1 || tp->chunk_steps > S_PROM_MAX_STEPS || tp->max_gap_steps < 0)
        return s_fail(p, RLS_ERR_INVALID, "trace: chunk_steps %lld (1..%d), max_gap_steps %lld (>= 0)",
                      (long long)tp->chunk_steps, S_PROM_MAX_STEPS, (long long)tp->max_gap_steps);
    {
        int64_t max_points = tp->max_points > 0 ? tp->max_points : RLS_TRACE_MAX_POINTS_DEFAULT;
        double steps = floor((tp->end_s - tp->start_s) / tp->step_s + 1e-9) + 1.0;
        if (steps > (double)max_points)
            return s_fail(p, RLS_ERR_RANGE, "trace: %.0f steps of %g s from %.3f to %.3f, more than the limit %lld",
                          steps, tp->step_s, tp->start_s, tp->end_s, (long long)max_points);
        n = (int64_t)steps;
    }
    val = calloc((size_t)n, sizeof *val);
    have = calloc((size_t)n, 1);
    if (val == NULL || have == NULL) {
        rc = s_fail(p, RLS_ERR_NOMEM, "out of memory for %lld steps", (long long)n);
        goto done;
    }
    for (int64_t c0 = 0; c0 < n; c0 += tp->chunk_steps) {
        int64_t c1 = c0 + tp->chunk_steps - 1 < n - 1 ? c0 + tp->chunk_steps - 1 : n - 1;
        rc = rls_prom_query_range(p, query, tp->start_s + (double)c0 * tp->step_s,
                                  tp->start_s + (double)c1 * tp->step_s, tp->step_s, &r);
        if (rc != RLS_OK)
            goto done;
        for (int32_t si = 0; si < r.n_series; si++) {
            const struct rls_prom_series *s = &r.series[si];
            if (!tp->sum_series) {
                if (first_metric == NULL) {
                    first_metric = s_strdup(s->metric);
                    if (first_metric == NULL) {
                        rc = s_fail(p, RLS_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                } else if (strcmp(first_metric, s->metric) != 0) {
                    rc = s_fail(p, RLS_ERR_RANGE,
                                "trace: '%.120s' gives more than one series (%.80s, %.80s); aggregate it "
                                "(sum(...)) or sum them (--sum)", query, first_metric, s->metric);
                    goto done;
                }
            }
            for (int64_t k = 0; k < s->n; k++) {
                double x = s->v[k];
                int64_t i = llround((s->t[k] - tp->start_s) / tp->step_s);
                if (i < c0 || i > c1 || !isfinite(x))
                    continue;       /* NaN / infinite: missing, interpolated below */
                if (x < 0) {
                    rc = s_fail(p, RLS_ERR_RANGE, "trace: '%.120s' is %g at %.3f: a trace needs values >= 0",
                                query, x, s->t[k]);
                    goto done;
                }
                val[i] = tp->sum_series ? val[i] + x : x;
                have[i] = 1;
            }
        }
        rls_prom_result_free(&r);
    }
    for (int64_t i = 0; i < n; i++) {
        if (have[i]) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    if (first < 0) {
        rc = s_fail(p, RLS_ERR_NOTFOUND, "trace: '%.200s' has no data from %.3f to %.3f", query,
                    tp->start_s, tp->end_s);
        goto done;
    }
    for (int64_t i = first + 1; i <= last; i++) {
        if (have[i])
            continue;
        int64_t j = i;
        while (!have[j])
            j++;
        if (j - i > tp->max_gap_steps) {
            rc = s_fail(p, RLS_ERR_RANGE, "trace: '%.120s' has no data for %lld steps from %.3f (more than "
                        "max gap %lld)", query, (long long)(j - i), tp->start_s + (double)i * tp->step_s,
                        (long long)tp->max_gap_steps);
            goto done;
        }
        for (int64_t k = i; k < j; k++) {
            double f = (double)(k - (i - 1)) / (double)(j - (i - 1));
            val[k] = val[i - 1] + f * (val[j] - val[i - 1]);
        }
        filled += j - i;
        i = j;
    }
    t = rls_trace_new(last - first + 1, tp->step_s);
    if (t == NULL) {
        rc = s_fail(p, RLS_ERR_NOMEM, "out of memory for the trace");
        goto done;
    }
    memcpy(t->rate, val + first, (size_t)(last - first + 1) * sizeof *val);
    t->start_epoch_s = tp->start_s + (double)first * tp->step_s;
    snprintf(t->unit, sizeof t->unit, "%s", tp->unit);
    snprintf(t->format, sizeof t->format, "prometheus");
    snprintf(t->source, sizeof t->source, "%s %s", p->url, query);
    if (!tp->sum_series && first_metric != NULL && strcmp(first_metric, "{}") != 0)
        snprintf(t->column, sizeof t->column, "%s", first_metric);
    else if (tp->sum_series)
        snprintf(t->column, sizeof t->column, "sum");
    t->n_filled = filled;
    *out = t;
    t = NULL;
done:
    rls_prom_result_free(&r);
    rls_trace_destroy(&t);
    free(first_metric);
    free(val);
    free(have);
    return rc;
}

/* ------------------------------------------------------------------ */
/* times and durations */

int rls_prom_parse_duration(const char *s, double *out)
{
    double total = 0.0;
    char *end = NULL;
    double last_scale = 0;

    if (s == NULL || out == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == 0 && *end == '\0' && isfinite(v) && v >= 0) {
        *out = v;
        return 0;
    }
    /* Prometheus units: integers with units, largest first */
    const char *c = s;
    while (*c != '\0') {
        if (*c < '0' || *c > '9')
            return -1;
        errno = 0;
        unsigned long long k = strtoull(c, &end, 10);
        if (errno != 0 || end == c || k > 1000000000ULL)
            return -1;
        c = end;
        double scale = 0;
        if (c[0] == 'm' && c[1] == 's') {
            scale = 0.001;
            c++;
        } else if (*c == 's') {
            scale = 1;
        } else if (*c == 'm') {
            scale = 60;
        } else if (*c == 'h') {
            scale = 3600;
        } else if (*c == 'd') {
            scale = 86400;
        } else if (*c == 'w') {
            scale = 604800;
        } else if (*c == 'y') {
            scale = 31536000;
        } else {
            return -1;
        }
        c++;
        if (last_scale > 0 && !(scale < last_scale))   /* largest unit first */
            return -1;
        last_scale = scale;
        total += (double)k * scale;
    }
    if (last_scale <= 0)
        return -1;
    *out = total;
    return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's) */
static int64_t s_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static int s_parse_rfc3339(const char *s, double *out)
{
    int Y, M, D, h, mi, sec, oh = 0, om = 0, sign = 0;
    double frac = 0.0;
    const char *c = s + 19;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) < 20 || s_digits(s, 4, &Y) || s[4] != '-' || s_digits(s + 5, 2, &M) || s[7] != '-' ||
        s_digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s_digits(s + 11, 2, &h) || s[13] != ':' || s_digits(s + 14, 2, &mi) || s[16] != ':' ||
        s_digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (*c == '.') {
        double scale = 0.1;
        c++;
        if (*c < '0' || *c > '9')
            return -1;
        while (*c >= '0' && *c <= '9') {
            frac += (*c - '0') * scale;
            scale /= 10;
            c++;
        }
    }
    if (*c == 'Z' || *c == 'z') {
        c++;
    } else if (*c == '+' || *c == '-') {
        sign = *c == '-' ? -1 : 1;
        if (s_digits(c + 1, 2, &oh) || c[3] != ':' || s_digits(c + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        c += 6;
    } else {
        return -1;
    }
    if (*c != '\0')
        return -1;
    double t = (double)s_days_from_civil(Y, M, D) * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac;
    t -= sign * (oh * 3600.0 + om * 60.0);
    *out = t;
    return 0;
}

int rls_prom_parse_time(const char *s, double now_s, double *out)
{
    char *end = NULL;
    double d = 0;
    if (s == NULL || out == NULL || s[0] == '\0')
        return -1;
    if (strncmp(s, "now", 3) == 0) {
        if (s[3] == '\0') {
            *out = now_s;
            return 0;
        }
        if ((s[3] != '-' && s[3] != '+') || rls_prom_parse_duration(s + 4, &d) != 0)
            return -1;
        *out = s[3] == '-' ? now_s - d : now_s + d;
        return *out >= 0 ? 0 : -1;
    }
    if (strlen(s) >= 20 && s[4] == '-')
        return s_parse_rfc3339(s, out) == 0 && *out >= 0 ? 0 : -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v) || v < 0 || s[0] == ' ')
        return -1;
    *out = v;
    return 0;
}
