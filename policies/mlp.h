/* mlp.h - the native C forward pass of a checkpoint's network (no
 * libtorch): out = L_n(relu(... relu(L_1((x - mean) / std)))), for a batch of
 * raw observation rows at once. Built for the agent's decision latency: the
 * weights are repacked at rls_mlp_new into 32-wide output panels and a blocked
 * kernel (4 rows x 32 outputs per tile, vectorized over outputs; AVX-512,
 * AVX2+FMA or portable SIMD chosen at run time) computes each layer.
 *
 *     struct rls_mlp *m = rls_mlp_new(ck, 1000, &err);
 *     rls_mlp_forward(m, obs, n_services, q);   // obs [n, F] -> q [n, outputs]
 *     rls_mlp_destroy(&m);
 */
#ifndef RLS_MLP_H
#define RLS_MLP_H

#include <stdint.h>

#include "../env/status.h"
#include "checkpoint.h"

struct rls_mlp;

/* Builds the forward pass of ck's network (weights copied and repacked: ck
 * need not outlive it). max_batch (>= 1) is the batch the caller expects;
 * larger batches still work (processed in blocks). Returns an owned handle
 * (rls_mlp_destroy) or NULL with err (invalid checkpoint, no memory). */
struct rls_mlp *rls_mlp_new(const struct rls_checkpoint *ck, int32_t max_batch,
                            struct rls_err *err);

/* Frees *m and sets it to NULL; NULL is a no-op. */
void rls_mlp_destroy(struct rls_mlp **m);

/* out [batch, n_outputs] for x [batch, n_inputs] raw observations
 * (normalization applied inside). batch 0 does nothing. Returns RLS_OK, or
 * RLS_ERR_INVALID for NULL m/x/out or a negative batch. Not thread-safe per
 * handle (scratch buffers); use one handle per thread. */
int rls_mlp_forward(struct rls_mlp *m, const float *x, int32_t batch, float *out);

/* Multiply-adds per row (sum over layers of in * out), for GFLOP/s figures
 * (2 * flops * rows / seconds). 0 for NULL. */
int64_t rls_mlp_flops(const struct rls_mlp *m);

/* Input features and outputs per row. 0 for NULL. */
int32_t rls_mlp_n_inputs(const struct rls_mlp *m);
int32_t rls_mlp_n_outputs(const struct rls_mlp *m);

/* The kernel in use: "avx512", "avx2" or "generic" (static). */
const char *rls_mlp_kernel(const struct rls_mlp *m);

#endif
