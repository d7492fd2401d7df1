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

/* ---------------------------------------------------------------------------
 * The optional training state: group /train_state (CHECKPOINT.md), written
 * by the trainer so that `rlsched train --resume` continues exactly. It is a
 * plain list of named float32 tensors (rank 1 or 2) and named uint64
 * scalars; this module stores, loads and checks them and knows nothing of
 * what they mean (the trainer picks the names). rls_checkpoint_load does not
 * read it (the learned policy, the agent and export never pay for it); a
 * checkpoint without it is still a complete checkpoint.
 *
 *     struct rls_checkpoint_state *st = rls_checkpoint_state_new(&err);
 *     float *w = rls_checkpoint_state_add(st, "q.layer_0.weight", 2, (int64_t[]){256, 25}, &err);
 *     ... fill w ...; rls_checkpoint_state_set_u64(st, "rng", rng, &err);
 *     rls_checkpoint_save_with_state(ck, st, "policy.h5", &err);
 *     ...
 *     rls_checkpoint_load_state("policy.h5", &st, &err);      // st NULL: no /train_state
 *     const float *w = rls_checkpoint_state_tensor(st, "q.layer_0.weight", 2, dims, path, &err);
 */

#define RLS_CHECKPOINT_STATE_VERSION 1     /* /train_state attribute "state_version" */
#define RLS_CHECKPOINT_STATE_NAME_MAX 64   /* bytes of a name, NUL included */
#define RLS_CHECKPOINT_STATE_MAX 512       /* tensors at most, and scalars at most */

struct rls_checkpoint_tensor {
    char name[RLS_CHECKPOINT_STATE_NAME_MAX]; /* [A-Za-z0-9_.-]+, unique; the dataset
                                                 /train_state/<name> */
    int32_t rank;               /* 1 or 2 */
    int64_t dims[2];            /* [dims[0]] or [dims[0], dims[1]] row-major, each >= 1 */
    float *data;                /* owned, dims[0] * (rank 2 ? dims[1] : 1) finite values */
    int used;                   /* set by rls_checkpoint_state_tensor (see _unused) */
};

struct rls_checkpoint_scalar {
    char name[RLS_CHECKPOINT_STATE_NAME_MAX]; /* as a tensor's; the uint64 attribute
                                                 <name> of /train_state */
    uint64_t value;
    int used;                   /* set by rls_checkpoint_state_u64 */
};

struct rls_checkpoint_state {
    int32_t n_tensors;
    struct rls_checkpoint_tensor *tensors;  /* [n_tensors], owned */
    int32_t n_scalars;
    struct rls_checkpoint_scalar *scalars;  /* [n_scalars], owned */
};

/* An empty state. Returns an owned state (rls_checkpoint_state_destroy) or
 * NULL with err (no memory). */
struct rls_checkpoint_state *rls_checkpoint_state_new(struct rls_err *err);

/* Frees *st, its tensors and scalars, sets it to NULL; NULL is a no-op. */
void rls_checkpoint_state_destroy(struct rls_checkpoint_state **st);

/* Adds a zero-filled tensor `name` of rank 1 or 2 with dims[rank] and
 * returns its data (owned by st) for the caller to fill, or NULL with err:
 * RLS_ERR_INVALID (a name that is empty, too long, has other characters than
 * [A-Za-z0-9_.-] or is already used), RLS_ERR_RANGE (rank, a dim < 1, more
 * than RLS_CHECKPOINT_STATE_MAX tensors), RLS_ERR_NOMEM. */
float *rls_checkpoint_state_add(struct rls_checkpoint_state *st, const char *name, int32_t rank,
                                const int64_t *dims, struct rls_err *err);

/* Sets scalar `name` (added when new, overwritten otherwise). Returns RLS_OK
 * or the statuses of rls_checkpoint_state_add ("state_version" is reserved). */
int rls_checkpoint_state_set_u64(struct rls_checkpoint_state *st, const char *name, uint64_t v,
                                 struct rls_err *err);

/* The data of tensor `name` when it exists with exactly rank and dims, and
 * marks it used; otherwise NULL with err naming `what` (the file) and the
 * dataset: RLS_ERR_PARSE ("FILE: dataset '/train_state/NAME' is missing"),
 * RLS_ERR_RANGE ("... has shape [3, 4], expected [256, 25]"). The pointer is
 * owned by st. */
const float *rls_checkpoint_state_tensor(struct rls_checkpoint_state *st, const char *name,
                                         int32_t rank, const int64_t *dims, const char *what,
                                         struct rls_err *err);

/* Scalar `name` into *v, marked used. Returns RLS_OK or RLS_ERR_PARSE with
 * err naming `what` and the attribute when it is missing. */
int rls_checkpoint_state_u64(struct rls_checkpoint_state *st, const char *name, uint64_t *v,
                             const char *what, struct rls_err *err);

/* After the lookups: RLS_OK when every tensor and scalar was looked up,
 * else RLS_ERR_PARSE with err naming `what` and the first dataset or
 * attribute nobody asked for (a state written for another algorithm or
 * network). */
int rls_checkpoint_state_check_all_used(const struct rls_checkpoint_state *st, const char *what,
                                        struct rls_err *err);

/* rls_checkpoint_save, plus the group /train_state from st when st is not
 * NULL (NULL: exactly rls_checkpoint_save), in the same atomic write. st is
 * checked first (names, shapes, finite values): RLS_ERR_INVALID /
 * RLS_ERR_RANGE naming the tensor. Other returns as rls_checkpoint_save. */
int rls_checkpoint_save_with_state(const struct rls_checkpoint *ck,
                                   const struct rls_checkpoint_state *st, const char *path,
                                   struct rls_err *err);

/* Reads only the group /train_state of the checkpoint at path (load the
 * checkpoint itself with rls_checkpoint_load). On success returns RLS_OK with
 * an owned state in *out (rls_checkpoint_state_destroy), or with *out NULL
 * when the file has no /train_state (a checkpoint from before it, or one not
 * written by the trainer). Refuses, with *out NULL and err naming the file
 * and the dataset or attribute: RLS_ERR_IO (unreadable, truncated or corrupt
 * file or dataset, checksum failure), RLS_ERR_VERSION (another
 * state_version), RLS_ERR_PARSE (a member that is not a float dataset of rank
 * 1-2 or a uint64 scalar attribute, a bad name, too many members),
 * RLS_ERR_RANGE (a NaN/inf element). */
int rls_checkpoint_load_state(const char *path, struct rls_checkpoint_state **out,
                              struct rls_err *err);

/* Multiply-adds per input row of the network (sum of sizes[l] * sizes[l+1]).
 * 0 for NULL. */
int64_t rls_checkpoint_macs(const struct rls_checkpoint *ck);

/* The comma-separated feature names of this build (static). */
const char *rls_checkpoint_build_feature_names(void);

#endif
