/* checkpoint.c - the versioned HDF5 checkpoint (checkpoint.h; the layout is
 * written down once, in policies/CHECKPOINT.md): atomic save (temporary file,
 * flush, fsync, rename, directory fsync) and a load that validates every
 * attribute and dataset, naming the file and the one that is wrong. HDF5's own
 * error printing is switched off around every call (library code never
 * prints); its innermost message is appended to ours instead.
 */
#include "checkpoint.h"

#include "../env/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../env/env.h"

static const int32_t s_default_deltas[] = {-8, -4, -2, -1, 0, 1, 2, 4, 8};

/* ---------------------------------------------------------------------------
 * HDF5 error handling: quiet, and the innermost message kept for ours. */

struct s_quiet {
    H5E_auto2_t func;
    void *data;
};

static void s_quiet_begin(struct s_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5Eclear2(H5E_DEFAULT);
}

static void s_quiet_end(const struct s_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

static herr_t s_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    char *buf = data;
    (void)n;
    if (buf[0] == '\0' && e->desc && e->desc[0])
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

/* The most specific message on HDF5's error stack ("" if none). */
static const char *s_h5_detail(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, s_walk_cb, buf);
    return buf;
}

/* ---------------------------------------------------------------------------
 * Creation, destruction, validation. */

const char *rls_checkpoint_build_feature_names(void)
{
    static char names[RLS_CHECKPOINT_NAMES_MAX];
    if (names[0] == '\0') {
        int32_t n = 0;
        const char *const *v = rls_env_feature_names(&n);
        size_t len = 0;
        for (int32_t i = 0; i < n; i++)
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? "," : "", v[i]);
    }
    return names;
}

static int s_check_sizes(int32_t n_layers, const int32_t *sizes, const char *what,
                         struct rls_err *err)
{
    if (n_layers < 1 || n_layers > RLS_MLP_MAX_LAYERS)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: n_layers %d not in [1, %d]", what,
                           (int)n_layers, RLS_MLP_MAX_LAYERS);
    for (int32_t l = 0; l <= n_layers; l++)
        if (sizes[l] < 1 || sizes[l] > RLS_CHECKPOINT_MAX_SIZE)
            return rls_err_set(err, RLS_ERR_RANGE, "%s: sizes[%d] = %d not in [1, %d]", what,
                               (int)l, (int)sizes[l], RLS_CHECKPOINT_MAX_SIZE);
    return RLS_OK;
}

struct rls_checkpoint *rls_checkpoint_new(int32_t n_layers, const int32_t *sizes,
                                          struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    if (!sizes)
        n_layers = 0;
    if (s_check_sizes(n_layers, sizes, "checkpoint", err) != RLS_OK)
        return NULL;
    ck = calloc(1, sizeof(*ck));
    if (!ck)
        goto nomem;
    ck->version = RLS_CHECKPOINT_VERSION;
    snprintf(ck->activation, sizeof(ck->activation), "relu");
    ck->n_layers = n_layers;
    memcpy(ck->sizes, sizes, (size_t)(n_layers + 1) * sizeof(int32_t));
    for (int32_t l = 0; l < n_layers; l++) {
        ck->weight[l] = calloc((size_t)sizes[l + 1] * (size_t)sizes[l], sizeof(float));
        ck->bias[l] = calloc((size_t)sizes[l + 1], sizeof(float));
        if (!ck->weight[l] || !ck->bias[l])
            goto nomem;
    }
    ck->obs_mean = calloc((size_t)sizes[0], sizeof(float));
    ck->obs_std = malloc((size_t)sizes[0] * sizeof(float));
    if (!ck->obs_mean || !ck->obs_std)
        goto nomem;
    for (int32_t i = 0; i < sizes[0]; i++)
        ck->obs_std[i] = 1.0f;
    ck->n_heads = 1;
    ck->n_deltas = (int32_t)(sizeof(s_default_deltas) / sizeof(s_default_deltas[0]));
    memcpy(ck->deltas, s_default_deltas, sizeof(s_default_deltas));
    ck->n_placements = RLS_ENV_N_PLACEMENTS;
    ck->n_actions = ck->n_deltas * ck->n_placements;
    snprintf(ck->feature_names, sizeof(ck->feature_names), "%s",
             rls_checkpoint_build_feature_names());
    ck->eval_cost = NAN;
    ck->eval_cost_vs_oracle = NAN;
    ck->eval_slo_violation_pct = NAN;
    ck->eval_score = NAN;
    ck->eval_step = -1;
    return ck;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "checkpoint: out of memory");
    rls_checkpoint_destroy(&ck);
    return NULL;
}

void rls_checkpoint_destroy(struct rls_checkpoint **ck)
{
    if (!ck || !*ck)
        return;
    for (int l = 0; l < RLS_MLP_MAX_LAYERS; l++) {
        free((*ck)->weight[l]);
        free((*ck)->bias[l]);
    }
    free((*ck)->obs_mean);
    free((*ck)->obs_std);
    free(*ck);
    *ck = NULL;
}

int64_t rls_checkpoint_macs(const struct rls_checkpoint *ck)
{
    int64_t m = 0;
    if (!ck)
        return 0;
    for (int32_t l = 0; l < ck->n_layers && l < RLS_MLP_MAX_LAYERS; l++)
        m += (int64_t)ck->sizes[l] * ck->sizes[l + 1];
    return m;
}

/* Index of the first non-finite value of a[n], or -1. */
static int64_t s_first_bad(const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return i;
    return -1;
}

int rls_checkpoint_validate(const struct rls_checkpoint *ck, const char *what,
                            struct rls_err *err)
{
    int status;
    int32_t outs;
    if (!what)
        what = "checkpoint";
    if (!ck)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: NULL checkpoint", what);
    if (ck->version != RLS_CHECKPOINT_VERSION)
        return rls_err_set(err, RLS_ERR_VERSION,
                           "%s: attribute 'format_version' is %d, this build reads version %d",
                           what, (int)ck->version, RLS_CHECKPOINT_VERSION);
    status = s_check_sizes(ck->n_layers, ck->sizes, what, err);
    if (status != RLS_OK)
        return status;
    if (strcmp(ck->activation, "relu") != 0)
        return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                           "%s: attribute 'activation' is '%s' (only 'relu' is supported)", what,
                           ck->activation);
    if (ck->n_deltas < 1 || ck->n_deltas > RLS_CHECKPOINT_MAX_DELTAS)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: attribute 'n_deltas' %d not in [1, %d]", what,
                           (int)ck->n_deltas, RLS_CHECKPOINT_MAX_DELTAS);
    if (ck->n_placements < 1 || ck->n_placements > RLS_ENV_N_PLACEMENTS)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: attribute 'n_placements' %d not in [1, %d]",
                           what, (int)ck->n_placements, RLS_ENV_N_PLACEMENTS);
    if (ck->n_actions != ck->n_deltas * ck->n_placements)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "%s: attribute 'n_actions' %d != n_deltas %d * n_placements %d", what,
                           (int)ck->n_actions, (int)ck->n_deltas, (int)ck->n_placements);
    if (ck->n_heads < 1 || ck->n_heads > 2)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: attribute 'n_heads' %d not in [1, 2]", what,
                           (int)ck->n_heads);
    outs = ck->sizes[ck->n_layers];
    if (outs != ck->n_heads * ck->n_actions)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "%s: attribute 'sizes': %d outputs != n_heads %d * n_actions %d", what,
                           (int)outs, (int)ck->n_heads, (int)ck->n_actions);
    if (strcmp(ck->feature_names, rls_checkpoint_build_feature_names()) != 0)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "%s: attribute 'feature_names' differs from this build's features "
                           "(checkpoint: '%.200s'; build: '%.200s')",
                           what, ck->feature_names, rls_checkpoint_build_feature_names());
    if (ck->sizes[0] != RLS_ENV_N_FEATURES)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: sizes[0] = %d inputs, the features are %d",
                           what, (int)ck->sizes[0], RLS_ENV_N_FEATURES);
    for (int32_t l = 0; l < ck->n_layers; l++) {
        int64_t bad;
        if (!ck->weight[l] || !ck->bias[l])
            return rls_err_set(err, RLS_ERR_INVALID, "%s: layer %d has no weights", what, (int)l);
        bad = s_first_bad(ck->weight[l], (int64_t)ck->sizes[l + 1] * ck->sizes[l]);
        if (bad >= 0)
            return rls_err_set(err, RLS_ERR_RANGE,
                               "%s: dataset '/weights/layer_%d/weight' element %lld is %g", what,
                               (int)l, (long long)bad, (double)ck->weight[l][bad]);
        bad = s_first_bad(ck->bias[l], ck->sizes[l + 1]);
        if (bad >= 0)
            return rls_err_set(err, RLS_ERR_RANGE,
                               "%s: dataset '/weights/layer_%d/bias' element %lld is %g", what,
                               (int)l, (long long)bad, (double)ck->bias[l][bad]);
    }
    if (!ck->obs_mean || !ck->obs_std)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: no normalization arrays", what);
    for (int32_t i = 0; i < ck->sizes[0]; i++) {
        if (!isfinite(ck->obs_mean[i]))
            return rls_err_set(err, RLS_ERR_RANGE,
                               "%s: dataset '/normalization/obs_mean' element %d is %g", what,
                               (int)i, (double)ck->obs_mean[i]);
        if (!isfinite(ck->obs_std[i]) || !(ck->obs_std[i] > 0))
            return rls_err_set(err, RLS_ERR_RANGE,
                               "%s: dataset '/normalization/obs_std' element %d is %g (must be "
                               "finite and > 0)",
                               what, (int)i, (double)ck->obs_std[i]);
    }
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * Save. */

static int s_put_attr(hid_t file, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *data)
{
    hid_t space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t attr = H5I_INVALID_HID;
    herr_t rc = -1;
    if (space < 0)
        return -1;
    attr = H5Acreate2(file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0)
        rc = H5Awrite(attr, mtype, data);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

static int s_put_i32(hid_t f, const char *name, int32_t v)
{
    return s_put_attr(f, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &v);
}

static int s_put_str(hid_t f, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc;
    if (t < 0)
        return -1;
    H5Tset_size(t, strlen(s) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    rc = s_put_attr(f, name, t, t, 0, s);
    H5Tclose(t);
    return rc;
}

/* A float32 dataset at path with checksums (fletcher32, one chunk). */
static int s_put_f32(hid_t loc, const char *path, int rank, const hsize_t *dims, const float *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = H5I_INVALID_HID;
    herr_t rc = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, dims) >= 0 &&
        H5Pset_fletcher32(dcpl) >= 0)
        ds = H5Dcreate2(loc, path, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0)
        rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

static int s_put_group(hid_t loc, const char *path)
{
    hid_t g = H5Gcreate2(loc, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    H5Gclose(g);
    return 0;
}

/* One root attribute to write: its name, its type, its value, and how many
 * elements (0: a scalar; strings are always scalars). */
enum s_kind { S_STR, S_I32, S_I64, S_U64, S_F64 };

struct s_attr_out {
    const char *name;
    enum s_kind kind;
    const void *value;
    hsize_t n;
};

static int s_put_kind(hid_t loc, const struct s_attr_out *a)
{
    switch (a->kind) {
    case S_STR:
        return s_put_str(loc, a->name, a->value);
    case S_I32:
        return s_put_attr(loc, a->name, H5T_STD_I32LE, H5T_NATIVE_INT32, a->n, a->value);
    case S_I64:
        return s_put_attr(loc, a->name, H5T_STD_I64LE, H5T_NATIVE_INT64, a->n, a->value);
    case S_U64:
        return s_put_attr(loc, a->name, H5T_STD_U64LE, H5T_NATIVE_UINT64, a->n, a->value);
    case S_F64:
        return s_put_attr(loc, a->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, a->n, a->value);
    }
    return -1;
}

/* FNV-1a 64 of the attributes as the loader reads them back (CHECKPOINT.md,
 * "Checksums"): a canonical text, then the int32 arrays little-endian. */
static uint64_t s_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t s_attrs_digest(const struct rls_checkpoint *ck, const char *created)
{
    char head[512];
    uint64_t h = 14695981039346656037ULL;
    snprintf(head, sizeof head, "rlsched-checkpoint-attrs 1\nversion=%d layers=%d heads=%d deltas=%d "
             "placements=%d actions=%d steps=%lld seed=%llu eval=%a,%a,%a,%a,%lld\n", (int)ck->version,
             (int)ck->n_layers, (int)ck->n_heads, (int)ck->n_deltas, (int)ck->n_placements, (int)ck->n_actions,
             (long long)ck->steps, (unsigned long long)ck->seed, ck->eval_cost, ck->eval_cost_vs_oracle,
             ck->eval_slo_violation_pct, ck->eval_score, (long long)ck->eval_step);
    h = s_fnv(h, head, strlen(head));
    const double ev[4] = {ck->eval_cost, ck->eval_cost_vs_oracle, ck->eval_slo_violation_pct, ck->eval_score};
    for (int k = 0; k < 4; k++) {   /* the bits too: %a prints every NaN alike */
        uint64_t u;
        unsigned char b[8];
        memcpy(&u, &ev[k], 8);
        for (int j = 0; j < 8; j++)
            b[j] = (unsigned char)(u >> (8 * j));
        h = s_fnv(h, b, 8);
    }
    for (int32_t i = 0; i <= ck->n_layers && i <= RLS_MLP_MAX_LAYERS; i++) {
        unsigned char b[4];
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)((uint32_t)ck->sizes[i] >> (8 * k));
        h = s_fnv(h, b, 4);
    }
    for (int32_t i = 0; i < ck->n_deltas && i < RLS_CHECKPOINT_MAX_DELTAS; i++) {
        unsigned char b[4];
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)((uint32_t)ck->deltas[i] >> (8 * k));
        h = s_fnv(h, b, 4);
    }
    const char *txt[6] = {ck->algorithm, ck->activation, ck->feature_names, ck->data_fingerprint,
                          ck->scenario_name, created};
    for (int k = 0; k < 6; k++)
        h = s_fnv(h, txt[k], strlen(txt[k]) + 1);
    return h;
}

static uint64_t s_fnv_i64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int j = 0; j < 8; j++)
        b[j] = (unsigned char)(v >> (8 * j));
    return s_fnv(h, b, 8);
}

/* n float32 values as their 4 bytes little-endian (NaN payloads included). */
static uint64_t s_fnv_f32(uint64_t h, const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        unsigned char b[4];
        memcpy(&u, &a[i], 4);
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)(u >> (8 * k));
        h = s_fnv(h, b, 4);
    }
    return h;
}

/* FNV-1a 64 of the datasets as the loader reads them back (CHECKPOINT.md,
 * "Checksums"): each path with its NUL, then its float32 values. Covers what
 * Fletcher-32 cannot: a damaged chunk index, datatype or fill value makes
 * libhdf5 return other numbers than the stored, checksummed ones. */
static uint64_t s_data_digest(const struct rls_checkpoint *ck)
{
    static const char head[] = "rlsched-checkpoint-data 1\n";
    char path[64];
    uint64_t h = s_fnv(14695981039346656037ULL, head, strlen(head));
    for (int32_t l = 0; l < ck->n_layers && l < RLS_MLP_MAX_LAYERS; l++) {
        snprintf(path, sizeof(path), "/weights/layer_%d/weight", (int)l);
        h = s_fnv(h, path, strlen(path) + 1);
        h = s_fnv_f32(h, ck->weight[l], (int64_t)ck->sizes[l + 1] * ck->sizes[l]);
        snprintf(path, sizeof(path), "/weights/layer_%d/bias", (int)l);
        h = s_fnv(h, path, strlen(path) + 1);
        h = s_fnv_f32(h, ck->bias[l], ck->sizes[l + 1]);
    }
    h = s_fnv(h, "/normalization/obs_mean", sizeof("/normalization/obs_mean"));
    h = s_fnv_f32(h, ck->obs_mean, ck->sizes[0]);
    h = s_fnv(h, "/normalization/obs_std", sizeof("/normalization/obs_std"));
    return s_fnv_f32(h, ck->obs_std, ck->sizes[0]);
}

/* Index of the smallest name in names (stride bytes apart, n of them) that
 * sorts after `after` (NULL: the smallest), or -1. */
static int32_t s_next_name(const char *names, size_t stride, int32_t n, const char *after)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++) {
        const char *c = names + (size_t)i * stride;
        if ((!after || strcmp(c, after) > 0) &&
            (best < 0 || strcmp(c, names + (size_t)best * stride) < 0))
            best = i;
    }
    return best;
}

static int64_t s_state_numel(int32_t rank, const int64_t *dims);

/* FNV-1a 64 of /train_state as rls_checkpoint_load_state returns it
 * (CHECKPOINT.md, "Checksums"): a text with the version and counts, then the
 * scalars by name (name, NUL, uint64 LE), then the tensors by name (name,
 * NUL, rank int32 LE, dims int64 LE, float32 values LE). */
static uint64_t s_state_digest(const struct rls_checkpoint_state *st, int32_t version)
{
    char head[128];
    uint64_t h = 14695981039346656037ULL;
    const char *prev = NULL;
    int32_t i;
    snprintf(head, sizeof(head), "rlsched-checkpoint-state 1\nstate_version=%d scalars=%d tensors=%d\n",
             (int)version, (int)st->n_scalars, (int)st->n_tensors);
    h = s_fnv(h, head, strlen(head));
    while ((i = s_next_name(st->scalars ? st->scalars[0].name : NULL, sizeof(st->scalars[0]),
                            st->n_scalars, prev)) >= 0) {
        const struct rls_checkpoint_scalar *c = &st->scalars[i];
        h = s_fnv(h, c->name, strlen(c->name) + 1);
        h = s_fnv_i64(h, c->value);
        prev = c->name;
    }
    prev = NULL;
    while ((i = s_next_name(st->tensors ? st->tensors[0].name : NULL, sizeof(st->tensors[0]),
                            st->n_tensors, prev)) >= 0) {
        const struct rls_checkpoint_tensor *t = &st->tensors[i];
        unsigned char b[4];
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)((uint32_t)t->rank >> (8 * k));
        h = s_fnv(h, t->name, strlen(t->name) + 1);
        h = s_fnv(h, b, 4);
        for (int32_t k = 0; k < t->rank && k < 2; k++)
            h = s_fnv_i64(h, (uint64_t)t->dims[k]);
        h = s_fnv_f32(h, t->data, s_state_numel(t->rank, t->dims));
        prev = t->name;
    }
    return h;
}

/* Everything into an open file; returns the name of what failed (possibly in
 * name[cap]) or NULL. */
static const char *s_write_all(hid_t f, const struct rls_checkpoint *ck, const char *created,
                               char *name, size_t cap)
{
    const uint64_t digest = s_attrs_digest(ck, created);
    const uint64_t data_digest = s_data_digest(ck);
    const struct s_attr_out attrs[] = {
        {"format", S_STR, RLS_CHECKPOINT_FORMAT, 0},
        {"format_version", S_I32, &ck->version, 0},
        {"algorithm", S_STR, ck->algorithm, 0},
        {"activation", S_STR, ck->activation, 0},
        {"n_layers", S_I32, &ck->n_layers, 0},
        {"sizes", S_I32, ck->sizes, (hsize_t)ck->n_layers + 1},
        {"n_heads", S_I32, &ck->n_heads, 0},
        {"n_deltas", S_I32, &ck->n_deltas, 0},
        {"deltas", S_I32, ck->deltas, (hsize_t)ck->n_deltas},
        {"n_placements", S_I32, &ck->n_placements, 0},
        {"n_actions", S_I32, &ck->n_actions, 0},
        {"feature_names", S_STR, ck->feature_names, 0},
        {"data_fingerprint", S_STR, ck->data_fingerprint, 0},
        {"steps", S_I64, &ck->steps, 0},
        {"seed", S_U64, &ck->seed, 0},
        {"scenario_name", S_STR, ck->scenario_name, 0},
        {"eval_cost", S_F64, &ck->eval_cost, 0},
        {"eval_cost_vs_oracle", S_F64, &ck->eval_cost_vs_oracle, 0},
        {"eval_slo_violation_pct", S_F64, &ck->eval_slo_violation_pct, 0},
        {"eval_score", S_F64, &ck->eval_score, 0},
        {"eval_step", S_I64, &ck->eval_step, 0},
        {"created", S_STR, created, 0},
        {"attrs_fnv1a64", S_U64, &digest, 0},
        {"data_fnv1a64", S_U64, &data_digest, 0},
    };
    char path[64];
    hsize_t n = 0;
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        if (s_put_kind(f, &attrs[i]) < 0) {
            snprintf(name, cap, "attribute '%s'", attrs[i].name);
            return name;
        }
    if (s_put_group(f, "/weights") < 0)
        return "group '/weights'";
    for (int32_t l = 0; l < ck->n_layers; l++) {
        hsize_t wd[2] = {(hsize_t)ck->sizes[l + 1], (hsize_t)ck->sizes[l]};
        snprintf(path, sizeof(path), "/weights/layer_%d", (int)l);
        if (s_put_group(f, path) < 0)
            return "group '/weights/layer_<l>'";
        snprintf(path, sizeof(path), "/weights/layer_%d/weight", (int)l);
        if (s_put_f32(f, path, 2, wd, ck->weight[l]) < 0)
            return "dataset '/weights/layer_<l>/weight'";
        snprintf(path, sizeof(path), "/weights/layer_%d/bias", (int)l);
        if (s_put_f32(f, path, 1, wd, ck->bias[l]) < 0)
            return "dataset '/weights/layer_<l>/bias'";
    }
    if (s_put_group(f, "/normalization") < 0)
        return "group '/normalization'";
    n = (hsize_t)ck->sizes[0];
    if (s_put_f32(f, "/normalization/obs_mean", 1, &n, ck->obs_mean) < 0)
        return "dataset '/normalization/obs_mean'";
    if (s_put_f32(f, "/normalization/obs_std", 1, &n, ck->obs_std) < 0)
        return "dataset '/normalization/obs_std'";
    return NULL;
}

static int s_fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    int rc = 0;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int s_state_validate(const struct rls_checkpoint_state *st, const char *what,
                            struct rls_err *err);
static const char *s_write_state(hid_t f, const struct rls_checkpoint_state *st, char *name,
                                 size_t cap);

int rls_checkpoint_save(const struct rls_checkpoint *ck, const char *path, struct rls_err *err)
{
    return rls_checkpoint_save_with_state(ck, NULL, path, err);
}

int rls_checkpoint_save_with_state(const struct rls_checkpoint *ck,
                                   const struct rls_checkpoint_state *st, const char *path,
                                   struct rls_err *err)
{
    char failed_name[RLS_CHECKPOINT_STATE_NAME_MAX + 64];
    struct s_quiet q;
    char tmp[RLS_ERRMSG_MAX];
    char dir[RLS_ERRMSG_MAX];
    char created[32];
    char detail[256];
    const char *failed = NULL;
    hid_t f = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    int status = RLS_OK;
    int made = 0;
    char *slash = NULL;

    if (!path || !path[0])
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint save: empty path");
    status = rls_checkpoint_validate(ck, path, err);
    if (status != RLS_OK)
        return status;
    if (st && (status = s_state_validate(st, path, err)) != RLS_OK)
        return status;
    if (strlen(path) + 32 >= sizeof(tmp))
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint save: path too long");
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (ck->created[0]) {
        snprintf(created, sizeof(created), "%s", ck->created);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }

    s_quiet_begin(&q);
    /* the most compatible file format (readable by every h5py; the 1.8+
       format with checksummed headers made HDF5 1.10.8 leak memory under
       ASan); the data is checksummed anyway (fletcher32) */
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    errno = 0;
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (f < 0) {
        int e = errno;
        status = rls_err_set(err, RLS_ERR_IO, "%s: cannot create '%s': %s", path, tmp,
                             e ? strerror(e) : s_h5_detail(detail));
        goto done;
    }
    made = 1;
    failed = s_write_all(f, ck, created, failed_name, sizeof(failed_name));
    if (!failed && st)
        failed = s_write_state(f, st, failed_name, sizeof(failed_name));
    if (failed) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: writing %s failed: %s", tmp, failed,
                             s_h5_detail(detail));
        goto done;
    }
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: flush failed: %s", tmp, s_h5_detail(detail));
        goto done;
    }
    if (H5Fclose(f) < 0) {
        f = H5I_INVALID_HID;
        status = rls_err_set(err, RLS_ERR_IO, "%s: close failed: %s", tmp, s_h5_detail(detail));
        goto done;
    }
    f = H5I_INVALID_HID;
    if (s_fsync_path(tmp, 0) != 0) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: cannot rename '%s' into place: %s", path, tmp,
                             strerror(errno));
        goto done;
    }
    made = 0;
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    s_fsync_path(dir, 1);   /* best effort: the rename is durable once the dir is synced */
done:
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (made)
        unlink(tmp);
    s_quiet_end(&q);
    return status;
}

/* ---------------------------------------------------------------------------
 * Load. */

/* An open file being read (s_loader_open, s_loader_close): its path for the
 * messages, and HDF5's error printing switched off meanwhile. */
struct s_loader {
    const char *path;
    hid_t f;
    struct rls_err *err;
    char detail[256];
    struct s_quiet q;
    int64_t size;       /* the file's bytes: no dataset holds more (nothing is compressed) */
};

/* Refuses a dataset whose shape claims more float32 values than the file
 * could hold (a damaged dataspace), before anything is allocated for it. */
static int s_claim_fits(struct s_loader *ld, const char *path, int64_t numel)
{
    if (numel > ld->size / (int64_t)sizeof(float))
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: dataset '%s' claims %lld values, more than the "
                           "file's %lld bytes hold (corrupt file)", ld->path, path, (long long)numel,
                           (long long)ld->size);
    return RLS_OK;
}

/* Opens attribute `name` checking its class and element count (n = 0: scalar
 * or one element). Returns the attribute id or a negative value with err set. */
static hid_t s_attr_open(struct s_loader *ld, const char *name, H5T_class_t cls, hssize_t n,
                         hssize_t *count)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hssize_t pts = 0;
    htri_t ex = H5Aexists(ld->f, name);
    if (ex <= 0) {
        rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' is missing", ld->path, name);
        return -1;
    }
    a = H5Aopen(ld->f, name, H5P_DEFAULT);
    if (a < 0) {
        rls_err_set(ld->err, RLS_ERR_IO, "%s: attribute '%s' unreadable: %s", ld->path, name,
                    s_h5_detail(ld->detail));
        return -1;
    }
    t = H5Aget_type(a);
    s = H5Aget_space(a);
    pts = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (t < 0 || H5Tget_class(t) != cls) {
        rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' has the wrong type (expected %s)",
                    ld->path, name,
                    cls == H5T_STRING ? "string" : cls == H5T_FLOAT ? "float" : "integer");
        goto fail;
    }
    if ((n == 0 && pts != 1) || (n > 0 && pts != n) || pts < 0) {
        rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' has %lld elements, expected %lld",
                    ld->path, name, (long long)pts, (long long)(n ? n : 1));
        goto fail;
    }
    if (count)
        *count = pts;
    H5Tclose(t);
    H5Sclose(s);
    return a;
fail:
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Aclose(a);
    return -1;
}

static int s_get_num(struct s_loader *ld, const char *name, H5T_class_t cls, hid_t mtype,
                     hssize_t n, void *out)
{
    hid_t a = s_attr_open(ld, name, cls, n, NULL);
    herr_t rc;
    if (a < 0)
        return ld->err ? ld->err->status : RLS_ERR_PARSE;
    rc = H5Aread(a, mtype, out);
    H5Aclose(a);
    if (rc < 0)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' unreadable: %s", ld->path,
                           name, s_h5_detail(ld->detail));
    return RLS_OK;
}

static int s_get_i32(struct s_loader *ld, const char *name, int32_t *v)
{
    return s_get_num(ld, name, H5T_INTEGER, H5T_NATIVE_INT32, 0, v);
}

static int s_get_f64(struct s_loader *ld, const char *name, double *v)
{
    return s_get_num(ld, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 0, v);
}

/* A fixed-length or variable-length string attribute into out[cap]. */
static int s_get_str(struct s_loader *ld, const char *name, char *out, size_t cap)
{
    hid_t a = s_attr_open(ld, name, H5T_STRING, 0, NULL);
    hid_t t = H5I_INVALID_HID, m = H5I_INVALID_HID;
    int status = RLS_OK;
    if (a < 0)
        return ld->err ? ld->err->status : RLS_ERR_PARSE;
    t = H5Aget_type(a);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        m = H5Tcopy(H5T_C_S1);
        H5Tset_size(m, H5T_VARIABLE);
        if (H5Aread(a, m, &s) < 0 || !s) {
            status = rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' unreadable: %s",
                                 ld->path, name, s_h5_detail(ld->detail));
        } else {
            if (strlen(s) >= cap)
                status = rls_err_set(ld->err, RLS_ERR_RANGE,
                                     "%s: attribute '%s' is %zu bytes long, at most %zu", ld->path,
                                     name, strlen(s), cap - 1);
            else
                snprintf(out, cap, "%s", s);
            H5free_memory(s);
        }
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(sz + 1, 1);
        if (!buf) {
            status = rls_err_set(ld->err, RLS_ERR_NOMEM, "%s: out of memory", ld->path);
        } else if (H5Aread(a, t, buf) < 0) {
            status = rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' unreadable: %s",
                                 ld->path, name, s_h5_detail(ld->detail));
        } else if (strlen(buf) >= cap) {
            status = rls_err_set(ld->err, RLS_ERR_RANGE,
                                 "%s: attribute '%s' is %zu bytes long, at most %zu", ld->path,
                                 name, strlen(buf), cap - 1);
        } else {
            snprintf(out, cap, "%s", buf);
        }
        free(buf);
    }
    if (m >= 0)
        H5Tclose(m);
    H5Tclose(t);
    H5Aclose(a);
    return status;
}

/* 1 when every component of an absolute path exists. */
static int s_path_exists(hid_t f, const char *path)
{
    char buf[128];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return 0;
    for (size_t i = 1; i <= len; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            memcpy(buf, path, i);
            buf[i] = '\0';
            if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
                return 0;
        }
    }
    return 1;
}

/* Opens dataset `path` of ld's file, which must be floating point: *ds (the
 * caller closes it), its rank in *rank (-1 if unknown) and, for a rank of at
 * most 4, its shape in got[4]. Refuses an unreadable dataset, or one that is
 * not floating point ("dataset '<path>' is not <expect>"), naming the file
 * and the dataset. Returns RLS_OK, or the error with *ds closed and < 0. */
static int s_f32_open(struct s_loader *ld, const char *path, const char *expect, hid_t *ds,
                      int *rank, hsize_t got[4])
{
    hid_t sp = H5I_INVALID_HID, t = H5I_INVALID_HID;
    int status = RLS_OK;
    *rank = -1;
    *ds = H5Dopen2(ld->f, path, H5P_DEFAULT);
    if (*ds < 0)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: '%s' is not a readable dataset: %s",
                           ld->path, path, s_h5_detail(ld->detail));
    t = H5Dget_type(*ds);
    sp = H5Dget_space(*ds);
    *rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (*rank >= 0 && *rank <= 4)
        H5Sget_simple_extent_dims(sp, got, NULL);
    if (t < 0 || H5Tget_class(t) != H5T_FLOAT) {
        status = rls_err_set(ld->err, RLS_ERR_PARSE, "%s: dataset '%s' is not %s", ld->path,
                             path, expect);
        H5Dclose(*ds);
        *ds = H5I_INVALID_HID;
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    return status;
}

/* Reads all n elements of the open dataset ds (`path`) into buf as float and
 * refuses a non-finite one, naming the file, the dataset and the element. */
static int s_f32_read(struct s_loader *ld, hid_t ds, const char *path, float *buf, int64_t n)
{
    int64_t bad;
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return rls_err_set(ld->err, RLS_ERR_IO,
                           "%s: dataset '%s' cannot be read (corrupt or truncated file?): %s",
                           ld->path, path, s_h5_detail(ld->detail));
    bad = s_first_bad(buf, n);
    if (bad >= 0)
        return rls_err_set(ld->err, RLS_ERR_RANGE, "%s: dataset '%s' element %lld is %g",
                           ld->path, path, (long long)bad, (double)buf[bad]);
    return RLS_OK;
}

/* Reads float32 dataset `path` of shape dims[rank] into out (allocated here). */
static int s_get_f32(struct s_loader *ld, const char *path, int rank, const hsize_t *dims,
                     float **out)
{
    hid_t ds = H5I_INVALID_HID;
    hsize_t got[4] = {0, 0, 0, 0};
    int grank = 0;
    int status = RLS_OK;
    size_t n = 1;
    float *buf = NULL;

    if (!s_path_exists(ld->f, path))
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: dataset '%s' is missing", ld->path, path);
    if ((status = s_f32_open(ld, path, "floating point", &ds, &grank, got)) != RLS_OK)
        return status;
    if (grank != rank || got[0] != dims[0] || (rank == 2 && got[1] != dims[1])) {
        if (rank == 2)
            status = rls_err_set(ld->err, RLS_ERR_RANGE,
                                 "%s: dataset '%s' has shape [%llu, %llu] (rank %d), the "
                                 "'sizes' attribute needs [%llu, %llu]",
                                 ld->path, path, (unsigned long long)got[0],
                                 (unsigned long long)got[1], grank, (unsigned long long)dims[0],
                                 (unsigned long long)dims[1]);
        else
            status = rls_err_set(ld->err, RLS_ERR_RANGE,
                                 "%s: dataset '%s' has shape [%llu] (rank %d), the 'sizes' "
                                 "attribute needs [%llu]",
                                 ld->path, path, (unsigned long long)got[0], grank,
                                 (unsigned long long)dims[0]);
        goto done;
    }
    for (int k = 0; k < rank; k++)
        n *= (size_t)dims[k];
    if ((status = s_claim_fits(ld, path, (int64_t)n)) != RLS_OK)
        goto done;
    buf = malloc(n * sizeof(float));
    if (!buf) {
        status = rls_err_set(ld->err, RLS_ERR_NOMEM, "%s: out of memory", ld->path);
        goto done;
    }
    status = s_f32_read(ld, ds, path, buf, (int64_t)n);
    if (status == RLS_OK) {
        *out = buf;
        buf = NULL;
    }
done:
    free(buf);
    H5Dclose(ds);
    return status;
}

/* 1 in *has when root attribute `name` exists, 0 when not; RLS_ERR_PARSE
 * when libhdf5 cannot tell (a damaged attribute table). */
static int s_root_attr_exists(struct s_loader *ld, const char *name, int *has)
{
    htri_t ex = H5Aexists(ld->f, name);
    *has = ex > 0;
    if (ex < 0)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: attribute '%s' cannot be looked up: %s: the "
                           "file is damaged", ld->path, name, s_h5_detail(ld->detail));
    return RLS_OK;
}

/* Checksum attributes a and b of the root: *has 1 when both exist, 0 when
 * neither does (a file written before checksums). One without the other is
 * a damaged attribute name: RLS_ERR_PARSE naming the missing one. */
static int s_checksums_present(struct s_loader *ld, const char *a, const char *b, int *has)
{
    int ha = 0, hb = 0, status;
    if ((status = s_root_attr_exists(ld, a, &ha)) != RLS_OK ||
        (status = s_root_attr_exists(ld, b, &hb)) != RLS_OK)
        return status;
    *has = ha && hb;
    if (ha != hb)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: checksum attribute '%s' is missing while '%s' is "
                           "present: the file is damaged", ld->path, ha ? b : a, ha ? a : b);
    return RLS_OK;
}

/* Compares the uint64 root attribute `name` with the digest computed from
 * what was read; `what` names the checksummed part in the message. */
static int s_check_digest(struct s_loader *ld, const char *name, const char *what, uint64_t got)
{
    uint64_t want = 0;
    int status = s_get_num(ld, name, H5T_INTEGER, H5T_NATIVE_UINT64, 0, &want);
    if (status != RLS_OK)
        return status;
    if (want != got)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: %s checksum mismatch (stored %016llx, computed "
                           "%016llx): the file is damaged", ld->path, what, (unsigned long long)want,
                           (unsigned long long)got);
    return RLS_OK;
}

static int s_load_all(struct s_loader *ld, struct rls_checkpoint *ck)
{
    char fmt[64];
    char path[64];
    int status;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    hssize_t n = 0;
    hid_t a;
    int has = 0;

    status = s_get_str(ld, "format", fmt, sizeof(fmt));
    if (status != RLS_OK)
        return status;
    if (strcmp(fmt, RLS_CHECKPOINT_FORMAT) != 0)
        return rls_err_set(ld->err, RLS_ERR_PARSE,
                           "%s: attribute 'format' is '%s', not '" RLS_CHECKPOINT_FORMAT
                           "' (not a checkpoint)",
                           ld->path, fmt);
    if ((status = s_get_i32(ld, "format_version", &ck->version)) != RLS_OK)
        return status;
    if (ck->version != RLS_CHECKPOINT_VERSION)
        return rls_err_set(ld->err, RLS_ERR_VERSION,
                           "%s: attribute 'format_version' is %d, this build reads version %d",
                           ld->path, (int)ck->version, RLS_CHECKPOINT_VERSION);
    if ((status = s_get_str(ld, "algorithm", ck->algorithm, sizeof(ck->algorithm))) != RLS_OK ||
        (status = s_get_str(ld, "activation", ck->activation, sizeof(ck->activation))) != RLS_OK ||
        (status = s_get_i32(ld, "n_layers", &ck->n_layers)) != RLS_OK)
        return status;
    if (ck->n_layers < 1 || ck->n_layers > RLS_MLP_MAX_LAYERS)
        return rls_err_set(ld->err, RLS_ERR_RANGE, "%s: attribute 'n_layers' %d not in [1, %d]",
                           ld->path, (int)ck->n_layers, RLS_MLP_MAX_LAYERS);
    if ((status = s_get_num(ld, "sizes", H5T_INTEGER, H5T_NATIVE_INT32, ck->n_layers + 1,
                            ck->sizes)) != RLS_OK)
        return status;
    if ((status = s_check_sizes(ck->n_layers, ck->sizes, ld->path, ld->err)) != RLS_OK)
        return status;
    if ((status = s_get_i32(ld, "n_heads", &ck->n_heads)) != RLS_OK ||
        (status = s_get_i32(ld, "n_deltas", &ck->n_deltas)) != RLS_OK)
        return status;
    a = s_attr_open(ld, "deltas", H5T_INTEGER, -1, &n);
    if (a < 0)
        return ld->err ? ld->err->status : RLS_ERR_PARSE;
    H5Aclose(a);
    if (n != ck->n_deltas || n < 1 || n > RLS_CHECKPOINT_MAX_DELTAS)
        return rls_err_set(ld->err, RLS_ERR_RANGE,
                           "%s: attribute 'deltas' has %lld entries, 'n_deltas' says %d (1..%d)",
                           ld->path, (long long)n, (int)ck->n_deltas, RLS_CHECKPOINT_MAX_DELTAS);
    if ((status = s_get_num(ld, "deltas", H5T_INTEGER, H5T_NATIVE_INT32, n, ck->deltas)) !=
            RLS_OK ||
        (status = s_get_i32(ld, "n_placements", &ck->n_placements)) != RLS_OK ||
        (status = s_get_i32(ld, "n_actions", &ck->n_actions)) != RLS_OK ||
        (status = s_get_str(ld, "feature_names", ck->feature_names, sizeof(ck->feature_names))) !=
            RLS_OK ||
        (status = s_get_str(ld, "data_fingerprint", ck->data_fingerprint,
                            sizeof(ck->data_fingerprint))) != RLS_OK ||
        (status = s_get_num(ld, "steps", H5T_INTEGER, H5T_NATIVE_INT64, 0, &i64)) != RLS_OK ||
        (status = s_get_num(ld, "seed", H5T_INTEGER, H5T_NATIVE_UINT64, 0, &u64)) != RLS_OK ||
        (status = s_get_str(ld, "scenario_name", ck->scenario_name, sizeof(ck->scenario_name))) !=
            RLS_OK ||
        (status = s_get_f64(ld, "eval_cost", &ck->eval_cost)) != RLS_OK ||
        (status = s_get_f64(ld, "eval_cost_vs_oracle", &ck->eval_cost_vs_oracle)) != RLS_OK ||
        (status = s_get_f64(ld, "eval_slo_violation_pct", &ck->eval_slo_violation_pct)) !=
            RLS_OK ||
        (status = s_get_f64(ld, "eval_score", &ck->eval_score)) != RLS_OK ||
        (status = s_get_num(ld, "eval_step", H5T_INTEGER, H5T_NATIVE_INT64, 0, &ck->eval_step)) !=
            RLS_OK ||
        (status = s_get_str(ld, "created", ck->created, sizeof(ck->created))) != RLS_OK)
        return status;
    ck->steps = i64;
    ck->seed = u64;
    for (int32_t l = 0; l < ck->n_layers; l++) {
        hsize_t wd[2] = {(hsize_t)ck->sizes[l + 1], (hsize_t)ck->sizes[l]};
        snprintf(path, sizeof(path), "/weights/layer_%d/weight", (int)l);
        if ((status = s_get_f32(ld, path, 2, wd, &ck->weight[l])) != RLS_OK)
            return status;
        snprintf(path, sizeof(path), "/weights/layer_%d/bias", (int)l);
        if ((status = s_get_f32(ld, path, 1, wd, &ck->bias[l])) != RLS_OK)
            return status;
    }
    {
        hsize_t nf = (hsize_t)ck->sizes[0];
        if ((status = s_get_f32(ld, "/normalization/obs_mean", 1, &nf, &ck->obs_mean)) != RLS_OK ||
            (status = s_get_f32(ld, "/normalization/obs_std", 1, &nf, &ck->obs_std)) != RLS_OK)
            return status;
    }
    /* semantic checks first (their messages say what is wrong), then the
     * checksums of the attributes and of the datasets as read; both absent
     * in files written before them (accepted), never one without the other */
    if ((status = rls_checkpoint_validate(ck, ld->path, ld->err)) != RLS_OK)
        return status;
    if ((status = s_checksums_present(ld, "attrs_fnv1a64", "data_fnv1a64", &has)) != RLS_OK || !has)
        return status;
    if ((status = s_check_digest(ld, "attrs_fnv1a64", "attributes'", s_attrs_digest(ck, ck->created))) !=
            RLS_OK ||
        (status = s_check_digest(ld, "data_fnv1a64", "datasets'", s_data_digest(ck))) != RLS_OK)
        return status;
    return RLS_OK;
}

static uint64_t s_le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | b[k];
    return v;
}

/* Compares the end-of-file address in the superblock (at offset 0, any
 * version, 8-byte offsets) with the file's size: HDF5 1.10 leaks memory when
 * it refuses a truncated file, so truncation is caught here first. Returns
 * RLS_OK when the file is long enough or the superblock is not one we parse
 * (then H5Fopen decides), RLS_ERR_IO when truncated. */
static int s_check_length(const char *path, int64_t size, struct rls_err *err)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[64];
    size_t got = 0;
    size_t at = 0;
    uint64_t base = 0, eof = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return RLS_OK;
    got = fread(b, 1, sizeof(b), f);
    fclose(f);
    if (got < 56 || memcmp(b, sig, 8) != 0)
        return RLS_OK;
    switch (b[8]) {
    case 0: at = 24; break;            /* then base, free-space, eof */
    case 1: at = 28; break;
    case 2: case 3: at = 12; break;    /* then base, extension, eof */
    default: return RLS_OK;
    }
    if ((b[8] <= 1 && b[13] != 8) || (b[8] >= 2 && b[9] != 8))
        return RLS_OK;   /* offsets are not 8 bytes */
    base = s_le64(b + at);
    eof = s_le64(b + at + 16);
    if (base + eof > (uint64_t)size)
        return rls_err_set(err, RLS_ERR_IO,
                           "%s: truncated file: %lld bytes, the superblock says %llu", path,
                           (long long)size, (unsigned long long)(base + eof));
    return RLS_OK;
}

/* Quiets HDF5 and opens path read-only into ld->f after the checks HDF5
 * cannot make quietly: a regular file, not truncated (HDF5 1.10 leaks
 * refusing one), an HDF5 signature. Returns RLS_OK, or the error (naming the
 * file) in err; either way the caller calls s_loader_close(ld) after. */
static int s_loader_open(struct s_loader *ld, const char *path, struct rls_err *err)
{
    struct stat sb;
    int status;
    memset(ld, 0, sizeof(*ld));
    ld->path = path;
    ld->err = err;
    ld->f = H5I_INVALID_HID;
    s_quiet_begin(&ld->q);
    if (stat(path, &sb) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return rls_err_set(err, RLS_ERR_IO, "%s: not a regular file", path);
    ld->size = (int64_t)sb.st_size;
    if ((status = s_check_length(path, (int64_t)sb.st_size, err)) != RLS_OK)
        return status;
    if (H5Fis_hdf5(path) <= 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: not an HDF5 file (%lld bytes; corrupt?)", path,
                           (long long)sb.st_size);
    ld->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (ld->f < 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot open as HDF5 (truncated or corrupt?): %s",
                           path, s_h5_detail(ld->detail));
    return RLS_OK;
}

/* Closes what s_loader_open opened and gives HDF5 its error printing back. */
static void s_loader_close(struct s_loader *ld)
{
    if (ld->f >= 0)
        H5Fclose(ld->f);
    ld->f = H5I_INVALID_HID;
    s_quiet_end(&ld->q);
}

static int s_load_direct(const char *path, struct rls_checkpoint **out, struct rls_err *err);
static int s_load_state_direct(const char *path, struct rls_checkpoint_state **out, struct rls_err *err);

struct s_iso_arg {
    const char *path;
    int state;      /* 0: the policy (load), 1: the training state (load_state) */
};

/* The check run in a forked child (env/isolate.h): the same load, leaking
 * whatever it returns (the child exits). */
static int s_iso_check(void *arg, struct rls_err *err)
{
    const struct s_iso_arg *a = arg;
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    return a->state ? s_load_state_direct(a->path, &st, err) : s_load_direct(a->path, &ck, err);
}

/* Runs the load in a child first (a corrupt file that crashes libhdf5 is
 * refused with one message), unless RLS_CHECKPOINT_NO_ISOLATE is set. */
static int s_isolated(const char *path, int state, struct rls_err *err)
{
    const char *no = getenv("RLS_CHECKPOINT_NO_ISOLATE");
    struct s_iso_arg a = {path, state};
    struct stat sb;
    if ((no && *no && strcmp(no, "0") != 0) || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return RLS_OK;   /* the direct load reports a missing file itself */
    return rls_isolate_run(s_iso_check, &a, path, err);
}

int rls_checkpoint_load(const char *path, struct rls_checkpoint **out, struct rls_err *err)
{
    int status;
    if (out)
        *out = NULL;
    if (!path || !out)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint load: NULL path or out");
    if ((status = s_isolated(path, 0, err)) != RLS_OK)
        return status;
    return s_load_direct(path, out, err);
}

int rls_checkpoint_load_state(const char *path, struct rls_checkpoint_state **out,
                              struct rls_err *err)
{
    int status;
    if (out)
        *out = NULL;
    if (!path || !out)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint state load: NULL path or out");
    if ((status = s_isolated(path, 1, err)) != RLS_OK)
        return status;
    return s_load_state_direct(path, out, err);
}

static int s_load_direct(const char *path, struct rls_checkpoint **out, struct rls_err *err)
{
    struct s_loader ld;
    struct rls_checkpoint *ck = NULL;
    int status = RLS_OK;

    if (out)
        *out = NULL;
    if (!path || !out)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint load: NULL path or out");
    if ((status = s_loader_open(&ld, path, err)) != RLS_OK)
        goto done;
    ck = calloc(1, sizeof(*ck));
    if (!ck) {
        status = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    status = s_load_all(&ld, ck);
    if (status == RLS_OK) {
        *out = ck;
        ck = NULL;
    }
done:
    s_loader_close(&ld);
    rls_checkpoint_destroy(&ck);
    return status;
}

/* ---------------------------------------------------------------------------
 * The optional training state, group /train_state (CHECKPOINT.md): named
 * float32 tensors as datasets (checksummed like the weights) and named
 * uint64 scalars as attributes of the group, beside its "state_version". */

#define S_STATE_GROUP "/train_state"

struct rls_checkpoint_state *rls_checkpoint_state_new(struct rls_err *err)
{
    struct rls_checkpoint_state *st = calloc(1, sizeof(*st));
    if (!st)
        rls_err_set(err, RLS_ERR_NOMEM, "checkpoint state: out of memory");
    return st;
}

void rls_checkpoint_state_destroy(struct rls_checkpoint_state **st)
{
    if (!st || !*st)
        return;
    for (int32_t i = 0; i < (*st)->n_tensors; i++)
        free((*st)->tensors[i].data);
    free((*st)->tensors);
    free((*st)->scalars);
    free(*st);
    *st = NULL;
}

/* 1 when name is a usable member name: [A-Za-z0-9_.-]+, shorter than the max. */
static int s_state_name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= RLS_CHECKPOINT_STATE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static struct rls_checkpoint_tensor *s_state_find(const struct rls_checkpoint_state *st,
                                                  const char *name)
{
    for (int32_t i = 0; st && i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

static struct rls_checkpoint_scalar *s_state_find_u64(const struct rls_checkpoint_state *st,
                                                      const char *name)
{
    for (int32_t i = 0; st && i < st->n_scalars; i++)
        if (strcmp(st->scalars[i].name, name) == 0)
            return &st->scalars[i];
    return NULL;
}

static int64_t s_state_numel(int32_t rank, const int64_t *dims)
{
    return rank == 2 ? dims[0] * dims[1] : dims[0];
}

/* "[3, 4]" or "[3]" into buf. */
static const char *s_shape_str(int32_t rank, const int64_t *dims, char *buf, size_t cap)
{
    if (rank == 2)
        snprintf(buf, cap, "[%lld, %lld]", (long long)dims[0], (long long)dims[1]);
    else
        snprintf(buf, cap, "[%lld]", (long long)dims[0]);
    return buf;
}

float *rls_checkpoint_state_add(struct rls_checkpoint_state *st, const char *name, int32_t rank,
                                const int64_t *dims, struct rls_err *err)
{
    struct rls_checkpoint_tensor *grown = NULL, *t = NULL;
    if (!st || !dims)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint state: NULL argument"), NULL;
    if (!s_state_name_ok(name) || s_state_find(st, name) || s_state_find_u64(st, name))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "checkpoint state: tensor name '%.80s' is empty, too long, not "
                           "[A-Za-z0-9_.-] or already used",
                           name ? name : "(null)"),
               NULL;
    if (rank < 1 || rank > 2 || dims[0] < 1 || (rank == 2 && dims[1] < 1) ||
        s_state_numel(rank, dims) > (int64_t)RLS_CHECKPOINT_MAX_SIZE * RLS_CHECKPOINT_MAX_SIZE)
        return rls_err_set(err, RLS_ERR_RANGE, "checkpoint state: tensor '%s': bad rank %d or shape",
                           name, (int)rank),
               NULL;
    if (st->n_tensors >= RLS_CHECKPOINT_STATE_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "checkpoint state: more than %d tensors",
                           RLS_CHECKPOINT_STATE_MAX),
               NULL;
    grown = realloc(st->tensors, (size_t)(st->n_tensors + 1) * sizeof(*grown));
    if (!grown)
        return rls_err_set(err, RLS_ERR_NOMEM, "checkpoint state: out of memory"), NULL;
    st->tensors = grown;
    t = &st->tensors[st->n_tensors];
    memset(t, 0, sizeof(*t));
    t->data = calloc((size_t)s_state_numel(rank, dims), sizeof(float));
    if (!t->data)
        return rls_err_set(err, RLS_ERR_NOMEM, "checkpoint state: out of memory"), NULL;
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->rank = rank;
    t->dims[0] = dims[0];
    t->dims[1] = rank == 2 ? dims[1] : 0;
    st->n_tensors++;
    return t->data;
}

int rls_checkpoint_state_set_u64(struct rls_checkpoint_state *st, const char *name, uint64_t v,
                                 struct rls_err *err)
{
    struct rls_checkpoint_scalar *sc = NULL;
    if (!st)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint state: NULL state");
    if ((sc = s_state_find_u64(st, name ? name : "")) != NULL) {
        sc->value = v;
        return RLS_OK;
    }
    if (!s_state_name_ok(name) || strcmp(name, "state_version") == 0 || s_state_find(st, name))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "checkpoint state: scalar name '%.80s' is empty, too long, not "
                           "[A-Za-z0-9_.-], reserved or a tensor's",
                           name ? name : "(null)");
    if (st->n_scalars >= RLS_CHECKPOINT_STATE_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "checkpoint state: more than %d scalars",
                           RLS_CHECKPOINT_STATE_MAX);
    sc = realloc(st->scalars, (size_t)(st->n_scalars + 1) * sizeof(*sc));
    if (!sc)
        return rls_err_set(err, RLS_ERR_NOMEM, "checkpoint state: out of memory");
    st->scalars = sc;
    sc = &st->scalars[st->n_scalars++];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->name, sizeof(sc->name), "%s", name);
    sc->value = v;
    return RLS_OK;
}

const float *rls_checkpoint_state_tensor(struct rls_checkpoint_state *st, const char *name,
                                         int32_t rank, const int64_t *dims, const char *what,
                                         struct rls_err *err)
{
    struct rls_checkpoint_tensor *t = s_state_find(st, name ? name : "");
    char got[64], want[64];
    if (!what)
        what = "checkpoint";
    if (!t)
        return rls_err_set(err, RLS_ERR_PARSE, "%s: dataset '" S_STATE_GROUP "/%s' is missing",
                           what, name ? name : "(null)"),
               NULL;
    if (!dims || t->rank != rank || t->dims[0] != dims[0] || (rank == 2 && t->dims[1] != dims[1]))
        return rls_err_set(err, RLS_ERR_RANGE,
                           "%s: dataset '" S_STATE_GROUP "/%s' has shape %s, expected %s", what,
                           name, s_shape_str(t->rank, t->dims, got, sizeof(got)),
                           dims ? s_shape_str(rank, dims, want, sizeof(want)) : "?"),
               NULL;
    t->used = 1;
    return t->data;
}

int rls_checkpoint_state_u64(struct rls_checkpoint_state *st, const char *name, uint64_t *v,
                             const char *what, struct rls_err *err)
{
    struct rls_checkpoint_scalar *sc = s_state_find_u64(st, name ? name : "");
    if (!what)
        what = "checkpoint";
    if (!sc || !v)
        return rls_err_set(err, RLS_ERR_PARSE, "%s: attribute '%s' of '" S_STATE_GROUP
                           "' is missing", what, name ? name : "(null)");
    sc->used = 1;
    *v = sc->value;
    return RLS_OK;
}

int rls_checkpoint_state_check_all_used(const struct rls_checkpoint_state *st, const char *what,
                                        struct rls_err *err)
{
    if (!what)
        what = "checkpoint";
    for (int32_t i = 0; st && i < st->n_tensors; i++)
        if (!st->tensors[i].used)
            return rls_err_set(err, RLS_ERR_PARSE,
                               "%s: dataset '" S_STATE_GROUP "/%s' is not part of this "
                               "training state (another algorithm or network?)",
                               what, st->tensors[i].name);
    for (int32_t i = 0; st && i < st->n_scalars; i++)
        if (!st->scalars[i].used)
            return rls_err_set(err, RLS_ERR_PARSE,
                               "%s: attribute '%s' of '" S_STATE_GROUP "' is not part of this "
                               "training state",
                               what, st->scalars[i].name);
    return RLS_OK;
}

/* The rules save and load share: names, shapes, finite values. */
static int s_state_validate(const struct rls_checkpoint_state *st, const char *what,
                            struct rls_err *err)
{
    if (st->n_tensors < 0 || st->n_tensors > RLS_CHECKPOINT_STATE_MAX || st->n_scalars < 0 ||
        st->n_scalars > RLS_CHECKPOINT_STATE_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: '" S_STATE_GROUP "' has %d tensors and %d "
                           "scalars, at most %d each", what, (int)st->n_tensors,
                           (int)st->n_scalars, RLS_CHECKPOINT_STATE_MAX);
    for (int32_t i = 0; i < st->n_tensors; i++) {
        const struct rls_checkpoint_tensor *t = &st->tensors[i];
        int64_t bad;
        if (!s_state_name_ok(t->name))
            return rls_err_set(err, RLS_ERR_INVALID, "%s: '" S_STATE_GROUP "' member name '%.80s' "
                               "is not [A-Za-z0-9_.-]+", what, t->name);
        for (int32_t j = 0; j < i; j++)
            if (strcmp(st->tensors[j].name, t->name) == 0)
                return rls_err_set(err, RLS_ERR_INVALID, "%s: dataset '" S_STATE_GROUP "/%s' "
                                   "appears twice", what, t->name);
        if (t->rank < 1 || t->rank > 2 || t->dims[0] < 1 || (t->rank == 2 && t->dims[1] < 1) ||
            !t->data)
            return rls_err_set(err, RLS_ERR_RANGE, "%s: dataset '" S_STATE_GROUP "/%s' has rank %d "
                               "or no data", what, t->name, (int)t->rank);
        bad = s_first_bad(t->data, s_state_numel(t->rank, t->dims));
        if (bad >= 0)
            return rls_err_set(err, RLS_ERR_RANGE, "%s: dataset '" S_STATE_GROUP "/%s' element "
                               "%lld is %g", what, t->name, (long long)bad, (double)t->data[bad]);
    }
    for (int32_t i = 0; i < st->n_scalars; i++) {
        if (!s_state_name_ok(st->scalars[i].name) ||
            strcmp(st->scalars[i].name, "state_version") == 0)
            return rls_err_set(err, RLS_ERR_INVALID, "%s: '" S_STATE_GROUP "' scalar name '%.80s' "
                               "is not [A-Za-z0-9_.-]+ or is reserved", what, st->scalars[i].name);
        for (int32_t j = 0; j < i; j++)
            if (strcmp(st->scalars[j].name, st->scalars[i].name) == 0)
                return rls_err_set(err, RLS_ERR_INVALID, "%s: attribute '%s' of '" S_STATE_GROUP
                                   "' appears twice", what, st->scalars[i].name);
    }
    return RLS_OK;
}

/* The group into an open file; returns what failed (in name[cap]) or NULL. */
static const char *s_write_state(hid_t f, const struct rls_checkpoint_state *st, char *name,
                                 size_t cap)
{
    char path[RLS_CHECKPOINT_STATE_NAME_MAX + 16];
    hid_t g = H5I_INVALID_HID;
    const char *failed = NULL;
    if (s_put_group(f, S_STATE_GROUP) < 0)
        return "group '" S_STATE_GROUP "'";
    g = H5Gopen2(f, S_STATE_GROUP, H5P_DEFAULT);
    if (g < 0)
        return "group '" S_STATE_GROUP "'";
    if (s_put_i32(g, "state_version", RLS_CHECKPOINT_STATE_VERSION) < 0) {
        failed = "attribute '" S_STATE_GROUP "/state_version'";
        goto done;
    }
    for (int32_t i = 0; i < st->n_scalars; i++)
        if (s_put_attr(g, st->scalars[i].name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0,
                       &st->scalars[i].value) < 0) {
            snprintf(name, cap, "attribute '%s' of '" S_STATE_GROUP "'", st->scalars[i].name);
            failed = name;
            goto done;
        }
    for (int32_t i = 0; i < st->n_tensors; i++) {
        const struct rls_checkpoint_tensor *t = &st->tensors[i];
        hsize_t d[2] = {(hsize_t)t->dims[0], (hsize_t)t->dims[1]};
        snprintf(path, sizeof(path), S_STATE_GROUP "/%s", t->name);
        if (s_put_f32(f, path, t->rank, d, t->data) < 0) {
            snprintf(name, cap, "dataset '%s'", path);
            failed = name;
            goto done;
        }
    }
    if (s_put_attr(f, "train_state_fnv1a64", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0,
                   &(uint64_t){s_state_digest(st, RLS_CHECKPOINT_STATE_VERSION)}) < 0)
        failed = "attribute 'train_state_fnv1a64'";
done:
    H5Gclose(g);
    return failed;
}

/* Load: one attribute of the group (H5Aiterate2 callback). */
struct s_state_loader {
    struct s_loader *ld;
    struct rls_checkpoint_state *st;
    int status;
    int32_t version;
};

static herr_t s_state_attr_cb(hid_t g, const char *name, const H5A_info_t *info, void *data)
{
    struct s_state_loader *sl = data;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    uint64_t v = 0;
    int32_t ver = 0;
    int is_version = strcmp(name, "state_version") == 0;
    (void)info;
    a = H5Aopen(g, name, H5P_DEFAULT);
    if (a >= 0) {
        t = H5Aget_type(a);
        sp = H5Aget_space(a);
    }
    if (a < 0 || t < 0 || sp < 0 || H5Tget_class(t) != H5T_INTEGER ||
        H5Sget_simple_extent_npoints(sp) != 1) {
        sl->status = rls_err_set(sl->ld->err, RLS_ERR_PARSE,
                                 "%s: attribute '%.80s' of '" S_STATE_GROUP "' is not an integer "
                                 "scalar", sl->ld->path, name);
    } else if (is_version ? H5Aread(a, H5T_NATIVE_INT32, &ver) < 0
                          : (H5Tget_sign(t) != H5T_SGN_NONE || H5Tget_size(t) != 8 ||
                             H5Aread(a, H5T_NATIVE_UINT64, &v) < 0)) {
        sl->status = rls_err_set(sl->ld->err, RLS_ERR_PARSE,
                                 "%s: attribute '%.80s' of '" S_STATE_GROUP "' is not a readable "
                                 "%s", sl->ld->path, name, is_version ? "int32" : "uint64");
    } else if (is_version) {
        sl->version = ver;
    } else if (!s_state_name_ok(name)) {
        sl->status = rls_err_set(sl->ld->err, RLS_ERR_PARSE,
                                 "%s: attribute '%.80s' of '" S_STATE_GROUP "' has a bad name",
                                 sl->ld->path, name);
    } else {
        struct rls_err se = {0};
        if (rls_checkpoint_state_set_u64(sl->st, name, v, &se) != RLS_OK)
            sl->status = rls_err_set(sl->ld->err, se.status < 0 ? se.status : RLS_ERR_PARSE, "%s: %s",
                                     sl->ld->path, se.msg);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return sl->status == RLS_OK ? 0 : 1;
}

/* Load: one member dataset of the group. */
static int s_state_read_tensor(struct s_loader *ld, struct rls_checkpoint_state *st,
                               const char *name)
{
    static const char expect[] = "a floating-point array of rank 1 or 2";
    char path[RLS_CHECKPOINT_STATE_NAME_MAX + 16];
    hid_t ds = H5I_INVALID_HID;
    hsize_t got[4] = {0, 0, 0, 0};
    int64_t dims[2] = {0, 0};
    int rank = -1, status = RLS_OK;
    float *data = NULL;
    struct rls_err ae = {0};

    snprintf(path, sizeof(path), S_STATE_GROUP "/%s", name);
    if (!s_state_name_ok(name) || strlen(name) + 1 >= RLS_CHECKPOINT_STATE_NAME_MAX)
        return rls_err_set(ld->err, RLS_ERR_PARSE, "%s: '" S_STATE_GROUP "/%.80s' has a bad name",
                           ld->path, name);
    if ((status = s_f32_open(ld, path, expect, &ds, &rank, got)) != RLS_OK)
        return status;
    if (rank < 1 || rank > 2) {
        status = rls_err_set(ld->err, RLS_ERR_PARSE, "%s: dataset '%s' is not %s", ld->path,
                             path, expect);
        goto done;
    }
    dims[0] = (int64_t)got[0];
    dims[1] = rank == 2 ? (int64_t)got[1] : 0;
    if (got[0] > (hsize_t)ld->size || got[1] > (hsize_t)ld->size) {   /* before multiplying */
        hsize_t big = got[0] > got[1] ? got[0] : got[1];
        status = s_claim_fits(ld, path, big > (hsize_t)INT64_MAX ? INT64_MAX : (int64_t)big);
        goto done;
    }
    if ((status = s_claim_fits(ld, path, dims[0] * (rank == 2 ? dims[1] : 1))) != RLS_OK)
        goto done;
    data = rls_checkpoint_state_add(st, name, rank, dims, &ae);
    if (!data)
        status = rls_err_set(ld->err, ae.status < 0 ? ae.status : RLS_ERR_PARSE, "%s: %s", ld->path, ae.msg);
    else
        status = s_f32_read(ld, ds, path, data, s_state_numel(rank, dims));
done:
    H5Dclose(ds);
    return status;
}

static int s_load_state_direct(const char *path, struct rls_checkpoint_state **out, struct rls_err *err)
{
    struct s_loader ld;
    struct s_state_loader sl;
    struct rls_checkpoint_state *st = NULL;
    H5G_info_t gi;
    hid_t g = H5I_INVALID_HID;
    hsize_t idx = 0;
    int status = RLS_OK;
    int has_ck = 0, has_data = 0;
    htri_t gex = 0;

    if (out)
        *out = NULL;
    if (!path || !out)
        return rls_err_set(err, RLS_ERR_INVALID, "checkpoint state load: NULL path or out");
    if ((status = s_loader_open(&ld, path, err)) != RLS_OK)
        goto done;
    /* train_state_fnv1a64 is written with the group by builds that also
     * write data_fnv1a64: with those, neither goes without the other */
    if ((status = s_root_attr_exists(&ld, "train_state_fnv1a64", &has_ck)) != RLS_OK ||
        (status = s_root_attr_exists(&ld, "data_fnv1a64", &has_data)) != RLS_OK)
        goto done;
    if ((gex = H5Lexists(ld.f, S_STATE_GROUP, H5P_DEFAULT)) < 0) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: '" S_STATE_GROUP "' cannot be looked up: %s: the file is "
                             "damaged", path, s_h5_detail(ld.detail));
        goto done;
    }
    if (gex == 0) {
        if (has_ck)
            status = rls_err_set(err, RLS_ERR_IO, "%s: group '" S_STATE_GROUP "' is missing while its checksum "
                                 "'train_state_fnv1a64' is present: the file is damaged", path);
        goto done;   /* no training state: RLS_OK with *out NULL */
    }
    if (!has_ck && has_data) {
        status = rls_err_set(err, RLS_ERR_IO, "%s: checksum attribute 'train_state_fnv1a64' is missing while "
                             "'" S_STATE_GROUP "' and 'data_fnv1a64' are present: the file is damaged", path);
        goto done;
    }
    g = H5Gopen2(ld.f, S_STATE_GROUP, H5P_DEFAULT);
    if (g < 0 || H5Gget_info(g, &gi) < 0) {
        status = rls_err_set(err, RLS_ERR_PARSE, "%s: '" S_STATE_GROUP "' is not a readable group: %s",
                             path, s_h5_detail(ld.detail));
        goto done;
    }
    if (!(st = rls_checkpoint_state_new(err))) {
        status = RLS_ERR_NOMEM;
        goto done;
    }
    memset(&sl, 0, sizeof(sl));
    sl.ld = &ld;
    sl.st = st;
    sl.status = RLS_OK;
    sl.version = -1;
    if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, s_state_attr_cb, &sl) < 0 &&
        sl.status == RLS_OK)
        sl.status = rls_err_set(err, RLS_ERR_PARSE, "%s: attributes of '" S_STATE_GROUP
                                "' unreadable: %s", path, s_h5_detail(ld.detail));
    if ((status = sl.status) != RLS_OK)
        goto done;
    if (sl.version != RLS_CHECKPOINT_STATE_VERSION) {
        status = rls_err_set(err, sl.version < 0 ? RLS_ERR_PARSE : RLS_ERR_VERSION,
                             "%s: attribute 'state_version' of '" S_STATE_GROUP "' is %s%d, this "
                             "build reads %d", path, sl.version < 0 ? "missing, " : "",
                             (int)sl.version, RLS_CHECKPOINT_STATE_VERSION);
        goto done;
    }
    if (gi.nlinks > RLS_CHECKPOINT_STATE_MAX) {
        status = rls_err_set(err, RLS_ERR_PARSE, "%s: '" S_STATE_GROUP "' has %llu members, at most %d",
                             path, (unsigned long long)gi.nlinks, RLS_CHECKPOINT_STATE_MAX);
        goto done;
    }
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char name[RLS_CHECKPOINT_STATE_NAME_MAX + 1];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof(name),
                                         H5P_DEFAULT);
        if (len < 0 || len >= (ssize_t)sizeof(name) - 1) {
            status = rls_err_set(err, RLS_ERR_PARSE, "%s: member %llu of '" S_STATE_GROUP "' has "
                                 "an unreadable or too long name", path, (unsigned long long)i);
            goto done;
        }
        if ((status = s_state_read_tensor(&ld, st, name)) != RLS_OK)
            goto done;
    }
    if (has_ck) {
        uint64_t want = 0, got = s_state_digest(st, sl.version);
        if ((status = s_get_num(&ld, "train_state_fnv1a64", H5T_INTEGER, H5T_NATIVE_UINT64, 0, &want)) !=
            RLS_OK)
            goto done;
        if (want != got) {
            status = rls_err_set(err, RLS_ERR_IO, "%s: '" S_STATE_GROUP "' checksum mismatch (stored %016llx, "
                                 "computed %016llx): the file is damaged", path, (unsigned long long)want,
                                 (unsigned long long)got);
            goto done;
        }
    }
    *out = st;
    st = NULL;
done:
    if (g >= 0)
        H5Gclose(g);
    s_loader_close(&ld);
    rls_checkpoint_state_destroy(&st);
    return status;
}
