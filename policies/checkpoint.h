/* checkpoint.h - the versioned checkpoint of a trained policy network, in
 * HDF5 (layout in policies/CHECKPOINT.md): a ReLU MLP's weights, the input
 * normalization, the action space, where it came from (algorithm, data
 * fingerprint, steps, seed, scenario) and its evaluation scores.
 *
 *     struct rls_checkpoint *ck = rls_checkpoint_new(3, (int32_t[]){23, 256, 256, 18}, &err);
 *     ... fill ck->weight[l], ck->bias[l], ck->obs_mean, ck->obs_std, metadata ...
 *     rls_checkpoint_save(ck, "policy.h5", &err);   // atomic: tmp + fsync + rename
 *     rls_checkpoint_destroy(&ck);
 *     rls_checkpoint_load("policy.h5", &ck, &err);  // validates everything
 *
 * The struct is plain data (read and write its fields); the arrays are owned
 * by it and freed by rls_checkpoint_destroy.
 */
#ifndef RLS_CHECKPOINT_H
#define RLS_CHECKPOINT_H

#include <stdint.h>

#include "../env/status.h"

#define RLS_CHECKPOINT_FORMAT "rlsched-checkpoint"  /* file attribute "format" */
#define RLS_CHECKPOINT_VERSION 1                    /* file attribute "format_version" */
#define RLS_MLP_MAX_LAYERS 8           /* Linear layers at most */
#define RLS_CHECKPOINT_MAX_DELTAS 16   /* = RLS_ENV_MAX_DELTAS */
#define RLS_CHECKPOINT_MAX_SIZE 65536  /* largest layer width accepted */
#define RLS_CHECKPOINT_NAMES_MAX 1024  /* bytes of the comma-separated feature names */

struct rls_checkpoint {
    int32_t version;           /* RLS_CHECKPOINT_VERSION (set by new; load refuses others) */
    char algorithm[32];        /* "bc", "double-dqn", "discrete-cql", "discrete-bcq",
                                  "discrete-iql", "" = unknown */
    char activation[16];       /* "relu" between layers, none after the last (only "relu") */
    int32_t n_layers;          /* Linear layers, 1..RLS_MLP_MAX_LAYERS */
    int32_t sizes[RLS_MLP_MAX_LAYERS + 1]; /* sizes[0] = features in, sizes[n_layers] = outputs */
    float *weight[RLS_MLP_MAX_LAYERS];     /* layer l: [sizes[l+1], sizes[l]] row-major
                                              (torch.nn.Linear.weight layout) */
    float *bias[RLS_MLP_MAX_LAYERS];       /* layer l: [sizes[l+1]] */
    float *obs_mean;           /* [sizes[0]] input normalization: x = (obs - mean) / std */
    float *obs_std;            /* [sizes[0]] each finite and > 0 */
    int32_t n_heads;           /* 1: outputs are Q values / logits over actions; 2: a second
                                  head appended (BCQ/IQL: first Q, then behaviour logits) */
    int32_t n_deltas;          /* replica deltas of the action space (9) */
    int32_t deltas[RLS_CHECKPOINT_MAX_DELTAS]; /* {-8,-4,-2,-1,0,1,2,4,8} */
    int32_t n_placements;      /* 2: spread, binpack */
    int32_t n_actions;         /* n_deltas * n_placements; outputs = n_heads * n_actions;
                                  action a = delta_index * n_placements + placement */
    char feature_names[RLS_CHECKPOINT_NAMES_MAX]; /* comma-separated, sizes[0] names; load
                                  refuses names that differ from rls_env_feature_names */
    char data_fingerprint[80]; /* fingerprint of the replay data it was trained on ("" none) */
    int64_t steps;             /* gradient steps taken */
    uint64_t seed;             /* training seed */
    char scenario_name[64];    /* scenario it was trained/evaluated on ("" none) */
    /* Evaluation scores of this network (NAN = not evaluated; eval_step -1). */
    double eval_cost;          /* node cost over the evaluation, dollars */
    double eval_cost_vs_oracle;/* eval_cost / the oracle's */
    double eval_slo_violation_pct; /* % of requests over the SLO or dropped */
    double eval_score;         /* the trainer's selection score (higher is better) */
    int64_t eval_step;         /* gradient step at which it was evaluated */
    char created[32];          /* ISO 8601 UTC; save writes the current time when "" */
};

/* Allocates a checkpoint for an MLP of n_layers Linear layers with widths
 * sizes[0..n_layers] (each 1..RLS_CHECKPOINT_MAX_SIZE): zero weights and
 * biases, obs_mean 0, obs_std 1, version RLS_CHECKPOINT_VERSION, activation
 * "relu", n_heads 1, the env's default action space (9 deltas x 2
 * placements = 18 actions), feature_names of this build, evaluation NAN,
 * eval_step -1, other fields 0 / "". Returns an owned checkpoint
 * (rls_checkpoint_destroy) or NULL with err (bad sizes, no memory). */
struct rls_checkpoint *rls_checkpoint_new(int32_t n_layers, const int32_t *sizes,
                                          struct rls_err *err);

/* Frees *ck and its arrays and sets it to NULL; NULL is a no-op. */
void rls_checkpoint_destroy(struct rls_checkpoint **ck);

/* Checks a checkpoint in memory with the rules load applies (version,
 * layer count, sizes, outputs = n_heads * n_actions, n_actions = n_deltas *
 * n_placements, feature names = this build's, finite weights, std > 0).
 * `what` names it in messages (a file path, or NULL for "checkpoint").
 * Returns RLS_OK, or RLS_ERR_VERSION / RLS_ERR_RANGE / RLS_ERR_INVALID /
 * RLS_ERR_PARSE with err naming the field or dataset. */
int rls_checkpoint_validate(const struct rls_checkpoint *ck, const char *what,
                            struct rls_err *err);

/* Writes ck to `path` atomically: validates it, writes PATH.tmp.PID, flushes
 * and closes it, fsyncs it, renames it over path and fsyncs the directory; a
 * failure (or a crash) never leaves a partial file under path, and the
 * temporary is removed on failure. Returns RLS_OK, the validation status, or
 * RLS_ERR_IO with err naming the file (e.g. an unwritable directory). */
int rls_checkpoint_save(const struct rls_checkpoint *ck, const char *path, struct rls_err *err);

/* Reads and validates the checkpoint at path. On success stores an owned
 * checkpoint in *out (rls_checkpoint_destroy) and returns RLS_OK. Refuses,
 * with *out NULL and err naming the file and the attribute or dataset:
 * RLS_ERR_IO (missing/unreadable, not HDF5, truncated or corrupt),
 * RLS_ERR_PARSE (another format name, missing attribute or dataset, wrong
 * type/shape, checksum failure), RLS_ERR_VERSION (other format_version),
 * RLS_ERR_RANGE (sizes that do not chain, NaN/inf weights, std <= 0,
 * n_actions != n_deltas * n_placements), RLS_ERR_INVALID (feature names of
 * another build). */
int rls_checkpoint_load(const char *path, struct rls_checkpoint **out, struct rls_err *err);

/* Multiply-adds per input row of the network (sum of sizes[l] * sizes[l+1]).
 * 0 for NULL. */
int64_t rls_checkpoint_macs(const struct rls_checkpoint *ck);

/* The comma-separated feature names of this build (static). */
const char *rls_checkpoint_build_feature_names(void);

#endif
