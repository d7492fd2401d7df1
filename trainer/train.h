/* train.h - offline training of a scaling policy from a replay file
 * (replay/replay.h) with the libtorch shim (trainer/torch_shim.h), written
 * as checkpoints (policies/checkpoint.h).
 *
 *     struct rls_train_params p = rls_train_default_params();
 *     p.data_path = "data.h5"; p.algo = "discrete-cql"; p.steps = 100000; p.out_path = "policy.h5";
 *     struct rls_train_result res;
 *     if (rls_train_run(&p, &res, &err) != RLS_OK) ... err.msg ...
 *
 * Algorithms (trainer/TRAINER.md gives the losses and the d3rlpy defaults):
 * bc, double-dqn, discrete-cql, discrete-bcq, discrete-iql; and fitted Q
 * evaluation (rls_fqe_run) to rank checkpoints without a simulator.
 * One network is shared by every service: each (step, service) pair of the
 * replay file is one transition, its observation normalized with the file's
 * obs_mean / obs_std (stored in the checkpoint).
 *
 * Library code: nothing is printed; progress goes to an optional callback.
 */
#ifndef RLS_TRAIN_H
#define RLS_TRAIN_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"

#define RLS_TRAIN_MAX_HIDDEN 6

/* A progress report (every progress_every_s seconds and at the end). */
struct rls_train_progress {
    int64_t step;           /* gradient steps done (including resumed ones) */
    int64_t total;          /* steps to reach */
    double loss;            /* mean loss since the last report */
    double mean_q;          /* mean Q(s, a) of the data's actions since the last report (NAN for bc) */
    double accuracy;        /* bc / bcq / iql: argmax == data action, since the last report (NAN otherwise) */
    double updates_per_s;   /* gradient steps per second since the last report */
    double eta_s;           /* seconds to reach total at that rate */
    int evaluated;          /* 1 when this report follows a simulator evaluation */
    double eval_cost;       /* its cost, dollars */
    double eval_slo_pct;    /* its SLO violations, % */
    double eval_score;      /* its score (higher is better) */
    double best_score;      /* best score so far (NAN before the first evaluation) */
};

typedef void (*rls_train_progress_fn)(void *ctx, const struct rls_train_progress *pr);

/* How to train. 0 / NULL fields take the algorithm's default (TRAINER.md). */
struct rls_train_params {
    const char *data_path;      /* replay file (required) */
    const char *algo;           /* "bc", "double-dqn", "discrete-cql", "discrete-bcq",
                                   "discrete-iql" ("discrete-cql") */
    int64_t steps;              /* gradient steps to reach, counting resumed ones (10000) */
    const char *out_path;       /* checkpoint to write (required): the last weights, or with
                                   evaluation on, the best-scoring ones; either way with the
                                   training state of the run's LAST step in /train_state, so
                                   resuming from it continues exactly where the run stopped */
    const char *resume_path;    /* checkpoint to continue from; NULL = start fresh. With a
                                   /train_state (written by this trainer) the run continues
                                   exactly: every network, Adam's moments and steps, the step
                                   count and the sampling stream; without one (an older
                                   checkpoint) only its weights and step count */
    int32_t no_train_state;     /* 1: leave /train_state out of out_path (a smaller file to
                                   ship; resuming from it is then weights and step count only);
                                   0: write it (0) */
    int32_t batch;              /* minibatch rows (0 = algorithm default: 32, bc 100, iql 256) */
    double lr;                  /* Adam learning rate (0 = algorithm default) */
    double adam_eps;            /* Adam epsilon (1e-8) */
    uint64_t seed;              /* weights, sampling (1) */
    int32_t n_hidden;           /* hidden layers (2) */
    int32_t hidden[RLS_TRAIN_MAX_HIDDEN]; /* their widths ({256, 256}, d3rlpy's VectorEncoder) */
    double gamma;               /* discount (0.99) */
    int64_t target_update;      /* hard target sync every this many steps (0 = 8000, d3rlpy) */
    double target_tau;          /* iql: Polyak rate per step (0.005) */
    double cql_alpha;           /* discrete-cql: weight of the conservative term (1.0) */
    double bcq_tau;             /* discrete-bcq: action flexibility (0.3) */
    double bcq_beta;            /* discrete-bcq / bc: logit penalty (0.5) */
    double iql_expectile;       /* discrete-iql (0.7) */
    double iql_temperature;     /* discrete-iql (3.0) */
    double iql_max_weight;      /* discrete-iql (100) */
    /* the reward-driven stage (offline-to-online from an imitation start) */
    const char *init_path;      /* bc / discrete-iql: the actor starts from this checkpoint's
                                   weights and keeps its observation normalization (a policy
                                   trained by bc on the same features and actions); NULL = fresh */
    int32_t reward_kind;        /* RLS_TRAIN_REWARD_DATA: the file's rewards (default);
                                   RLS_TRAIN_REWARD_LAGRANGIAN: per service, from the
                                   transition's own features (see below) */
    double lagrange_lambda;     /* price of late or dropped load against replicas held (20) */
    double churn_penalty;       /* price of a change of the desired replicas (0.02) */
    int32_t support_head;       /* discrete-iql with init_path: 1 = the checkpoint acts by the
                                   critic within the imitation's support: one network computing
                                   [Q | the init actor's logits] (n_heads 2; the learned policy's
                                   tau rule, policies/learned.h); 0 = the IQL actor (0) */
    int64_t cache_bytes;        /* replay reader cache (0 = whole file in RAM) */
    int32_t threads;            /* libtorch intra-op threads (1: deterministic) */
    /* evaluation in the simulator (off when eval_scenario is NULL or eval_every is 0) */
    const struct rls_scenario *eval_scenario; /* not owned */
    int64_t eval_every;         /* evaluate every this many steps, and at the end (0) */
    int64_t eval_steps;         /* control steps per evaluation (0 = the scenario's horizon) */
    uint64_t eval_seed;         /* simulator seed (1) */
    double slo_penalty;         /* score = -cost * (1 + slo_penalty * slo_violation_pct) (0.1:
                                   each % of requests violating the SLO costs 10%) */
    /* reporting */
    rls_train_progress_fn progress; /* NULL = silent */
    void *progress_ctx;
    double progress_every_s;    /* seconds between reports (1.0) */
};

/* Where rewards come from (rls_train_params.reward_kind). The Lagrangian
 * reward of one service's transition is computed from its next observation's
 * features (docs/ENV.md), in units of the service's max replicas M:
 *   r = -( (ready + starting)                     replicas held / M
 *          + lambda * load * (over_slo + drop)   late or dropped load / M
 *          + churn * [desired' != desired] )     a scale action
 * so one network learns one trade-off for every service whatever its size;
 * lambda is the Lagrange multiplier of the SLO budget (raise it when the
 * validation runs exceed the budget, lower it when they leave it unused). */
#define RLS_TRAIN_REWARD_DATA 0
#define RLS_TRAIN_REWARD_LAGRANGIAN 1

/* The Lagrangian reward of one transition from its raw (unnormalized)
 * features obs[F] and next_obs[F] (F = RLS_ENV_N_FEATURES). */
float rls_train_lagrangian_reward(const float *obs, const float *next_obs, double lambda, double churn);

/* How a run started (rls_train_result.resume_mode). */
#define RLS_TRAIN_RESUME_NONE 0     /* fresh networks */
#define RLS_TRAIN_RESUME_EXACT 1    /* from a checkpoint's /train_state: an exact continuation */
#define RLS_TRAIN_RESUME_WEIGHTS 2  /* from a checkpoint without /train_state: its weights and
                                       step count only; Adam, the target network, the sampling
                                       stream (and discrete-iql's q and v) start afresh */

/* What a run did. */
struct rls_train_result {
    int64_t steps;              /* step count reached */
    int64_t start_step;         /* steps already done by the resumed checkpoint (0) */
    int32_t resume_mode;        /* RLS_TRAIN_RESUME_* */
    double last_loss;           /* mean loss over the last report interval */
    double first_loss;          /* mean loss over the first 50 steps of this run */
    double last_accuracy;       /* argmax agreement with the data, last interval (NAN if none) */
    double updates_per_s;       /* over the whole run, evaluation excluded */
    double best_score;          /* NAN without evaluation */
    int64_t best_step;          /* step of the best score (-1 without evaluation) */
    char blas[256];             /* the BLAS library libtorch runs on */
};

/* Returns the defaults above. */
struct rls_train_params rls_train_default_params(void);

/* 1 if algo names a supported algorithm. */
int rls_train_algo_known(const char *algo);

/* Trains as p says and writes the checkpoint to p->out_path atomically
 * (policies/checkpoint.h), with the training state of the last step in its
 * /train_state (policies/CHECKPOINT.md). Deterministic given p->seed with
 * threads = 1.
 * Resuming trains from the checkpoint's step count until p->steps:
 * - with /train_state it restores every network of the algorithm (q,
 *   q_target, v, pi), each Adam's moments and step counts, the step count and
 *   the sampling stream, so N steps in one run and N/2 + resume to N give
 *   bit-identical weights (same data, batch, lr and other hyperparameters;
 *   the seed then only matters for a fresh start). With evaluation on, the
 *   checkpoint's score stays the best so far when this run evaluates the
 *   same scenario with the same eval_seed and eval_steps. Exactness needs
 *   the replay reader's exact sampling: the whole file in RAM (cache_bytes 0,
 *   the default); the chunk-wise window (cache_bytes > 0) refills its window
 *   on resume and draws other batches. A state that lacks a tensor, has one
 *   of another shape or holds others is refused naming the file and dataset.
 * - without it (older checkpoints) it loads the weights (target = copy) and
 *   the step count; Adam restarts, discrete-iql resumes its actor only, the
 *   sampling stream is derived from seed and step (res->resume_mode says
 *   RLS_TRAIN_RESUME_WEIGHTS).
 * Fills *res (may be NULL). Returns RLS_OK or a negative status with err
 * naming the file, dataset, parameter or libtorch's message. */
int rls_train_run(const struct rls_train_params *p, struct rls_train_result *res,
                  struct rls_err *err);

/* Fitted Q evaluation of a checkpoint on a replay file. */
struct rls_fqe_params {
    const char *data_path;      /* replay file (required) */
    const char *policy_path;    /* checkpoint to evaluate (required) */
    int64_t steps;              /* gradient steps (10000) */
    int32_t batch;              /* (100, d3rlpy FQE) */
    double lr;                  /* (1e-4, d3rlpy FQE) */
    int64_t target_update;      /* hard sync interval (100, d3rlpy FQE) */
    double gamma;               /* (0.99) */
    uint64_t seed;              /* (1) */
    int64_t cache_bytes;        /* replay reader cache (0) */
    double bcq_tau;             /* action flexibility of two-headed checkpoints (0.3) */
    rls_train_progress_fn progress;
    void *progress_ctx;
    double progress_every_s;    /* (1.0) */
};
struct rls_fqe_params rls_fqe_default_params(void);

struct rls_fqe_result {
    double initial_value;       /* mean over episodes and services of Q(s_0, pi(s_0)):
                                   the estimated discounted per-service return from an
                                   episode's start (higher is better) */
    double mean_value;          /* mean of Q(s, pi(s)) over a sample of the data's states */
    double last_loss;
    int64_t steps;
};

/* Runs FQE. Returns RLS_OK or a negative status with err. */
int rls_fqe_run(const struct rls_fqe_params *p, struct rls_fqe_result *res, struct rls_err *err);

/* Writes a checkpoint's network as TorchScript (rls_tnet_export_torchscript):
 * forward(obs) -> outputs, act(obs, mask) -> actions. Returns RLS_OK or a
 * negative status with err naming the file. */
int rls_train_export_torchscript(const char *ckpt_path, const char *out_path, double bcq_tau,
                                 struct rls_err *err);

#endif
