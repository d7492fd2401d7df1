/* protocol.c - encode (msgpack-c packer) and decode (a bounds-checked pull
 * reader) the wire messages of protocol.h; agent/PROTOCOL.md is the layout.
 *
 * One table of column descriptors per record or per-item table drives both
 * directions: the encoder writes and range-checks each column from the C
 * struct, the decoder reads, type-checks and range-checks it into the struct.
 * The reader never trusts a count: an array or map header that claims more
 * items than bytes remain is a truncated message, so nothing is allocated on
 * the word of a header, and skipping an unknown value is a loop, not a
 * recursion.
 */
#include "protocol.h"

#include <math.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- the reader ---------------------------------------------------------- */

enum s_kind { K_NIL, K_BOOL, K_UINT, K_INT, K_FLOAT, K_STR, K_BIN, K_ARR, K_MAP, K_EXT };

struct s_val {
    enum s_kind kind;
    uint64_t u;         /* UINT, BOOL */
    int64_t i;          /* INT (negative values only) */
    double d;           /* FLOAT */
    const uint8_t *s;   /* STR, BIN, EXT body */
    uint32_t n;         /* STR/BIN/EXT bytes; ARR items; MAP pairs */
};

struct s_rd {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    struct rls_err *err;
};

#define S_TRUNC (-100)  /* s_next: the message ends inside a value */
#define S_BADBYTE (-101) /* s_next: 0xc1, never used by MessagePack */

static const char *s_kind_name(enum s_kind k)
{
    switch (k) {
    case K_NIL: return "nil";
    case K_BOOL: return "a boolean";
    case K_UINT: case K_INT: return "an integer";
    case K_FLOAT: return "a float";
    case K_STR: return "a string";
    case K_BIN: return "binary data";
    case K_ARR: return "an array";
    case K_MAP: return "a map";
    case K_EXT: return "an extension value";
    }
    return "?";
}

static size_t s_left(const struct s_rd *rd)
{
    return (size_t)(rd->end - rd->p);
}

static uint64_t s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Reads one value's header (scalars whole; str/bin/ext bodies are stepped
 * over, their pointer kept). Returns 0, S_TRUNC or S_BADBYTE. Array and map
 * headers claiming more items than bytes remain are S_TRUNC. */
static int s_next(struct s_rd *rd, struct s_val *v)
{
    uint8_t b;
    int w = 0;          /* width of a length/value field that follows */
    uint64_t len = 0;

    memset(v, 0, sizeof *v);
    if (rd->p >= rd->end)
        return S_TRUNC;
    b = *rd->p++;
    if (b <= 0x7f) {
        v->kind = K_UINT;
        v->u = b;
        return 0;
    }
    if (b >= 0xe0) {
        v->kind = K_INT;
        v->i = (int8_t)b;
        return 0;
    }
    if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
        v->kind = (b & 0xf0) == 0x80 ? K_MAP : K_ARR;
        len = b & 0x0f;
        goto container;
    }
    if ((b & 0xe0) == 0xa0) {
        v->kind = K_STR;
        len = b & 0x1f;
        goto body;
    }
    switch (b) {
    case 0xc0: v->kind = K_NIL; return 0;
    case 0xc2: case 0xc3: v->kind = K_BOOL; v->u = b == 0xc3; return 0;
    case 0xc4: case 0xc5: case 0xc6:
        v->kind = K_BIN;
        w = 1 << (b - 0xc4);
        if (s_left(rd) < (size_t)w)
            return S_TRUNC;
        len = s_be(rd->p, w);
        rd->p += w;
        goto body;
    case 0xc7: case 0xc8: case 0xc9:
        v->kind = K_EXT;
        w = 1 << (b - 0xc7);
        if (s_left(rd) < (size_t)w + 1)
            return S_TRUNC;
        len = s_be(rd->p, w);
        rd->p += w + 1;     /* length, then the ext type byte */
        goto body;
    case 0xca: {
        uint32_t bits;
        float f;
        if (s_left(rd) < 4)
            return S_TRUNC;
        bits = (uint32_t)s_be(rd->p, 4);
        memcpy(&f, &bits, 4);
        rd->p += 4;
        v->kind = K_FLOAT;
        v->d = f;
        return 0;
    }
    case 0xcb: {
        uint64_t bits;
        if (s_left(rd) < 8)
            return S_TRUNC;
        bits = s_be(rd->p, 8);
        memcpy(&v->d, &bits, 8);
        rd->p += 8;
        v->kind = K_FLOAT;
        return 0;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        w = 1 << (b - 0xcc);
        if (s_left(rd) < (size_t)w)
            return S_TRUNC;
        v->kind = K_UINT;
        v->u = s_be(rd->p, w);
        rd->p += w;
        return 0;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        uint64_t raw;
        int64_t x;
        w = 1 << (b - 0xd0);
        if (s_left(rd) < (size_t)w)
            return S_TRUNC;
        raw = s_be(rd->p, w);
        rd->p += w;
        if (w == 1) x = (int8_t)raw;
        else if (w == 2) x = (int16_t)raw;
        else if (w == 4) x = (int32_t)raw;
        else memcpy(&x, &raw, 8);
        if (x >= 0) {
            v->kind = K_UINT;
            v->u = (uint64_t)x;
        } else {
            v->kind = K_INT;
            v->i = x;
        }
        return 0;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        v->kind = K_EXT;
        len = (uint64_t)1 << (b - 0xd4);
        if (s_left(rd) < 1)
            return S_TRUNC;
        rd->p += 1;         /* the ext type byte */
        goto body;
    case 0xd9: case 0xda: case 0xdb:
        v->kind = K_STR;
        w = 1 << (b - 0xd9);
        if (s_left(rd) < (size_t)w)
            return S_TRUNC;
        len = s_be(rd->p, w);
        rd->p += w;
        goto body;
    case 0xdc: case 0xdd: case 0xde: case 0xdf:
        v->kind = b <= 0xdd ? K_ARR : K_MAP;
        w = (b == 0xdc || b == 0xde) ? 2 : 4;
        if (s_left(rd) < (size_t)w)
            return S_TRUNC;
        len = s_be(rd->p, w);
        rd->p += w;
        goto container;
    default:
        rd->p--;
        return S_BADBYTE;
    }

body:
    if (s_left(rd) < len)
        return S_TRUNC;
    v->s = rd->p;
    v->n = (uint32_t)len;
    rd->p += len;
    return 0;

container:
    /* every item takes at least one byte */
    if ((v->kind == K_ARR ? len : 2 * len) > s_left(rd))
        return S_TRUNC;
    v->n = (uint32_t)len;
    return 0;
}

/* The message for a structural failure of s_next/s_skip at `path`. */
static int s_fail_struct(struct s_rd *rd, int rc, const char *path)
{
    if (rc == S_BADBYTE)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: invalid MessagePack byte 0xc1 at offset %zu",
                           path, (size_t)(rd->p - rd->start));
    return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: truncated (the message of %zu bytes ends inside this value)",
                       path, (size_t)(rd->end - rd->start));
}

/* Skips the rest of a value whose header v was just read: a loop over the
 * items still owed, bounded by the bytes left. Returns 0 or an s_next code. */
static int s_skip_rest(struct s_rd *rd, const struct s_val *v)
{
    uint64_t todo = 0;
    struct s_val x;

    if (v->kind == K_ARR)
        todo = v->n;
    else if (v->kind == K_MAP)
        todo = 2 * (uint64_t)v->n;
    while (todo > 0) {
        int rc = s_next(rd, &x);
        if (rc != 0)
            return rc;
        todo--;
        if (x.kind == K_ARR)
            todo += x.n;
        else if (x.kind == K_MAP)
            todo += 2 * (uint64_t)x.n;
        if (todo > s_left(rd))
            return S_TRUNC;
    }
    return 0;
}

static int s_skip(struct s_rd *rd, const char *path)
{
    struct s_val v;
    int rc = s_next(rd, &v);
    if (rc == 0)
        rc = s_skip_rest(rd, &v);
    return rc == 0 ? RLS_OK : s_fail_struct(rd, rc, path);
}

/* --- column descriptors ------------------------------------------------- */

enum s_ck { CK_F64, CK_I32, CK_I64, CK_U64, CK_U8, CK_STR };

#define F_REQ 1u    /* the key must be present */
#define F_NONEMPTY 2u /* CK_STR: at least one byte */

struct s_col {
    const char *name;
    uint8_t kind;       /* enum s_ck */
    uint8_t flags;      /* F_REQ */
    uint8_t target;     /* tables: which array (struct s_target) the column fills */
    uint8_t group;      /* nonzero: columns of one group are sent together or not at all */
    size_t off;         /* byte offset of the field in its element */
    size_t cap;         /* CK_STR: size of the char array, NUL included */
    double lo, hi;      /* allowed range, inclusive (CK_STR: ignored) */
};

/* A field's path for messages: "ctx.name[idx]" (idx < 0: no index). */
static const char *s_path(char *buf, size_t len, const char *ctx, const char *name, int64_t idx)
{
    if (idx >= 0)
        snprintf(buf, len, "%s.%s[%lld]", ctx, name, (long long)idx);
    else
        snprintf(buf, len, "%s.%s", ctx, name);
    return buf;
}

static int s_check_f64(const struct s_col *c, double x, const char *ctx, int64_t idx,
                       struct rls_err *err)
{
    char p[192];
    if (!isfinite(x))
        return rls_err_set(err, RLS_ERR_RANGE, "%s: %s not allowed",
                           s_path(p, sizeof p, ctx, c->name, idx), isnan(x) ? "NaN" : "infinity");
    if (x < c->lo || x > c->hi)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: %g out of range [%g, %g]",
                           s_path(p, sizeof p, ctx, c->name, idx), x, c->lo, c->hi);
    return RLS_OK;
}

static int s_check_int(const struct s_col *c, int64_t x, const char *ctx, int64_t idx,
                       struct rls_err *err)
{
    char p[192];
    if ((double)x < c->lo || (double)x > c->hi)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: %lld out of range [%.0f, %.0f]",
                           s_path(p, sizeof p, ctx, c->name, idx), (long long)x, c->lo, c->hi);
    return RLS_OK;
}

/* Checks one string field: at most cap - 1 bytes, no NUL inside. */
static int s_check_str(const struct s_col *c, const uint8_t *s, size_t n, const char *ctx,
                       int64_t idx, struct rls_err *err)
{
    char p[192];
    if (n == 0 && (c->flags & F_NONEMPTY))
        return rls_err_set(err, RLS_ERR_RANGE, "%s: empty string", s_path(p, sizeof p, ctx, c->name, idx));
    if (n > c->cap - 1)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: string too long (%zu bytes, max %zu)",
                           s_path(p, sizeof p, ctx, c->name, idx), n, c->cap - 1);
    if (memchr(s, 0, n) != NULL)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: NUL byte inside a string",
                           s_path(p, sizeof p, ctx, c->name, idx));
    return RLS_OK;
}

/* Reads one value of column c into dst (the field itself). */
static int s_read_scalar(struct s_rd *rd, const struct s_col *c, void *dst, const char *ctx,
                         int64_t idx)
{
    struct s_val v;
    char p[192];
    int rc = s_next(rd, &v);

    if (rc != 0)
        return s_fail_struct(rd, rc, s_path(p, sizeof p, ctx, c->name, idx));
    if (c->kind == CK_F64) {
        double x;
        if (v.kind == K_FLOAT)
            x = v.d;
        else if (v.kind == K_UINT)
            x = (double)v.u;
        else if (v.kind == K_INT)
            x = (double)v.i;
        else
            goto wrong;
        rc = s_check_f64(c, x, ctx, idx, rd->err);
        if (rc != RLS_OK)
            return rc;
        memcpy(dst, &x, sizeof x);
        return RLS_OK;
    }
    if (c->kind == CK_STR) {
        if (v.kind != K_STR)
            goto wrong;
        rc = s_check_str(c, v.s, v.n, ctx, idx, rd->err);
        if (rc != RLS_OK)
            return rc;
        memcpy(dst, v.s, v.n);
        ((char *)dst)[v.n] = '\0';
        return RLS_OK;
    }
    /* integers */
    if (v.kind != K_UINT && v.kind != K_INT)
        goto wrong;
    if (c->kind == CK_U64) {
        if (v.kind == K_INT)
            return rls_err_set(rd->err, RLS_ERR_RANGE, "%s: %lld out of range (must be >= 0)",
                               s_path(p, sizeof p, ctx, c->name, idx), (long long)v.i);
        memcpy(dst, &v.u, sizeof v.u);
        return RLS_OK;
    }
    {
        int64_t x;
        if (v.kind == K_UINT && v.u > (uint64_t)INT64_MAX)
            return rls_err_set(rd->err, RLS_ERR_RANGE, "%s: %llu out of range",
                               s_path(p, sizeof p, ctx, c->name, idx), (unsigned long long)v.u);
        x = v.kind == K_UINT ? (int64_t)v.u : v.i;
        rc = s_check_int(c, x, ctx, idx, rd->err);
        if (rc != RLS_OK)
            return rc;
        if (c->kind == CK_I64) {
            memcpy(dst, &x, sizeof x);
        } else if (c->kind == CK_I32) {
            int32_t y = (int32_t)x;
            memcpy(dst, &y, sizeof y);
        } else {
            uint8_t y = (uint8_t)x;
            memcpy(dst, &y, sizeof y);
        }
        return RLS_OK;
    }

wrong:
    return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: expected %s, got %s",
                       s_path(p, sizeof p, ctx, c->name, idx),
                       c->kind == CK_F64 ? "a number" : c->kind == CK_STR ? "a string" : "an integer",
                       s_kind_name(v.kind));
}

static int s_find(const struct s_col *cols, int n, const struct s_val *key)
{
    if (key->kind != K_STR)
        return -1;
    for (int i = 0; i < n; i++)
        if (strlen(cols[i].name) == key->n && memcmp(cols[i].name, key->s, key->n) == 0)
            return i;
    return -1;
}

static bool s_key_is(const struct s_val *key, const char *name)
{
    return key->kind == K_STR && strlen(name) == key->n && memcmp(name, key->s, key->n) == 0;
}

static int s_missing(struct rls_err *err, const char *ctx, const char *name)
{
    return rls_err_set(err, RLS_ERR_PARSE, "%s.%s: missing", ctx, name);
}

/* A key not in the descriptor table: handled (nonzero *handled) or skipped. */
typedef int (*s_hook)(struct s_rd *rd, void *ctx, const struct s_val *key, const char *path,
                      int *handled);

/* Reads a map of scalar fields into base (record). Keys not in cols go to
 * hook (may be NULL), then are skipped. *seen gets a bit per column read. */
static int s_read_record(struct s_rd *rd, const char *path, const struct s_col *cols, int ncols,
                         void *base, uint64_t *seen, s_hook hook, void *hctx)
{
    struct s_val v, key;
    int rc = s_next(rd, &v);
    char kp[192];

    *seen = 0;
    if (rc != 0)
        return s_fail_struct(rd, rc, path);
    if (v.kind != K_MAP)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: expected a map, got %s", path, s_kind_name(v.kind));
    for (uint32_t k = 0; k < v.n; k++) {
        int i;
        rc = s_next(rd, &key);
        if (rc != 0)
            return s_fail_struct(rd, rc, path);
        i = s_find(cols, ncols, &key);
        if (i >= 0) {
            if (*seen & (1ull << i))
                return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: duplicate key",
                                   s_path(kp, sizeof kp, path, cols[i].name, -1));
            *seen |= 1ull << i;
            rc = s_read_scalar(rd, &cols[i], (char *)base + cols[i].off, path, -1);
            if (rc != RLS_OK)
                return rc;
            continue;
        }
        if (key.kind != K_STR) {
            /* a non-string key is unknown by definition: skip its contents and value */
            rc = s_skip_rest(rd, &key);
            if (rc != 0)
                return s_fail_struct(rd, rc, path);
        } else if (hook != NULL) {
            int handled = 0;
            rc = hook(rd, hctx, &key, path, &handled);
            if (rc != RLS_OK)
                return rc;
            if (handled)
                continue;
        }
        rc = s_skip(rd, path);
        if (rc != RLS_OK)
            return rc;
    }
    for (int i = 0; i < ncols; i++)
        if ((cols[i].flags & F_REQ) && !(*seen & (1ull << i)))
            return s_missing(rd->err, path, cols[i].name);
    return RLS_OK;
}

/* The arrays a table fills: *ptr is calloc'ed with n elements of size bytes
 * once the row count is known (owned by the caller afterwards, even on error). */
struct s_target {
    void **ptr;
    size_t size;
};

static int s_alloc_targets(struct s_rd *rd, const char *path, struct s_target *tg, int ntg, uint32_t n)
{
    for (int t = 0; t < ntg; t++) {
        if (*tg[t].ptr != NULL)
            continue;
        *tg[t].ptr = calloc(n > 0 ? n : 1, tg[t].size);
        if (*tg[t].ptr == NULL)
            return rls_err_set(rd->err, RLS_ERR_NOMEM, "%s: out of memory for %u rows", path, n);
    }
    return RLS_OK;
}

/* Reads a columnar table {"n": N, col: [N values], ...} into the target
 * arrays. Unknown keys are skipped; columns must all have N entries. */
static int s_read_table(struct s_rd *rd, const char *path, const struct s_col *cols, int ncols,
                        struct s_target *tg, int ntg, uint32_t max_n, int32_t *n_out,
                        uint64_t *seen)
{
    struct s_val v, key, arr;
    int rc = s_next(rd, &v);
    int64_t n = -1;
    char kp[192];
    static const struct s_col n_col = { "n", CK_I64, F_REQ, 0, 0, 0, 0, 0, 1e18 };

    *seen = 0;
    *n_out = 0;
    if (rc != 0)
        return s_fail_struct(rd, rc, path);
    if (v.kind != K_MAP)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: expected a map, got %s", path, s_kind_name(v.kind));
    for (uint32_t k = 0; k < v.n; k++) {
        int i;
        rc = s_next(rd, &key);
        if (rc != 0)
            return s_fail_struct(rd, rc, path);
        if (s_key_is(&key, "n")) {
            int64_t m = 0;
            rc = s_read_scalar(rd, &n_col, &m, path, -1);
            if (rc != RLS_OK)
                return rc;
            if (m > (int64_t)max_n)
                return rls_err_set(rd->err, RLS_ERR_RANGE, "%s.n: %lld rows, more than the limit %u",
                                   path, (long long)m, max_n);
            if (n >= 0 && m != n)
                return rls_err_set(rd->err, RLS_ERR_PARSE, "%s.n: %lld, but the columns have %lld entries",
                                   path, (long long)m, (long long)n);
            n = m;
            continue;
        }
        i = s_find(cols, ncols, &key);
        if (i < 0) {
            rc = key.kind == K_STR ? 0 : s_skip_rest(rd, &key);
            if (rc != 0)
                return s_fail_struct(rd, rc, path);
            rc = s_skip(rd, path);
            if (rc != RLS_OK)
                return rc;
            continue;
        }
        s_path(kp, sizeof kp, path, cols[i].name, -1);
        if (*seen & (1ull << i))
            return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: duplicate key", kp);
        *seen |= 1ull << i;
        rc = s_next(rd, &arr);
        if (rc != 0)
            return s_fail_struct(rd, rc, kp);
        if (arr.kind != K_ARR)
            return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: expected an array, got %s", kp,
                               s_kind_name(arr.kind));
        if (arr.n > max_n)
            return rls_err_set(rd->err, RLS_ERR_RANGE, "%s: %u entries, more than the limit %u",
                               kp, arr.n, max_n);
        if (n >= 0 && (int64_t)arr.n != n)
            return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: %u entries, expected %lld", kp, arr.n,
                               (long long)n);
        n = arr.n;
        rc = s_alloc_targets(rd, path, tg, ntg, (uint32_t)n);
        if (rc != RLS_OK)
            return rc;
        {
            char *base = *tg[cols[i].target].ptr;
            size_t stride = tg[cols[i].target].size;
            for (uint32_t r = 0; r < arr.n; r++) {
                char *dst = base + (size_t)r * stride + cols[i].off;
                /* fast paths for what the encoder writes: float64 and fixint
                 * values in range; anything else takes the checked path */
                if (cols[i].kind == CK_F64 && s_left(rd) >= 9 && rd->p[0] == 0xcb) {
                    uint64_t bits = s_be(rd->p + 1, 8);
                    double x;
                    memcpy(&x, &bits, 8);
                    if (isfinite(x) && x >= cols[i].lo && x <= cols[i].hi) {
                        memcpy(dst, &x, sizeof x);
                        rd->p += 9;
                        continue;
                    }
                } else if (cols[i].kind == CK_I32 && s_left(rd) >= 1 && rd->p[0] <= 0x7f) {
                    int32_t x = rd->p[0];
                    if (x >= cols[i].lo && x <= cols[i].hi) {
                        memcpy(dst, &x, sizeof x);
                        rd->p += 1;
                        continue;
                    }
                }
                rc = s_read_scalar(rd, &cols[i], dst, path, r);
                if (rc != RLS_OK)
                    return rc;
            }
        }
    }
    if (n < 0)
        return s_missing(rd->err, path, "n");
    for (int i = 0; i < ncols; i++)
        if ((cols[i].flags & F_REQ) && !(*seen & (1ull << i)))
            return s_missing(rd->err, path, cols[i].name);
    for (int i = 0; i < ncols; i++) {
        if (cols[i].group == 0)
            continue;
        for (int j = 0; j < ncols; j++)
            if (cols[j].group == cols[i].group && !!(*seen & (1ull << i)) != !!(*seen & (1ull << j)))
                return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: column '%s' sent without '%s' (a group goes together)",
                                   path, (*seen & (1ull << i)) ? cols[i].name : cols[j].name,
                                   (*seen & (1ull << i)) ? cols[j].name : cols[i].name);
    }
    rc = s_alloc_targets(rd, path, tg, ntg, (uint32_t)n);
    if (rc != RLS_OK)
        return rc;
    *n_out = (int32_t)n;
    return RLS_OK;
}

/* --- the columns of every message -------------------------------------- */

#define BIG 1e300
#define I32MAX 2147483647.0
#define COL(name, kind, flags, st, field, lo, hi) \
    { name, kind, flags, 0, 0, offsetof(st, field), 0, lo, hi }
#define COLT(name, kind, flags, target, group, off, lo, hi) \
    { name, kind, flags, target, group, off, 0, lo, hi }
#define COLS(name, flags, st, field) \
    { name, CK_STR, flags, 0, 0, offsetof(st, field), sizeof(((st *)0)->field), 0, 0 }
#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* top level, every type */
static const struct s_col s_hdr_cols[] = {
    COL("seq", CK_I64, F_REQ, struct rls_proto_msg, seq, 0, 9.2e18),
    COL("ts_ns", CK_I64, 0, struct rls_proto_msg, ts_ns, -9.2e18, 9.2e18),
};
static const struct s_col s_re_cols[] = {
    COL("re", CK_I64, F_REQ, struct rls_proto_msg, re, -1, 9.2e18),
};
static const struct s_col s_note_cols[] = {
    COLS("note", 0, struct rls_proto_msg, note),
};
static const struct s_col s_error_cols[] = {
    COL("re", CK_I64, 0, struct rls_proto_msg, re, -1, 9.2e18),
    COL("code", CK_I32, F_REQ, struct rls_proto_msg, code, -I32MAX, I32MAX),
    COLS("message", F_REQ, struct rls_proto_msg, message),
};
static const struct s_col s_reset_cols[] = {
    COL("seed", CK_U64, F_REQ, struct rls_proto_msg, seed, 0, 0),
};
static const struct s_col s_hello_cols[] = {
    COLS("role", F_REQ | F_NONEMPTY, struct rls_proto_msg, hello.role),
    COLS("software", 0, struct rls_proto_msg, hello.software),
    COL("takeover", CK_I32, 0, struct rls_proto_msg, hello.takeover, 0, 1),
    COL("lease_id", CK_I64, 0, struct rls_proto_msg, hello.lease_id, 0, 9.2e18),
    COL("lease_ms", CK_I64, 0, struct rls_proto_msg, hello.lease_ms, 0, 9.2e18),
};
static const struct s_col s_limits_cols[] = {
    COL("max_message_bytes", CK_I64, 0, struct rls_proto_limits, max_message_bytes, 1, 9.2e18),
    COL("max_services", CK_I32, 0, struct rls_proto_limits, max_services, 0, I32MAX),
    COL("max_nodes", CK_I32, 0, struct rls_proto_limits, max_nodes, 0, I32MAX),
};

/* hello.cluster */
static const struct s_col s_cluster_cols[] = {
    COLS("name", 0, struct rls_scenario, name),
    COL("step_s", CK_F64, F_REQ, struct rls_scenario, step_s, 1e-6, BIG),
    COL("horizon_steps", CK_I32, F_REQ, struct rls_scenario, horizon_steps, 0, I32MAX),
    COL("node_idle_s", CK_F64, 0, struct rls_scenario, node_idle_s, 0, BIG),
};
static const struct s_col s_reward_cols[] = {
    COL("cost", CK_F64, F_REQ, struct rls_reward_weights, cost, 0, BIG),
    COL("slo", CK_F64, F_REQ, struct rls_reward_weights, slo, 0, BIG),
    COL("drop", CK_F64, F_REQ, struct rls_reward_weights, drop, 0, BIG),
    COL("churn", CK_F64, F_REQ, struct rls_reward_weights, churn, 0, BIG),
};
#define PC(name, kind, field, lo, hi) COL(name, kind, F_REQ, struct rls_node_pool, field, lo, hi)
static const struct s_col s_pool_cols[] = {
    COLS("name", F_REQ, struct rls_node_pool, name),
    PC("count", CK_I32, count, 0, I32MAX),
    PC("min_on", CK_I32, min_on, 0, I32MAX),
    PC("cpu", CK_F64, cpu, 0, BIG),
    PC("mem_gb", CK_F64, mem_gb, 0, BIG),
    PC("price_per_hour", CK_F64, price_per_hour, 0, BIG),
    PC("boot_s", CK_F64, boot_s, 0, BIG),
    PC("mtbf_h", CK_F64, mtbf_h, 0, BIG),
    PC("repair_s", CK_F64, repair_s, 0, BIG),
};
static const struct s_col s_tenant_cols[] = {
    COLS("name", F_REQ, struct rls_tenant, name),
    COL("weight", CK_F64, F_REQ, struct rls_tenant, weight, 0, BIG),
    COL("guaranteed_replicas", CK_I32, F_REQ, struct rls_tenant, guaranteed_replicas, 0, I32MAX),
    COL("max_replicas", CK_I32, F_REQ, struct rls_tenant, max_replicas, 0, I32MAX),
};
#define SC(name, kind, field, lo, hi) COL(name, kind, F_REQ, struct rls_service_spec, field, lo, hi)
static const struct s_col s_service_cols[] = {
    COLS("name", F_REQ, struct rls_service_spec, name),
    SC("tenant", CK_I32, tenant, 0, I32MAX),
    SC("capacity_rps", CK_F64, capacity_rps, 0, BIG),
    SC("service_time_ms", CK_F64, service_time_ms, 0, BIG),
    SC("cpu", CK_F64, cpu, 0, BIG),
    SC("mem_gb", CK_F64, mem_gb, 0, BIG),
    SC("cold_start_s", CK_F64, cold_start_s, 0, BIG),
    SC("min_replicas", CK_I32, min_replicas, 0, I32MAX),
    SC("max_replicas", CK_I32, max_replicas, 0, I32MAX),
    SC("initial_replicas", CK_I32, initial_replicas, 0, I32MAX),
    SC("slo_ms", CK_F64, slo_ms, 0, BIG),
    SC("slo_percentile", CK_F64, slo_percentile, 0, 1),
    SC("queue_limit", CK_I32, queue_limit, 0, I32MAX),
};

/* state */
#define IC(name, kind, flags, field, lo, hi) COL(name, kind, flags, struct rls_step_info, field, lo, hi)
static const struct s_col s_info_cols[] = {
    IC("step", CK_I64, F_REQ, step, 0, 9.2e18),
    IC("time_s", CK_F64, F_REQ, time_s, -BIG, BIG),
    IC("cost_usd", CK_F64, 0, cost_usd, 0, BIG),
    IC("replica_seconds", CK_F64, 0, replica_seconds, 0, BIG),
    IC("nodes_on", CK_I32, 0, nodes_on, 0, I32MAX),
    IC("nodes_failed", CK_I32, 0, nodes_failed, 0, I32MAX),
    IC("failures", CK_I32, 0, failures, 0, I32MAX),
    IC("arrivals", CK_F64, 0, arrivals, 0, BIG),
    IC("served", CK_F64, 0, served, 0, BIG),
    IC("dropped", CK_F64, 0, dropped, 0, BIG),
    IC("over_slo", CK_F64, 0, over_slo, 0, BIG),
    IC("churn", CK_F64, 0, churn, 0, BIG),
};
#define SV(name, kind, flags, field, lo, hi) \
    COLT(name, kind, flags, 0, 0, offsetof(struct rls_svc_state, field), lo, hi)
#define SD(name, field, lo, hi) \
    COLT(name, CK_F64, 0, 0, 1, offsetof(struct rls_svc_state, dist.field), lo, hi)
enum { T_SVC = 0, T_LAT = 1 };
static const struct s_col s_svc_cols[] = {
    SV("arrival_rps", CK_F64, F_REQ, arrival_rps, 0, BIG),
    SV("served_rps", CK_F64, F_REQ, served_rps, 0, BIG),
    SV("dropped_rps", CK_F64, F_REQ, dropped_rps, 0, BIG),
    SV("backlog", CK_F64, F_REQ, backlog, 0, BIG),
    SV("utilization", CK_F64, F_REQ, utilization, 0, 1),
    SV("ready", CK_I32, F_REQ, ready, 0, I32MAX),
    SV("starting", CK_I32, F_REQ, starting, 0, I32MAX),
    SV("desired", CK_I32, F_REQ, desired, 0, I32MAX),
    SV("pending", CK_I32, 0, pending, 0, I32MAX),
    SV("change", CK_I32, 0, change, -I32MAX, I32MAX),
    SV("killed", CK_I32, 0, killed, 0, I32MAX),
    SV("rate_rps", CK_F64, 0, rate_rps, 0, BIG),
    SV("frac_over_slo", CK_F64, 0, frac_over_slo, 0, 1),
    SD("p_wait", p_wait, 0, 1),
    SD("theta", theta, 0, BIG),
    SD("mu", mu, 0, BIG),
    SD("p_shift", p_shift, 0, 1),
    SD("shift_s", shift_s, 0, BIG),
    SD("shift_span_s", shift_span_s, 0, BIG),
    COLT("p50_ms", CK_F64, 0, T_LAT, 2, 0 * sizeof(double), 0, BIG),
    COLT("p95_ms", CK_F64, 0, T_LAT, 2, 1 * sizeof(double), 0, BIG),
    COLT("p99_ms", CK_F64, 0, T_LAT, 2, 2 * sizeof(double), 0, BIG),
};
#define SVC_DIST_FIRST 13   /* index of p_wait */
#define SVC_LAT_FIRST 19    /* index of p50_ms */
#define NV(name, kind, field, lo, hi) \
    COLT(name, kind, F_REQ, 0, 0, offsetof(struct rls_node_state, field), lo, hi)
enum { T_NODE = 0, T_NCPU = 1, T_NMEM = 2 };
static const struct s_col s_node_cols[] = {
    NV("pool", CK_I32, pool, 0, I32MAX),
    NV("status", CK_I32, status, 0, RLS_NODE_FAILED),
    NV("timer_s", CK_F64, timer_s, 0, BIG),
    NV("cpu_used", CK_F64, cpu_used, 0, BIG),
    NV("mem_used", CK_F64, mem_used, 0, BIG),
    NV("replicas", CK_I32, replicas, 0, I32MAX),
    COLT("cpu", CK_F64, 0, T_NCPU, 1, 0, 0, BIG),
    COLT("mem_gb", CK_F64, 0, T_NMEM, 1, 0, 0, BIG),
};
#define NODE_CAP_FIRST 6
/* actions */
enum { T_DES = 0, T_PLACE = 1 };
static const struct s_col s_act_cols[] = {
    COLT("desired", CK_I32, F_REQ, T_DES, 0, 0, 0, I32MAX),
    COLT("placement", CK_U8, 0, T_PLACE, 0, 0, 0, RLS_PLACE_COUNT - 1),
};

static const char *const s_type_names[RLS_PROTO_TYPE_COUNT] = {
    "none", "hello", "state", "actions", "ack", "error", "heartbeat", "reset"
};

const char *rls_proto_type_name(int type)
{
    if (type <= RLS_PROTO_NONE || type >= RLS_PROTO_TYPE_COUNT)
        return "unknown";
    return s_type_names[type];
}

int64_t rls_proto_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- decoding ------------------------------------------------------------- */

struct s_dec {
    struct rls_proto_msg *m;
    struct rls_scenario tmp;        /* hello.cluster scalars while decoding */
    struct rls_node_pool *pools;
    struct rls_tenant *tenants;
    struct rls_service_spec *services;
    int32_t n_pools, n_tenants, n_services;
    int have_cluster, have_reward, have_step, have_svc, have_nodes, have_versions, have_limits;
    int have_yaml;
};

static int s_dup(struct s_rd *rd, const char *path, const char *name)
{
    return rls_err_set(rd->err, RLS_ERR_PARSE, "%s.%s: duplicate key", path, name);
}

static int s_cluster_hook(struct s_rd *rd, void *ctx, const struct s_val *key, const char *path,
                          int *handled)
{
    struct s_dec *d = ctx;
    char p[192];
    uint64_t seen = 0;

    *handled = 1;
    if (s_key_is(key, "reward")) {
        if (d->have_reward++)
            return s_dup(rd, path, "reward");
        return s_read_record(rd, s_path(p, sizeof p, path, "reward", -1), s_reward_cols,
                             NCOLS(s_reward_cols), &d->tmp.reward, &seen, NULL, NULL);
    }
    if (s_key_is(key, "pools")) {
        struct s_target tg[] = { { (void **)&d->pools, sizeof *d->pools } };
        if (d->pools != NULL)
            return s_dup(rd, path, "pools");
        return s_read_table(rd, s_path(p, sizeof p, path, "pools", -1), s_pool_cols, NCOLS(s_pool_cols),
                            tg, 1, RLS_PROTO_MAX_POOLS, &d->n_pools, &seen);
    }
    if (s_key_is(key, "tenants")) {
        struct s_target tg[] = { { (void **)&d->tenants, sizeof *d->tenants } };
        if (d->tenants != NULL)
            return s_dup(rd, path, "tenants");
        return s_read_table(rd, s_path(p, sizeof p, path, "tenants", -1), s_tenant_cols,
                            NCOLS(s_tenant_cols), tg, 1, RLS_PROTO_MAX_TENANTS, &d->n_tenants, &seen);
    }
    if (s_key_is(key, "services")) {
        struct s_target tg[] = { { (void **)&d->services, sizeof *d->services } };
        if (d->services != NULL)
            return s_dup(rd, path, "services");
        return s_read_table(rd, s_path(p, sizeof p, path, "services", -1), s_service_cols,
                            NCOLS(s_service_cols), tg, 1, RLS_PROTO_MAX_SERVICES, &d->n_services, &seen);
    }
    *handled = 0;
    return RLS_OK;
}

/* Builds the owned scenario of hello.cluster from the decoded pieces. */
static int s_build_cluster(struct s_rd *rd, struct s_dec *d)
{
    struct rls_scenario *sc = NULL;
    struct rls_err verr = { 0 };
    int rc;

    sc = rls_scenario_new(d->n_pools, d->n_tenants, d->n_services);
    if (sc == NULL)
        return rls_err_set(rd->err, RLS_ERR_NOMEM, "hello.cluster: out of memory");
    memcpy(sc->name, d->tmp.name, sizeof sc->name);
    sc->step_s = d->tmp.step_s;
    sc->horizon_steps = d->tmp.horizon_steps;
    if (d->tmp.node_idle_s >= 0)    /* -1: not sent, keep the default */
        sc->node_idle_s = d->tmp.node_idle_s;
    if (d->have_reward)
        sc->reward = d->tmp.reward;
    for (int32_t i = 0; i < d->n_pools; i++)
        sc->pools[i] = d->pools[i];
    for (int32_t i = 0; i < d->n_tenants; i++)
        sc->tenants[i] = d->tenants[i];
    for (int32_t i = 0; i < d->n_services; i++) {
        struct rls_load_spec load = sc->services[i].load;
        sc->services[i] = d->services[i];
        sc->services[i].load = load;
    }
    rc = rls_scenario_validate(sc, &verr);
    if (rc != RLS_OK) {
        rls_scenario_destroy(&sc);
        return rls_err_set(rd->err, RLS_ERR_RANGE, "hello.cluster: %s", verr.msg);
    }
    snprintf(sc->source, sizeof sc->source, "hello");
    d->m->hello.cluster = sc;
    return RLS_OK;
}

/* Keys of the top-level map beyond the per-type scalar columns. */
static int s_top_hook(struct s_rd *rd, void *ctx, const struct s_val *key, const char *path,
                      int *handled)
{
    struct s_dec *d = ctx;
    struct rls_proto_msg *m = d->m;
    uint64_t seen = 0;
    int rc;

    *handled = 1;
    if (s_key_is(key, "v") || s_key_is(key, "type"))
        return s_skip(rd, path);    /* checked in the first pass */
    switch (m->type) {
    case RLS_PROTO_HELLO:
        if (s_key_is(key, "versions")) {
            struct s_val arr;
            static const struct s_col vc = { "versions", CK_I64, 0, 0, 0, 0, 0, 1, I32MAX };
            if (d->have_versions++)
                return s_dup(rd, path, "versions");
            rc = s_next(rd, &arr);
            if (rc != 0)
                return s_fail_struct(rd, rc, "hello.versions");
            if (arr.kind != K_ARR)
                return rls_err_set(rd->err, RLS_ERR_PARSE, "hello.versions: expected an array, got %s",
                                   s_kind_name(arr.kind));
            if (arr.n > RLS_PROTO_MAX_VERSIONS)
                return rls_err_set(rd->err, RLS_ERR_RANGE, "hello.versions: %u entries, more than the limit %d",
                                   arr.n, RLS_PROTO_MAX_VERSIONS);
            for (uint32_t i = 0; i < arr.n; i++) {
                int64_t x = 0;
                rc = s_read_scalar(rd, &vc, &x, "hello", i);
                if (rc != RLS_OK)
                    return rc;
                m->hello.versions[i] = (uint32_t)x;
            }
            m->hello.n_versions = (int32_t)arr.n;
            return RLS_OK;
        }
        if (s_key_is(key, "limits")) {
            if (d->have_limits++)
                return s_dup(rd, path, "limits");
            m->hello.limits.max_message_bytes = RLS_PROTO_MAX_BYTES;
            m->hello.limits.max_services = RLS_PROTO_MAX_SERVICES;
            m->hello.limits.max_nodes = RLS_PROTO_MAX_NODES;
            return s_read_record(rd, "hello.limits", s_limits_cols, NCOLS(s_limits_cols),
                                 &m->hello.limits, &seen, NULL, NULL);
        }
        if (s_key_is(key, "cluster")) {
            if (d->have_cluster++)
                return s_dup(rd, path, "cluster");
            d->tmp.node_idle_s = -1.0;
            rc = s_read_record(rd, "hello.cluster", s_cluster_cols, NCOLS(s_cluster_cols), &d->tmp,
                               &seen, s_cluster_hook, d);
            if (rc != RLS_OK)
                return rc;
            if (d->pools == NULL)
                return s_missing(rd->err, "hello.cluster", "pools");
            if (d->tenants == NULL)
                return s_missing(rd->err, "hello.cluster", "tenants");
            if (d->services == NULL)
                return s_missing(rd->err, "hello.cluster", "services");
            return s_build_cluster(rd, d);
        }
        if (s_key_is(key, "scenario_yaml")) {
            struct s_val s;
            if (d->have_yaml++)
                return s_dup(rd, path, "scenario_yaml");
            rc = s_next(rd, &s);
            if (rc != 0)
                return s_fail_struct(rd, rc, "hello.scenario_yaml");
            if (s.kind == K_NIL)
                return RLS_OK;
            if (s.kind != K_STR)
                return rls_err_set(rd->err, RLS_ERR_PARSE, "hello.scenario_yaml: expected a string, got %s",
                                   s_kind_name(s.kind));
            if (s.n > RLS_PROTO_MAX_YAML)
                return rls_err_set(rd->err, RLS_ERR_RANGE, "hello.scenario_yaml: %u bytes, more than the limit %d",
                                   s.n, RLS_PROTO_MAX_YAML);
            if (memchr(s.s, 0, s.n) != NULL)
                return rls_err_set(rd->err, RLS_ERR_RANGE, "hello.scenario_yaml: NUL byte inside a string");
            m->hello.scenario_yaml = malloc((size_t)s.n + 1);
            if (m->hello.scenario_yaml == NULL)
                return rls_err_set(rd->err, RLS_ERR_NOMEM, "hello.scenario_yaml: out of memory");
            memcpy(m->hello.scenario_yaml, s.s, s.n);
            m->hello.scenario_yaml[s.n] = '\0';
            m->hello.scenario_yaml_len = s.n;
            return RLS_OK;
        }
        break;
    case RLS_PROTO_STATE:
        if (s_key_is(key, "step")) {
            if (d->have_step++)
                return s_dup(rd, path, "step");
            return s_read_record(rd, "state.step", s_info_cols, NCOLS(s_info_cols), &m->state.info,
                                 &seen, NULL, NULL);
        }
        if (s_key_is(key, "services")) {
            struct rls_proto_state *st = &m->state;
            struct s_target tg[] = { { (void **)&st->services, sizeof *st->services },
                                     { (void **)&st->latency_ms, 3 * sizeof(double) } };
            if (d->have_svc++)
                return s_dup(rd, path, "services");
            rc = s_read_table(rd, "state.services", s_svc_cols, NCOLS(s_svc_cols), tg, 2,
                              RLS_PROTO_MAX_SERVICES, &st->n_services, &seen);
            if (rc != RLS_OK)
                return rc;
            st->has_dist = (seen >> SVC_DIST_FIRST) & 1;
            if (!((seen >> SVC_LAT_FIRST) & 1)) {
                free(st->latency_ms);
                st->latency_ms = NULL;
            }
            return RLS_OK;
        }
        if (s_key_is(key, "nodes")) {
            struct rls_proto_state *st = &m->state;
            struct s_target tg[] = { { (void **)&st->nodes, sizeof *st->nodes },
                                     { (void **)&st->node_cpu, sizeof(double) },
                                     { (void **)&st->node_mem_gb, sizeof(double) } };
            if (d->have_nodes++)
                return s_dup(rd, path, "nodes");
            rc = s_read_table(rd, "state.nodes", s_node_cols, NCOLS(s_node_cols), tg, 3,
                              RLS_PROTO_MAX_NODES, &st->n_nodes, &seen);
            if (rc != RLS_OK)
                return rc;
            if (!((seen >> NODE_CAP_FIRST) & 1)) {
                free(st->node_cpu);
                free(st->node_mem_gb);
                st->node_cpu = NULL;
                st->node_mem_gb = NULL;
            }
            return RLS_OK;
        }
        break;
    case RLS_PROTO_ACTIONS:
        if (s_key_is(key, "services")) {
            struct rls_proto_actions *a = &m->actions;
            struct s_target tg[] = { { (void **)&a->desired, sizeof *a->desired },
                                     { (void **)&a->placement, sizeof *a->placement } };
            if (d->have_svc++)
                return s_dup(rd, path, "services");
            rc = s_read_table(rd, "actions.services", s_act_cols, NCOLS(s_act_cols), tg, 2,
                              RLS_PROTO_MAX_SERVICES, &a->n_services, &seen);
            if (rc != RLS_OK)
                return rc;
            if (!((seen >> 1) & 1)) {
                free(a->placement);
                a->placement = NULL;
            }
            return RLS_OK;
        }
        break;
    default:
        break;
    }
    *handled = 0;
    return RLS_OK;
}

/* First pass over the top-level map: "v" and "type". When the map breaks
 * off (truncated, bad byte) after both were read, *deferred is set and RLS_OK
 * returned, so the second pass can name the field where it broke; rd->err
 * holds this pass's message for when it does not. */
static int s_read_header(struct s_rd *rd, struct rls_proto_msg *m, int *deferred)
{
    struct s_val top, key, val;
    int have_v = 0, have_type = 0, rc;
    uint64_t v = 0;

    *deferred = 0;

    rc = s_next(rd, &top);
    if (rc != 0)
        return s_fail_struct(rd, rc, "message");
    if (top.kind != K_MAP)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "message: expected a map, got %s", s_kind_name(top.kind));
    for (uint32_t k = 0; k < top.n; k++) {
        rc = s_next(rd, &key);
        if (rc != 0)
            return s_fail_struct(rd, rc, "message");
        if (s_key_is(&key, "v") || s_key_is(&key, "type")) {
            int is_v = s_key_is(&key, "v");
            if (is_v ? have_v++ : have_type++)
                return rls_err_set(rd->err, RLS_ERR_PARSE, "%s: duplicate key", is_v ? "v" : "type");
            rc = s_next(rd, &val);
            if (rc != 0)
                return s_fail_struct(rd, rc, is_v ? "v" : "type");
            if (is_v) {
                if (val.kind != K_UINT)
                    return rls_err_set(rd->err, RLS_ERR_VERSION, "v: expected an integer protocol version, got %s",
                                       s_kind_name(val.kind));
                v = val.u;
            } else {
                if (val.kind != K_STR)
                    return rls_err_set(rd->err, RLS_ERR_PARSE, "type: expected a string, got %s",
                                       s_kind_name(val.kind));
                m->type = RLS_PROTO_NONE;
                for (int t = 1; t < RLS_PROTO_TYPE_COUNT; t++)
                    if (s_key_is(&val, s_type_names[t]))
                        m->type = t;
                if (m->type == RLS_PROTO_NONE)
                    return rls_err_set(rd->err, RLS_ERR_PARSE, "type: unknown message type '%.*s'",
                                       (int)(val.n > 40 ? 40 : val.n), (const char *)val.s);
            }
            rc = s_skip_rest(rd, &val);
        } else {
            rc = s_skip_rest(rd, &key);
            if (rc == 0) {
                rc = s_next(rd, &val);
                if (rc == 0)
                    rc = s_skip_rest(rd, &val);
            }
        }
        if (rc != 0) {
            s_fail_struct(rd, rc, "message");
            if (!have_v || !have_type)
                return rd->err != NULL ? rd->err->status : RLS_ERR_PARSE;
            *deferred = 1;
            break;
        }
    }
    if (!have_v)
        return rls_err_set(rd->err, RLS_ERR_VERSION, "v: missing (no protocol version)");
    if (v != RLS_PROTO_VERSION)
        return rls_err_set(rd->err, RLS_ERR_VERSION,
                           "v: protocol version %llu not supported (this side speaks %d)",
                           (unsigned long long)v, RLS_PROTO_VERSION);
    if (!have_type)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "type: missing");
    m->version = (uint32_t)v;
    if (!*deferred && rd->p != rd->end)
        return rls_err_set(rd->err, RLS_ERR_PARSE, "message: %zu trailing bytes after the message",
                           (size_t)(rd->end - rd->p));
    return RLS_OK;
}

/* The per-type scalar columns of the top-level map, one table per type:
 * the header columns, then the type's own. */
static int s_type_cols(int type, struct s_col *out)
{
    int n = 0;
    for (int i = 0; i < NCOLS(s_hdr_cols); i++)
        out[n++] = s_hdr_cols[i];
    switch (type) {
    case RLS_PROTO_HELLO:
        for (int i = 0; i < NCOLS(s_hello_cols); i++)
            out[n++] = s_hello_cols[i];
        break;
    case RLS_PROTO_ACTIONS:
        out[n++] = s_re_cols[0];
        out[n++] = s_note_cols[0];
        break;
    case RLS_PROTO_ACK:
        out[n++] = s_re_cols[0];
        out[n++] = s_note_cols[0];
        break;
    case RLS_PROTO_ERROR:
        for (int i = 0; i < NCOLS(s_error_cols); i++)
            out[n++] = s_error_cols[i];
        break;
    case RLS_PROTO_RESET:
        out[n++] = s_reset_cols[0];
        break;
    default:
        break;
    }
    return n;
}

int rls_proto_decode(const void *buf, size_t len, struct rls_proto_msg *out, struct rls_err *err)
{
    static const uint8_t empty[1] = { 0 };
    struct s_rd rd = { 0 };
    struct s_dec d;
    struct s_col cols[8];
    const char *ctx;
    struct rls_err pass1 = { RLS_ERR_PARSE, "message: malformed" };
    uint64_t seen = 0;
    int ncols, rc, deferred = 0;

    if (out == NULL || (buf == NULL && len > 0))
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_decode: NULL argument");
    rls_proto_msg_clear(out);
    memset(&d, 0, sizeof d);
    d.m = out;
    out->re = -1;
    if (len > RLS_PROTO_MAX_BYTES) {
        rc = rls_err_set(err, RLS_ERR_RANGE, "message: %zu bytes, more than the limit %d", len,
                         RLS_PROTO_MAX_BYTES);
        goto done;
    }
    rd.start = rd.p = len > 0 ? (const uint8_t *)buf : empty;
    rd.end = rd.start + len;
    rd.err = err;
    rc = s_read_header(&rd, out, &deferred);
    if (rc != RLS_OK)
        goto done;
    if (deferred && err != NULL)
        pass1 = *err;

    rd.p = rd.start;
    ctx = s_type_names[out->type];
    ncols = s_type_cols(out->type, cols);
    rc = s_read_record(&rd, ctx, cols, ncols, out, &seen, s_top_hook, &d);
    if (rc != RLS_OK)
        goto done;
    if (out->type == RLS_PROTO_HELLO && !d.have_versions) {
        out->hello.n_versions = 1;
        out->hello.versions[0] = RLS_PROTO_VERSION;
    }
    if (out->type == RLS_PROTO_HELLO && !d.have_limits) {
        out->hello.limits.max_message_bytes = RLS_PROTO_MAX_BYTES;
        out->hello.limits.max_services = RLS_PROTO_MAX_SERVICES;
        out->hello.limits.max_nodes = RLS_PROTO_MAX_NODES;
    }
    if (out->type == RLS_PROTO_STATE) {
        if (!d.have_step)
            rc = s_missing(err, ctx, "step");
        else if (!d.have_svc)
            rc = s_missing(err, ctx, "services");
        else if (!d.have_nodes)
            rc = s_missing(err, ctx, "nodes");
    }
    if (out->type == RLS_PROTO_ACTIONS && !d.have_svc)
        rc = s_missing(err, ctx, "services");
    if (rc == RLS_OK && deferred)   /* cannot happen: the same bytes broke the first pass */
        rc = rls_err_set(err, pass1.status, "%s", pass1.msg);

done:
    free(d.pools);
    free(d.tenants);
    free(d.services);
    if (rc != RLS_OK)
        rls_proto_msg_clear(out);
    return rc;
}

void rls_proto_msg_clear(struct rls_proto_msg *msg)
{
    if (msg == NULL)
        return;
    rls_scenario_destroy(&msg->hello.cluster);
    free(msg->hello.scenario_yaml);
    free(msg->state.services);
    free(msg->state.latency_ms);
    free(msg->state.nodes);
    free(msg->state.node_cpu);
    free(msg->state.node_mem_gb);
    free(msg->actions.desired);
    free(msg->actions.placement);
    memset(msg, 0, sizeof *msg);
}

/* --- encoding ------------------------------------------------------------- */

struct s_wr {
    struct rls_proto_buf *b;
    int overflow;
    int nomem;
};

static int s_write(void *data, const char *buf, size_t len)
{
    struct s_wr *w = data;
    struct rls_proto_buf *b = w->b;

    if (w->overflow || w->nomem)
        return -1;
    if (len > RLS_PROTO_MAX_BYTES - b->len) {
        w->overflow = 1;
        return -1;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        uint8_t *p;
        while (cap < b->len + len)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL) {
            w->nomem = 1;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    return 0;
}

static void s_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Checks and writes one value of column c read from src. */
static int s_write_scalar(msgpack_packer *pk, const struct s_col *c, const void *src, const char *ctx,
                          int64_t idx, struct rls_err *err)
{
    int rc = RLS_OK;
    switch (c->kind) {
    case CK_F64: {
        double x;
        memcpy(&x, src, sizeof x);
        rc = s_check_f64(c, x, ctx, idx, err);
        if (rc == RLS_OK)
            msgpack_pack_double(pk, x);
        break;
    }
    case CK_I32: {
        int32_t x;
        memcpy(&x, src, sizeof x);
        rc = s_check_int(c, x, ctx, idx, err);
        if (rc == RLS_OK)
            msgpack_pack_int32(pk, x);
        break;
    }
    case CK_I64: {
        int64_t x;
        memcpy(&x, src, sizeof x);
        rc = s_check_int(c, x, ctx, idx, err);
        if (rc == RLS_OK)
            msgpack_pack_int64(pk, x);
        break;
    }
    case CK_U64: {
        uint64_t x;
        memcpy(&x, src, sizeof x);
        msgpack_pack_uint64(pk, x);
        break;
    }
    case CK_U8: {
        uint8_t x;
        memcpy(&x, src, sizeof x);
        rc = s_check_int(c, x, ctx, idx, err);
        if (rc == RLS_OK)
            msgpack_pack_uint8(pk, x);
        break;
    }
    case CK_STR: {
        size_t n = strnlen(src, c->cap);
        rc = s_check_str(c, src, n, ctx, idx, err);
        if (rc == RLS_OK) {
            msgpack_pack_str(pk, n);
            msgpack_pack_str_body(pk, src, n);
        }
        break;
    }
    }
    return rc;
}

/* Writes the columns of cols (all, or those with a bit in mask) as
 * key/value pairs of an open map. */
static int s_write_fields(msgpack_packer *pk, const struct s_col *cols, int ncols, const void *base,
                          const char *ctx, struct rls_err *err)
{
    for (int i = 0; i < ncols; i++) {
        int rc;
        s_pack_cstr(pk, cols[i].name);
        rc = s_write_scalar(pk, &cols[i], (const char *)base + cols[i].off, ctx, -1, err);
        if (rc != RLS_OK)
            return rc;
    }
    return RLS_OK;
}

static int s_write_record(msgpack_packer *pk, const struct s_col *cols, int ncols, const void *base,
                          const char *ctx, struct rls_err *err)
{
    msgpack_pack_map(pk, (size_t)ncols);
    return s_write_fields(pk, cols, ncols, base, ctx, err);
}

/* Writes a columnar table of n rows: "n", then each column whose bit is set
 * in mask, from the arrays bases[target] with strides[target]. */
static int s_write_table(msgpack_packer *pk, const struct s_col *cols, int ncols, uint64_t mask,
                         const void *const *bases, const size_t *strides, int64_t n, int64_t max_n,
                         const char *ctx, struct rls_err *err)
{
    int present = 0;

    if (n < 0 || n > max_n)
        return rls_err_set(err, RLS_ERR_RANGE, "%s.n: %lld rows, out of range [0, %lld]", ctx,
                           (long long)n, (long long)max_n);
    for (int i = 0; i < ncols; i++)
        present += (mask >> i) & 1;
    msgpack_pack_map(pk, (size_t)present + 1);
    s_pack_cstr(pk, "n");
    msgpack_pack_int64(pk, n);
    for (int i = 0; i < ncols; i++) {
        const char *base;
        if (!((mask >> i) & 1))
            continue;
        base = bases[cols[i].target];
        if (base == NULL && n > 0)
            return rls_err_set(err, RLS_ERR_INVALID, "%s.%s: NULL array", ctx, cols[i].name);
        s_pack_cstr(pk, cols[i].name);
        msgpack_pack_array(pk, (size_t)n);
        for (int64_t r = 0; r < n; r++) {
            int rc = s_write_scalar(pk, &cols[i], base + (size_t)r * strides[cols[i].target] + cols[i].off,
                                    ctx, r, err);
            if (rc != RLS_OK)
                return rc;
        }
    }
    return RLS_OK;
}

static uint64_t s_mask_all(int ncols)
{
    return ncols >= 64 ? ~0ull : (1ull << ncols) - 1;
}

static int s_encode_cluster(msgpack_packer *pk, const struct rls_scenario *sc, struct rls_err *err)
{
    int rc;
    size_t pstride = sizeof *sc->pools, tstride = sizeof *sc->tenants, sstride = sizeof *sc->services;
    const void *pb[] = { sc->pools }, *tb[] = { sc->tenants }, *sb[] = { sc->services };

    msgpack_pack_map(pk, (size_t)NCOLS(s_cluster_cols) + 4);
    rc = s_write_fields(pk, s_cluster_cols, NCOLS(s_cluster_cols), sc, "hello.cluster", err);
    if (rc != RLS_OK)
        return rc;
    s_pack_cstr(pk, "reward");
    rc = s_write_record(pk, s_reward_cols, NCOLS(s_reward_cols), &sc->reward, "hello.cluster.reward", err);
    if (rc != RLS_OK)
        return rc;
    s_pack_cstr(pk, "pools");
    rc = s_write_table(pk, s_pool_cols, NCOLS(s_pool_cols), s_mask_all(NCOLS(s_pool_cols)), pb, &pstride,
                       sc->n_pools, RLS_PROTO_MAX_POOLS, "hello.cluster.pools", err);
    if (rc != RLS_OK)
        return rc;
    s_pack_cstr(pk, "tenants");
    rc = s_write_table(pk, s_tenant_cols, NCOLS(s_tenant_cols), s_mask_all(NCOLS(s_tenant_cols)), tb,
                       &tstride, sc->n_tenants, RLS_PROTO_MAX_TENANTS, "hello.cluster.tenants", err);
    if (rc != RLS_OK)
        return rc;
    s_pack_cstr(pk, "services");
    return s_write_table(pk, s_service_cols, NCOLS(s_service_cols), s_mask_all(NCOLS(s_service_cols)),
                         sb, &sstride, sc->n_services, RLS_PROTO_MAX_SERVICES, "hello.cluster.services", err);
}

/* The type-specific keys after the scalar columns. Returns how many map
 * entries they take (counting pass: pk NULL) or a status. */
static int s_encode_body(msgpack_packer *pk, const struct rls_proto_msg *m, struct rls_err *err)
{
    int rc = RLS_OK;

    switch (m->type) {
    case RLS_PROTO_HELLO: {
        const struct rls_proto_hello *h = &m->hello;
        int n = 2 + (h->cluster != NULL) + (h->scenario_yaml != NULL);
        if (pk == NULL)
            return n;
        if (h->n_versions < 0 || h->n_versions > RLS_PROTO_MAX_VERSIONS)
            return rls_err_set(err, RLS_ERR_RANGE, "hello.versions: %d entries, out of range [0, %d]",
                               h->n_versions, RLS_PROTO_MAX_VERSIONS);
        s_pack_cstr(pk, "versions");
        if (h->n_versions == 0) {
            msgpack_pack_array(pk, 1);
            msgpack_pack_uint32(pk, RLS_PROTO_VERSION);
        } else {
            msgpack_pack_array(pk, (size_t)h->n_versions);
            for (int32_t i = 0; i < h->n_versions; i++) {
                if (h->versions[i] < 1 || h->versions[i] > 2147483647u)
                    return rls_err_set(err, RLS_ERR_RANGE, "hello.versions[%d]: %u out of range", i,
                                       h->versions[i]);
                msgpack_pack_uint32(pk, h->versions[i]);
            }
        }
        s_pack_cstr(pk, "limits");
        {
            struct rls_proto_limits lim = h->limits;
            if (lim.max_message_bytes == 0 && lim.max_services == 0 && lim.max_nodes == 0) {
                lim.max_message_bytes = RLS_PROTO_MAX_BYTES;
                lim.max_services = RLS_PROTO_MAX_SERVICES;
                lim.max_nodes = RLS_PROTO_MAX_NODES;
            }
            rc = s_write_record(pk, s_limits_cols, NCOLS(s_limits_cols), &lim, "hello.limits", err);
            if (rc != RLS_OK)
                return rc;
        }
        if (h->cluster != NULL) {
            s_pack_cstr(pk, "cluster");
            rc = s_encode_cluster(pk, h->cluster, err);
            if (rc != RLS_OK)
                return rc;
        }
        if (h->scenario_yaml != NULL) {
            size_t n2 = h->scenario_yaml_len;
            if (n2 > RLS_PROTO_MAX_YAML)
                return rls_err_set(err, RLS_ERR_RANGE, "hello.scenario_yaml: %zu bytes, more than the limit %d",
                                   n2, RLS_PROTO_MAX_YAML);
            if (memchr(h->scenario_yaml, 0, n2) != NULL)
                return rls_err_set(err, RLS_ERR_RANGE, "hello.scenario_yaml: NUL byte inside a string");
            s_pack_cstr(pk, "scenario_yaml");
            msgpack_pack_str(pk, n2);
            msgpack_pack_str_body(pk, h->scenario_yaml, n2);
        }
        return RLS_OK;
    }
    case RLS_PROTO_STATE: {
        const struct rls_proto_state *st = &m->state;
        uint64_t mask = s_mask_all(SVC_DIST_FIRST);
        const void *sb[] = { st->services, st->latency_ms };
        size_t ss[] = { sizeof *st->services, 3 * sizeof(double) };
        const void *nb[] = { st->nodes, st->node_cpu, st->node_mem_gb };
        size_t ns[] = { sizeof *st->nodes, sizeof(double), sizeof(double) };
        if (pk == NULL)
            return 3;
        if (st->has_dist)
            mask |= s_mask_all(SVC_LAT_FIRST) & ~s_mask_all(SVC_DIST_FIRST);
        if (st->latency_ms != NULL)
            mask |= s_mask_all(NCOLS(s_svc_cols)) & ~s_mask_all(SVC_LAT_FIRST);
        s_pack_cstr(pk, "step");
        rc = s_write_record(pk, s_info_cols, NCOLS(s_info_cols), &st->info, "state.step", err);
        if (rc != RLS_OK)
            return rc;
        s_pack_cstr(pk, "services");
        rc = s_write_table(pk, s_svc_cols, NCOLS(s_svc_cols), mask, sb, ss, st->n_services,
                           RLS_PROTO_MAX_SERVICES, "state.services", err);
        if (rc != RLS_OK)
            return rc;
        if ((st->node_cpu == NULL) != (st->node_mem_gb == NULL))
            return rls_err_set(err, RLS_ERR_INVALID, "state.nodes: node_cpu and node_mem_gb go together");
        mask = s_mask_all(NODE_CAP_FIRST);
        if (st->node_cpu != NULL)
            mask = s_mask_all(NCOLS(s_node_cols));
        s_pack_cstr(pk, "nodes");
        return s_write_table(pk, s_node_cols, NCOLS(s_node_cols), mask, nb, ns, st->n_nodes,
                             RLS_PROTO_MAX_NODES, "state.nodes", err);
    }
    case RLS_PROTO_ACTIONS: {
        const struct rls_proto_actions *a = &m->actions;
        const void *ab[] = { a->desired, a->placement };
        size_t as[] = { sizeof *a->desired, sizeof *a->placement };
        if (pk == NULL)
            return 1;
        s_pack_cstr(pk, "services");
        return s_write_table(pk, s_act_cols, NCOLS(s_act_cols), a->placement != NULL ? 3 : 1, ab, as,
                             a->n_services, RLS_PROTO_MAX_SERVICES, "actions.services", err);
    }
    default:
        return pk == NULL ? 0 : RLS_OK;
    }
}

int rls_proto_encode(struct rls_proto_buf *out, const struct rls_proto_msg *msg, struct rls_err *err)
{
    struct s_wr w = { 0 };
    msgpack_packer pk;
    struct s_col cols[8];
    const char *ctx;
    int ncols, nbody, rc;

    if (out == NULL || msg == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_encode: NULL argument");
    out->len = 0;
    if (msg->type <= RLS_PROTO_NONE || msg->type >= RLS_PROTO_TYPE_COUNT)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_encode: unknown message type %d", msg->type);
    w.b = out;
    msgpack_packer_init(&pk, &w, s_write);
    ctx = s_type_names[msg->type];
    ncols = s_type_cols(msg->type, cols);
    nbody = s_encode_body(NULL, msg, err);

    msgpack_pack_map(&pk, (size_t)(2 + ncols + nbody));
    s_pack_cstr(&pk, "v");
    msgpack_pack_uint32(&pk, RLS_PROTO_VERSION);
    s_pack_cstr(&pk, "type");
    s_pack_cstr(&pk, ctx);
    rc = s_write_fields(&pk, cols, ncols, msg, ctx, err);
    if (rc == RLS_OK)
        rc = s_encode_body(&pk, msg, err);
    if (rc == RLS_OK && w.overflow)
        rc = rls_err_set(err, RLS_ERR_RANGE, "%s: message larger than the limit of %d bytes", ctx,
                         RLS_PROTO_MAX_BYTES);
    if (rc == RLS_OK && w.nomem)
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", ctx);
    if (rc != RLS_OK)
        out->len = 0;
    return rc;
}

void rls_proto_buf_free(struct rls_proto_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

int rls_proto_encode_hello(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                           const struct rls_proto_hello *hello, struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    if (hello == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_encode_hello: NULL hello");
    m.type = RLS_PROTO_HELLO;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.hello = *hello;
    return rls_proto_encode(out, &m, err);
}

int rls_proto_encode_state(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                           const struct rls_proto_state *state, struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    if (state == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_encode_state: NULL state");
    m.type = RLS_PROTO_STATE;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.state = *state;
    return rls_proto_encode(out, &m, err);
}

/* Copies s into dst[cap], cut on a UTF-8 character boundary. */
static void s_copy_cut(char *dst, size_t cap, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

int rls_proto_encode_actions(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                             const struct rls_proto_actions *actions, const char *note,
                             struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    if (actions == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_encode_actions: NULL actions");
    m.type = RLS_PROTO_ACTIONS;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.re = re;
    m.actions = *actions;
    s_copy_cut(m.note, sizeof m.note, note);
    return rls_proto_encode(out, &m, err);
}

int rls_proto_encode_ack(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                         const char *note, struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    m.type = RLS_PROTO_ACK;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.re = re;
    s_copy_cut(m.note, sizeof m.note, note);
    return rls_proto_encode(out, &m, err);
}

int rls_proto_encode_error(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                           int32_t code, const char *message, struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    m.type = RLS_PROTO_ERROR;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.re = re;
    m.code = code;
    s_copy_cut(m.message, sizeof m.message, message);
    /* a message may carry a NUL-free prefix only */
    return rls_proto_encode(out, &m, err);
}

int rls_proto_encode_heartbeat(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                               struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    m.type = RLS_PROTO_HEARTBEAT;
    m.seq = seq;
    m.ts_ns = ts_ns;
    return rls_proto_encode(out, &m, err);
}

int rls_proto_encode_reset(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, uint64_t seed,
                           struct rls_err *err)
{
    static struct rls_proto_msg zero;
    struct rls_proto_msg m = zero;
    m.type = RLS_PROTO_RESET;
    m.seq = seq;
    m.ts_ns = ts_ns;
    m.seed = seed;
    return rls_proto_encode(out, &m, err);
}

/* --- cross-checks against the hello's cluster ---------------------------- */

int rls_proto_check_state(const struct rls_proto_state *st, const struct rls_scenario *cluster,
                          struct rls_err *err)
{
    if (st == NULL || cluster == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_check_state: NULL argument");
    if (st->n_services != cluster->n_services)
        return rls_err_set(err, RLS_ERR_RANGE, "state.services.n: %d services, the cluster has %d",
                           st->n_services, cluster->n_services);
    if (st->n_nodes > rls_scenario_total_nodes(cluster))
        return rls_err_set(err, RLS_ERR_RANGE, "state.nodes.n: %d nodes, the cluster's pools hold %lld",
                           st->n_nodes, (long long)rls_scenario_total_nodes(cluster));
    for (int32_t i = 0; i < st->n_nodes; i++)
        if (st->nodes[i].pool >= cluster->n_pools)
            return rls_err_set(err, RLS_ERR_RANGE, "state.nodes.pool[%d]: %d, the cluster has %d pools",
                               i, st->nodes[i].pool, cluster->n_pools);
    return RLS_OK;
}

int rls_proto_check_actions(const struct rls_proto_actions *a, const struct rls_scenario *cluster,
                            struct rls_err *err)
{
    if (a == NULL || cluster == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_proto_check_actions: NULL argument");
    if (a->n_services != cluster->n_services)
        return rls_err_set(err, RLS_ERR_RANGE, "actions.services.n: %d services, the cluster has %d",
                           a->n_services, cluster->n_services);
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_service_spec *s = &cluster->services[i];
        if (a->desired[i] < s->min_replicas || a->desired[i] > s->max_replicas)
            return rls_err_set(err, RLS_ERR_RANGE, "actions.services.desired[%d]: %d outside [%d, %d] of '%s'",
                               i, a->desired[i], s->min_replicas, s->max_replicas, s->name);
    }
    return RLS_OK;
}
