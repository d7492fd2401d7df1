/* spaces.c - Box / Discrete / MultiDiscrete space descriptions (spaces.h):
 * construction, membership, gym-like printing and seeded sampling.
 */
#include "spaces.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elements printed before eliding a long array with "...". */
#define S_PRINT_HEAD 6
#define S_PRINT_TAIL 2

static int s_shape_ok(int32_t ndim, const int64_t *shape, int64_t *size, struct rls_err *err)
{
    int64_t total = 1;
    if (ndim < 1 || ndim > RLS_SPACE_MAX_DIMS)
        return rls_err_set(err, RLS_ERR_INVALID, "space: ndim %d not in [1, %d]", (int)ndim,
                           RLS_SPACE_MAX_DIMS);
    if (!shape)
        return rls_err_set(err, RLS_ERR_INVALID, "space: shape is NULL");
    for (int32_t d = 0; d < ndim; d++) {
        if (shape[d] < 1 || shape[d] > ((int64_t)1 << 31))
            return rls_err_set(err, RLS_ERR_INVALID, "space: shape[%d] = %lld must be >= 1", (int)d,
                               (long long)shape[d]);
        total *= shape[d];
        if (total > ((int64_t)1 << 36))
            return rls_err_set(err, RLS_ERR_RANGE, "space: too many elements");
    }
    *size = total;
    return RLS_OK;
}

static struct rls_space *s_alloc(enum rls_space_kind kind, int32_t ndim, const int64_t *shape,
                                 int64_t size)
{
    struct rls_space *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->kind = kind;
    s->ndim = ndim;
    for (int32_t d = 0; d < ndim; d++)
        s->shape[d] = shape[d];
    s->size = size;
    return s;
}

struct rls_space *rls_space_box_new(int32_t ndim, const int64_t *shape, const float *low,
                                    const float *high, struct rls_err *err)
{
    struct rls_space *s = NULL;
    int64_t size = 0;
    if (s_shape_ok(ndim, shape, &size, err) != RLS_OK)
        return NULL;
    if (!low || !high) {
        rls_err_set(err, RLS_ERR_INVALID, "space: Box bounds are NULL");
        return NULL;
    }
    for (int64_t j = 0; j < size; j++) {
        if (isnan(low[j]) || isnan(high[j]) || low[j] > high[j]) {
            rls_err_set(err, RLS_ERR_RANGE, "space: Box bound %lld: low %g > high %g or NaN",
                        (long long)j, (double)low[j], (double)high[j]);
            return NULL;
        }
    }
    s = s_alloc(RLS_SPACE_BOX, ndim, shape, size);
    if (!s)
        goto nomem;
    s->low = malloc((size_t)size * sizeof(float));
    s->high = malloc((size_t)size * sizeof(float));
    if (!s->low || !s->high)
        goto nomem;
    memcpy(s->low, low, (size_t)size * sizeof(float));
    memcpy(s->high, high, (size_t)size * sizeof(float));
    return s;
nomem:
    rls_space_destroy(&s);
    rls_err_set(err, RLS_ERR_NOMEM, "space: out of memory");
    return NULL;
}

struct rls_space *rls_space_box_new_uniform(int32_t ndim, const int64_t *shape, float low,
                                            float high, struct rls_err *err)
{
    struct rls_space *s = NULL;
    float *lo = NULL, *hi = NULL;
    int64_t size = 0;
    if (s_shape_ok(ndim, shape, &size, err) != RLS_OK)
        return NULL;
    lo = malloc((size_t)size * sizeof(float));
    hi = malloc((size_t)size * sizeof(float));
    if (!lo || !hi) {
        rls_err_set(err, RLS_ERR_NOMEM, "space: out of memory");
        goto done;
    }
    for (int64_t j = 0; j < size; j++) {
        lo[j] = low;
        hi[j] = high;
    }
    s = rls_space_box_new(ndim, shape, lo, hi, err);
done:
    free(lo);
    free(hi);
    return s;
}

struct rls_space *rls_space_discrete_new(int64_t n, struct rls_err *err)
{
    struct rls_space *s = NULL;
    if (n < 1 || n > INT32_MAX) {
        rls_err_set(err, RLS_ERR_RANGE, "space: Discrete n = %lld must be in [1, 2^31)",
                    (long long)n);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rls_err_set(err, RLS_ERR_NOMEM, "space: out of memory");
        return NULL;
    }
    s->kind = RLS_SPACE_DISCRETE;
    s->ndim = 0;
    s->size = 1;
    s->n = n;
    return s;
}

struct rls_space *rls_space_multi_discrete_new(int32_t ndim, const int64_t *shape,
                                               const int64_t *nvec, struct rls_err *err)
{
    struct rls_space *s = NULL;
    int64_t size = 0;
    if (s_shape_ok(ndim, shape, &size, err) != RLS_OK)
        return NULL;
    if (!nvec) {
        rls_err_set(err, RLS_ERR_INVALID, "space: MultiDiscrete nvec is NULL");
        return NULL;
    }
    for (int64_t j = 0; j < size; j++) {
        if (nvec[j] < 1 || nvec[j] > INT32_MAX) {
            rls_err_set(err, RLS_ERR_RANGE, "space: MultiDiscrete nvec[%lld] = %lld must be >= 1",
                        (long long)j, (long long)nvec[j]);
            return NULL;
        }
    }
    s = s_alloc(RLS_SPACE_MULTI_DISCRETE, ndim, shape, size);
    if (!s)
        goto nomem;
    s->nvec = malloc((size_t)size * sizeof(int64_t));
    if (!s->nvec)
        goto nomem;
    memcpy(s->nvec, nvec, (size_t)size * sizeof(int64_t));
    return s;
nomem:
    rls_space_destroy(&s);
    rls_err_set(err, RLS_ERR_NOMEM, "space: out of memory");
    return NULL;
}

struct rls_space *rls_space_copy(const struct rls_space *s)
{
    struct rls_space *c = NULL;
    if (!s)
        return NULL;
    switch (s->kind) {
    case RLS_SPACE_BOX:
        c = rls_space_box_new(s->ndim, s->shape, s->low, s->high, NULL);
        break;
    case RLS_SPACE_DISCRETE:
        c = rls_space_discrete_new(s->n, NULL);
        break;
    case RLS_SPACE_MULTI_DISCRETE:
        c = rls_space_multi_discrete_new(s->ndim, s->shape, s->nvec, NULL);
        break;
    }
    return c;
}

void rls_space_destroy(struct rls_space **s)
{
    if (!s || !*s)
        return;
    free((*s)->low);
    free((*s)->high);
    free((*s)->nvec);
    free(*s);
    *s = NULL;
}

int rls_space_contains(const struct rls_space *s, const void *data, int64_t *bad_index)
{
    if (bad_index)
        *bad_index = -1;
    if (!s || !data)
        return 0;
    if (s->kind == RLS_SPACE_BOX) {
        const float *x = data;
        for (int64_t j = 0; j < s->size; j++) {
            if (isnan(x[j]) || x[j] < s->low[j] || x[j] > s->high[j]) {
                if (bad_index)
                    *bad_index = j;
                return 0;
            }
        }
        return 1;
    }
    const int32_t *a = data;
    for (int64_t j = 0; j < s->size; j++) {
        int64_t n = s->kind == RLS_SPACE_DISCRETE ? s->n : s->nvec[j];
        if (a[j] < 0 || a[j] >= n) {
            if (bad_index)
                *bad_index = j;
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------
 * Printing: an appender that keeps counting past the end of the buffer, so
 * the return value is the full length (as snprintf). */

struct s_out {
    char *buf;
    int len;
    int pos;
};

static void s_put(struct s_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_put(struct s_out *o, const char *fmt, ...)
{
    va_list ap;
    char tmp[128];
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof(tmp))
        n = (int)sizeof(tmp) - 1;
    if (o->buf && o->len > 0 && o->pos < o->len - 1) {
        int room = o->len - 1 - o->pos;
        int k = n < room ? n : room;
        memcpy(o->buf + o->pos, tmp, (size_t)k);
        o->buf[o->pos + k] = '\0';
    }
    o->pos += n;
}

/* A float as numpy prints it in an array: "0.", "-1.", "2.5", "inf". */
static void s_put_float(struct s_out *o, float v)
{
    if (isinf(v))
        s_put(o, "%s", v < 0 ? "-inf" : "inf");
    else if (v == floorf(v) && fabsf(v) < 1e15f)
        s_put(o, "%.0f.", (double)v);
    else
        s_put(o, "%g", (double)v);
}

/* A scalar bound as gym prints it: "0.0", "-1.0", "2.5". */
static void s_put_scalar(struct s_out *o, float v)
{
    if (isinf(v))
        s_put(o, "%s", v < 0 ? "-inf" : "inf");
    else if (v == floorf(v) && fabsf(v) < 1e15f)
        s_put(o, "%.1f", (double)v);
    else
        s_put(o, "%g", (double)v);
}

/* Prints n items with elision: the first S_PRINT_HEAD, "...", the last S_PRINT_TAIL. */
static int s_elide(int64_t n, int64_t i)
{
    return n > S_PRINT_HEAD + S_PRINT_TAIL + 1 && i >= S_PRINT_HEAD && i < n - S_PRINT_TAIL;
}

static void s_put_float_array(struct s_out *o, const float *v, int64_t n)
{
    s_put(o, "[");
    for (int64_t j = 0; j < n; j++) {
        if (s_elide(n, j)) {
            if (j == S_PRINT_HEAD)
                s_put(o, " ...");
            continue;
        }
        if (j > 0)
            s_put(o, " ");
        s_put_float(o, v[j]);
    }
    s_put(o, "]");
}

static void s_put_shape(struct s_out *o, const struct rls_space *s)
{
    s_put(o, "(");
    for (int32_t d = 0; d < s->ndim; d++)
        s_put(o, d == 0 ? "%lld" : ", %lld", (long long)s->shape[d]);
    s_put(o, s->ndim == 1 ? ",)" : ")");
}

/* Nested integer array of the last dimension rows: [[9 2] [9 2]]. */
static void s_put_nvec(struct s_out *o, const struct rls_space *s)
{
    int64_t row = s->shape[s->ndim - 1];
    int64_t rows = s->size / row;
    if (s->ndim == 1) {
        s_put(o, "[");
        for (int64_t j = 0; j < row; j++) {
            if (s_elide(row, j)) {
                if (j == S_PRINT_HEAD)
                    s_put(o, " ...");
                continue;
            }
            s_put(o, j == 0 ? "%lld" : " %lld", (long long)s->nvec[j]);
        }
        s_put(o, "]");
        return;
    }
    s_put(o, "[");
    for (int64_t r = 0; r < rows; r++) {
        if (s_elide(rows, r)) {
            if (r == S_PRINT_HEAD)
                s_put(o, " ...");
            continue;
        }
        s_put(o, r == 0 ? "[" : " [");
        for (int64_t j = 0; j < row; j++) {
            if (s_elide(row, j)) {
                if (j == S_PRINT_HEAD)
                    s_put(o, " ...");
                continue;
            }
            s_put(o, j == 0 ? "%lld" : " %lld", (long long)s->nvec[r * row + j]);
        }
        s_put(o, "]");
    }
    s_put(o, "]");
}

int rls_space_describe(const struct rls_space *s, char *buf, int len)
{
    struct s_out o = {buf, len, 0};
    if (buf && len > 0)
        buf[0] = '\0';
    if (!s) {
        s_put(&o, "None");
        return o.pos;
    }
    switch (s->kind) {
    case RLS_SPACE_BOX: {
        int uniform = 1;
        for (int64_t j = 1; j < s->size && uniform; j++)
            uniform = s->low[j] == s->low[0] && s->high[j] == s->high[0];
        s_put(&o, "Box(");
        if (uniform) {
            s_put_scalar(&o, s->low[0]);
            s_put(&o, ", ");
            s_put_scalar(&o, s->high[0]);
        } else {
            s_put_float_array(&o, s->low, s->size);
            s_put(&o, ", ");
            s_put_float_array(&o, s->high, s->size);
        }
        s_put(&o, ", ");
        s_put_shape(&o, s);
        s_put(&o, ", float32)");
        break;
    }
    case RLS_SPACE_DISCRETE:
        s_put(&o, "Discrete(%lld)", (long long)s->n);
        break;
    case RLS_SPACE_MULTI_DISCRETE:
        s_put(&o, "MultiDiscrete(");
        s_put_nvec(&o, s);
        s_put(&o, ")");
        break;
    }
    return o.pos;
}

/* splitmix64: a small, well mixed generator for seeded samples. */
static uint64_t s_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double s_unit(uint64_t *x)
{
    return (double)(s_next(x) >> 11) * (1.0 / 9007199254740992.0);
}

int rls_space_sample(const struct rls_space *s, uint64_t seed, void *out)
{
    uint64_t state = seed;
    if (!s || !out)
        return RLS_ERR_INVALID;
    if (s->kind == RLS_SPACE_BOX) {
        float *x = out;
        for (int64_t j = 0; j < s->size; j++) {
            double lo = s->low[j], hi = s->high[j];
            if (isinf(lo) && isinf(hi)) {
                lo = -1.0;
                hi = 1.0;
            } else if (isinf(lo)) {
                lo = hi - 1.0;
            } else if (isinf(hi)) {
                hi = lo + 1.0;
            }
            float v = (float)(lo + (hi - lo) * s_unit(&state));
            if (v < s->low[j])
                v = s->low[j];
            if (v > s->high[j])
                v = s->high[j];
            x[j] = v;
        }
        return RLS_OK;
    }
    int32_t *a = out;
    for (int64_t j = 0; j < s->size; j++) {
        int64_t n = s->kind == RLS_SPACE_DISCRETE ? s->n : s->nvec[j];
        a[j] = (int32_t)(s_next(&state) % (uint64_t)n);
    }
    return RLS_OK;
}
