/* train.c - the offline training loops: bc, double-dqn, discrete-cql,
 * discrete-bcq, discrete-iql, and fitted Q evaluation (FQE).
 *
 * Each gradient step reads as llm.c's train_gpt2.c does:
 *     sample    a minibatch of (s, a, r, s', done, mask, mask') from the replay file
 *     forward   the networks and the algorithm's loss (trainer/torch_shim.h)
 *     zero_grad
 *     backward
 *     update    Adam, then the target network (hard sync or Polyak)
 * Around it: progress reports, evaluation of the current weights in the
 * simulator every K steps (keeping the best checkpoint), resume (exact from
 * the checkpoint's /train_state: every network, Adam, step and sampling
 * stream), and the atomic checkpoint write (policies/checkpoint.h).
 *
 * Shapes: B batch rows, F features, A actions (n_deltas * n_placements).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "train.h"
#include "torch_shim.h"
#include "../env/env.h"
#include "../eval/eval.h"
#include "../policies/checkpoint.h"
#include "../policies/policy.h"
#include "../replay/replay.h"

/* ------------------------------------------------------------ algorithms */

enum s_algo { S_BC, S_DDQN, S_CQL, S_BCQ, S_IQL, S_N_ALGOS };

/* d3rlpy's published defaults (TRAINER.md cites them). */
struct s_algo_info {
    const char *name;
    int32_t batch;      /* batch_size */
    double lr;          /* learning_rate (IQL: actor and critic) */
};

static const struct s_algo_info s_algos[S_N_ALGOS] = {
    [S_BC] = {"bc", 100, 1e-3},
    [S_DDQN] = {"double-dqn", 32, 6.25e-5},
    [S_CQL] = {"discrete-cql", 32, 6.25e-5},
    [S_BCQ] = {"discrete-bcq", 32, 6.25e-5},
    [S_IQL] = {"discrete-iql", 256, 3e-4},
};

static int s_algo_find(const char *name)
{
    for (int i = 0; i < S_N_ALGOS; i++)
        if (name && strcmp(name, s_algos[i].name) == 0)
            return i;
    return -1;
}

int rls_train_algo_known(const char *algo)
{
    return s_algo_find(algo) >= 0;
}

struct rls_train_params rls_train_default_params(void)
{
    struct rls_train_params p;
    memset(&p, 0, sizeof p);
    p.algo = "discrete-cql";
    p.steps = 10000;
    p.adam_eps = 1e-8;
    p.seed = 1;
    p.n_hidden = 2;
    p.hidden[0] = 256;
    p.hidden[1] = 256;
    p.gamma = 0.99;
    p.target_update = 8000;
    p.target_tau = 0.005;
    p.cql_alpha = 1.0;
    p.bcq_tau = 0.3;
    p.bcq_beta = 0.5;
    p.iql_expectile = 0.7;
    p.iql_temperature = 3.0;
    p.iql_max_weight = 100.0;
    p.threads = 1;
    p.lagrange_lambda = 20.0;
    p.churn_penalty = 0.02;
    p.eval_seed = 1;
    p.slo_penalty = 0.1;
    p.progress_every_s = 1.0;
    return p;
}

struct rls_fqe_params rls_fqe_default_params(void)
{
    struct rls_fqe_params p;
    memset(&p, 0, sizeof p);
    p.steps = 10000;
    p.batch = 100;
    p.lr = 1e-4;
    p.target_update = 100;
    p.gamma = 0.99;
    p.seed = 1;
    p.bcq_tau = 0.3;
    p.progress_every_s = 1.0;
    return p;
}

/* ------------------------------------------------------------ helpers */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64: the sampling stream's starting state from a seed and a step. */
static uint64_t s_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int s_torch_err(struct rls_err *err, int status, const char *what)
{
    return rls_err_set(err, status, "%s: %s", what, rls_torch_errmsg());
}

/* A new network F -> hidden... -> out. */
static struct rls_tnet *s_net_new(int32_t F, int32_t n_hidden, const int32_t *hidden, int32_t out,
                                  struct rls_err *err)
{
    int32_t sizes[RLS_TORCH_MAX_LAYERS + 1];
    struct rls_tnet *net = NULL;
    if (n_hidden < 0 || n_hidden + 1 > RLS_TORCH_MAX_LAYERS) {
        rls_err_set(err, RLS_ERR_RANGE, "hidden layers: %d, at most %d", n_hidden,
                    RLS_TORCH_MAX_LAYERS - 1);
        return NULL;
    }
    sizes[0] = F;
    for (int32_t l = 0; l < n_hidden; l++)
        sizes[l + 1] = hidden[l];
    sizes[n_hidden + 1] = out;
    net = rls_tnet_new(n_hidden + 1, sizes);
    if (!net)
        s_torch_err(err, RLS_ERR_INVALID, "network");
    return net;
}

/* A network shaped and loaded from a checkpoint. */
static struct rls_tnet *s_net_from_checkpoint(const struct rls_checkpoint *ck, const char *path,
                                              struct rls_err *err)
{
    struct rls_tnet *net = rls_tnet_new(ck->n_layers, ck->sizes);
    if (!net) {
        s_torch_err(err, RLS_ERR_INVALID, path);
        return NULL;
    }
    for (int32_t l = 0; l < ck->n_layers; l++)
        if (rls_tnet_set_layer(net, l, ck->weight[l], ck->bias[l]) != RLS_OK) {
            s_torch_err(err, RLS_ERR_INVALID, path);
            rls_tnet_destroy(&net);
            return NULL;
        }
    return net;
}

/* Writes a network into a new checkpoint. Returns an owned checkpoint or NULL. */
static struct rls_checkpoint *s_checkpoint_of(const struct rls_tnet *net, int32_t n_heads,
                                              const struct rls_replay_meta *meta, const float *mean,
                                              const float *std, struct rls_err *err)
{
    int32_t n_layers = rls_tnet_n_layers(net);
    const int32_t *sizes = rls_tnet_sizes(net);
    struct rls_checkpoint *ck = rls_checkpoint_new(n_layers, sizes, err);
    if (!ck)
        return NULL;
    for (int32_t l = 0; l < n_layers; l++)
        if (rls_tnet_get_layer(net, l, ck->weight[l], ck->bias[l]) != RLS_OK) {
            s_torch_err(err, RLS_ERR_EXTERNAL, "checkpoint weights");
            rls_checkpoint_destroy(&ck);
            return NULL;
        }
    memcpy(ck->obs_mean, mean, sizeof(float) * (size_t)sizes[0]);
    memcpy(ck->obs_std, std, sizeof(float) * (size_t)sizes[0]);
    ck->n_heads = n_heads;
    ck->n_deltas = meta->n_deltas;
    memcpy(ck->deltas, meta->deltas, sizeof ck->deltas);
    ck->n_placements = meta->n_placements;
    ck->n_actions = meta->n_actions;
    snprintf(ck->scenario_name, sizeof ck->scenario_name, "%s", meta->scenario_name);
    return ck;
}

/* ------------------------------------------------------------ the trainer */

struct s_trainer {
    const struct rls_train_params *p;
    enum s_algo algo;
    struct rls_replay_reader *reader;
    const struct rls_replay_meta *meta;
    int32_t F, A, B;
    float *mean, *std;                /* [F] normalization (std > 0) */
    uint64_t rng;                     /* sampling stream */
    struct rls_replay_batch raw;      /* B rows as read */
    float *obs, *next_obs;            /* [B, F] normalized */
    struct rls_tbatch *tb;
    struct rls_tgraph *g;
    /* networks: q (+ q_target) for the Q family and IQL's critic, v for IQL,
       pi for bc and IQL's actor; opt_* their Adam */
    struct rls_tnet *q, *q_target, *v, *pi;
    struct rls_tadam *opt_q, *opt_v, *opt_pi;
    struct rls_tq_params qp;
    struct rls_tiql_params iqlp;
    int64_t step;
    int32_t resume_mode;              /* RLS_TRAIN_RESUME_* */
    /* the best evaluated checkpoint so far (owned; NULL before the first
       evaluation), carried over from an exact resume when comparable */
    struct rls_checkpoint *best;
};

/* The network a checkpoint holds and how many heads it has. */
static struct rls_tnet *s_policy_net(const struct s_trainer *t, int32_t *n_heads)
{
    *n_heads = t->algo == S_BCQ ? 2 : 1;
    return (t->algo == S_BC || t->algo == S_IQL) ? t->pi : t->q;
}

static void s_trainer_free(struct s_trainer *t)
{
    rls_checkpoint_destroy(&t->best);
    rls_tadam_destroy(&t->opt_q);
    rls_tadam_destroy(&t->opt_v);
    rls_tadam_destroy(&t->opt_pi);
    rls_tnet_destroy(&t->q);
    rls_tnet_destroy(&t->q_target);
    rls_tnet_destroy(&t->v);
    rls_tnet_destroy(&t->pi);
    rls_tgraph_destroy(&t->g);
    rls_tbatch_destroy(&t->tb);
    rls_replay_batch_free(&t->raw);
    free(t->obs);
    free(t->next_obs);
    free(t->mean);
    free(t->std);
    rls_replay_reader_close(&t->reader);
}

float rls_train_lagrangian_reward(const float *obs, const float *next_obs, double lambda, double churn)
{
    double held = (double)next_obs[RLS_FEAT_READY] + (double)next_obs[RLS_FEAT_STARTING];
    double late = (double)next_obs[RLS_FEAT_LOAD] *
                  ((double)next_obs[RLS_FEAT_OVER_SLO] + (double)next_obs[RLS_FEAT_DROP]);
    double moved = fabsf(next_obs[RLS_FEAT_DESIRED] - obs[RLS_FEAT_DESIRED]) > 1e-6f ? 1.0 : 0.0;
    return (float)-(held + lambda * late + churn * moved);
}

/* Sample: B transitions, observations normalized, into the shim's batch. */
static int s_sample(struct s_trainer *t, struct rls_err *err)
{
    int rc = rls_replay_reader_sample(t->reader, &t->rng, &t->raw);
    if (rc != RLS_OK)
        return rls_err_set(err, rc, "%s: %s", t->p->data_path, rls_replay_reader_errmsg(t->reader));
    if (t->p->reward_kind == RLS_TRAIN_REWARD_LAGRANGIAN)
        for (int32_t i = 0; i < t->B; i++)
            t->raw.reward[i] = rls_train_lagrangian_reward(t->raw.obs + (size_t)i * (size_t)t->F,
                                                           t->raw.next_obs + (size_t)i * (size_t)t->F,
                                                           t->p->lagrange_lambda, t->p->churn_penalty);
    for (int32_t i = 0; i < t->B; i++)
        for (int32_t f = 0; f < t->F; f++) {
            size_t k = (size_t)i * (size_t)t->F + (size_t)f;
            t->obs[k] = (t->raw.obs[k] - t->mean[f]) / t->std[f];
            t->next_obs[k] = (t->raw.next_obs[k] - t->mean[f]) / t->std[f];
        }
    rc = rls_tbatch_set(t->tb, t->B, t->obs, t->raw.action, t->raw.reward, t->next_obs, t->raw.done,
                        t->raw.mask, t->raw.next_mask);
    if (rc != RLS_OK)
        return s_torch_err(err, rc, t->p->data_path);
    return RLS_OK;
}

/* One gradient step of the algorithm. */
static int s_train_step(struct s_trainer *t, struct rls_tstats *st, struct rls_err *err)
{
    int rc = RLS_OK;
    /* --- sample */
    if ((rc = s_sample(t, err)) != RLS_OK)
        return rc;
    /* --- forward: networks and loss */
    switch (t->algo) {
    case S_BC:
        rc = rls_torch_bc_forward(t->g, t->pi, t->tb, t->p->bcq_beta, st);
        break;
    case S_DDQN:
    case S_CQL:
    case S_BCQ:
        rc = rls_torch_q_forward(t->g, t->q, t->q_target, t->tb, &t->qp, st);
        break;
    case S_IQL:
        rc = rls_torch_iql_forward(t->g, t->q, t->q_target, t->v, t->pi, t->tb, &t->iqlp, st);
        break;
    default:
        rc = RLS_ERR_INVALID;
    }
    if (rc != RLS_OK)
        return s_torch_err(err, rc, "forward");
    /* --- zero_grad */
    if ((t->opt_q && rls_tadam_zero_grad(t->opt_q) != RLS_OK) ||
        (t->opt_v && rls_tadam_zero_grad(t->opt_v) != RLS_OK) ||
        (t->opt_pi && rls_tadam_zero_grad(t->opt_pi) != RLS_OK))
        return s_torch_err(err, RLS_ERR_EXTERNAL, "zero_grad");
    /* --- backward */
    if ((rc = rls_tgraph_backward(t->g)) != RLS_OK)
        return s_torch_err(err, rc, "backward");
    /* --- update: Adam, then the target network */
    if ((t->opt_q && rls_tadam_step(t->opt_q) != RLS_OK) ||
        (t->opt_v && rls_tadam_step(t->opt_v) != RLS_OK) ||
        (t->opt_pi && rls_tadam_step(t->opt_pi) != RLS_OK))
        return s_torch_err(err, RLS_ERR_EXTERNAL, "update");
    t->step++;
    if (t->q_target) {
        if (t->algo == S_IQL)
            rc = rls_tnet_copy(t->q_target, t->q, t->p->target_tau);
        else if (t->step % t->p->target_update == 0)
            rc = rls_tnet_copy(t->q_target, t->q, 1.0);
        if (rc != RLS_OK)
            return s_torch_err(err, rc, "target update");
    }
    return RLS_OK;
}

/* ------------------------------------------------------------ training state
 *
 * What an exact resume needs, in the checkpoint's /train_state
 * (policies/CHECKPOINT.md lists the names):
 *   tensors  <net>.layer_<l>.weight [sizes[l+1], sizes[l]], <net>.layer_<l>.bias
 *            [sizes[l+1]] for each network the algorithm has (q, q_target, v, pi);
 *            adam_<net>.layer_<l>.{weight,bias}.{exp_avg,exp_avg_sq} (same shapes)
 *   scalars  adam_<net>.layer_<l>.{weight,bias}.step, step (gradient steps), rng
 *            (the sampling stream's splitmix64 state), eval_seed / eval_steps (the
 *            evaluation settings behind the checkpoint's eval_score, when evaluating)
 */

struct s_named_net {
    const char *name;
    struct rls_tnet *net;
    struct rls_tadam *opt;            /* NULL for q_target */
};

/* The networks of t with their state names; returns how many (<= 4). */
static int s_named_nets(const struct s_trainer *t, struct s_named_net out[4])
{
    int n = 0;
    if (t->q)
        out[n++] = (struct s_named_net){"q", t->q, t->opt_q};
    if (t->q_target)
        out[n++] = (struct s_named_net){"q_target", t->q_target, NULL};
    if (t->v)
        out[n++] = (struct s_named_net){"v", t->v, t->opt_v};
    if (t->pi)
        out[n++] = (struct s_named_net){"pi", t->pi, t->opt_pi};
    return n;
}

/* Shape of parameter i (2l: layer l's weight, 2l + 1: its bias) of net. */
static int32_t s_param_shape(const struct rls_tnet *net, int32_t i, int64_t dims[2])
{
    const int32_t *sizes = rls_tnet_sizes(net);
    int32_t l = i / 2;
    dims[0] = sizes[l + 1];
    dims[1] = sizes[l];
    return i % 2 == 0 ? 2 : 1;
}

static void s_param_name(char *buf, size_t cap, const char *prefix, int32_t i, const char *suffix)
{
    snprintf(buf, cap, "%s.layer_%d.%s%s", prefix, (int)(i / 2), i % 2 == 0 ? "weight" : "bias",
             suffix);
}

/* The training state of t (owned by the caller) or NULL with err. */
static struct rls_checkpoint_state *s_trainer_state(const struct s_trainer *t, struct rls_err *err)
{
    struct rls_checkpoint_state *st = rls_checkpoint_state_new(err);
    struct s_named_net nets[4];
    int n = s_named_nets(t, nets);
    char name[RLS_CHECKPOINT_STATE_NAME_MAX], prefix[16];
    int64_t dims[2];
    float *w = NULL, *b = NULL, *m = NULL, *v = NULL;
    int rc = RLS_OK;

    if (!st)
        return NULL;
    for (int k = 0; k < n; k++) {
        int32_t n_layers = rls_tnet_n_layers(nets[k].net);
        for (int32_t l = 0; l < n_layers; l++) {
            int32_t rank_w = s_param_shape(nets[k].net, 2 * l, dims);
            snprintf(name, sizeof name, "%s.layer_%d.weight", nets[k].name, (int)l);
            if (!(w = rls_checkpoint_state_add(st, name, rank_w, dims, err)))
                goto fail;
            snprintf(name, sizeof name, "%s.layer_%d.bias", nets[k].name, (int)l);
            if (!(b = rls_checkpoint_state_add(st, name, 1, dims, err)))
                goto fail;
            if (rls_tnet_get_layer(nets[k].net, l, w, b) != RLS_OK) {
                s_torch_err(err, RLS_ERR_EXTERNAL, "training state");
                goto fail;
            }
        }
        if (!nets[k].opt)
            continue;
        snprintf(prefix, sizeof prefix, "adam_%s", nets[k].name);
        for (int32_t i = 0; i < rls_tadam_n_tensors(nets[k].opt); i++) {
            int32_t rank = s_param_shape(nets[k].net, i, dims);
            int64_t steps = 0;
            s_param_name(name, sizeof name, prefix, i, ".exp_avg");
            if (!(m = rls_checkpoint_state_add(st, name, rank, dims, err)))
                goto fail;
            s_param_name(name, sizeof name, prefix, i, ".exp_avg_sq");
            if (!(v = rls_checkpoint_state_add(st, name, rank, dims, err)))
                goto fail;
            if (rls_tadam_get_state(nets[k].opt, i, m, v, &steps) != RLS_OK) {
                s_torch_err(err, RLS_ERR_EXTERNAL, "training state");
                goto fail;
            }
            s_param_name(name, sizeof name, prefix, i, ".step");
            if ((rc = rls_checkpoint_state_set_u64(st, name, (uint64_t)steps, err)) != RLS_OK)
                goto fail;
        }
    }
    if ((rc = rls_checkpoint_state_set_u64(st, "step", (uint64_t)t->step, err)) != RLS_OK ||
        (rc = rls_checkpoint_state_set_u64(st, "rng", t->rng, err)) != RLS_OK)
        goto fail;
    if (t->p->eval_scenario && t->p->eval_every > 0 &&
        ((rc = rls_checkpoint_state_set_u64(st, "eval_seed", t->p->eval_seed, err)) != RLS_OK ||
         (rc = rls_checkpoint_state_set_u64(st, "eval_steps", (uint64_t)t->p->eval_steps, err)) !=
             RLS_OK))
        goto fail;
    return st;
fail:
    rls_checkpoint_state_destroy(&st);
    return NULL;
}

/* Overwrites every network, optimizer, the step count and the sampling
 * stream of t from st (loaded from `path`); refuses a state that lacks one of
 * them, has another shape, or holds anything else. */
static int s_trainer_restore(struct s_trainer *t, struct rls_checkpoint_state *st, const char *path,
                             struct rls_err *err)
{
    struct s_named_net nets[4];
    int n = s_named_nets(t, nets);
    char name[RLS_CHECKPOINT_STATE_NAME_MAX], prefix[16];
    int64_t dims[2];
    uint64_t u = 0;
    int rc = RLS_OK;

    for (int k = 0; k < n; k++) {
        int32_t n_layers = rls_tnet_n_layers(nets[k].net);
        for (int32_t l = 0; l < n_layers; l++) {
            const float *w = NULL, *b = NULL;
            int32_t rank_w = s_param_shape(nets[k].net, 2 * l, dims);
            snprintf(name, sizeof name, "%s.layer_%d.weight", nets[k].name, (int)l);
            if (!(w = rls_checkpoint_state_tensor(st, name, rank_w, dims, path, err)))
                return err ? err->status : RLS_ERR_PARSE;
            snprintf(name, sizeof name, "%s.layer_%d.bias", nets[k].name, (int)l);
            if (!(b = rls_checkpoint_state_tensor(st, name, 1, dims, path, err)))
                return err ? err->status : RLS_ERR_PARSE;
            if (rls_tnet_set_layer(nets[k].net, l, w, b) != RLS_OK)
                return s_torch_err(err, RLS_ERR_INVALID, path);
        }
        if (!nets[k].opt)
            continue;
        snprintf(prefix, sizeof prefix, "adam_%s", nets[k].name);
        for (int32_t i = 0; i < rls_tadam_n_tensors(nets[k].opt); i++) {
            const float *m = NULL, *v = NULL;
            int32_t rank = s_param_shape(nets[k].net, i, dims);
            s_param_name(name, sizeof name, prefix, i, ".exp_avg");
            if (!(m = rls_checkpoint_state_tensor(st, name, rank, dims, path, err)))
                return err ? err->status : RLS_ERR_PARSE;
            s_param_name(name, sizeof name, prefix, i, ".exp_avg_sq");
            if (!(v = rls_checkpoint_state_tensor(st, name, rank, dims, path, err)))
                return err ? err->status : RLS_ERR_PARSE;
            s_param_name(name, sizeof name, prefix, i, ".step");
            if ((rc = rls_checkpoint_state_u64(st, name, &u, path, err)) != RLS_OK)
                return rc;
            if (u > (uint64_t)INT64_MAX || rls_tadam_set_state(nets[k].opt, i, m, v, (int64_t)u) != RLS_OK)
                return rls_err_set(err, RLS_ERR_RANGE, "%s: '/train_state/%s...': %s", path, name,
                                   rls_torch_errmsg());
        }
    }
    if ((rc = rls_checkpoint_state_u64(st, "step", &u, path, err)) != RLS_OK)
        return rc;
    if (u > (uint64_t)INT64_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: attribute 'step' of '/train_state' is %llu", path,
                           (unsigned long long)u);
    t->step = (int64_t)u;
    if ((rc = rls_checkpoint_state_u64(st, "rng", &t->rng, path, err)) != RLS_OK)
        return rc;
    /* the evaluation settings are read (and compared) by the caller */
    for (int32_t i = 0; i < st->n_scalars; i++)
        if (strcmp(st->scalars[i].name, "eval_seed") == 0 || strcmp(st->scalars[i].name, "eval_steps") == 0)
            st->scalars[i].used = 1;
    return rls_checkpoint_state_check_all_used(st, path, err);
}

/* 1 when st holds scalar name (value in *v). */
static int s_state_has(const struct rls_checkpoint_state *st, const char *name, uint64_t *v)
{
    for (int32_t i = 0; st && i < st->n_scalars; i++)
        if (strcmp(st->scalars[i].name, name) == 0) {
            *v = st->scalars[i].value;
            return 1;
        }
    return 0;
}

/* Opens the data, builds networks and optimizers (from resume_path when
 * set). */
/* The actor of a reward-driven stage from an imitation checkpoint
 * (p->init_path): its weights and its observation normalization, so the
 * policy acts exactly as the imitation did at step 0. Nothing to do without
 * init_path or when resuming (the resumed state wins). */
static int s_init_actor(struct s_trainer *t, const struct rls_train_params *p, int resuming,
                        struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    int rc = RLS_OK;
    if (!p->init_path || resuming)
        return RLS_OK;
    if (t->algo != S_BC && t->algo != S_IQL)
        return rls_err_set(err, RLS_ERR_INVALID, "--init: only bc and discrete-iql start an actor from a checkpoint");
    if ((rc = rls_checkpoint_load(p->init_path, &ck, err)) != RLS_OK)
        return rc;
    if (ck->sizes[0] != t->F || ck->n_actions != t->A || ck->n_heads != 1 ||
        ck->sizes[ck->n_layers] != t->A) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: actor for %d features / %d actions, data has %d / %d",
                         p->init_path, ck->sizes[0], ck->n_actions, t->F, t->A);
    } else if (!(t->pi = s_net_from_checkpoint(ck, p->init_path, err))) {
        rc = err ? err->status : RLS_ERR_INVALID;
    } else {
        for (int32_t f = 0; f < t->F; f++) {
            t->mean[f] = ck->obs_mean[f];
            t->std[f] = ck->obs_std[f] > 1e-6f ? ck->obs_std[f] : 1.0f;
        }
    }
    rls_checkpoint_destroy(&ck);
    return rc;
}

static int s_trainer_init(struct s_trainer *t, const struct rls_train_params *p, struct rls_err *err,
                          char *blas, size_t blas_len)
{
    struct rls_replay_reader_params rp = rls_replay_reader_default_params();
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    struct rls_tadam_params ap = rls_tadam_default_params();
    int rc = RLS_OK;
    int algo = s_algo_find(p->algo);

    memset(t, 0, sizeof *t);
    t->p = p;
    if (algo < 0)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "unknown algorithm '%s' (bc, double-dqn, discrete-cql, discrete-bcq, discrete-iql)",
                           p->algo ? p->algo : "(null)");
    t->algo = (enum s_algo)algo;
    if (!p->data_path || !p->out_path)
        return rls_err_set(err, RLS_ERR_INVALID, "train: data and output paths are required");
    if (p->steps < 1 || p->target_update < 1 || !(p->gamma >= 0.0 && p->gamma <= 1.0))
        return rls_err_set(err, RLS_ERR_RANGE, "train: steps and target_update must be >= 1, gamma in [0, 1]");
    /* libtorch: OpenBLAS with one thread, intra-op threads, the seed */
    if (rls_torch_setup(p->threads, p->seed, blas, blas_len) != RLS_OK)
        return s_torch_err(err, RLS_ERR_EXTERNAL, "libtorch setup");

    rp.cache_bytes = p->cache_bytes;
    t->reader = rls_replay_reader_open(p->data_path, &rp, err);
    if (!t->reader)
        return err ? err->status : RLS_ERR_IO;
    t->meta = rls_replay_reader_meta(t->reader);
    t->F = t->meta->n_features;
    t->A = t->meta->n_actions;
    t->B = p->batch > 0 ? p->batch : s_algos[t->algo].batch;
    if (rls_replay_reader_n_transitions(t->reader) < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: no transitions", p->data_path);
    t->mean = malloc(sizeof(float) * (size_t)t->F);
    t->std = malloc(sizeof(float) * (size_t)t->F);
    t->obs = malloc(sizeof(float) * (size_t)t->F * (size_t)t->B);
    t->next_obs = malloc(sizeof(float) * (size_t)t->F * (size_t)t->B);
    if (!t->mean || !t->std || !t->obs || !t->next_obs)
        return rls_err_set(err, RLS_ERR_NOMEM, "train: out of memory");
    for (int32_t f = 0; f < t->F; f++) {
        t->mean[f] = t->meta->obs_mean ? t->meta->obs_mean[f] : 0.0f;
        t->std[f] = t->meta->obs_std && t->meta->obs_std[f] > 1e-6f ? t->meta->obs_std[f] : 1.0f;
    }
    if ((rc = rls_replay_batch_alloc(&t->raw, t->B, t->F, t->A)) != RLS_OK)
        return rls_err_set(err, rc, "train: batch of %d", t->B);
    t->tb = rls_tbatch_new(t->B, t->F, t->A);
    t->g = rls_tgraph_new();
    if (!t->tb || !t->g)
        return s_torch_err(err, RLS_ERR_NOMEM, "train");

    /* networks: fresh, or shaped and loaded from the checkpoint to resume */
    if (p->resume_path) {
        if ((rc = rls_checkpoint_load(p->resume_path, &ck, err)) != RLS_OK)
            return rc;
        if (strcmp(ck->algorithm, s_algos[t->algo].name) != 0) {
            rc = rls_err_set(err, RLS_ERR_INVALID, "%s: trained with '%s', cannot resume as '%s'",
                             p->resume_path, ck->algorithm, s_algos[t->algo].name);
            goto done;
        }
        if (ck->sizes[0] != t->F || ck->n_actions != t->A) {
            rc = rls_err_set(err, RLS_ERR_INVALID, "%s: network for %d features / %d actions, data has %d / %d",
                             p->resume_path, ck->sizes[0], ck->n_actions, t->F, t->A);
            goto done;
        }
        /* the training state, when the checkpoint has one (exact resume) */
        if ((rc = rls_checkpoint_load_state(p->resume_path, &st, err)) != RLS_OK)
            goto done;
        t->step = ck->steps;
        t->resume_mode = st ? RLS_TRAIN_RESUME_EXACT : RLS_TRAIN_RESUME_WEIGHTS;
    }
    int32_t heads = t->algo == S_BCQ ? 2 : 1;
    int32_t n_hidden = ck ? ck->n_layers - 1 : p->n_hidden;
    int32_t hidden[RLS_TORCH_MAX_LAYERS];
    for (int32_t l = 0; l < n_hidden && l < RLS_TORCH_MAX_LAYERS; l++)
        hidden[l] = ck ? ck->sizes[l + 1] : p->hidden[l];
    if ((rc = s_init_actor(t, p, ck != NULL, err)) != RLS_OK)
        goto done;
    if (t->pi == NULL && (t->algo == S_BC || t->algo == S_IQL)) {
        t->pi = ck ? s_net_from_checkpoint(ck, p->resume_path, err) : s_net_new(t->F, n_hidden, hidden, t->A, err);
        if (!t->pi) {
            rc = err ? err->status : RLS_ERR_INVALID;
            goto done;
        }
    }
    if (t->algo != S_BC) {
        if (t->algo != S_IQL && ck)
            t->q = s_net_from_checkpoint(ck, p->resume_path, err);
        else
            t->q = s_net_new(t->F, n_hidden, hidden, heads * t->A, err);
        t->q_target = t->q ? s_net_new(t->F, n_hidden, hidden, heads * t->A, err) : NULL;
        if (!t->q || !t->q_target || rls_tnet_copy(t->q_target, t->q, 1.0) != RLS_OK) {
            rc = t->q && t->q_target ? s_torch_err(err, RLS_ERR_EXTERNAL, "target") :
                 (err ? err->status : RLS_ERR_INVALID);
            goto done;
        }
    }
    if (t->algo == S_IQL && !(t->v = s_net_new(t->F, n_hidden, hidden, 1, err))) {
        rc = err ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    /* Adam */
    ap.lr = p->lr > 0.0 ? p->lr : s_algos[t->algo].lr;
    ap.eps = p->adam_eps > 0.0 ? p->adam_eps : 1e-8;
    if ((t->q && !(t->opt_q = rls_tadam_new(t->q, &ap))) || (t->v && !(t->opt_v = rls_tadam_new(t->v, &ap))) ||
        (t->pi && !(t->opt_pi = rls_tadam_new(t->pi, &ap)))) {
        rc = s_torch_err(err, RLS_ERR_EXTERNAL, "optimizer");
        goto done;
    }
    /* hyperparameters */
    t->qp.gamma = p->gamma;
    t->qp.huber = 1;
    t->qp.cql_alpha = t->algo == S_CQL ? p->cql_alpha : 0.0;
    t->qp.bcq = t->algo == S_BCQ;
    t->qp.bcq_tau = p->bcq_tau;
    t->qp.bcq_beta = p->bcq_beta;
    t->iqlp.gamma = p->gamma;
    t->iqlp.expectile = p->iql_expectile;
    t->iqlp.temperature = p->iql_temperature;
    t->iqlp.max_weight = p->iql_max_weight;
    /* sampling stream: from the seed and the starting step (a run resumed
       without a training state draws a stream of its own) */
    t->rng = s_mix(p->seed ^ s_mix((uint64_t)t->step));
    /* exact resume: every network, Adam, the step count and the stream */
    if (st) {
        uint64_t seed = 0, steps = 0;
        if ((rc = s_trainer_restore(t, st, p->resume_path, err)) != RLS_OK)
            goto done;
        /* the checkpoint's score stays the best so far when this run
           evaluates the same way (same scenario, seed and length) */
        if (p->eval_scenario && p->eval_every > 0 && isfinite(ck->eval_score) &&
            strcmp(ck->scenario_name, p->eval_scenario->name) == 0 &&
            s_state_has(st, "eval_seed", &seed) && seed == p->eval_seed &&
            s_state_has(st, "eval_steps", &steps) && steps == (uint64_t)p->eval_steps) {
            t->best = ck;
            ck = NULL;
        }
    }
done:
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
    return rc;
}

/* The checkpoint of the current weights (owned by the caller). */
/* The support-constrained policy of a reward-driven stage: one network that
 * computes [Q | the imitation actor's logits] side by side (the two networks
 * stacked block-diagonally; both read the same normalized features), so the
 * learned policy acts as discrete BCQ does: among the actions the imitation
 * finds likely enough (tau, policies/learned.h), the one with the highest Q.
 * Returns an owned checkpoint or NULL with err. */
static struct rls_checkpoint *s_support_checkpoint(const struct s_trainer *t, struct rls_err *err)
{
    struct rls_checkpoint *a = NULL, *ck = NULL;
    struct rls_checkpoint *q = s_checkpoint_of(t->q, 1, t->meta, t->mean, t->std, err);
    int32_t sizes[RLS_MLP_MAX_LAYERS + 1];
    if (!q)
        return NULL;
    if (rls_checkpoint_load(t->p->init_path, &a, err) != RLS_OK)
        goto done;
    if (a->n_layers != q->n_layers) {
        rls_err_set(err, RLS_ERR_INVALID, "%s: %d layers, the critic has %d: cannot stack them",
                    t->p->init_path, a->n_layers, q->n_layers);
        goto done;
    }
    sizes[0] = q->sizes[0];
    for (int32_t l = 1; l <= q->n_layers; l++)
        sizes[l] = q->sizes[l] + a->sizes[l];
    if (!(ck = rls_checkpoint_new(q->n_layers, sizes, err)))
        goto done;
    for (int32_t l = 0; l < q->n_layers; l++) {
        int32_t in_q = l == 0 ? 0 : q->sizes[l], in_a = l == 0 ? 0 : a->sizes[l];
        int32_t cols = sizes[l];
        /* rows of q first, then rows of a; layer 0 reads the same inputs */
        for (int32_t r = 0; r < q->sizes[l + 1]; r++) {
            memcpy(ck->weight[l] + (size_t)r * (size_t)cols, q->weight[l] + (size_t)r * (size_t)q->sizes[l],
                   sizeof(float) * (size_t)q->sizes[l]);
            ck->bias[l][r] = q->bias[l][r];
        }
        for (int32_t r = 0; r < a->sizes[l + 1]; r++) {
            float *row = ck->weight[l] + (size_t)(q->sizes[l + 1] + r) * (size_t)cols;
            memcpy(row + (l == 0 ? 0 : in_q), a->weight[l] + (size_t)r * (size_t)a->sizes[l],
                   sizeof(float) * (size_t)a->sizes[l]);
            ck->bias[l][q->sizes[l + 1] + r] = a->bias[l][r];
        }
        (void)in_a;
    }
    memcpy(ck->obs_mean, t->mean, sizeof(float) * (size_t)sizes[0]);
    memcpy(ck->obs_std, t->std, sizeof(float) * (size_t)sizes[0]);
    ck->n_heads = 2;
    ck->n_deltas = q->n_deltas;
    memcpy(ck->deltas, q->deltas, sizeof ck->deltas);
    ck->n_placements = q->n_placements;
    ck->n_actions = q->n_actions;
    snprintf(ck->scenario_name, sizeof ck->scenario_name, "%s", q->scenario_name);
done:
    rls_checkpoint_destroy(&a);
    rls_checkpoint_destroy(&q);
    return ck;
}

static struct rls_checkpoint *s_trainer_checkpoint(const struct s_trainer *t, struct rls_err *err)
{
    int32_t heads = 1;
    const struct rls_tnet *net = s_policy_net(t, &heads);
    struct rls_checkpoint *ck = t->algo == S_IQL && t->p->init_path && t->p->support_head ?
        s_support_checkpoint(t, err) : s_checkpoint_of(net, heads, t->meta, t->mean, t->std, err);
    if (!ck)
        return NULL;
    snprintf(ck->algorithm, sizeof ck->algorithm, "%s", s_algos[t->algo].name);
    snprintf(ck->data_fingerprint, sizeof ck->data_fingerprint, "%s",
             rls_replay_reader_fingerprint(t->reader));
    ck->steps = t->step;
    ck->seed = t->p->seed;
    return ck;
}

/* Evaluates ck in the simulator (through a temporary checkpoint file and the
 * learned policy) and fills its eval fields. */
static int s_evaluate(const struct s_trainer *t, struct rls_checkpoint *ck, struct rls_err *err)
{
    const struct rls_train_params *p = t->p;
    struct rls_eval_params ep = rls_eval_default_params();
    struct rls_eval_result res;
    struct rls_policy *pol = NULL;
    char tmp[4096];
    int rc = RLS_OK;

    memset(&res, 0, sizeof res);
    snprintf(tmp, sizeof tmp, "%s.eval-%ld.h5", p->out_path, (long)getpid());
    if ((rc = rls_checkpoint_save(ck, tmp, err)) != RLS_OK)
        goto done;
    pol = rls_policy_new(tmp, p->eval_scenario, err);
    if (!pol) {
        rc = err ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    ep.scenario = p->eval_scenario;
    ep.seed = p->eval_seed;
    ep.steps = p->eval_steps;
    if ((rc = rls_eval_run(&ep, pol, &res, err)) != RLS_OK)
        goto done;
    ck->eval_cost = res.cost_usd;
    ck->eval_slo_violation_pct = res.slo_violation_pct;
    ck->eval_score = -res.cost_usd * (1.0 + p->slo_penalty * res.slo_violation_pct);
    ck->eval_step = t->step;
    snprintf(ck->scenario_name, sizeof ck->scenario_name, "%s", p->eval_scenario->name);
done:
    rls_policy_destroy(&pol);
    rls_eval_result_clear(&res);
    remove(tmp);
    return rc;
}

int rls_train_run(const struct rls_train_params *p, struct rls_train_result *res, struct rls_err *err)
{
    struct s_trainer t;
    struct rls_train_result r;
    struct rls_train_progress pr;
    struct rls_tstats st;
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *state = NULL;
    int rc = RLS_OK;
    int evaluating = p && p->eval_scenario && p->eval_every > 0;
    double t0 = 0.0, last_report = 0.0, train_time = 0.0;
    double sum_loss = 0.0, sum_q = 0.0, sum_acc = 0.0, first_sum = 0.0;
    int64_t n_sum = 0, n_first = 0, last_step = 0;

    memset(&r, 0, sizeof r);
    memset(&pr, 0, sizeof pr);
    r.best_score = NAN;
    r.best_step = -1;
    r.first_loss = NAN;
    r.last_loss = NAN;
    r.last_accuracy = NAN;
    pr.best_score = NAN;
    if (!p)
        return rls_err_set(err, RLS_ERR_INVALID, "train: NULL params");
    if ((rc = s_trainer_init(&t, p, err, r.blas, sizeof r.blas)) != RLS_OK)
        goto done;
    r.start_step = t.step;
    r.resume_mode = t.resume_mode;
    if (t.best) {   /* an exact resume carries the best evaluation so far */
        r.best_score = pr.best_score = t.best->eval_score;
        r.best_step = t.best->eval_step;
    }
    last_step = t.step;
    t0 = s_now();
    last_report = t0;
    while (t.step < p->steps) {
        double ts = s_now();
        memset(&st, 0, sizeof st);
        if ((rc = s_train_step(&t, &st, err)) != RLS_OK)
            goto done;
        train_time += s_now() - ts;
        if (!isfinite(st.loss)) {
            rc = rls_err_set(err, RLS_ERR_RANGE, "train: loss is %g at step %lld (lower --lr?)", st.loss,
                             (long long)t.step);
            goto done;
        }
        sum_loss += st.loss;
        sum_q += st.mean_q;
        sum_acc += st.accuracy;
        n_sum++;
        if (n_first < 50) {
            first_sum += st.loss;
            n_first++;
            r.first_loss = first_sum / (double)n_first;
        }
        /* evaluation in the simulator: keep the best checkpoint under out_path */
        int eval_now = evaluating && (t.step % p->eval_every == 0 || t.step == p->steps);
        pr.evaluated = 0;
        if (eval_now) {
            if (!(ck = s_trainer_checkpoint(&t, err))) {
                rc = err ? err->status : RLS_ERR_NOMEM;
                goto done;
            }
            if ((rc = s_evaluate(&t, ck, err)) != RLS_OK)
                goto done;
            pr.evaluated = 1;
            pr.eval_cost = ck->eval_cost;
            pr.eval_slo_pct = ck->eval_slo_violation_pct;
            pr.eval_score = ck->eval_score;
            if (isnan(r.best_score) || ck->eval_score > r.best_score) {
                r.best_score = ck->eval_score;
                r.best_step = t.step;
                if ((rc = rls_checkpoint_save(ck, p->out_path, err)) != RLS_OK)
                    goto done;
                rls_checkpoint_destroy(&t.best);
                t.best = ck;   /* kept: the end of the run writes it again with the state */
                ck = NULL;
            }
            pr.best_score = r.best_score;
            rls_checkpoint_destroy(&ck);
        }
        /* progress */
        double now = s_now();
        if (p->progress && (eval_now || now - last_report >= p->progress_every_s || t.step == p->steps)) {
            pr.step = t.step;
            pr.total = p->steps;
            pr.loss = sum_loss / (double)n_sum;
            pr.mean_q = sum_q / (double)n_sum;
            pr.accuracy = sum_acc / (double)n_sum;
            pr.updates_per_s = (double)(t.step - last_step) / (now - last_report);
            pr.eta_s = pr.updates_per_s > 0 ? (double)(p->steps - t.step) / pr.updates_per_s : 0.0;
            p->progress(p->progress_ctx, &pr);
        }
        if (now - last_report >= p->progress_every_s || t.step == p->steps || eval_now) {
            r.last_loss = sum_loss / (double)n_sum;
            r.last_accuracy = sum_acc / (double)n_sum;
            sum_loss = sum_q = sum_acc = 0.0;
            n_sum = 0;
            last_report = now;
            last_step = t.step;
        }
    }
    if (n_sum > 0) {
        r.last_loss = sum_loss / (double)n_sum;
        r.last_accuracy = sum_acc / (double)n_sum;
    }
    /* the result: the last weights, or with evaluation the best ones; with
       the training state of this last step either way, so that resuming
       from out_path continues exactly where this run stopped */
    if (!(evaluating && t.best) && !(ck = s_trainer_checkpoint(&t, err))) {
        rc = err ? err->status : RLS_ERR_NOMEM;
        goto done;
    }
    if (!p->no_train_state && !(state = s_trainer_state(&t, err))) {
        rc = err ? err->status : RLS_ERR_NOMEM;
        goto done;
    }
    if ((rc = rls_checkpoint_save_with_state(ck ? ck : t.best, state, p->out_path, err)) != RLS_OK)
        goto done;
    r.steps = t.step;
    r.updates_per_s = train_time > 0 ? (double)(t.step - r.start_step) / train_time : 0.0;
done:
    rls_checkpoint_state_destroy(&state);
    rls_checkpoint_destroy(&ck);
    if (p)
        s_trainer_free(&t);
    if (res)
        *res = r;
    return rc;
}

/* ------------------------------------------------------------ FQE */

int rls_fqe_run(const struct rls_fqe_params *p, struct rls_fqe_result *res, struct rls_err *err)
{
    struct rls_replay_reader_params rp = rls_replay_reader_default_params();
    struct rls_replay_reader *reader = NULL;
    struct rls_checkpoint *ck = NULL;
    struct rls_tnet *policy = NULL, *q = NULL, *q_target = NULL;
    struct rls_tadam *opt = NULL;
    struct rls_tbatch *tb = NULL, *tb0 = NULL;
    struct rls_tgraph *g = NULL;
    struct rls_replay_batch raw;
    struct rls_replay_episode ep;
    struct rls_tadam_params ap = rls_tadam_default_params();
    struct rls_tact_rule rule;
    struct rls_tstats st;
    struct rls_fqe_result r;
    float *obs = NULL, *next_obs = NULL, *s0_obs = NULL, *zero_rew = NULL;
    int32_t *zero_act = NULL;
    uint8_t *zero_done = NULL;
    int32_t F = 0, A = 0, B = 0, S = 0;
    int32_t hidden[2] = {256, 256};
    uint64_t rng = 0;
    double t_report = 0.0, sum_loss = 0.0;
    int64_t n_loss = 0, last_step = 0;
    int rc = RLS_OK;

    memset(&raw, 0, sizeof raw);
    memset(&ep, 0, sizeof ep);
    memset(&r, 0, sizeof r);
    r.initial_value = r.mean_value = r.last_loss = NAN;
    if (!p || !p->data_path || !p->policy_path)
        return rls_err_set(err, RLS_ERR_INVALID, "fqe: data and policy paths are required");
    if (p->steps < 1 || p->batch < 1 || p->target_update < 1)
        return rls_err_set(err, RLS_ERR_RANGE, "fqe: steps, batch and target_update must be >= 1");
    if (rls_torch_setup(1, p->seed, NULL, 0) != RLS_OK)
        return s_torch_err(err, RLS_ERR_EXTERNAL, "libtorch setup");
    if ((rc = rls_checkpoint_load(p->policy_path, &ck, err)) != RLS_OK)
        goto done;
    rp.cache_bytes = p->cache_bytes;
    if (!(reader = rls_replay_reader_open(p->data_path, &rp, err))) {
        rc = err ? err->status : RLS_ERR_IO;
        goto done;
    }
    const struct rls_replay_meta *meta = rls_replay_reader_meta(reader);
    F = meta->n_features;
    A = meta->n_actions;
    S = meta->n_services;
    B = p->batch;
    if (ck->sizes[0] != F || ck->n_actions != A) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: network for %d features / %d actions, %s has %d / %d",
                         p->policy_path, ck->sizes[0], ck->n_actions, p->data_path, F, A);
        goto done;
    }
    rule.n_actions = A;
    rule.n_heads = ck->n_heads;
    rule.bcq_tau = p->bcq_tau;
    if (!(policy = s_net_from_checkpoint(ck, p->policy_path, err)) ||
        !(q = s_net_new(F, 2, hidden, A, err)) || !(q_target = s_net_new(F, 2, hidden, A, err))) {
        rc = err ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    ap.lr = p->lr;
    if (rls_tnet_copy(q_target, q, 1.0) != RLS_OK || !(opt = rls_tadam_new(q, &ap)) ||
        !(tb = rls_tbatch_new(B, F, A)) || !(tb0 = rls_tbatch_new(S, F, A)) || !(g = rls_tgraph_new())) {
        rc = s_torch_err(err, RLS_ERR_EXTERNAL, "fqe");
        goto done;
    }
    if ((rc = rls_replay_batch_alloc(&raw, B, F, A)) != RLS_OK) {
        rls_err_set(err, rc, "fqe: batch of %d", B);
        goto done;
    }
    obs = malloc(sizeof(float) * (size_t)B * (size_t)F);
    next_obs = malloc(sizeof(float) * (size_t)B * (size_t)F);
    s0_obs = calloc((size_t)S * (size_t)F, sizeof(float));
    zero_act = calloc((size_t)S, sizeof(int32_t));
    zero_rew = calloc((size_t)S, sizeof(float));
    zero_done = calloc((size_t)S, 1);
    if (!obs || !next_obs || !s0_obs || !zero_act || !zero_rew || !zero_done) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "fqe: out of memory");
        goto done;
    }
    rng = s_mix(p->seed);
    t_report = s_now();
    for (int64_t step = 1; step <= p->steps; step++) {
        /* --- sample (normalized with the evaluated checkpoint's statistics) */
        if ((rc = rls_replay_reader_sample(reader, &rng, &raw)) != RLS_OK) {
            rls_err_set(err, rc, "%s: %s", p->data_path, rls_replay_reader_errmsg(reader));
            goto done;
        }
        for (int64_t k = 0; k < (int64_t)B * F; k++) {
            int32_t f = (int32_t)(k % F);
            obs[k] = (raw.obs[k] - ck->obs_mean[f]) / ck->obs_std[f];
            next_obs[k] = (raw.next_obs[k] - ck->obs_mean[f]) / ck->obs_std[f];
        }
        if (rls_tbatch_set(tb, B, obs, raw.action, raw.reward, next_obs, raw.done, raw.mask, raw.next_mask) != RLS_OK ||
            /* --- forward */
            rls_torch_fqe_forward(g, q, q_target, policy, &rule, tb, p->gamma, &st) != RLS_OK ||
            /* --- zero_grad, backward, update */
            rls_tadam_zero_grad(opt) != RLS_OK || rls_tgraph_backward(g) != RLS_OK ||
            rls_tadam_step(opt) != RLS_OK ||
            (step % p->target_update == 0 && rls_tnet_copy(q_target, q, 1.0) != RLS_OK)) {
            rc = s_torch_err(err, RLS_ERR_EXTERNAL, "fqe");
            goto done;
        }
        sum_loss += st.loss;
        n_loss++;
        double now = s_now();
        if (now - t_report >= p->progress_every_s || step == p->steps) {
            r.last_loss = sum_loss / (double)n_loss;
            if (p->progress) {
                struct rls_train_progress pr;
                memset(&pr, 0, sizeof pr);
                pr.step = step;
                pr.total = p->steps;
                pr.loss = r.last_loss;
                pr.mean_q = st.mean_q;
                pr.accuracy = NAN;
                pr.updates_per_s = (double)(step - last_step) / (now - t_report);
                pr.eta_s = (double)(p->steps - step) / pr.updates_per_s;
                pr.best_score = NAN;
                p->progress(p->progress_ctx, &pr);
            }
            sum_loss = 0.0;
            n_loss = 0;
            t_report = now;
            last_step = step;
        }
    }
    r.steps = p->steps;
    /* value of the states the data has: the last batch */
    if (rls_torch_fqe_value(q, policy, &rule, tb, &r.mean_value) != RLS_OK) {
        rc = s_torch_err(err, RLS_ERR_EXTERNAL, "fqe value");
        goto done;
    }
    /* value from each episode's first state, mean over episodes and services */
    {
        double sum = 0.0;
        int64_t n_ep = rls_replay_reader_n_episodes(reader);
        for (int64_t i = 0; i < n_ep; i++) {
            double v = 0.0;
            if ((rc = rls_replay_reader_read_episode(reader, i, &ep)) != RLS_OK) {
                rls_err_set(err, rc, "%s: %s", p->data_path, rls_replay_reader_errmsg(reader));
                goto done;
            }
            for (int64_t k = 0; k < (int64_t)S * F; k++) {
                int32_t f = (int32_t)(k % F);
                s0_obs[k] = (ep.observations[k] - ck->obs_mean[f]) / ck->obs_std[f];
            }
            if (rls_tbatch_set(tb0, S, s0_obs, zero_act, zero_rew, s0_obs, zero_done,
                               ep.action_masks, ep.action_masks) != RLS_OK ||
                rls_torch_fqe_value(q, policy, &rule, tb0, &v) != RLS_OK) {
                rc = s_torch_err(err, RLS_ERR_EXTERNAL, "fqe value");
                goto done;
            }
            sum += v;
            rls_replay_episode_free(&ep);
        }
        r.initial_value = n_ep > 0 ? sum / (double)n_ep : NAN;
    }
done:
    rls_replay_episode_free(&ep);
    rls_replay_batch_free(&raw);
    free(obs);
    free(next_obs);
    free(s0_obs);
    free(zero_act);
    free(zero_rew);
    free(zero_done);
    rls_tgraph_destroy(&g);
    rls_tbatch_destroy(&tb);
    rls_tbatch_destroy(&tb0);
    rls_tadam_destroy(&opt);
    rls_tnet_destroy(&policy);
    rls_tnet_destroy(&q);
    rls_tnet_destroy(&q_target);
    rls_checkpoint_destroy(&ck);
    rls_replay_reader_close(&reader);
    if (res)
        *res = r;
    return rc;
}

/* ------------------------------------------------------------ export */

int rls_train_export_torchscript(const char *ckpt_path, const char *out_path, double bcq_tau,
                                 struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_tnet *net = NULL;
    struct rls_tact_rule rule;
    int rc = RLS_OK;

    if (!ckpt_path || !out_path)
        return rls_err_set(err, RLS_ERR_INVALID, "export: checkpoint and output paths are required");
    if ((rc = rls_checkpoint_load(ckpt_path, &ck, err)) != RLS_OK)
        goto done;
    if (!(net = s_net_from_checkpoint(ck, ckpt_path, err))) {
        rc = err ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    rule.n_actions = ck->n_actions;
    rule.n_heads = ck->n_heads;
    rule.bcq_tau = bcq_tau;
    if ((rc = rls_tnet_export_torchscript(net, ck->obs_mean, ck->obs_std, &rule, out_path)) != RLS_OK)
        rls_err_set(err, rc, "%s", rls_torch_errmsg());
done:
    rls_tnet_destroy(&net);
    rls_checkpoint_destroy(&ck);
    return rc;
}
