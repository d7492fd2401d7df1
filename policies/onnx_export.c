/* onnx_export.c - the ONNX writer (onnx_export.h).
 *
 * Protobuf wire format, the part ONNX needs: a field is a key varint
 * (field_number << 3 | wire_type) then its value: wire type 0 a varint
 * (int64 as its two's complement uint64, int32 enums), 2 length-delimited
 * (strings, bytes, nested messages: a varint length then the bytes), 5 a
 * little-endian fixed32 (float). Repeated scalars are written unpacked (one
 * key per element), which every proto2 and proto3 parser accepts. A nested
 * message is built in its own buffer and appended with its length; the
 * weight tensors are written straight into the graph's buffer (their length
 * is known before their bytes), so the weights are copied twice at most.
 * Field numbers are those of onnx/onnx.proto (ONNX 1.12).
 */
#include "onnx_export.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RLS_VERSION
#define RLS_VERSION "0"
#endif

/* wire types */
#define S_VARINT 0
#define S_LEN 2
#define S_FIXED32 5

/* onnx.proto: TensorProto.DataType, AttributeProto.AttributeType */
#define S_DT_FLOAT 1
#define S_DT_INT64 7
#define S_DT_BOOL 9
#define S_AT_INT 2
#define S_AT_INTS 7

struct s_buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void s_put(struct s_buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void s_free(struct s_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static size_t s_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void s_varint(struct s_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    s_put(b, tmp, n);
}

static void s_key(struct s_buf *b, uint32_t field, int wire)
{
    s_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

static void s_int(struct s_buf *b, uint32_t field, int64_t v)
{
    s_key(b, field, S_VARINT);
    s_varint(b, (uint64_t)v);
}

static void s_bytes(struct s_buf *b, uint32_t field, const void *p, size_t n)
{
    s_key(b, field, S_LEN);
    s_varint(b, n);
    s_put(b, p, n);
}

static void s_str(struct s_buf *b, uint32_t field, const char *s)
{
    s_bytes(b, field, s, strlen(s));
}

/* Appends the finished message `m` as field `field` of b, and frees m. */
static void s_msg(struct s_buf *b, uint32_t field, struct s_buf *m)
{
    if (m->oom)
        b->oom = 1;
    else
        s_bytes(b, field, m->p, m->n);
    s_free(m);
}

/* n floats as little-endian IEEE 754 bytes, whatever the host's order. */
static void s_put_f32le(struct s_buf *b, const float *v, size_t n)
{
    uint8_t chunk[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        chunk[k++] = (uint8_t)u;
        chunk[k++] = (uint8_t)(u >> 8);
        chunk[k++] = (uint8_t)(u >> 16);
        chunk[k++] = (uint8_t)(u >> 24);
        if (k == sizeof(chunk)) {
            s_put(b, chunk, k);
            k = 0;
        }
    }
    s_put(b, chunk, k);
}

/* ---------------------------------------------------------------------------
 * ONNX messages. */

/* GraphProto.initializer (5): TensorProto {dims 1, data_type 2, name 8,
 * raw_data 9}, float32 (data) or int64 (idata) little-endian. */
static void s_initializer(struct s_buf *g, const char *name, int rank, const int64_t *dims,
                          const float *data, const int64_t *idata)
{
    struct s_buf h = {0};
    size_t count = 1, raw;
    for (int i = 0; i < rank; i++) {
        s_int(&h, 1, dims[i]);
        count *= (size_t)dims[i];
    }
    s_int(&h, 2, data ? S_DT_FLOAT : S_DT_INT64);
    s_str(&h, 8, name);
    raw = count * (data ? 4 : 8);
    if (h.oom) {
        g->oom = 1;
        s_free(&h);
        return;
    }
    s_key(g, 5, S_LEN);
    s_varint(g, h.n + 1 + s_varint_len(raw) + raw);
    s_put(g, h.p, h.n);
    s_key(g, 9, S_LEN);
    s_varint(g, raw);
    if (data) {
        s_put_f32le(g, data, count);
    } else {
        for (size_t i = 0; i < count; i++) {
            uint8_t le[8];
            uint64_t u = (uint64_t)idata[i];
            for (int k = 0; k < 8; k++)
                le[k] = (uint8_t)(u >> (8 * k));
            s_put(g, le, 8);
        }
    }
    s_free(&h);
}

/* NodeProto.attribute (5): AttributeProto {name 1, i 3, type 20} */
static void s_attr_int(struct s_buf *node, const char *name, int64_t v)
{
    struct s_buf a = {0};
    s_str(&a, 1, name);
    s_int(&a, 3, v);
    s_int(&a, 20, S_AT_INT);
    s_msg(node, 5, &a);
}

/* AttributeProto {name 1, ints 8 (unpacked), type 20} */
static void s_attr_ints(struct s_buf *node, const char *name, const int64_t *v, int n)
{
    struct s_buf a = {0};
    s_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        s_int(&a, 8, v[i]);
    s_int(&a, 20, S_AT_INTS);
    s_msg(node, 5, &a);
}

/* Starts a NodeProto {input 1, output 2, name 3, op_type 4} in *node; the
 * caller adds attributes and hands it to s_node_end. */
static void s_node_begin(struct s_buf *node, const char *op, const char *name,
                         const char *const *in, int n_in, const char *out)
{
    memset(node, 0, sizeof(*node));
    for (int i = 0; i < n_in; i++)
        s_str(node, 1, in[i]);
    s_str(node, 2, out);
    s_str(node, 3, name);
    s_str(node, 4, op);
}

/* GraphProto.node (1) */
static void s_node_end(struct s_buf *g, struct s_buf *node)
{
    s_msg(g, 1, node);
}

/* A node without attributes. */
static void s_node(struct s_buf *g, const char *op, const char *name, const char *const *in,
                   int n_in, const char *out)
{
    struct s_buf node;
    s_node_begin(&node, op, name, in, n_in, out);
    s_node_end(g, &node);
}

/* ValueInfoProto {name 1, type 2: TypeProto {tensor_type 1: {elem_type 1,
 * shape 2: TensorShapeProto {dim 1: {dim_value 1 | dim_param 2}}}}}, rank 1
 * [N] (n_cols 0) or 2 [N, n_cols]; N is the symbolic dimension "N". Appended
 * as field `field` of the graph (11 input, 12 output). */
static void s_value_info(struct s_buf *g, uint32_t field, const char *name, int elem_type,
                         int64_t n_cols, const char *doc)
{
    struct s_buf vi = {0}, type = {0}, tensor = {0}, shape = {0}, dim = {0};
    s_str(&dim, 2, "N");
    s_msg(&shape, 1, &dim);
    if (n_cols > 0) {
        s_int(&dim, 1, n_cols);
        s_msg(&shape, 1, &dim);
    }
    s_int(&tensor, 1, elem_type);
    s_msg(&tensor, 2, &shape);
    s_msg(&type, 1, &tensor);
    s_str(&vi, 1, name);
    s_msg(&vi, 2, &type);
    s_str(&vi, 3, doc);
    s_msg(g, field, &vi);
}

/* ModelProto.metadata_props (14): StringStringEntryProto {key 1, value 2} */
static void s_meta(struct s_buf *m, const char *key, const char *value)
{
    struct s_buf e = {0};
    s_str(&e, 1, key);
    s_str(&e, 2, value);
    s_msg(m, 14, &e);
}

static void s_meta_i64(struct s_buf *m, const char *key, long long v)
{
    char s[32];
    snprintf(s, sizeof(s), "%lld", v);
    s_meta(m, key, s);
}

/* ---------------------------------------------------------------------------
 * The graph. */

static void s_graph(struct s_buf *g, const struct rls_checkpoint *ck,
                    const struct rls_onnx_params *prm)
{
    const int32_t L = ck->n_layers, F = ck->sizes[0], A = ck->n_actions;
    const int32_t n_out = ck->sizes[L];
    char in_name[32], out_name[32], w_name[48], b_name[48], node_name[48];
    int64_t dims[2];

    s_str(g, 2, "rlsched_policy");
    s_str(g, 10, "rlsched policy network: raw observations -> normalization -> ReLU MLP -> q"
                 " (and the mask-free action); see metadata_props for the action layout");

    /* normalization: x = (obs - obs_mean) / obs_std, as mlp.c */
    s_node(g, "Sub", "normalize_sub", (const char *[]){"obs", "obs_mean"}, 2, "obs_centered");
    s_node(g, "Div", "normalize_div", (const char *[]){"obs_centered", "obs_std"}, 2, "x");
    dims[0] = F;
    s_initializer(g, "obs_mean", 1, dims, ck->obs_mean, NULL);
    s_initializer(g, "obs_std", 1, dims, ck->obs_std, NULL);

    snprintf(in_name, sizeof(in_name), "x");
    for (int32_t l = 0; l < L; l++) {
        struct s_buf node;
        const int last = l + 1 == L;
        snprintf(w_name, sizeof(w_name), "layer_%d.weight", (int)l);
        snprintf(b_name, sizeof(b_name), "layer_%d.bias", (int)l);
        snprintf(node_name, sizeof(node_name), "layer_%d.gemm", (int)l);
        if (last)   /* the last layer's output is the graph's output q */
            snprintf(out_name, sizeof(out_name), "q");
        else
            snprintf(out_name, sizeof(out_name), "layer_%d.linear", (int)l);
        /* Gemm: Y = X W^T + b (W [out, in], torch.nn.Linear's layout) */
        s_node_begin(&node, "Gemm", node_name, (const char *[]){in_name, w_name, b_name}, 3,
                     out_name);
        s_attr_int(&node, "transB", 1);
        s_node_end(g, &node);
        dims[0] = ck->sizes[l + 1];
        dims[1] = ck->sizes[l];
        s_initializer(g, w_name, 2, dims, ck->weight[l], NULL);
        dims[0] = ck->sizes[l + 1];
        s_initializer(g, b_name, 1, dims, ck->bias[l], NULL);
        if (!last) {
            snprintf(node_name, sizeof(node_name), "layer_%d.relu", (int)l);
            snprintf(in_name, sizeof(in_name), "layer_%d.relu", (int)l);
            s_node(g, "Relu", node_name, (const char *[]){out_name}, 1, in_name);
        }
    }

    if (prm->with_action) {
        struct s_buf node;
        const char *scores = "q";
        if (ck->n_heads == 2) {
            /* learned.c's two-head rule with every action allowed: among the
             * actions whose behaviour logit >= max logit + logf(tau), the
             * first with the largest Q */
            float log_tau = logf((float)prm->bcq_tau);
            float neg_inf = -INFINITY;
            int64_t axes[1] = {1}, q0[1] = {0}, q1[1] = {A}, b1[1] = {2 * (int64_t)A};
            int64_t one[1] = {1};
            s_initializer(g, "heads.axes", 1, one, NULL, axes);
            s_initializer(g, "head_q.starts", 1, one, NULL, q0);
            s_initializer(g, "head_q.ends", 1, one, NULL, q1);
            s_initializer(g, "head_b.starts", 1, one, NULL, q1);
            s_initializer(g, "head_b.ends", 1, one, NULL, b1);
            s_initializer(g, "log_bcq_tau", 0, NULL, &log_tau, NULL);
            s_initializer(g, "neg_inf", 0, NULL, &neg_inf, NULL);
            s_node(g, "Slice", "head_q.slice",
                   (const char *[]){"q", "head_q.starts", "head_q.ends", "heads.axes"}, 4,
                   "q_values");
            s_node(g, "Slice", "head_b.slice",
                   (const char *[]){"q", "head_b.starts", "head_b.ends", "heads.axes"}, 4,
                   "behaviour_logits");
            s_node_begin(&node, "ReduceMax", "behaviour_max", (const char *[]){"behaviour_logits"},
                         1, "behaviour_logits_max");
            s_attr_ints(&node, "axes", axes, 1);
            s_attr_int(&node, "keepdims", 1);
            s_node_end(g, &node);
            s_node(g, "Add", "support_cut", (const char *[]){"behaviour_logits_max", "log_bcq_tau"},
                   2, "support_cut");
            s_node(g, "GreaterOrEqual", "supported",
                   (const char *[]){"behaviour_logits", "support_cut"}, 2, "supported");
            s_node(g, "Where", "q_supported", (const char *[]){"supported", "q_values", "neg_inf"},
                   3, "q_supported");
            scores = "q_supported";
        }
        s_node_begin(&node, "ArgMax", "action_argmax", (const char *[]){scores}, 1, "action");
        s_attr_int(&node, "axis", 1);
        s_attr_int(&node, "keepdims", 0);
        s_attr_int(&node, "select_last_index", 0);   /* the first of equal maxima, as learned.c */
        s_node_end(g, &node);
    }

    s_value_info(g, 11, "obs", S_DT_FLOAT, F,
                 "raw observations [N, n_features], features in metadata feature_names");
    s_value_info(g, 12, "q", S_DT_FLOAT, n_out,
                 ck->n_heads == 2 ? "[Q values | behaviour logits] per action (metadata action_layout)"
                                  : "Q values / logits per action (metadata action_layout)");
    if (prm->with_action)
        s_value_info(g, 12, "action", S_DT_INT64, 0,
                     "the mask-free action index (metadata action_rule, action_layout)");
}

static void s_metadata(struct s_buf *m, const struct rls_checkpoint *ck,
                       const struct rls_onnx_params *prm)
{
    static const char *const placement_names[] = {"spread", "binpack"};
    char text[RLS_CHECKPOINT_NAMES_MAX + 64];
    size_t off = 0;

    s_meta_i64(m, "rlsched_onnx_version", RLS_ONNX_EXPORT_VERSION);
    s_meta_i64(m, "checkpoint_format_version", ck->version);
    s_meta(m, "algorithm", ck->algorithm);
    s_meta_i64(m, "n_features", ck->sizes[0]);
    s_meta(m, "feature_names", ck->feature_names);
    s_meta_i64(m, "n_heads", ck->n_heads);
    s_meta_i64(m, "n_outputs", ck->sizes[ck->n_layers]);
    s_meta_i64(m, "n_deltas", ck->n_deltas);
    for (int32_t d = 0; d < ck->n_deltas && off < sizeof(text); d++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%d", d ? "," : "",
                                (int)ck->deltas[d]);
    s_meta(m, "deltas", text);
    s_meta_i64(m, "n_placements", ck->n_placements);
    off = 0;
    text[0] = '\0';
    for (int32_t p = 0; p < ck->n_placements && p < 2 && off < sizeof(text); p++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s", p ? "," : "",
                                placement_names[p]);
    s_meta(m, "placements", text);
    s_meta_i64(m, "n_actions", ck->n_actions);
    s_meta(m, "action_layout",
           "a = delta_index * n_placements + placement; delta = deltas[a / n_placements] replicas "
           "added to the service's desired count, placement = placements[a % n_placements]");
    if (ck->n_heads == 2) {
        s_meta(m, "outputs", "q[:, 0:n_actions] = Q values, q[:, n_actions:2*n_actions] = "
                             "behaviour logits");
        s_meta(m, "action_rule",
               "among the allowed actions whose behaviour logit >= max allowed logit + "
               "log(bcq_tau), the first with the largest Q (output action: all allowed)");
        snprintf(text, sizeof(text), "%.17g", prm->bcq_tau);
        s_meta(m, "bcq_tau", text);
    } else {
        s_meta(m, "outputs", "q[:, 0:n_actions] = Q values / logits");
        s_meta(m, "action_rule",
               "the first allowed action with the largest q (output action: all allowed)");
    }
    s_meta(m, "normalization", "inside the graph: x = (obs - obs_mean) / obs_std");
    s_meta(m, "data_fingerprint", ck->data_fingerprint);
    s_meta_i64(m, "steps", (long long)ck->steps);
    snprintf(text, sizeof(text), "%llu", (unsigned long long)ck->seed);
    s_meta(m, "seed", text);
    s_meta(m, "scenario_name", ck->scenario_name);
    s_meta(m, "created", ck->created);
    if (prm->source && prm->source[0])
        s_meta(m, "source", prm->source);
}

/* ---------------------------------------------------------------------------
 * Public. */

struct rls_onnx_params rls_onnx_default_params(void)
{
    struct rls_onnx_params p;
    p.bcq_tau = 0.3;
    p.with_action = 1;
    p.source = NULL;
    return p;
}

int rls_onnx_encode(const struct rls_checkpoint *ck, const struct rls_onnx_params *prm,
                    uint8_t **buf, size_t *len, struct rls_err *err)
{
    struct rls_onnx_params def = rls_onnx_default_params();
    struct s_buf m = {0}, g = {0}, op = {0};
    int64_t floats = 0;
    int rc;

    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    if (!ck || !buf || !len)
        return rls_err_set(err, RLS_ERR_INVALID, "onnx export: NULL checkpoint or output");
    if (!prm)
        prm = &def;
    if ((rc = rls_checkpoint_validate(ck, "onnx export", err)) != RLS_OK)
        return rc;
    if (!(prm->bcq_tau > 0.0 && prm->bcq_tau <= 1.0))
        return rls_err_set(err, RLS_ERR_RANGE, "onnx export: bcq_tau %g is not in (0, 1]",
                           prm->bcq_tau);
    floats = 2 * (int64_t)ck->sizes[0];
    for (int32_t l = 0; l < ck->n_layers; l++)
        floats += (int64_t)ck->sizes[l] * ck->sizes[l + 1] + ck->sizes[l + 1];
    if (floats * 4 + (1 << 20) > RLS_ONNX_MAX_BYTES)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "onnx export: %lld weights are more than one ONNX file holds (2 GiB)",
                           (long long)floats);

    s_graph(&g, ck, prm);
    s_int(&m, 1, RLS_ONNX_IR_VERSION);
    s_str(&m, 2, "rlsched");
    s_str(&m, 3, RLS_VERSION);
    s_str(&m, 4, "io.rlsched");
    s_int(&m, 5, RLS_ONNX_EXPORT_VERSION);
    s_str(&m, 6, "rlsched policy network (rlsched export --format onnx)");
    s_msg(&m, 7, &g);
    s_str(&op, 1, "");
    s_int(&op, 2, RLS_ONNX_OPSET);
    s_msg(&m, 8, &op);
    s_metadata(&m, ck, prm);
    if (m.oom) {
        s_free(&m);
        return rls_err_set(err, RLS_ERR_NOMEM, "onnx export: out of memory");
    }
    *buf = m.p;
    *len = m.n;
    return RLS_OK;
}

static int s_fsync_dir(const char *path)
{
    char dir[RLS_ERRMSG_MAX];
    char *slash;
    int fd, rc;
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int rls_onnx_save(const struct rls_checkpoint *ck, const struct rls_onnx_params *prm,
                  const char *path, struct rls_err *err)
{
    char tmp[RLS_ERRMSG_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc, made = 0;

    if (!path || !path[0])
        return rls_err_set(err, RLS_ERR_INVALID, "onnx export: empty output path");
    if (strlen(path) + 32 >= sizeof(tmp))
        return rls_err_set(err, RLS_ERR_INVALID, "onnx export: output path too long");
    if ((rc = rls_onnx_encode(ck, prm, &buf, &len, err)) != RLS_OK)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot create '%s': %s", path, tmp, strerror(errno));
        goto done;
    }
    made = 1;
    if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: writing '%s' failed: %s", path, tmp,
                         strerror(errno));
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = rls_err_set(err, RLS_ERR_IO, "%s: closing '%s' failed: %s", path, tmp,
                         strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot rename '%s' into place: %s", path, tmp,
                         strerror(errno));
        goto done;
    }
    made = 0;
    (void)s_fsync_dir(path);   /* best effort: the rename is durable once the dir is synced */
done:
    if (f)
        fclose(f);
    if (made)
        unlink(tmp);
    free(buf);
    return rc;
}
