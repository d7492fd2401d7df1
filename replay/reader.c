/* reader.c - the replay reader (replay.h): opens a replay file (rolling back
 * an interrupted commit first), validates every dataset's presence, type,
 * shape and values, computes the fingerprint in one streaming pass, and
 * samples uniform minibatches of (episode, step, service) transitions either
 * from RAM or chunk-wise through an LRU cache of decompressed chunk groups
 * bounded by cache_bytes. Layout: replay/FORMAT.md.
 */
#include "replay_internal.h"

#include "../env/isolate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_SCAN_BLOCK_BYTES (4 << 20)   /* streaming reads at open: about this much per read */

enum { S_OBS, S_ACT, S_REW, S_SREW, S_TERM, S_TRUNC, S_MASK, S_NDS };
static const char *s_ds_names[S_NDS] = {"observations", "actions", "rewards", "service_rewards",
                                        "terminations", "truncations", "action_masks"};

struct s_episode {
    int64_t id, T;
    uint64_t seed;
    char policy[64];
    int has_masks, has_infos;
    int64_t trans_off;      /* transitions (T*S units) before this episode */
    int64_t obs_row;        /* RAM mode: first observation row (of T+1) in r->obs */
    int64_t step_row;       /* RAM mode: first step row (of T) in r->act etc. */
    int64_t R;              /* rows per chunk group (the observations' chunk rows) */
    hid_t ds[S_NDS];        /* chunk mode: datasets kept open once used (-1 = not yet) */
};

struct s_chunk {
    int64_t ep, k;
    int64_t row0, n_obs, n_step;   /* rows [row0, row0 + n_obs) of observations, n_step of the rest */
    float *obs;                    /* [n_obs, S, F] */
    uint8_t *mask;                 /* [n_obs, S, A] */
    int32_t *act;                  /* [n_step, S] */
    float *srew;                   /* [n_step, S] */
    uint8_t *term;                 /* [n_step] */
    size_t bytes;
    struct s_chunk *prev, *next;   /* LRU list, most recent at head */
    struct s_chunk *hnext;         /* hash chain */
};

struct rls_replay_reader {
    char path[1024];
    hid_t fid;
    hid_t dapl;                    /* chunk cache off: we cache ourselves */
    struct rls_replay_meta meta;
    int32_t S, F, A;
    int64_t n_ep, n_steps, n_trans;
    struct s_episode *ep;
    char fp[17];
    int cks;                       /* checksums: -1 not seen yet, 0 the file has none, 1 all verified */
    char err[RLS_ERRMSG_MAX];
    int64_t cache_bytes;
    /* RAM mode */
    float *obs;                    /* [sum (T+1), S, F] */
    uint8_t *mask;                 /* [sum (T+1), S, A] */
    int32_t *act;                  /* [sum T, S] */
    float *srew;                   /* [sum T, S] */
    uint8_t *term;                 /* [sum T] */
    /* chunk mode */
    struct s_chunk **buckets;
    size_t n_buckets;
    struct s_chunk *head, *tail;
    int64_t cached, loads, hits;
    uint8_t *ones;                 /* [S * A] all ones, for files without masks */
    /* chunk mode, window sampling (params.exact == 0) */
    int32_t exact;
    double reuse;
    struct s_chunk **win;          /* [win_cap] resident groups; win_head is the oldest */
    int32_t win_n, win_cap, win_head;
    int64_t *win_cum;              /* [win_cap + 1] transitions before each slot */
    int64_t win_bytes;
    double win_credit;             /* groups owed to the rotation */
};

struct rls_replay_reader_params rls_replay_reader_default_params(void)
{
    struct rls_replay_reader_params p = {0};
    p.reuse = 2.0;
    p.isolate = 1;
    return p;
}

const char *rls_replay_reader_errmsg(const struct rls_replay_reader *r)
{
    return r ? r->err : "reader is NULL";
}

static int s_fail(struct rls_replay_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_replay_reader *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return status;
}

/* ---------------------------------------------------------------------------
 * Attributes and dataset checks. */

/* The handles of one attribute: itself, its space and its type (each
 * H5I_INVALID_HID where it could not be opened). */
struct s_attr {
    hid_t a, sp, t;
};

static struct s_attr s_attr_open(hid_t loc, const char *name)
{
    struct s_attr x;
    x.a = H5Aopen(loc, name, H5P_DEFAULT);
    x.sp = x.a >= 0 ? H5Aget_space(x.a) : H5I_INVALID_HID;
    x.t = x.a >= 0 ? H5Aget_type(x.a) : H5I_INVALID_HID;
    return x;
}

static void s_attr_close(struct s_attr *x)
{
    if (x->t >= 0)
        H5Tclose(x->t);
    if (x->sp >= 0)
        H5Sclose(x->sp);
    if (x->a >= 0)
        H5Aclose(x->a);
}

static int s_attr_num(struct rls_replay_reader *r, hid_t loc, const char *where, const char *name, hid_t mtype,
                      void *out, int required)
{
    if (H5Aexists(loc, name) <= 0) {
        if (!required)
            return RLS_OK;
        return s_fail(r, RLS_ERR_PARSE, "%s: %s: attribute '%s' missing", r->path, where, name);
    }
    struct s_attr x = s_attr_open(loc, name);
    int rc = RLS_OK;
    H5T_class_t cls = x.t >= 0 ? H5Tget_class(x.t) : H5T_NO_CLASS;
    if (x.a < 0 || x.sp < 0 || H5Sget_simple_extent_npoints(x.sp) != 1 || (cls != H5T_INTEGER && cls != H5T_FLOAT) ||
        H5Aread(x.a, mtype, out) < 0)
        rc = s_fail(r, RLS_ERR_PARSE, "%s: %s: attribute '%s' is not a number", r->path, where, name);
    s_attr_close(&x);
    return rc;
}

/* A string attribute (fixed or variable length) into a new string (*out). */
static int s_attr_str(struct rls_replay_reader *r, hid_t loc, const char *where, const char *name, char **out,
                      int required)
{
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) {
        if (!required) {
            *out = strdup("");
            return *out ? RLS_OK : s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
        }
        return s_fail(r, RLS_ERR_PARSE, "%s: %s: attribute '%s' missing", r->path, where, name);
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    int rc = RLS_OK;
    if (t < 0 || H5Tget_class(t) != H5T_STRING) {
        rc = s_fail(r, RLS_ERR_PARSE, "%s: %s: attribute '%s' is not a string", r->path, where, name);
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &v) >= 0 && v) {
            *out = strdup(v);
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        char *v = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (v && H5Aread(a, mt, v) >= 0)
            *out = v;
        else
            free(v);
        H5Tclose(mt);
    }
    if (!*out)
        rc = s_fail(r, RLS_ERR_PARSE, "%s: %s: attribute '%s' unreadable", r->path, where, name);
done:
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

static int s_copy_attr_str(struct rls_replay_reader *r, hid_t loc, const char *name, char *dst, size_t len,
                           int required)
{
    char *v = NULL;
    int rc = s_attr_str(r, loc, "/", name, &v, required);
    if (rc == RLS_OK)
        snprintf(dst, len, "%s", v);
    free(v);
    return rc;
}

/* The checksum attribute `name` of loc into *v. A file has checksums
 * everywhere or nowhere (files written before checksums): one present where
 * another was missing, or the reverse, is refused (a mutated attribute name
 * must not turn a checked file into an unchecked one). *present says which. */
static int s_ck_get(struct rls_replay_reader *r, hid_t loc, const char *where, const char *name, uint64_t *v,
                    int *present)
{
    int has = H5Aexists(loc, name) > 0;
    *present = 0;
    if (r->cks == -1)
        r->cks = has;
    if (has != r->cks)
        return s_fail(r, RLS_ERR_PARSE, "%s: %s: checksum attribute '%s' %s (the file is damaged)", r->path, where,
                      name, has ? "present where others are missing" : "missing");
    if (!has)
        return RLS_OK;
    struct s_attr x = s_attr_open(loc, name);
    int ok = x.a >= 0 && x.sp >= 0 && x.t >= 0 && H5Tget_class(x.t) == H5T_INTEGER && H5Tget_size(x.t) == 8 &&
             H5Sget_simple_extent_npoints(x.sp) == 1 && H5Aread(x.a, H5T_NATIVE_UINT64, v) >= 0;
    s_attr_close(&x);
    if (!ok)
        return s_fail(r, RLS_ERR_PARSE, "%s: %s: checksum attribute '%s' is not a uint64", r->path, where, name);
    *present = 1;
    return RLS_OK;
}

/* Compares a computed checksum with the stored one (when the file has them). */
static int s_ck_check(struct rls_replay_reader *r, hid_t loc, const char *where, const char *name, uint64_t got)
{
    uint64_t want = 0;
    int present = 0;
    int rc = s_ck_get(r, loc, where, name, &want, &present);
    if (rc != RLS_OK || !present || want == got)
        return rc;
    return s_fail(r, RLS_ERR_PARSE, "%s: %s: checksum mismatch (stored %016llx, computed %016llx): the file is "
                  "damaged", r->path, where, (unsigned long long)want, (unsigned long long)got);
}

enum s_kind { S_F32, S_I32, S_U8, S_F64, S_INT };

static const char *s_kind_name(enum s_kind k)
{
    static const char *n[] = {"float32", "int32", "uint8", "float64", "integer"};
    return n[k];
}

/* Describes an HDF5 type as "float32", "int64", ... into buf. */
static void s_type_name(hid_t t, char *buf, size_t len)
{
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    if (c == H5T_FLOAT)
        snprintf(buf, len, "float%zu", sz * 8);
    else if (c == H5T_INTEGER)
        snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", sz * 8);
    else if (c == H5T_STRING)
        snprintf(buf, len, "string");
    else if (c == H5T_ENUM)
        snprintf(buf, len, "enum%zu", sz * 8);
    else
        snprintf(buf, len, "class %d", (int)c);
}

static int s_type_ok(hid_t t, enum s_kind k)
{
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    switch (k) {
    case S_F32:
        return c == H5T_FLOAT && sz == 4;
    case S_F64:
        return c == H5T_FLOAT && sz == 8;
    case S_I32:
        return c == H5T_INTEGER && sz == 4 && H5Tget_sign(t) != H5T_SGN_NONE;
    case S_U8:   /* uint8, or numpy bool as h5py writes it (an 8-bit enum) */
        return (c == H5T_INTEGER || c == H5T_ENUM) && sz == 1;
    case S_INT:
        return c == H5T_INTEGER;
    }
    return 0;
}

/* Opens loc/name and checks type and shape: dims[0..rank) must equal want
 * (want[0] is the length). Returns the dataset id or H5I_INVALID_HID with the
 * message set; *missing is 1 when it does not exist. */
static hid_t s_open_checked(struct rls_replay_reader *r, hid_t loc, const char *gpath, const char *name,
                            enum s_kind kind, int rank, const hsize_t *want, int *missing)
{
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t dims[8];
    char tn[32];
    int ok = 0;
    if (missing)
        *missing = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        if (missing)
            *missing = 1;
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: missing", r->path, gpath, name);
        return H5I_INVALID_HID;
    }
    d = H5Dopen2(loc, name, r->dapl);
    if (d < 0) {
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: not a dataset", r->path, gpath, name);
        goto done;
    }
    t = H5Dget_type(d);
    sp = H5Dget_space(d);
    if (t < 0 || sp < 0) {
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: unreadable", r->path, gpath, name);
        goto done;
    }
    if (!s_type_ok(t, kind)) {
        s_type_name(t, tn, sizeof tn);
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: type %s, expected %s", r->path, gpath, name, tn, s_kind_name(kind));
        goto done;
    }
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd != rank) {
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: %d dimensions, expected %d", r->path, gpath, name, nd, rank);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (dims[0] != want[0]) {
        s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: length %llu, expected %llu", r->path, gpath, name,
               (unsigned long long)dims[0], (unsigned long long)want[0]);
        goto done;
    }
    for (int i = 1; i < rank; i++)
        if (dims[i] != want[i]) {
            s_fail(r, RLS_ERR_PARSE, "%s: %s/%s: dimension %d is %llu, expected %llu", r->path, gpath, name, i,
                   (unsigned long long)dims[i], (unsigned long long)want[i]);
            goto done;
        }
    ok = 1;
done:
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (!ok && d >= 0) {
        H5Dclose(d);
        d = H5I_INVALID_HID;
    }
    return d;
}

/* Reads rows [row0, row0 + n) of a dataset whose rows hold row_elems elements. */
static int s_read_rows(hid_t d, hid_t mtype, int64_t row0, int64_t n, int rank, const hsize_t *dims, void *buf)
{
    hsize_t start[4] = {0}, count[4];
    for (int i = 0; i < rank; i++)
        count[i] = dims[i];
    start[0] = (hsize_t)row0;
    count[0] = (hsize_t)n;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(rank, count, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Open: metadata, episode table, streaming validation pass. */

static int s_read_meta(struct rls_replay_reader *r)
{
    struct rls_replay_meta *m = &r->meta;
    hid_t f = r->fid;
    char *fmt = NULL;
    int32_t ver = 0;
    int rc = RLS_OK;
    if (H5Aexists(f, "format") <= 0 && H5Aexists(f, "format_version") <= 0)
        return s_fail(r, RLS_ERR_PARSE, "%s: /: no 'format' attribute: not an rlsched replay file", r->path);
    if ((rc = s_attr_str(r, f, "/", "format", &fmt, 1)) != RLS_OK)
        return rc;
    if (strcmp(fmt, RLS_REPLAY_FORMAT_NAME) != 0) {
        rc = s_fail(r, RLS_ERR_PARSE, "%s: /: format '%s', expected '%s'", r->path, fmt, RLS_REPLAY_FORMAT_NAME);
        free(fmt);
        return rc;
    }
    free(fmt);
    if ((rc = s_attr_num(r, f, "/", "format_version", H5T_NATIVE_INT32, &ver, 1)) != RLS_OK)
        return rc;
    if (ver != RLS_REPLAY_FORMAT_VERSION)
        return s_fail(r, RLS_ERR_VERSION, "%s: /: format_version %d, this build reads version %d", r->path, ver,
                      RLS_REPLAY_FORMAT_VERSION);
    if ((rc = s_attr_num(r, f, "/", "n_services", H5T_NATIVE_INT32, &m->n_services, 1)) ||
        (rc = s_attr_num(r, f, "/", "n_features", H5T_NATIVE_INT32, &m->n_features, 1)) ||
        (rc = s_attr_num(r, f, "/", "n_deltas", H5T_NATIVE_INT32, &m->n_deltas, 1)) ||
        (rc = s_attr_num(r, f, "/", "n_placements", H5T_NATIVE_INT32, &m->n_placements, 1)) ||
        (rc = s_attr_num(r, f, "/", "n_actions", H5T_NATIVE_INT32, &m->n_actions, 1)) ||
        (rc = s_attr_num(r, f, "/", "epsilon", H5T_NATIVE_DOUBLE, &m->epsilon, 0)) ||
        (rc = s_attr_num(r, f, "/", "total_episodes", H5T_NATIVE_INT64, &r->n_ep, 1)))
        return rc;
    if (m->n_services < 1 || m->n_features < 1 || m->n_deltas < 1 || m->n_deltas > RLS_REPLAY_MAX_DELTAS ||
        m->n_placements < 1 || (int64_t)m->n_actions != (int64_t)m->n_deltas * (int64_t)m->n_placements || r->n_ep < 0)
        return s_fail(r, RLS_ERR_PARSE,
                      "%s: /: inconsistent shapes (n_services %d, n_features %d, n_deltas %d, n_placements %d, "
                      "n_actions %d, total_episodes %lld)", r->path, m->n_services, m->n_features, m->n_deltas,
                      m->n_placements, m->n_actions, (long long)r->n_ep);
    /* deltas [n_deltas] */
    {
        hid_t a = H5Aexists(f, "deltas") > 0 ? H5Aopen(f, "deltas", H5P_DEFAULT) : H5I_INVALID_HID;
        hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
        int ok = a >= 0 && sp >= 0 && H5Sget_simple_extent_npoints(sp) == m->n_deltas &&
                 H5Aread(a, H5T_NATIVE_INT32, m->deltas) >= 0;
        if (sp >= 0)
            H5Sclose(sp);
        if (a >= 0)
            H5Aclose(a);
        if (!ok)
            return s_fail(r, RLS_ERR_PARSE, "%s: /: attribute 'deltas' missing or not [%d] integers", r->path,
                          m->n_deltas);
    }
    if ((rc = s_copy_attr_str(r, f, "scenario_name", m->scenario_name, sizeof m->scenario_name, 0)) ||
        (rc = s_copy_attr_str(r, f, "trace", m->trace, sizeof m->trace, 0)) ||
        (rc = s_copy_attr_str(r, f, "behavior_policy", m->behavior, sizeof m->behavior, 0)) ||
        (rc = s_copy_attr_str(r, f, "created", m->created, sizeof m->created, 0)) ||
        (rc = s_attr_str(r, f, "/", "feature_names", &m->feature_names, 0)))
        return rc;
    r->S = m->n_services;
    r->F = m->n_features;
    r->A = m->n_actions;
    /* normalization */
    hsize_t nf = (hsize_t)r->F;
    m->obs_mean = malloc(nf * sizeof *m->obs_mean);
    m->obs_std = malloc(nf * sizeof *m->obs_std);
    if (!m->obs_mean || !m->obs_std)
        return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
    for (int k = 0; k < 2; k++) {
        const char *name = k == 0 ? "obs_mean" : "obs_std";
        float *dst = k == 0 ? m->obs_mean : m->obs_std;
        hid_t d = s_open_checked(r, f, "", name, S_F32, 1, &nf, NULL);
        if (d < 0)
            return RLS_ERR_PARSE;
        herr_t hr = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
        char where[32];
        snprintf(where, sizeof where, "/%s", name);
        rc = hr < 0 ? s_fail(r, RLS_ERR_IO, "%s: /%s: read failed", r->path, name)
                    : s_ck_check(r, d, where, RLS__CK_DATA, rls__fnv1a(RLS__FNV_OFFSET, dst, nf * sizeof *dst));
        H5Dclose(d);
        if (rc != RLS_OK)
            return rc;
        for (hsize_t i = 0; i < nf; i++)
            if (!isfinite(dst[i]) || (k == 1 && !(dst[i] > 0.0f)))
                return s_fail(r, RLS_ERR_RANGE, "%s: /%s: element %llu is %g", r->path, name,
                              (unsigned long long)i, (double)dst[i]);
    }
    /* scenario YAML (optional) */
    if (H5Lexists(f, "scenario_yaml", H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(f, "scenario_yaml", H5P_DEFAULT);
        hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
        if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0) {
            size_t n = H5Tget_size(t);
            m->scenario_yaml = calloc(n + 1, 1);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, n + 1);
            if (!m->scenario_yaml || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->scenario_yaml) < 0)
                rc = s_fail(r, RLS_ERR_IO, "%s: /scenario_yaml: read failed", r->path);
            else
                rc = s_ck_check(r, d, "/scenario_yaml", RLS__CK_DATA,
                                rls__fnv1a(RLS__FNV_OFFSET, m->scenario_yaml, strlen(m->scenario_yaml)));
            H5Tclose(mt);
        } else {
            rc = s_fail(r, RLS_ERR_PARSE, "%s: /scenario_yaml: not a fixed-length string dataset", r->path);
        }
        if (t >= 0)
            H5Tclose(t);
        if (d >= 0)
            H5Dclose(d);
    }
    if (rc == RLS_OK)
        rc = s_ck_check(r, f, "/", RLS__CK_ATTRS,
                        rls__replay_root_digest(m, m->feature_names, r->n_ep, m->scenario_yaml != NULL));
    return rc;
}

/* Episode table: attrs and every dataset's type and shape. */
static int s_read_episodes(struct rls_replay_reader *r)
{
    hsize_t S = (hsize_t)r->S, F = (hsize_t)r->F, A = (hsize_t)r->A;
    r->ep = calloc((size_t)(r->n_ep > 0 ? r->n_ep : 1), sizeof *r->ep);
    if (!r->ep)
        return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
    int64_t trans = 0, obs_row = 0, step_row = 0;
    for (int64_t i = 0; i < r->n_ep; i++) {
        struct s_episode *e = &r->ep[i];
        char g[64];
        for (int k = 0; k < S_NDS; k++)
            e->ds[k] = H5I_INVALID_HID;
        int rc = RLS_OK;
        snprintf(g, sizeof g, "/episode_%lld", (long long)i);
        if (H5Lexists(r->fid, g + 1, H5P_DEFAULT) <= 0)
            return s_fail(r, RLS_ERR_PARSE, "%s: %s: missing (total_episodes is %lld)", r->path, g,
                          (long long)r->n_ep);
        hid_t gid = H5Gopen2(r->fid, g + 1, H5P_DEFAULT);
        if (gid < 0)
            return s_fail(r, RLS_ERR_PARSE, "%s: %s: not a group", r->path, g);
        char *pol = NULL;
        e->id = i;
        if ((rc = s_attr_num(r, gid, g, "total_steps", H5T_NATIVE_INT64, &e->T, 1)) ||
            (rc = s_attr_num(r, gid, g, "id", H5T_NATIVE_INT64, &e->id, 0)) ||
            (rc = s_attr_num(r, gid, g, "seed", H5T_NATIVE_UINT64, &e->seed, 0)) ||
            (rc = s_attr_str(r, gid, g, "policy", &pol, 0))) {
            H5Gclose(gid);
            return rc;
        }
        snprintf(e->policy, sizeof e->policy, "%s", pol);
        free(pol);
        if (e->T < 1) {
            H5Gclose(gid);
            return s_fail(r, RLS_ERR_PARSE, "%s: %s: total_steps %lld, expected >= 1", r->path, g, (long long)e->T);
        }
        hsize_t T = (hsize_t)e->T;
        hsize_t w_obs[3] = {T + 1, S, F}, w_ts[2] = {T, S}, w_t[1] = {T}, w_mask[3] = {T + 1, S, A};
        static const int ranks[S_NDS] = {3, 2, 1, 2, 1, 1, 3};
        static const enum s_kind kinds[S_NDS] = {S_F32, S_I32, S_F32, S_F32, S_U8, S_U8, S_U8};
        const hsize_t *wants[S_NDS] = {w_obs, w_ts, w_t, w_ts, w_t, w_t, w_mask};
        for (int k = 0; k < S_NDS; k++) {
            int missing = 0;
            if (k == S_MASK && H5Lexists(gid, s_ds_names[k], H5P_DEFAULT) <= 0)
                continue;
            hid_t d = s_open_checked(r, gid, g, s_ds_names[k], kinds[k], ranks[k], wants[k], &missing);
            if (d < 0) {
                H5Gclose(gid);
                return RLS_ERR_PARSE;
            }
            if (k == S_OBS) {
                hid_t dcpl = H5Dget_create_plist(d);
                hsize_t chunk[3] = {0, 0, 0};
                e->R = 256;
                if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 3, chunk) == 3 && chunk[0] > 0)
                    e->R = (int64_t)chunk[0];
                if (dcpl >= 0)
                    H5Pclose(dcpl);
            }
            if (k == S_MASK)
                e->has_masks = 1;
            H5Dclose(d);
        }
        if (H5Lexists(gid, "infos", H5P_DEFAULT) > 0) {
            char gi[96];
            snprintf(gi, sizeof gi, "%s/infos", g);
            hid_t iid = H5Gopen2(gid, "infos", H5P_DEFAULT);
            static const char *inames[6] = {"cost_usd", "arrivals", "served", "dropped", "over_slo", "nodes_on"};
            for (int k = 0; k < 6 && iid >= 0; k++) {
                if (H5Lexists(iid, inames[k], H5P_DEFAULT) <= 0)
                    continue;
                hid_t d = s_open_checked(r, iid, gi, inames[k], k == 5 ? S_INT : S_F64, 1, w_t, NULL);
                if (d < 0) {
                    H5Gclose(iid);
                    H5Gclose(gid);
                    return RLS_ERR_PARSE;
                }
                if (r->cks != 0) {  /* checksummed files: infos are verified too */
                    char where[128];
                    size_t nb = (size_t)T * (k == 5 ? 4 : 8);
                    void *buf = malloc(nb);
                    snprintf(where, sizeof where, "%s/%s", gi, inames[k]);
                    rc = !buf ? s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path)
                         : H5Dread(d, k == 5 ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                   buf) < 0 ? s_fail(r, RLS_ERR_IO, "%s: %s: read failed", r->path, where)
                         : s_ck_check(r, d, where, RLS__CK_DATA, rls__fnv1a(RLS__FNV_OFFSET, buf, nb));
                    free(buf);
                }
                H5Dclose(d);
                if (rc != RLS_OK) {
                    H5Gclose(iid);
                    H5Gclose(gid);
                    return rc;
                }
            }
            if (iid >= 0)
                H5Gclose(iid);
            e->has_infos = 1;
        }
        rc = s_ck_check(r, gid, g, RLS__CK_ATTRS,
                        rls__replay_episode_digest(e->id, e->T, e->seed, e->policy, e->has_masks, e->has_infos));
        H5Gclose(gid);
        if (rc != RLS_OK)
            return rc;
        e->trans_off = trans;
        e->obs_row = obs_row;
        e->step_row = step_row;
        trans += e->T * r->S;
        obs_row += e->T + 1;
        step_row += e->T;
    }
    r->n_trans = trans;
    r->n_steps = step_row;
    return RLS_OK;
}

/* Streams one dataset of episode e through a scratch buffer: checks values,
 * feeds the fingerprint, and (RAM mode) copies into dst. */
static int s_scan(struct rls_replay_reader *r, const struct s_episode *e, int k, uint64_t *h, void *dst)
{
    char g[64], name[96];
    hsize_t S = (hsize_t)r->S, F = (hsize_t)r->F, A = (hsize_t)r->A, T = (hsize_t)e->T;
    hsize_t dims[3];
    int rank;
    size_t esz;
    hid_t mtype;
    snprintf(g, sizeof g, "episode_%lld", (long long)(e - r->ep));
    snprintf(name, sizeof name, "/%s/%s", g, s_ds_names[k]);
    switch (k) {
    case S_OBS: rank = 3; dims[0] = T + 1; dims[1] = S; dims[2] = F; esz = 4; mtype = H5T_NATIVE_FLOAT; break;
    case S_ACT: rank = 2; dims[0] = T; dims[1] = S; esz = 4; mtype = H5T_NATIVE_INT32; break;
    case S_REW: rank = 1; dims[0] = T; esz = 4; mtype = H5T_NATIVE_FLOAT; break;
    case S_SREW: rank = 2; dims[0] = T; dims[1] = S; esz = 4; mtype = H5T_NATIVE_FLOAT; break;
    case S_TERM: case S_TRUNC: rank = 1; dims[0] = T; esz = 1; mtype = H5T_NATIVE_UINT8; break;
    default: rank = 3; dims[0] = T + 1; dims[1] = S; dims[2] = A; esz = 1; mtype = H5T_NATIVE_UINT8; break;
    }
    size_t row_elems = 1;
    for (int i = 1; i < rank; i++)
        row_elems *= (size_t)dims[i];
    size_t row_bytes = row_elems * esz;
    int64_t block = S_SCAN_BLOCK_BYTES / (int64_t)row_bytes;
    if (block < 1)
        block = 1;
    if (block > (int64_t)dims[0])
        block = (int64_t)dims[0];
    char *buf = malloc((size_t)block * row_bytes);
    hid_t d = H5Dopen2(r->fid, name + 1, r->dapl);
    int rc = RLS_OK;
    uint64_t hd = RLS__FNV_OFFSET;   /* this dataset's checksum */
    if (!buf || d < 0) {
        rc = !buf ? s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path)
                  : s_fail(r, RLS_ERR_IO, "%s: %s: cannot open", r->path, name);
        goto done;
    }
    for (int64_t row = 0; row < (int64_t)dims[0]; row += block) {
        int64_t n = (int64_t)dims[0] - row < block ? (int64_t)dims[0] - row : block;
        if (s_read_rows(d, mtype, row, n, rank, dims, buf) != 0) {
            char h5[200];
            rls__h5_error(h5, sizeof h5);
            rc = s_fail(r, RLS_ERR_IO, "%s: %s: read failed at row %lld (file truncated or corrupt?): %s", r->path,
                        name, (long long)row, h5);
            goto done;
        }
        size_t ne = (size_t)n * row_elems;
        if (k == S_OBS || k == S_REW || k == S_SREW) {
            const float *v = (const float *)buf;
            for (size_t i = 0; i < ne; i++)
                if (!isfinite(v[i])) {
                    size_t at = (size_t)row * row_elems + i;
                    if (k == S_OBS)
                        rc = s_fail(r, RLS_ERR_RANGE, "%s: %s: %s at [%zu, %zu, %zu]", r->path, name,
                                    isnan(v[i]) ? "NaN" : "inf", at / row_elems, (at % row_elems) / (size_t)F,
                                    at % (size_t)F);
                    else
                        rc = s_fail(r, RLS_ERR_RANGE, "%s: %s: %s at step %zu", r->path, name,
                                    isnan(v[i]) ? "NaN" : "inf", at / row_elems);
                    goto done;
                }
        } else if (k == S_ACT) {
            const int32_t *v = (const int32_t *)buf;
            for (size_t i = 0; i < ne; i++)
                if (v[i] < 0 || v[i] >= r->A) {
                    size_t at = (size_t)row * row_elems + i;
                    rc = s_fail(r, RLS_ERR_RANGE, "%s: %s: action %d at [%zu, %zu] outside [0, %d)", r->path, name,
                                v[i], at / row_elems, at % row_elems, r->A);
                    goto done;
                }
        }
        *h = rls__fnv1a(*h, buf, ne * esz);
        hd = rls__fnv1a(hd, buf, ne * esz);
        if (dst)
            memcpy((char *)dst + (size_t)row * row_bytes, buf, ne * esz);
    }
    rc = s_ck_check(r, d, name, RLS__CK_DATA, hd);
done:
    if (d >= 0)
        H5Dclose(d);
    free(buf);
    return rc;
}

static int s_scan_all(struct rls_replay_reader *r, int in_ram)
{
    size_t S = (size_t)r->S, F = (size_t)r->F, A = (size_t)r->A;
    int64_t obs_rows = r->n_steps + r->n_ep;
    uint64_t h = RLS__FNV_OFFSET;
    if (in_ram) {
        r->obs = malloc((size_t)(obs_rows > 0 ? obs_rows : 1) * S * F * sizeof *r->obs);
        r->mask = malloc((size_t)(obs_rows > 0 ? obs_rows : 1) * S * A);
        r->act = malloc((size_t)(r->n_steps > 0 ? r->n_steps : 1) * S * sizeof *r->act);
        r->srew = malloc((size_t)(r->n_steps > 0 ? r->n_steps : 1) * S * sizeof *r->srew);
        r->term = malloc((size_t)(r->n_steps > 0 ? r->n_steps : 1));
        if (!r->obs || !r->mask || !r->act || !r->srew || !r->term)
            return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory loading %lld steps (use a cache size to read "
                          "chunk-wise)", r->path, (long long)r->n_steps);
    }
    for (int64_t i = 0; i < r->n_ep; i++) {
        const struct s_episode *e = &r->ep[i];
        int64_t T = e->T;
        unsigned char tb[8];
        for (int b = 0; b < 8; b++)
            tb[b] = (unsigned char)((uint64_t)T >> (8 * b));
        h = rls__fnv1a(h, tb, 8);
        for (int k = 0; k < S_NDS; k++) {
            void *dst = NULL;
            if (k == S_MASK && !e->has_masks) {
                if (in_ram)
                    memset(r->mask + (size_t)e->obs_row * S * A, 1, (size_t)(T + 1) * S * A);
                continue;
            }
            if (in_ram) {
                switch (k) {
                case S_OBS: dst = r->obs + (size_t)e->obs_row * S * F; break;
                case S_ACT: dst = r->act + (size_t)e->step_row * S; break;
                case S_SREW: dst = r->srew + (size_t)e->step_row * S; break;
                case S_TERM: dst = r->term + e->step_row; break;
                case S_MASK: dst = r->mask + (size_t)e->obs_row * S * A; break;
                default: dst = NULL; break;
                }
            }
            int rc = s_scan(r, e, k, &h, dst);
            if (rc != RLS_OK)
                return rc;
        }
    }
    snprintf(r->fp, sizeof r->fp, "%016llx", (unsigned long long)h);
    return RLS_OK;
}

static void s_cache_clear(struct rls_replay_reader *r);
struct s_chunk;
static void s_chunk_free(struct s_chunk *c);

void rls_replay_reader_close(struct rls_replay_reader **rp)
{
    struct rls_replay_reader *r = NULL;
    if (!rp || !*rp)
        return;
    r = *rp;
    s_cache_clear(r);
    free(r->buckets);
    for (int32_t i = 0; r->win && i < r->win_n; i++)
        s_chunk_free(r->win[(r->win_head + i) % r->win_cap]);
    free(r->win);
    free(r->win_cum);
    for (int64_t i = 0; r->ep && i < r->n_ep; i++)
        for (int k = 0; k < S_NDS; k++)
            if (r->ep[i].ds[k] > 0)
                H5Dclose(r->ep[i].ds[k]);
    if (r->fid >= 0) {
        struct rls__h5_auto q;
        rls__h5_quiet(&q);
        H5Fclose(r->fid);
        rls__h5_restore(&q);
    }
    if (r->dapl >= 0)
        H5Pclose(r->dapl);
    rls_replay_meta_clear(&r->meta);
    free(r->ep);
    free(r->obs);
    free(r->mask);
    free(r->act);
    free(r->srew);
    free(r->term);
    free(r->ones);
    free(r);
    *rp = NULL;
}

static struct rls_replay_reader *s_open(const char *path, const struct rls_replay_reader_params *p,
                                        struct rls_err *err);

struct s_iso_arg {
    const char *path;
    struct rls_replay_reader_params p;
};

/* The child's check (env/isolate.h): a full open with chunk-wise reads, so
 * nothing is loaded in RAM; the parent then opens the file for real. */
static int s_iso_check(void *arg, struct rls_err *err)
{
    const struct s_iso_arg *a = arg;
    struct rls_replay_reader *r = s_open(a->path, &a->p, err);
    return r ? RLS_OK : (err->status != RLS_OK ? err->status : RLS_ERR_PARSE);
}

struct rls_replay_reader *rls_replay_reader_open(const char *path, const struct rls_replay_reader_params *p,
                                                 struct rls_err *err)
{
    struct rls_replay_reader_params def = rls_replay_reader_default_params();
    struct stat st;
    if (!p)
        p = &def;
    if (p->isolate && path && *path && p->cache_bytes >= 0 && stat(path, &st) == 0) {
        if (rls_replay_recover(path, NULL, err) != RLS_OK)
            return NULL;
        struct s_iso_arg ia = {path, *p};
        ia.p.isolate = 0;
        ia.p.cache_bytes = 1 << 20;
        if (rls_isolate_run(s_iso_check, &ia, path, err) != RLS_OK)
            return NULL;
    }
    return s_open(path, p, err);
}

int rls_replay_reader_checksums(const struct rls_replay_reader *r)
{
    return r && r->cks == 1;
}

static struct rls_replay_reader *s_open(const char *path, const struct rls_replay_reader_params *p,
                                        struct rls_err *err)
{
    struct rls_replay_reader *r = NULL;
    struct rls__h5_auto quiet;
    struct stat st;
    int ok = 0;
    rls__h5_quiet(&quiet);
    if (!path || !*path) {
        rls_err_set(err, RLS_ERR_INVALID, "replay: path is empty");
        goto done;
    }
    if (p->cache_bytes < 0) {
        rls_err_set(err, RLS_ERR_INVALID, "%s: cache_bytes must be >= 0", path);
        goto done;
    }
    if (stat(path, &st) != 0) {
        rls_err_set(err, RLS_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (rls_replay_recover(path, NULL, err) != RLS_OK)
        goto done;
    r = calloc(1, sizeof *r);
    if (!r) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    r->fid = H5I_INVALID_HID;
    r->dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (r->dapl >= 0)
        H5Pset_chunk_cache(r->dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->cks = -1;
    r->cache_bytes = p->cache_bytes;
    r->exact = p->exact;
    r->reuse = p->reuse > 0.0 && isfinite(p->reuse) ? p->reuse : 2.0;
    if (H5Fis_hdf5(path) <= 0) {
        char h5[200];
        rls__h5_error(h5, sizeof h5);
        rls_err_set(err, RLS_ERR_PARSE, "%s: not an HDF5 file%s%s", path, h5[0] ? ": " : "", h5);
        goto done;
    }
    r->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->fid < 0) {
        char h5[200];
        rls__h5_error(h5, sizeof h5);
        rls_err_set(err, RLS_ERR_PARSE, "%s: cannot open (truncated or corrupt HDF5 file?): %s", path, h5);
        goto done;
    }
    int rc = s_read_meta(r);
    if (rc == RLS_OK)
        rc = s_read_episodes(r);
    if (rc == RLS_OK)
        rc = s_scan_all(r, p->cache_bytes == 0);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", r->err);
        goto done;
    }
    r->ones = malloc((size_t)r->S * (size_t)r->A);
    if (!r->ones) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    memset(r->ones, 1, (size_t)r->S * (size_t)r->A);
    if (p->cache_bytes > 0) {
        r->n_buckets = 1024;
        r->buckets = calloc(r->n_buckets, sizeof *r->buckets);
        if (!r->buckets) {
            rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    ok = 1;
done:
    if (!ok)
        rls_replay_reader_close(&r);
    rls__h5_restore(&quiet);
    return r;
}

const struct rls_replay_meta *rls_replay_reader_meta(const struct rls_replay_reader *r)
{
    return r ? &r->meta : NULL;
}

int64_t rls_replay_reader_n_episodes(const struct rls_replay_reader *r)
{
    return r ? r->n_ep : 0;
}

int64_t rls_replay_reader_n_transitions(const struct rls_replay_reader *r)
{
    return r ? r->n_trans : 0;
}

int64_t rls_replay_reader_n_steps(const struct rls_replay_reader *r)
{
    return r ? r->n_steps : 0;
}

const char *rls_replay_reader_fingerprint(const struct rls_replay_reader *r)
{
    return r ? r->fp : "";
}

int rls_replay_reader_episode_info(const struct rls_replay_reader *r, int64_t i,
                                   struct rls_replay_episode_info *out)
{
    if (!r || !out || i < 0 || i >= r->n_ep)
        return RLS_ERR_RANGE;
    const struct s_episode *e = &r->ep[i];
    memset(out, 0, sizeof *out);
    out->id = e->id;
    out->steps = e->T;
    out->seed = e->seed;
    snprintf(out->policy, sizeof out->policy, "%s", e->policy);
    out->has_masks = e->has_masks;
    out->has_infos = e->has_infos;
    return RLS_OK;
}

void rls_replay_reader_cache_stats(const struct rls_replay_reader *r, int64_t *loads, int64_t *hits,
                                   int64_t *cached_bytes)
{
    if (loads)
        *loads = r ? r->loads : 0;
    if (hits)
        *hits = r ? r->hits : 0;
    if (cached_bytes)
        *cached_bytes = r ? r->cached + r->win_bytes : 0;
}

/* ---------------------------------------------------------------------------
 * Whole episodes. */

void rls_replay_episode_free(struct rls_replay_episode *ep)
{
    if (!ep)
        return;
    free(ep->observations);
    free(ep->actions);
    free(ep->rewards);
    free(ep->service_rewards);
    free(ep->terminations);
    free(ep->truncations);
    free(ep->action_masks);
    memset(ep, 0, sizeof *ep);
}

int rls_replay_reader_read_episode(struct rls_replay_reader *r, int64_t i, struct rls_replay_episode *out)
{
    struct rls__h5_auto quiet;
    int rc = RLS_OK;
    if (!r || !out)
        return RLS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= r->n_ep)
        return s_fail(r, RLS_ERR_RANGE, "%s: episode %lld out of range", r->path, (long long)i);
    const struct s_episode *e = &r->ep[i];
    size_t S = (size_t)r->S, F = (size_t)r->F, A = (size_t)r->A, T = (size_t)e->T;
    out->steps = e->T;
    out->observations = malloc((T + 1) * S * F * sizeof *out->observations);
    out->actions = malloc(T * S * sizeof *out->actions);
    out->rewards = malloc(T * sizeof *out->rewards);
    out->service_rewards = malloc(T * S * sizeof *out->service_rewards);
    out->terminations = malloc(T);
    out->truncations = malloc(T);
    out->action_masks = malloc((T + 1) * S * A);
    if (!out->observations || !out->actions || !out->rewards || !out->service_rewards || !out->terminations ||
        !out->truncations || !out->action_masks) {
        rls_replay_episode_free(out);
        return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
    }
    void *dst[S_NDS] = {out->observations, out->actions, out->rewards, out->service_rewards, out->terminations,
                        out->truncations, out->action_masks};
    hid_t mt[S_NDS] = {H5T_NATIVE_FLOAT, H5T_NATIVE_INT32, H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT, H5T_NATIVE_UINT8,
                       H5T_NATIVE_UINT8, H5T_NATIVE_UINT8};
    rls__h5_quiet(&quiet);
    for (int k = 0; k < S_NDS; k++) {
        char name[96];
        if (k == S_MASK && !e->has_masks) {
            memset(out->action_masks, 1, (T + 1) * S * A);
            continue;
        }
        snprintf(name, sizeof name, "episode_%lld/%s", (long long)i, s_ds_names[k]);
        hid_t d = H5Dopen2(r->fid, name, r->dapl);
        if (d < 0 || H5Dread(d, mt[k], H5S_ALL, H5S_ALL, H5P_DEFAULT, dst[k]) < 0) {
            rc = s_fail(r, RLS_ERR_IO, "%s: /%s: read failed", r->path, name);
            if (d >= 0)
                H5Dclose(d);
            break;
        }
        H5Dclose(d);
    }
    rls__h5_restore(&quiet);
    if (rc != RLS_OK)
        rls_replay_episode_free(out);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Sampling. */

int rls_replay_batch_alloc(struct rls_replay_batch *b, int32_t n, int32_t n_features, int32_t n_actions)
{
    if (!b)
        return RLS_ERR_INVALID;
    memset(b, 0, sizeof *b);
    if (n < 1 || n_features < 1 || n_actions < 1)
        return RLS_ERR_INVALID;
    size_t N = (size_t)n, F = (size_t)n_features, A = (size_t)n_actions;
    b->n = n;
    b->n_features = n_features;
    b->n_actions = n_actions;
    b->obs = malloc(N * F * sizeof *b->obs);
    b->action = malloc(N * sizeof *b->action);
    b->reward = malloc(N * sizeof *b->reward);
    b->next_obs = malloc(N * F * sizeof *b->next_obs);
    b->done = malloc(N);
    b->mask = malloc(N * A);
    b->next_mask = malloc(N * A);
    if (!b->obs || !b->action || !b->reward || !b->next_obs || !b->done || !b->mask || !b->next_mask) {
        rls_replay_batch_free(b);
        return RLS_ERR_NOMEM;
    }
    return RLS_OK;
}

void rls_replay_batch_free(struct rls_replay_batch *b)
{
    if (!b)
        return;
    free(b->obs);
    free(b->action);
    free(b->reward);
    free(b->next_obs);
    free(b->done);
    free(b->mask);
    free(b->next_mask);
    memset(b, 0, sizeof *b);
}

/* splitmix64 */
static uint64_t s_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without bias (Lemire's method). */
static uint64_t s_uniform(uint64_t *s, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)s_next(s) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            m = (unsigned __int128)s_next(s) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Episode holding transition u (binary search over trans_off). */
static int64_t s_find_episode(const struct rls_replay_reader *r, int64_t u)
{
    int64_t lo = 0, hi = r->n_ep - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (r->ep[mid].trans_off <= u)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

struct s_pick {
    int64_t ep, t;
    int32_t s, i;
};

static int s_pick_cmp(const void *a, const void *b)
{
    const struct s_pick *x = a, *y = b;
    if (x->ep != y->ep)
        return x->ep < y->ep ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void s_chunk_free(struct s_chunk *c)
{
    if (!c)
        return;
    free(c->obs);
    free(c->mask);
    free(c->act);
    free(c->srew);
    free(c->term);
    free(c);
}

static size_t s_hash(const struct rls_replay_reader *r, int64_t ep, int64_t k)
{
    uint64_t h = (uint64_t)ep * 0x9E3779B97F4A7C15ULL ^ (uint64_t)k * 0xC2B2AE3D27D4EB4FULL;
    return (size_t)((h ^ (h >> 29)) & (r->n_buckets - 1));
}

static void s_lru_unlink(struct rls_replay_reader *r, struct s_chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        r->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        r->tail = c->prev;
    c->prev = c->next = NULL;
}

static void s_lru_push(struct rls_replay_reader *r, struct s_chunk *c)
{
    c->prev = NULL;
    c->next = r->head;
    if (r->head)
        r->head->prev = c;
    r->head = c;
    if (!r->tail)
        r->tail = c;
}

static void s_evict(struct rls_replay_reader *r, struct s_chunk *c)
{
    struct s_chunk **pp = &r->buckets[s_hash(r, c->ep, c->k)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    s_lru_unlink(r, c);
    r->cached -= (int64_t)c->bytes;
    s_chunk_free(c);
}

static void s_cache_clear(struct rls_replay_reader *r)
{
    while (r->tail)
        s_evict(r, r->tail);
}

/* Loads chunk group k of episode ep (rows [k*R, (k+1)*R)). */
/* Loads chunk group k of episode ep: rows [k R, k R + R) of every per-step
 * dataset, and of observations/masks as many rows plus `extra` (1: the next
 * observation of the group's last step, so the group alone answers it). */
static struct s_chunk *s_chunk_load_rows(struct rls_replay_reader *r, int64_t ep, int64_t k, int extra)
{
    const struct s_episode *e = &r->ep[ep];
    size_t S = (size_t)r->S, F = (size_t)r->F, A = (size_t)r->A;
    struct s_chunk *c = calloc(1, sizeof *c);
    if (!c) {
        s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
        return NULL;
    }
    c->ep = ep;
    c->k = k;
    c->row0 = k * e->R;
    c->n_obs = e->T + 1 - c->row0 < e->R + extra ? e->T + 1 - c->row0 : e->R + extra;
    c->n_step = e->T - c->row0 < e->R ? e->T - c->row0 : e->R;
    if (c->n_step < 0)
        c->n_step = 0;
    size_t no = (size_t)c->n_obs, ns = (size_t)c->n_step;
    c->obs = malloc(no * S * F * sizeof *c->obs);
    c->mask = e->has_masks ? malloc(no * S * A) : NULL;
    c->act = malloc((ns ? ns : 1) * S * sizeof *c->act);
    c->srew = malloc((ns ? ns : 1) * S * sizeof *c->srew);
    c->term = malloc(ns ? ns : 1);
    c->bytes = sizeof *c + no * S * F * 4 + (e->has_masks ? no * S * A : 0) + ns * S * 8 + ns;
    if (!c->obs || (e->has_masks && !c->mask) || !c->act || !c->srew || !c->term) {
        s_chunk_free(c);
        s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
        return NULL;
    }
    hsize_t T = (hsize_t)e->T;
    hsize_t d_obs[3] = {T + 1, S, F}, d_ts[2] = {T, S}, d_t[1] = {T}, d_mask[3] = {T + 1, S, A};
    struct {
        int k, rank;
        const hsize_t *dims;
        hid_t mt;
        void *buf;
        int64_t n;
    } jobs[5] = {
        {S_OBS, 3, d_obs, H5T_NATIVE_FLOAT, c->obs, c->n_obs},
        {S_MASK, 3, d_mask, H5T_NATIVE_UINT8, c->mask, e->has_masks ? c->n_obs : 0},
        {S_ACT, 2, d_ts, H5T_NATIVE_INT32, c->act, c->n_step},
        {S_SREW, 2, d_ts, H5T_NATIVE_FLOAT, c->srew, c->n_step},
        {S_TERM, 1, d_t, H5T_NATIVE_UINT8, c->term, c->n_step},
    };
    for (int j = 0; j < 5; j++) {
        char name[96];
        if (jobs[j].n <= 0)
            continue;
        snprintf(name, sizeof name, "episode_%lld/%s", (long long)ep, s_ds_names[jobs[j].k]);
        struct s_episode *me = &r->ep[ep];
        if (me->ds[jobs[j].k] < 0)
            me->ds[jobs[j].k] = H5Dopen2(r->fid, name, r->dapl);
        hid_t d = me->ds[jobs[j].k];
        int bad = d < 0 || s_read_rows(d, jobs[j].mt, c->row0, jobs[j].n, jobs[j].rank, jobs[j].dims, jobs[j].buf);
        if (bad) {
            s_chunk_free(c);
            s_fail(r, RLS_ERR_IO, "%s: /%s: read of rows %lld..%lld failed", r->path, name, (long long)(k * e->R),
                   (long long)(k * e->R + jobs[j].n - 1));
            return NULL;
        }
    }
    r->loads++;
    return c;
}

static struct s_chunk *s_chunk_load(struct rls_replay_reader *r, int64_t ep, int64_t k)
{
    return s_chunk_load_rows(r, ep, k, 0);
}

/* The cached chunk group (ep, k), loading it (and evicting LRU groups beyond
 * cache_bytes) when absent. */
static struct s_chunk *s_chunk_get(struct rls_replay_reader *r, int64_t ep, int64_t k)
{
    size_t b = s_hash(r, ep, k);
    for (struct s_chunk *c = r->buckets[b]; c; c = c->hnext)
        if (c->ep == ep && c->k == k) {
            r->hits++;
            s_lru_unlink(r, c);
            s_lru_push(r, c);
            return c;
        }
    struct s_chunk *c = s_chunk_load(r, ep, k);
    if (!c)
        return NULL;
    while (r->tail && r->cached + (int64_t)c->bytes > r->cache_bytes)
        s_evict(r, r->tail);
    c->hnext = r->buckets[b];
    r->buckets[b] = c;
    s_lru_push(r, c);
    r->cached += (int64_t)c->bytes;
    return c;
}

/* ---- window sampling ---- */

/* A group drawn in proportion to its transitions: the group of a uniform transition. */
static struct s_chunk *s_win_draw_group(struct rls_replay_reader *r, uint64_t *rng)
{
    int64_t u = (int64_t)s_uniform(rng, (uint64_t)r->n_trans);
    int64_t ep = s_find_episode(r, u);
    int64_t t = (u - r->ep[ep].trans_off) / (int64_t)r->S;
    return s_chunk_load_rows(r, ep, t / r->ep[ep].R, 1);
}

static int64_t s_group_trans(const struct rls_replay_reader *r, const struct s_chunk *c)
{
    return c->n_step * (int64_t)r->S;
}

/* The window is a ring: slots win_head .. win_head + win_n - 1 (mod win_cap),
 * oldest first. */
static struct s_chunk **s_win_slot(struct rls_replay_reader *r, int32_t i)
{
    return &r->win[(r->win_head + i) % r->win_cap];
}

static void s_win_reindex(struct rls_replay_reader *r)
{
    r->win_cum[0] = 0;
    for (int32_t i = 0; i < r->win_n; i++)
        r->win_cum[i + 1] = r->win_cum[i] + s_group_trans(r, *s_win_slot(r, i));
}

/* Bytes of the largest chunk group (R steps, R + 1 observation rows, masks). */
static int64_t s_full_group_bytes(const struct rls_replay_reader *r)
{
    int64_t R = r->ep[0].R, S = r->S, F = r->F, A = r->A;
    return (int64_t)sizeof(struct s_chunk) + (R + 1) * S * (F * 4 + A) + R * S * 8 + R;
}

/* Tops the window up with random groups while a full group still fits in
 * cache_bytes (always at least one group). */
static int s_win_fill(struct rls_replay_reader *r, uint64_t *rng)
{
    int64_t full = s_full_group_bytes(r);
    if (r->win_cap == 0) {
        int64_t cap = r->cache_bytes / full + 1;
        if (cap > 1 << 24)
            cap = 1 << 24;
        r->win = calloc((size_t)cap, sizeof *r->win);
        r->win_cum = calloc((size_t)cap + 1, sizeof *r->win_cum);
        if (!r->win || !r->win_cum)
            return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
        r->win_cap = (int32_t)cap;
    }
    while (r->win_n < r->win_cap && (r->win_n == 0 || r->win_bytes + full <= r->cache_bytes)) {
        struct s_chunk *c = s_win_draw_group(r, rng);
        if (!c)
            return RLS_ERR_IO;
        *s_win_slot(r, r->win_n) = c;
        r->win_n++;
        r->win_bytes += (int64_t)c->bytes;
    }
    s_win_reindex(r);
    return RLS_OK;
}

/* Evicts the oldest groups and tops the window up with random ones, at the
 * rate that draws each transition `reuse` times on average while resident. */
static int s_win_rotate(struct rls_replay_reader *r, int32_t batch, uint64_t *rng)
{
    double avg = (double)r->win_cum[r->win_n] / (double)r->win_n;
    r->win_credit += (double)batch / (r->reuse * (avg > 0.0 ? avg : 1.0));
    int32_t evicted = 0, n0 = r->win_n;
    while (r->win_credit >= 1.0 && evicted < n0) {
        struct s_chunk **oldest = s_win_slot(r, 0);
        r->win_bytes -= (int64_t)(*oldest)->bytes;
        s_chunk_free(*oldest);
        *oldest = NULL;
        r->win_head = (r->win_head + 1) % r->win_cap;
        r->win_n--;
        r->win_credit -= 1.0;
        evicted++;
    }
    if (r->win_credit > 1.0)
        r->win_credit = 1.0;   /* a window smaller than a batch's worth: do not run up a debt */
    return evicted > 0 ? s_win_fill(r, rng) : RLS_OK;
}

static int s_win_sample(struct rls_replay_reader *r, uint64_t *rng, struct rls_replay_batch *b)
{
    size_t S = (size_t)r->S, F = (size_t)r->F, A = (size_t)r->A;
    int rc = r->win_n == 0 ? s_win_fill(r, rng) : RLS_OK;
    if (rc != RLS_OK)
        return rc;
    int64_t total = r->win_cum[r->win_n];
    for (int32_t i = 0; i < b->n; i++) {
        int64_t u = (int64_t)s_uniform(rng, (uint64_t)total);
        int32_t lo = 0, hi = r->win_n - 1;   /* the slot g with cum[g] <= u < cum[g + 1] */
        while (lo < hi) {
            int32_t mid = (lo + hi + 1) / 2;
            if (r->win_cum[mid] <= u)
                lo = mid;
            else
                hi = mid - 1;
        }
        const struct s_chunk *c = *s_win_slot(r, lo);
        int64_t off = u - r->win_cum[lo];
        size_t lr = (size_t)(off / (int64_t)S), s = (size_t)(off % (int64_t)S);
        memcpy(b->obs + (size_t)i * F, c->obs + (lr * S + s) * F, F * sizeof *b->obs);
        memcpy(b->next_obs + (size_t)i * F, c->obs + ((lr + 1) * S + s) * F, F * sizeof *b->obs);
        memcpy(b->mask + (size_t)i * A, c->mask ? c->mask + (lr * S + s) * A : r->ones, A);
        memcpy(b->next_mask + (size_t)i * A, c->mask ? c->mask + ((lr + 1) * S + s) * A : r->ones, A);
        b->action[i] = c->act[lr * S + s];
        b->reward[i] = c->srew[lr * S + s];
        b->done[i] = c->term[lr] ? 1 : 0;
    }
    return s_win_rotate(r, b->n, rng);
}

int rls_replay_reader_sample(struct rls_replay_reader *r, uint64_t *rng_state, struct rls_replay_batch *b)
{
    struct s_pick *picks = NULL;
    struct rls__h5_auto quiet;
    int rc = RLS_OK;
    if (!r || !rng_state || !b || !b->obs)
        return RLS_ERR_INVALID;
    if (b->n_features != r->F || b->n_actions != r->A)
        return s_fail(r, RLS_ERR_INVALID, "%s: batch shapes F=%d A=%d, file has F=%d A=%d", r->path, b->n_features,
                      b->n_actions, r->F, r->A);
    if (r->n_trans <= 0)
        return s_fail(r, RLS_ERR_STATE, "%s: no transitions to sample", r->path);
    if (r->buckets && !r->exact) {
        rls__h5_quiet(&quiet);
        rc = s_win_sample(r, rng_state, b);
        rls__h5_restore(&quiet);
        return rc;
    }
    size_t S = (size_t)r->S, F = (size_t)r->F, A = (size_t)r->A;
    picks = malloc((size_t)b->n * sizeof *picks);
    if (!picks)
        return s_fail(r, RLS_ERR_NOMEM, "%s: out of memory", r->path);
    for (int32_t i = 0; i < b->n; i++) {
        int64_t u = (int64_t)s_uniform(rng_state, (uint64_t)r->n_trans);
        int64_t ep = s_find_episode(r, u);
        int64_t off = u - r->ep[ep].trans_off;
        picks[i].ep = ep;
        picks[i].t = off / (int64_t)S;
        picks[i].s = (int32_t)(off % (int64_t)S);
        picks[i].i = i;
    }
    if (!r->buckets) {  /* RAM mode */
        for (int32_t n = 0; n < b->n; n++) {
            const struct s_pick *p = &picks[n];
            const struct s_episode *e = &r->ep[p->ep];
            size_t orow = (size_t)(e->obs_row + p->t) * S + (size_t)p->s;
            size_t srow = (size_t)(e->step_row + p->t);
            memcpy(b->obs + (size_t)n * F, r->obs + orow * F, F * sizeof *b->obs);
            memcpy(b->next_obs + (size_t)n * F, r->obs + (orow + S) * F, F * sizeof *b->obs);
            memcpy(b->mask + (size_t)n * A, r->mask + orow * A, A);
            memcpy(b->next_mask + (size_t)n * A, r->mask + (orow + S) * A, A);
            b->action[n] = r->act[srow * S + (size_t)p->s];
            b->reward[n] = r->srew[srow * S + (size_t)p->s];
            b->done[n] = r->term[srow] ? 1 : 0;
        }
        goto done;
    }
    /* chunk mode: visit the picks in (episode, step) order so each group loads once */
    qsort(picks, (size_t)b->n, sizeof *picks, s_pick_cmp);
    rls__h5_quiet(&quiet);
    for (int32_t n = 0; n < b->n; n++) {
        const struct s_pick *p = &picks[n];
        const struct s_episode *e = &r->ep[p->ep];
        size_t i = (size_t)p->i, s = (size_t)p->s;
        struct s_chunk *c = s_chunk_get(r, p->ep, p->t / e->R);
        if (!c) {
            rc = RLS_ERR_IO;
            break;
        }
        size_t lr = (size_t)(p->t - c->row0);
        memcpy(b->obs + i * F, c->obs + (lr * S + s) * F, F * sizeof *b->obs);
        memcpy(b->mask + i * A, c->mask ? c->mask + (lr * S + s) * A : r->ones, A);
        b->action[i] = c->act[lr * S + s];
        b->reward[i] = c->srew[lr * S + s];
        b->done[i] = c->term[lr] ? 1 : 0;
        int64_t t1 = p->t + 1;
        if (t1 >= c->row0 + c->n_obs) {
            c = s_chunk_get(r, p->ep, t1 / e->R);
            if (!c) {
                rc = RLS_ERR_IO;
                break;
            }
        }
        lr = (size_t)(t1 - c->row0);
        memcpy(b->next_obs + i * F, c->obs + (lr * S + s) * F, F * sizeof *b->obs);
        memcpy(b->next_mask + i * A, c->mask ? c->mask + (lr * S + s) * A : r->ones, A);
    }
    rls__h5_restore(&quiet);
done:
    free(picks);
    return rc;
}
