/* onnx_export.h - a checkpoint's network as an ONNX model, written by a small
 * protobuf encoder of our own (no libtorch, no Python, no protobuf library):
 * the subset of onnx.proto an MLP needs (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto initializers as little-endian raw_data,
 * ValueInfoProto with a symbolic batch dimension, metadata_props).
 *
 * The graph, opset RLS_ONNX_OPSET of the default domain:
 *
 *     obs   float [N, F]                  raw observations (env features, in order)
 *     x     = Div(Sub(obs, obs_mean), obs_std)       the checkpoint's normalization
 *     h_l   = Relu(Gemm(h_{l-1}, W_l, b_l, transB=1))  as the native forward (mlp.c)
 *     q     float [N, n_heads * n_actions]  = Gemm(..) of the last layer (no Relu)
 *     action int64 [N]   the mask-free action of the learned policy's rule
 *                        (policies/learned.c with every action allowed):
 *       1 head:  ArgMax(q, axis 1)
 *       2 heads: q = [Q | behaviour logits]; ArgMax over the Q of the actions
 *                whose logit >= max logit + log(bcq_tau)
 *
 * Action a decodes as delta = deltas[a / n_placements], placement = a %
 * n_placements (0 spread, 1 binpack); metadata_props carry the layout
 * (deltas, placements, features, heads, the rule) for a consumer. A caller
 * that masks actions applies its mask to q itself (the rule in metadata
 * "action_rule").
 *
 *     struct rls_onnx_params prm = rls_onnx_default_params();
 *     rls_onnx_save(ck, &prm, "policy.onnx", &err);   // atomic: tmp + fsync + rename
 */
#ifndef RLS_ONNX_EXPORT_H
#define RLS_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../env/status.h"
#include "checkpoint.h"

#define RLS_ONNX_IR_VERSION 7        /* ModelProto.ir_version (ONNX 1.7+) */
#define RLS_ONNX_OPSET 13            /* opset_import of the default domain */
#define RLS_ONNX_EXPORT_VERSION 1    /* metadata "rlsched_onnx_version" */
#define RLS_ONNX_MAX_BYTES 2000000000LL /* protobuf's 2 GiB message limit, with room */

struct rls_onnx_params {
    double bcq_tau;      /* (0, 1]: the two-head rule's behaviour ratio cut (0.3, as the
                            learned policy's default support_tau) */
    int with_action;     /* 1: the second output `action` (1); 0: only `q` */
    const char *source;  /* what the model came from, recorded in metadata "source" (e.g.
                            the checkpoint's path; NULL or "" = none); not owned */
};

/* The defaults: bcq_tau 0.3, with_action 1, source NULL. */
struct rls_onnx_params rls_onnx_default_params(void);

/* Encodes ck's network as a serialized ONNX ModelProto. On success stores
 * an owned buffer (free()) in *buf and its length in *len and returns
 * RLS_OK. Refuses, with *buf NULL: RLS_ERR_INVALID (NULL arguments), the
 * checkpoint's validation status (rls_checkpoint_validate), RLS_ERR_RANGE
 * (bcq_tau not in (0, 1], a model larger than RLS_ONNX_MAX_BYTES),
 * RLS_ERR_NOMEM. prm NULL means the defaults. */
int rls_onnx_encode(const struct rls_checkpoint *ck, const struct rls_onnx_params *prm,
                    uint8_t **buf, size_t *len, struct rls_err *err);

/* Encodes ck (as rls_onnx_encode) and writes it to `path` atomically:
 * PATH.tmp.PID, flushed, fsynced, renamed over path, the directory fsynced;
 * a failure removes the temporary and never leaves a partial file under
 * path. Returns RLS_OK, the statuses of rls_onnx_encode, or RLS_ERR_IO with
 * err naming the file (an unwritable directory, a full disk). */
int rls_onnx_save(const struct rls_checkpoint *ck, const struct rls_onnx_params *prm,
                  const char *path, struct rls_err *err);

#endif
