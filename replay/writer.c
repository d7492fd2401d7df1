/* writer.c - the replay writer (replay.h): buffers one episode in memory and
 * commits it as an HDF5 group episode_<id> with chunked, shuffled and
 * deflated datasets, under the rollback journal of journal.c, so that a crash
 * at any point leaves the file with every earlier committed episode
 * (replay/FORMAT.md, "Crash safety"). Also the meta helpers.
 */
#include "replay_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../env/env.h"

#define S_CHUNK_TARGET_BYTES 8192    /* observation rows per chunk aim at this size (random reads) */
#define S_DEFLATE_LEVEL 4

/* ---------------------------------------------------------------------------
 * Meta. */

void rls_replay_meta_clear(struct rls_replay_meta *m)
{
    if (!m)
        return;
    free(m->scenario_yaml);
    free(m->obs_mean);
    free(m->obs_std);
    free(m->feature_names);
    free(m->obs_low);
    free(m->obs_high);
    memset(m, 0, sizeof *m);
}

static int s_dup_floats(float **dst, const float *src, int32_t n)
{
    *dst = NULL;
    if (!src || n <= 0)
        return 0;
    *dst = malloc((size_t)n * sizeof **dst);
    if (!*dst)
        return -1;
    memcpy(*dst, src, (size_t)n * sizeof **dst);
    return 0;
}

static int s_dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int rls_replay_meta_copy(struct rls_replay_meta *dst, const struct rls_replay_meta *src)
{
    if (!dst || !src)
        return RLS_ERR_INVALID;
    *dst = *src;
    dst->scenario_yaml = dst->feature_names = NULL;
    dst->obs_mean = dst->obs_std = dst->obs_low = dst->obs_high = NULL;
    int32_t f = src->n_features;
    if (s_dup_str(&dst->scenario_yaml, src->scenario_yaml) || s_dup_str(&dst->feature_names, src->feature_names) ||
        s_dup_floats(&dst->obs_mean, src->obs_mean, f) || s_dup_floats(&dst->obs_std, src->obs_std, f) ||
        s_dup_floats(&dst->obs_low, src->obs_low, f) || s_dup_floats(&dst->obs_high, src->obs_high, f)) {
        rls_replay_meta_clear(dst);
        return RLS_ERR_NOMEM;
    }
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * The writer. */

struct rls_replay_writer {
    char path[1024];
    char tmp_path[1040];
    struct rls__journal *j;
    hid_t fid;
    struct rls_replay_meta meta;
    int32_t S, F, A, R;          /* shapes; R = rows per chunk */
    int failed;
    char err[RLS_ERRMSG_MAX];
    /* committed totals */
    int64_t n_episodes, n_steps;
    double *sum, *sumsq;         /* [F] over all committed observation rows */
    double n_rows;
    /* the open episode */
    int open;
    uint64_t seed;
    char policy[64];
    int64_t T, cap;
    int has_mask;                /* -1 unknown until the first step */
    int64_t n_info;
    float *obs;                  /* [cap+1, S, F] */
    int32_t *act;                /* [cap, S] */
    float *rew;                  /* [cap] */
    float *srew;                 /* [cap, S] */
    uint8_t *term, *trunc;       /* [cap] */
    uint8_t *mask;               /* [cap+1, S, A] */
    struct rls_replay_info *info;/* [cap] */
};

static int s_fail(struct rls_replay_writer *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_replay_writer *w, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return status;
}

const char *rls_replay_writer_errmsg(const struct rls_replay_writer *w)
{
    return w ? w->err : "writer is NULL";
}

int64_t rls_replay_writer_n_episodes(const struct rls_replay_writer *w)
{
    return w ? w->n_episodes : 0;
}

int64_t rls_replay_writer_n_steps(const struct rls_replay_writer *w)
{
    return w ? w->n_steps : 0;
}

/* --- checksums (replay_internal.h; the text layout is in FORMAT.md) --- */

uint64_t rls__replay_root_digest(const struct rls_replay_meta *m, const char *feature_names, int64_t n_episodes,
                                 int has_yaml)
{
    char head[512];
    uint64_t h = RLS__FNV_OFFSET;
    snprintf(head, sizeof head, "rlsched-replay-attrs 1\nS=%d F=%d deltas=%d placements=%d actions=%d "
             "episodes=%lld yaml=%d epsilon=%a\n", m->n_services, m->n_features, m->n_deltas, m->n_placements,
             m->n_actions, (long long)n_episodes, has_yaml ? 1 : 0, m->epsilon);
    h = rls__fnv1a(h, head, strlen(head));
    for (int32_t i = 0; i < m->n_deltas && i < RLS_REPLAY_MAX_DELTAS; i++) {
        unsigned char b[4];
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)((uint32_t)m->deltas[i] >> (8 * k));
        h = rls__fnv1a(h, b, 4);
    }
    const char *txt[5] = {feature_names ? feature_names : "", m->scenario_name, m->trace, m->behavior, m->created};
    for (int k = 0; k < 5; k++)
        h = rls__fnv1a(h, txt[k], strlen(txt[k]) + 1);
    return h;
}

uint64_t rls__replay_episode_digest(int64_t id, int64_t T, uint64_t seed, const char *policy, int has_masks,
                                    int has_infos)
{
    char head[128];
    uint64_t h = RLS__FNV_OFFSET;
    snprintf(head, sizeof head, "episode id=%lld T=%lld seed=%llu masks=%d infos=%d\n", (long long)id,
             (long long)T, (unsigned long long)seed, has_masks ? 1 : 0, has_infos ? 1 : 0);
    h = rls__fnv1a(h, head, strlen(head));
    return rls__fnv1a(h, policy ? policy : "", strlen(policy ? policy : "") + 1);
}

/* --- HDF5 helpers (return 0 or -1) --- */

static int s_attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, hsize_t n,
                        const void *data)
{
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5I_INVALID_HID;
    int rc = -1;
    if (sp < 0)
        return -1;
    if (H5Aexists(loc, name) > 0)
        a = H5Aopen(loc, name, H5P_DEFAULT);
    else
        a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && H5Awrite(a, mtype, data) >= 0)
        rc = 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static int s_attr_i64(hid_t loc, const char *name, int64_t v)
{
    return s_attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, 1, &v);
}

static int s_attr_i32(hid_t loc, const char *name, int32_t v)
{
    return s_attr_write(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 0, 1, &v);
}

static int s_attr_u64(hid_t loc, const char *name, uint64_t v)
{
    return s_attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, 1, &v);
}

static int s_attr_f64(hid_t loc, const char *name, double v)
{
    return s_attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, 1, &v);
}

/* A fixed-length, NUL-terminated ASCII string attribute (created once). */
static int s_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc = -1;
    if (t < 0)
        return -1;
    if (H5Tset_size(t, strlen(v) + 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0)
        rc = s_attr_write(loc, name, t, t, 0, 1, v);
    H5Tclose(t);
    return rc;
}

/* A dataset [dims] chunked by `rows` along dim 0 (compressed when chunked). */
static int s_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                     hsize_t rows, const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
    int rc = -1;
    if (sp < 0 || dcpl < 0)
        goto done;
    if (rows > 0) {
        hsize_t chunk[4];
        for (int i = 0; i < rank; i++)
            chunk[i] = dims[i];
        chunk[0] = rows < dims[0] ? rows : dims[0];
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
            H5Pset_deflate(dcpl, S_DEFLATE_LEVEL) < 0)
            goto done;
    }
    d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto done;
    size_t nbytes = H5Tget_size(mtype);
    for (int i = 0; i < rank; i++)
        nbytes *= (size_t)dims[i];
    if (s_attr_u64(d, RLS__CK_DATA, rls__fnv1a(RLS__FNV_OFFSET, data, nbytes)))
        goto done;
    rc = 0;
done:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

/* Overwrites a whole existing dataset of nbytes (and its checksum). */
static int s_dataset_rewrite(hid_t loc, const char *name, hid_t mtype, const void *data, size_t nbytes)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    int rc = -1;
    if (d < 0)
        return -1;
    if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 &&
        s_attr_u64(d, RLS__CK_DATA, rls__fnv1a(RLS__FNV_OFFSET, data, nbytes)) == 0)
        rc = 0;
    H5Dclose(d);
    return rc;
}

/* A scalar fixed-length string dataset (the scenario YAML may exceed the 64 KiB
 * attribute limit). */
static int s_string_dataset(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), d = H5I_INVALID_HID;
    int rc = -1;
    if (t < 0 || sp < 0)
        goto done;
    if (H5Tset_size(t, strlen(v) + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)
        goto done;
    d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ||
        s_attr_u64(d, RLS__CK_DATA, rls__fnv1a(RLS__FNV_OFFSET, v, strlen(v))))
        goto done;
    rc = 0;
done:
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

/* --- JSON text of the spaces --- */

struct s_buf {
    char *p;
    size_t len, cap;
    int bad;
};

static void s_bprintf(struct s_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_bprintf(struct s_buf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->bad)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->bad = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap ? 2 * b->cap : 1024) + (size_t)n;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->bad = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* A space bound as JSON: the number, or the strings "inf" / "-inf" for an
 * unbounded side (JSON has no infinity; numpy reads these strings back as
 * float32 infinities). NULL when out of memory. */
static json_t *s_json_bound(double v)
{
    if (isinf(v))
        return json_string(v > 0 ? "inf" : "-inf");
    if (isnan(v))
        return json_null();
    return json_real(v);
}

/* Serializes `doc` (stolen) as ", "/": "-separated JSON with 9 significant
 * digits (a float32 round trips). Returns a malloc'ed string, or NULL. */
static char *s_json_text(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(doc);
    return text;
}

/* The Minari-style observation space (FORMAT.md), valid JSON; caller frees. */
static char *s_obs_space_json(const struct rls_replay_meta *m)
{
    json_t *doc = json_pack("{s:s,s:s,s:[i,i]}", "type", "Box", "dtype", "float32", "shape",
                            (int)m->n_services, (int)m->n_features);
    int bad = doc == NULL;
    for (int k = 0; k < 2 && !bad; k++) {
        const float *v = k == 0 ? m->obs_low : m->obs_high;
        json_t *rows = json_array();
        bad |= json_object_set_new(doc, k == 0 ? "low" : "high", rows) != 0;
        for (int32_t s = 0; s < m->n_services && !bad; s++) {
            json_t *row = json_array();
            bad |= json_array_append_new(rows, row) != 0;
            for (int32_t f = 0; f < m->n_features && !bad; f++)
                bad |= json_array_append_new(row, s_json_bound(v ? (double)v[f] : (k == 0 ? -INFINITY : INFINITY))) != 0;
        }
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return s_json_text(doc);
}

/* The action space as JSON (FORMAT.md); caller frees. */
static char *s_act_space_json(const struct rls_replay_meta *m)
{
    json_t *doc = json_pack("{s:s,s:s,s:[],s:[]}", "type", "MultiDiscrete", "dtype", "int32", "nvec", "start");
    int bad = doc == NULL;
    for (int32_t s = 0; s < m->n_services && !bad; s++) {
        bad |= json_array_append_new(json_object_get(doc, "nvec"), json_integer(m->n_actions)) != 0;
        bad |= json_array_append_new(json_object_get(doc, "start"), json_integer(0)) != 0;
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return s_json_text(doc);
}

static char *s_feature_names(const struct rls_replay_meta *m)
{
    struct s_buf b = {0};
    if (m->feature_names)
        return strdup(m->feature_names);
    int32_t n = 0;
    const char *const *names = rls_env_feature_names(&n);
    for (int32_t f = 0; f < m->n_features; f++) {
        if (n == m->n_features)
            s_bprintf(&b, "%s%s", f ? "," : "", names[f]);
        else
            s_bprintf(&b, "%sf%d", f ? "," : "", f);
    }
    if (b.bad) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static int s_check_meta(const struct rls_replay_meta *m, struct rls_err *err)
{
    if (!m)
        return rls_err_set(err, RLS_ERR_INVALID, "replay: meta is NULL");
    if (m->n_services < 1 || m->n_features < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "replay: meta.n_services and n_features must be >= 1");
    if (m->n_deltas < 1 || m->n_deltas > RLS_REPLAY_MAX_DELTAS)
        return rls_err_set(err, RLS_ERR_INVALID, "replay: meta.n_deltas must be 1..%d", RLS_REPLAY_MAX_DELTAS);
    if (m->n_placements < 1 || (int64_t)m->n_actions != (int64_t)m->n_deltas * (int64_t)m->n_placements)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "replay: meta.n_actions (%d) must be n_deltas * n_placements (%d * %d)",
                           m->n_actions, m->n_deltas, m->n_placements);
    if (!(m->epsilon >= 0.0 && m->epsilon <= 1.0))
        return rls_err_set(err, RLS_ERR_INVALID, "replay: meta.epsilon must be in [0, 1]");
    return RLS_OK;
}

/* The file-level attributes and datasets of a new file. */
static int s_write_header(struct rls_replay_writer *w)
{
    const struct rls_replay_meta *m = &w->meta;
    char *obs_json = s_obs_space_json(m), *act_json = s_act_space_json(m), *names = s_feature_names(m);
    float *ones = calloc((size_t)m->n_features, sizeof *ones), *zeros = calloc((size_t)m->n_features, sizeof *zeros);
    hid_t root = w->fid;
    hsize_t nf = (hsize_t)m->n_features;
    int rc = -1;
    if (!obs_json || !act_json || !names || !ones || !zeros)
        goto done;
    for (int32_t f = 0; f < m->n_features; f++)
        ones[f] = 1.0f;
    if (s_attr_str(root, "format", RLS_REPLAY_FORMAT_NAME) || s_attr_i32(root, "format_version", RLS_REPLAY_FORMAT_VERSION) ||
        s_attr_i32(root, "n_services", m->n_services) || s_attr_i32(root, "n_features", m->n_features) ||
        s_attr_i32(root, "n_deltas", m->n_deltas) ||
        s_attr_write(root, "deltas", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, (hsize_t)m->n_deltas, m->deltas) ||
        s_attr_i32(root, "n_placements", m->n_placements) || s_attr_i32(root, "n_actions", m->n_actions) ||
        s_attr_str(root, "feature_names", names) || s_attr_str(root, "observation_space", obs_json) ||
        s_attr_str(root, "action_space", act_json) || s_attr_str(root, "scenario_name", m->scenario_name) ||
        s_attr_str(root, "trace", m->trace) || s_attr_str(root, "behavior_policy", m->behavior) ||
        s_attr_f64(root, "epsilon", m->epsilon) || s_attr_str(root, "created", m->created) ||
        s_attr_i64(root, "total_episodes", 0) || s_attr_i64(root, "total_steps", 0) ||
        s_attr_i64(root, "total_transitions", 0) ||
        s_attr_u64(root, RLS__CK_ATTRS, rls__replay_root_digest(m, names, 0, 1)))
        goto done;
    if (s_dataset(root, "obs_mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &nf, 0, zeros) ||
        s_dataset(root, "obs_std", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &nf, 0, ones) ||
        s_string_dataset(root, "scenario_yaml", m->scenario_yaml ? m->scenario_yaml : ""))
        goto done;
    rc = 0;
done:
    free(obs_json);
    free(act_json);
    free(names);
    free(ones);
    free(zeros);
    return rc;
}

static void s_free_episode(struct rls_replay_writer *w)
{
    free(w->obs);
    free(w->act);
    free(w->rew);
    free(w->srew);
    free(w->term);
    free(w->trunc);
    free(w->mask);
    free(w->info);
    w->obs = w->srew = w->rew = NULL;
    w->act = NULL;
    w->term = w->trunc = w->mask = NULL;
    w->info = NULL;
    w->cap = 0;
}

struct rls_replay_writer *rls_replay_writer_open(const char *path, const struct rls_replay_meta *meta,
                                                 struct rls_err *err)
{
    struct rls_replay_writer *w = NULL;
    struct rls__h5_auto quiet;
    hid_t fapl = H5I_INVALID_HID;
    char jpath[1100];
    int ok = 0, made_tmp = 0;
    rls__h5_quiet(&quiet);
    if (!path || !*path) {
        rls_err_set(err, RLS_ERR_INVALID, "replay: output path is empty");
        goto done;
    }
    if (strlen(path) >= 1000) {
        rls_err_set(err, RLS_ERR_INVALID, "replay: output path is too long");
        goto done;
    }
    if (s_check_meta(meta, err) != RLS_OK)
        goto done;
    w = calloc(1, sizeof *w);
    if (!w) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    w->fid = H5I_INVALID_HID;
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s.tmp", path);
    if (rls_replay_meta_copy(&w->meta, meta) != RLS_OK) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (!w->meta.created[0]) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->meta.created, sizeof w->meta.created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    w->S = meta->n_services;
    w->F = meta->n_features;
    w->A = meta->n_actions;
    w->R = S_CHUNK_TARGET_BYTES / (w->S * w->F * 4);
    if (w->R < 4)
        w->R = 4;
    if (w->R > 4096)
        w->R = 4096;
    w->sum = calloc((size_t)w->F, sizeof *w->sum);
    w->sumsq = calloc((size_t)w->F, sizeof *w->sumsq);
    w->j = rls__journal_new();
    if (!w->sum || !w->sumsq || !w->j) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* a clear message for an unwritable place, before HDF5 gets involved */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        rls_err_set(err, RLS_ERR_IO, "%s: cannot create: %s", path, strerror(EISDIR));
        goto done;
    }
    int fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rls_err_set(err, RLS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    close(fd);
    made_tmp = 1;
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    if (unlink(jpath) != 0 && errno != ENOENT) {
        rls_err_set(err, RLS_ERR_IO, "%s: cannot remove the stale journal: %s", jpath, strerror(errno));
        goto done;
    }
    fapl = rls__journal_fapl(w->j);
    if (fapl < 0) {
        rls_err_set(err, RLS_ERR_IO, "%s: cannot set up the HDF5 file driver", path);
        goto done;
    }
    w->fid = H5Fcreate(w->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->fid < 0) {
        char h5[256];
        rls__h5_error(h5, sizeof h5);
        rls_err_set(err, RLS_ERR_IO, "%s: cannot create the HDF5 file: %s", path, h5);
        goto done;
    }
    if (s_write_header(w) != 0 || H5Fflush(w->fid, H5F_SCOPE_GLOBAL) < 0) {
        char h5[256];
        rls__h5_error(h5, sizeof h5);
        rls_err_set(err, RLS_ERR_IO, "%s: cannot write the file header: %s", path, h5);
        goto done;
    }
    if (rls__journal_sync(w->j, err) != RLS_OK)
        goto done;
    if (rename(w->tmp_path, w->path) != 0) {
        rls_err_set(err, RLS_ERR_IO, "%s: cannot rename %s: %s", path, w->tmp_path, strerror(errno));
        goto done;
    }
    made_tmp = 0;
    if (rls__journal_bind(w->j, w->path, err) != RLS_OK)
        goto done;
    w->has_mask = -1;
    ok = 1;
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (!ok && w) {
        if (w->fid >= 0)
            H5Fclose(w->fid);
        if (made_tmp)
            unlink(w->tmp_path);
        rls__journal_destroy(&w->j);
        rls_replay_meta_clear(&w->meta);
        free(w->sum);
        free(w->sumsq);
        free(w);
        w = NULL;
    }
    rls__h5_restore(&quiet);
    return w;
}

int rls_replay_writer_begin_episode(struct rls_replay_writer *w, uint64_t seed, const char *policy)
{
    if (!w)
        return RLS_ERR_INVALID;
    if (w->failed)
        return s_fail(w, RLS_ERR_STATE, "%s: the writer failed earlier", w->path);
    if (w->open)
        return s_fail(w, RLS_ERR_STATE, "%s: an episode is already open", w->path);
    w->open = 1;
    w->seed = seed;
    snprintf(w->policy, sizeof w->policy, "%s", policy ? policy : "");
    w->T = 0;
    w->n_info = 0;
    w->has_mask = -1;
    return RLS_OK;
}

static int s_grow(struct rls_replay_writer *w)
{
    int64_t nc = w->cap ? 2 * w->cap : 256;
    size_t S = (size_t)w->S, F = (size_t)w->F, A = (size_t)w->A, n = (size_t)nc;
    float *obs = realloc(w->obs, (n + 1) * S * F * sizeof *obs);
    if (obs)
        w->obs = obs;
    int32_t *act = realloc(w->act, n * S * sizeof *act);
    if (act)
        w->act = act;
    float *rew = realloc(w->rew, n * sizeof *rew);
    if (rew)
        w->rew = rew;
    float *srew = realloc(w->srew, n * S * sizeof *srew);
    if (srew)
        w->srew = srew;
    uint8_t *term = realloc(w->term, n);
    if (term)
        w->term = term;
    uint8_t *trunc = realloc(w->trunc, n);
    if (trunc)
        w->trunc = trunc;
    uint8_t *mask = realloc(w->mask, (n + 1) * S * A);
    if (mask)
        w->mask = mask;
    struct rls_replay_info *info = realloc(w->info, n * sizeof *info);
    if (info)
        w->info = info;
    if (!obs || !act || !rew || !srew || !term || !trunc || !mask || !info)
        return -1;
    w->cap = nc;
    return 0;
}

static int s_finite_f(const float *v, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            *bad = i;
            return 0;
        }
    return 1;
}

int rls_replay_writer_add_step(struct rls_replay_writer *w, const float *obs, const int32_t *actions,
                               double reward, const float *service_reward, const uint8_t *mask,
                               int terminated, int truncated)
{
    size_t S, F, A, bad = 0;
    if (!w)
        return RLS_ERR_INVALID;
    if (!w->open)
        return s_fail(w, RLS_ERR_STATE, "%s: add_step without an open episode", w->path);
    if (!obs || !actions || !service_reward)
        return s_fail(w, RLS_ERR_INVALID, "%s: add_step: obs, actions and service_reward are required", w->path);
    S = (size_t)w->S;
    F = (size_t)w->F;
    A = (size_t)w->A;
    if (w->has_mask >= 0 && w->has_mask != (mask != NULL))
        return s_fail(w, RLS_ERR_INVALID, "%s: step %lld: %s", w->path, (long long)w->T,
                      mask ? "a mask after steps without one" : "no mask after steps with one");
    for (size_t s = 0; s < S; s++)
        if (actions[s] < 0 || actions[s] >= w->A)
            return s_fail(w, RLS_ERR_INVALID, "%s: step %lld: action %d of service %zu outside [0, %d)", w->path,
                          (long long)w->T, actions[s], s, w->A);
    if (!s_finite_f(obs, S * F, &bad))
        return s_fail(w, RLS_ERR_RANGE, "%s: step %lld: observation[%zu][%zu] is not finite", w->path,
                      (long long)w->T, bad / F, bad % F);
    if (!isfinite(reward) || !s_finite_f(service_reward, S, &bad))
        return s_fail(w, RLS_ERR_RANGE, "%s: step %lld: reward is not finite", w->path, (long long)w->T);
    if (w->T == w->cap && s_grow(w) != 0)
        return s_fail(w, RLS_ERR_NOMEM, "%s: out of memory buffering the episode", w->path);
    int64_t t = w->T;
    memcpy(w->obs + (size_t)t * S * F, obs, S * F * sizeof *obs);
    memcpy(w->act + (size_t)t * S, actions, S * sizeof *actions);
    w->rew[t] = (float)reward;
    memcpy(w->srew + (size_t)t * S, service_reward, S * sizeof *service_reward);
    w->term[t] = terminated ? 1 : 0;
    w->trunc[t] = truncated ? 1 : 0;
    if (mask)
        for (size_t k = 0; k < S * A; k++)
            w->mask[(size_t)t * S * A + k] = mask[k] ? 1 : 0;
    w->has_mask = mask != NULL;
    w->T++;
    return RLS_OK;
}

int rls_replay_writer_add_info(struct rls_replay_writer *w, const struct rls_replay_info *info)
{
    if (!w || !info)
        return RLS_ERR_INVALID;
    if (!w->open || w->n_info != w->T - 1)
        return s_fail(w, RLS_ERR_STATE, "%s: add_info must follow each add_step once", w->path);
    w->info[w->n_info++] = *info;
    return RLS_OK;
}

void rls_replay_writer_abort_episode(struct rls_replay_writer *w)
{
    if (!w)
        return;
    w->open = 0;
    w->T = 0;
    w->n_info = 0;
}

/* Writes the open episode's group and the updated totals (inside a transaction). */
static int s_write_episode(struct rls_replay_writer *w, const double *sum, const double *sumsq, double n_rows)
{
    char name[64];
    hsize_t S = (hsize_t)w->S, F = (hsize_t)w->F, A = (hsize_t)w->A, T = (hsize_t)w->T, R = (hsize_t)w->R;
    hid_t g = H5I_INVALID_HID, gi = H5I_INVALID_HID;
    double *col = NULL;
    int32_t *icol = NULL;
    float *mean = NULL, *std = NULL;
    char *names = NULL;
    int rc = -1;
    snprintf(name, sizeof name, "episode_%lld", (long long)w->n_episodes);
    g = H5Gcreate2(w->fid, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        goto done;
    if (s_attr_i64(g, "id", w->n_episodes) || s_attr_i64(g, "total_steps", w->T) || s_attr_u64(g, "seed", w->seed) ||
        s_attr_str(g, "policy", w->policy))
        goto done;
    hsize_t d_obs[3] = {T + 1, S, F}, d_ts[2] = {T, S}, d_t[1] = {T}, d_mask[3] = {T + 1, S, A};
    if (s_dataset(g, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, d_obs, R, w->obs) ||
        s_dataset(g, "actions", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, d_ts, R, w->act) ||
        s_dataset(g, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d_t, R, w->rew) ||
        s_dataset(g, "service_rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d_ts, R, w->srew) ||
        s_dataset(g, "terminations", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d_t, R, w->term) ||
        s_dataset(g, "truncations", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d_t, R, w->trunc))
        goto done;
    if (w->has_mask == 1 && s_dataset(g, "action_masks", H5T_STD_U8LE, H5T_NATIVE_UINT8, 3, d_mask, R, w->mask))
        goto done;
    if (w->n_info == w->T) {
        col = malloc((size_t)T * sizeof *col);
        icol = malloc((size_t)T * sizeof *icol);
        gi = H5Gcreate2(g, "infos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (!col || !icol || gi < 0)
            goto done;
        static const char *names[5] = {"cost_usd", "arrivals", "served", "dropped", "over_slo"};
        for (int k = 0; k < 5; k++) {
            for (hsize_t t = 0; t < T; t++) {
                const struct rls_replay_info *in = &w->info[t];
                col[t] = k == 0 ? in->cost_usd : k == 1 ? in->arrivals : k == 2 ? in->served
                                                       : k == 3 ? in->dropped : in->over_slo;
            }
            if (s_dataset(gi, names[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, d_t, R, col))
                goto done;
        }
        for (hsize_t t = 0; t < T; t++)
            icol[t] = w->info[t].nodes_on;
        if (s_dataset(gi, "nodes_on", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d_t, R, icol))
            goto done;
    }
    mean = malloc((size_t)F * sizeof *mean);
    std = malloc((size_t)F * sizeof *std);
    if (!mean || !std)
        goto done;
    for (hsize_t f = 0; f < F; f++) {
        double m = sum[f] / n_rows, var = sumsq[f] / n_rows - m * m;
        double sd = var > 0.0 ? sqrt(var) : 0.0;
        mean[f] = (float)m;
        std[f] = sd < 1e-6 ? 1.0f : (float)sd;
    }
    names = s_feature_names(&w->meta);
    if (!names || s_attr_u64(g, RLS__CK_ATTRS, rls__replay_episode_digest(w->n_episodes, w->T, w->seed, w->policy,
                                                                            w->has_mask == 1, w->n_info == w->T)))
        goto done;
    if (s_dataset_rewrite(w->fid, "obs_mean", H5T_NATIVE_FLOAT, mean, (size_t)F * sizeof *mean) ||
        s_dataset_rewrite(w->fid, "obs_std", H5T_NATIVE_FLOAT, std, (size_t)F * sizeof *std) ||
        s_attr_u64(w->fid, RLS__CK_ATTRS, rls__replay_root_digest(&w->meta, names, w->n_episodes + 1, 1)) ||
        s_attr_i64(w->fid, "total_episodes", w->n_episodes + 1) ||
        s_attr_i64(w->fid, "total_steps", w->n_steps + w->T) ||
        s_attr_i64(w->fid, "total_transitions", (w->n_steps + w->T) * w->S))
        goto done;
    rc = 0;
done:
    free(names);
    free(col);
    free(icol);
    free(mean);
    free(std);
    if (gi >= 0)
        H5Gclose(gi);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

/* After a failure inside a transaction: drop the HDF5 handle and roll the file
 * back to its last commit. */
static void s_rollback(struct rls_replay_writer *w)
{
    struct rls_err e;
    w->failed = 1;
    if (w->fid >= 0) {
        H5Fclose(w->fid);
        w->fid = H5I_INVALID_HID;
    }
    rls_replay_recover(w->path, NULL, &e);
    rls__journal_destroy(&w->j);
}

int rls_replay_writer_end_episode(struct rls_replay_writer *w, const float *final_obs, const uint8_t *final_mask)
{
    struct rls__h5_auto quiet;
    struct rls_err e;
    double *sum = NULL, *sumsq = NULL;
    size_t S, F, A, bad = 0;
    int rc = RLS_OK;
    if (!w)
        return RLS_ERR_INVALID;
    if (w->failed)
        return s_fail(w, RLS_ERR_STATE, "%s: the writer failed earlier", w->path);
    if (!w->open)
        return s_fail(w, RLS_ERR_STATE, "%s: end_episode without an open episode", w->path);
    if (w->T == 0)
        return s_fail(w, RLS_ERR_INVALID, "%s: an episode needs at least one step", w->path);
    if (!final_obs)
        return s_fail(w, RLS_ERR_INVALID, "%s: end_episode: final_obs is NULL", w->path);
    if ((final_mask != NULL) != (w->has_mask == 1))
        return s_fail(w, RLS_ERR_INVALID, "%s: end_episode: final_mask %s", w->path,
                      final_mask ? "given for an episode without masks" : "missing (the steps had masks)");
    S = (size_t)w->S;
    F = (size_t)w->F;
    A = (size_t)w->A;
    if (!s_finite_f(final_obs, S * F, &bad))
        return s_fail(w, RLS_ERR_RANGE, "%s: final observation[%zu][%zu] is not finite", w->path, bad / F, bad % F);
    memcpy(w->obs + (size_t)w->T * S * F, final_obs, S * F * sizeof *final_obs);
    if (final_mask)
        for (size_t k = 0; k < S * A; k++)
            w->mask[(size_t)w->T * S * A + k] = final_mask[k] ? 1 : 0;
    /* the statistics as they will be once this episode is in */
    sum = malloc(F * sizeof *sum);
    sumsq = malloc(F * sizeof *sumsq);
    if (!sum || !sumsq) {
        rc = s_fail(w, RLS_ERR_NOMEM, "%s: out of memory", w->path);
        goto out;
    }
    memcpy(sum, w->sum, F * sizeof *sum);
    memcpy(sumsq, w->sumsq, F * sizeof *sumsq);
    size_t rows = (size_t)(w->T + 1) * S;
    for (size_t r = 0; r < rows; r++)
        for (size_t f = 0; f < F; f++) {
            double x = w->obs[r * F + f];
            sum[f] += x;
            sumsq[f] += x * x;
        }
    rls__h5_quiet(&quiet);
    if (rls__journal_begin(w->j, &e) != RLS_OK) {
        rc = s_fail(w, e.status, "%s", e.msg);   /* nothing was written: the writer stays usable */
        goto quiet_out;
    }
    rls__test_kill_point("begin");
    if (s_write_episode(w, sum, sumsq, w->n_rows + (double)rows) != 0) {
        char h5[256];
        rls__h5_error(h5, sizeof h5);
        rc = s_fail(w, RLS_ERR_IO, "%s: cannot write episode %lld: %s%s%s", w->path, (long long)w->n_episodes, h5,
                    rls__journal_error(w->j)[0] ? ": " : "", rls__journal_error(w->j));
        s_rollback(w);
        goto quiet_out;
    }
    rls__test_kill_point("datasets");
    if (H5Fflush(w->fid, H5F_SCOPE_GLOBAL) < 0 || rls__journal_sync(w->j, &e) != RLS_OK) {
        char h5[256];
        rls__h5_error(h5, sizeof h5);
        rc = s_fail(w, RLS_ERR_IO, "%s: cannot flush episode %lld: %s%s%s", w->path, (long long)w->n_episodes, h5,
                    rls__journal_error(w->j)[0] ? ": " : "", rls__journal_error(w->j));
        s_rollback(w);
        goto quiet_out;
    }
    rls__test_kill_point("flushed");
    if (rls__journal_commit(w->j, &e) != RLS_OK) {
        rc = s_fail(w, e.status, "%s", e.msg);
        s_rollback(w);
        goto quiet_out;
    }
    rls__test_kill_point("committed");
    memcpy(w->sum, sum, F * sizeof *sum);
    memcpy(w->sumsq, sumsq, F * sizeof *sumsq);
    w->n_rows += (double)rows;
    w->n_episodes++;
    w->n_steps += w->T;
    w->open = 0;
    w->T = 0;
    w->n_info = 0;
quiet_out:
    rls__h5_restore(&quiet);
out:
    free(sum);
    free(sumsq);
    return rc;
}

int rls_replay_writer_close(struct rls_replay_writer **wp, struct rls_err *err)
{
    struct rls_replay_writer *w = NULL;
    struct rls__h5_auto quiet;
    struct rls_err e;
    int rc = RLS_OK;
    if (!wp || !*wp)
        return RLS_OK;
    w = *wp;
    rls__h5_quiet(&quiet);
    if (w->fid >= 0) {
        /* closing writes too (free-space bookkeeping, EOF): journal it */
        if (rls__journal_begin(w->j, &e) != RLS_OK) {
            rc = rls_err_set(err, e.status, "%s", e.msg);
            s_rollback(w);
        } else {
            rls__test_kill_point("close-begin");
            herr_t hc = H5Fclose(w->fid);
            w->fid = H5I_INVALID_HID;
            if (hc < 0) {
                char h5[256];
                rls__h5_error(h5, sizeof h5);
                rc = rls_err_set(err, RLS_ERR_IO, "%s: close: %s", w->path, h5);
                s_rollback(w);
            } else if (rls__journal_commit(w->j, &e) != RLS_OK) {
                rc = rls_err_set(err, e.status, "%s", e.msg);
                s_rollback(w);
            } else {
                rls__test_kill_point("close-done");
            }
        }
    }
    rls__h5_restore(&quiet);
    rls__journal_destroy(&w->j);
    s_free_episode(w);
    rls_replay_meta_clear(&w->meta);
    free(w->sum);
    free(w->sumsq);
    free(w);
    *wp = NULL;
    return rc;
}
