/* torch_shim.h - the C face of the trainer's only C++ file (torch_shim.cpp),
 * a thin layer over libtorch's C++ API.
 *
 * What it offers, and nothing more: a multilayer perceptron (Linear layers,
 * ReLU between them, none after the last), a copy of it as a target network,
 * Adam, a minibatch held as tensors, the forward-plus-loss of each algorithm
 * of trainer/train.c (llm.c's "forward" computes the loss too), backward, the
 * optimizer step, target synchronisation, weight and Adam-state
 * import/export as float arrays (the checkpoint writer's layout; the Adam
 * state makes a resumed run an exact continuation) and TorchScript export.
 *
 * Errors: every function catches every C++ exception and returns an
 * enum rls_status (or NULL); the message (libtorch's what_without_backtrace)
 * is kept per thread and read with rls_torch_errmsg(). Nothing throws
 * across this boundary.
 *
 * Shapes: B = batch rows, F = features, A = actions. Observations given to
 * the shim are already normalized ((obs - mean) / std, trainer/train.c does
 * it); the TorchScript export takes raw observations and normalizes inside.
 * Masked actions (mask 0) get RLS_TORCH_MASKED in argmax, softmax and
 * logsumexp, so they are never chosen and never weigh in a target.
 */
#ifndef RLS_TORCH_SHIM_H
#define RLS_TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RLS_TORCH_MAX_LAYERS 8
#define RLS_TORCH_MASKED (-1e9f)   /* value a masked action takes in max/softmax/logsumexp */

/* ------------------------------------------------------------ process setup */

/* The last error message of this thread ("" if none). Never NULL; valid
 * until the next shim call on this thread. */
const char *rls_torch_errmsg(void);

/* Prepares libtorch for training, once per process before any other call:
 * sets OPENBLAS_NUM_THREADS=1 in the environment, calls OpenBLAS'
 * openblas_set_num_threads(1) (the library read the environment when it was
 * loaded, before main), torch::set_num_threads(threads) (intra-op OpenMP
 * threads; 1 = deterministic and fastest for small networks) and seeds
 * libtorch's generator with seed. When blas is not NULL it receives the path
 * of the library that provides sgemm_ to libtorch (dladdr), so callers can
 * show which BLAS runs ("?" if unknown). Returns RLS_OK or RLS_ERR_EXTERNAL. */
int rls_torch_setup(int32_t threads, uint64_t seed, char *blas, size_t blas_len);

/* Re-seeds libtorch's CPU generator (weight initialisation). */
int rls_torch_seed(uint64_t seed);

/* ------------------------------------------------------------------ networks */

struct rls_tnet;

/* A new MLP with n_layers Linear layers: sizes[0] inputs, sizes[n_layers]
 * outputs, ReLU between layers, initialised as torch.nn.Linear (Kaiming
 * uniform, a = sqrt(5)) from libtorch's generator. Returns an owned handle
 * (rls_tnet_destroy) or NULL (rls_torch_errmsg) for 1 > n_layers >
 * RLS_TORCH_MAX_LAYERS or a size < 1. */
struct rls_tnet *rls_tnet_new(int32_t n_layers, const int32_t *sizes);

/* Frees *net, sets it to NULL; NULL is a no-op. */
void rls_tnet_destroy(struct rls_tnet **net);

/* Layer count and sizes (sizes[n_layers + 1]) of net. */
int32_t rls_tnet_n_layers(const struct rls_tnet *net);
const int32_t *rls_tnet_sizes(const struct rls_tnet *net);

/* Total parameter count. */
int64_t rls_tnet_n_params(const struct rls_tnet *net);

/* dst = tau * src + (1 - tau) * dst for every parameter (tau = 1: hard copy,
 * the target network's sync; 0 < tau < 1: Polyak averaging). Shapes must
 * match. Returns RLS_OK, RLS_ERR_INVALID (shapes, tau outside (0, 1]). */
int rls_tnet_copy(struct rls_tnet *dst, const struct rls_tnet *src, double tau);

/* Copies layer l's weight [sizes[l+1], sizes[l]] (row-major, the
 * torch.nn.Linear layout) into w and its bias [sizes[l+1]] into b.
 * Returns RLS_OK or RLS_ERR_RANGE for a bad l. */
int rls_tnet_get_layer(const struct rls_tnet *net, int32_t l, float *w, float *b);

/* Overwrites layer l's weight and bias from w and b (same layout). Returns
 * RLS_OK, RLS_ERR_RANGE (bad l) or RLS_ERR_INVALID (a NaN/inf value). */
int rls_tnet_set_layer(struct rls_tnet *net, int32_t l, const float *w, const float *b);

/* Inference without gradients: out[batch, sizes[n_layers]] for normalized
 * x[batch, sizes[0]]. Returns RLS_OK or RLS_ERR_INVALID. */
int rls_tnet_predict(struct rls_tnet *net, const float *x, int32_t batch, float *out);

/* How actions are chosen from a network's output (the same rule in the
 * trainer, the FQE target, the TorchScript export, and policies/learned.c). */
struct rls_tact_rule {
    int32_t n_actions;      /* A */
    int32_t n_heads;        /* 1: output [A] scores, argmax among allowed;
                               2: output [2A] = Q then behaviour logits (BCQ):
                               argmax Q among allowed actions whose behaviour
                               probability / the largest allowed one >= bcq_tau */
    double bcq_tau;         /* BCQ's action flexibility (d3rlpy default 0.3) */
};

/* Greedy actions: action[batch] for normalized x[batch, F] and
 * mask[batch, A] (1 allowed; NULL = all allowed). Returns RLS_OK or
 * RLS_ERR_INVALID. */
int rls_tnet_act(struct rls_tnet *net, const struct rls_tact_rule *rule, const float *x,
                 const uint8_t *mask, int32_t batch, int32_t *action);

/* Writes a TorchScript module to path (torch.jit.load-able from Python,
 * torch 1.13): forward(obs[B, F] raw float32) -> outputs [B, sizes[n_layers]]
 * (normalization (obs - obs_mean) / obs_std inside), and
 * act(obs[B, F], mask[B, A] bool) -> int64 actions[B] by `rule`. The file is
 * written to path + ".tmp" and renamed. Returns RLS_OK, RLS_ERR_IO. */
int rls_tnet_export_torchscript(const struct rls_tnet *net, const float *obs_mean,
                                const float *obs_std, const struct rls_tact_rule *rule,
                                const char *path);

/* --------------------------------------------------------------- optimizer */

struct rls_tadam_params {
    double lr;              /* learning rate (per algorithm, trainer/TRAINER.md) */
    double beta1, beta2;    /* moment decays (0.9, 0.999) */
    double eps;             /* denominator term (1e-8, torch and d3rlpy's AdamFactory) */
    double weight_decay;    /* L2 (0) */
};
struct rls_tadam_params rls_tadam_default_params(void);

struct rls_tadam;

/* Adam over every parameter of net (net must outlive it). Returns an owned
 * handle (rls_tadam_destroy) or NULL (rls_torch_errmsg). */
struct rls_tadam *rls_tadam_new(struct rls_tnet *net, const struct rls_tadam_params *p);
void rls_tadam_destroy(struct rls_tadam **opt);
/* Zeroes the gradients of the optimizer's parameters. */
int rls_tadam_zero_grad(struct rls_tadam *opt);
/* One Adam step from the current gradients. */
int rls_tadam_step(struct rls_tadam *opt);

/* Adam's per-parameter state, for an exact resume (trainer/train.c keeps it
 * in a checkpoint's /train_state). Parameter i of the optimizer is, in the
 * order rls_tadam_new gave them: i = 2l the weight of layer l
 * ([sizes[l+1], sizes[l]], row-major), i = 2l + 1 its bias ([sizes[l+1]]);
 * 2 * n_layers parameters. Its state is exp_avg and exp_avg_sq (the first
 * and second moments, float32, the parameter's shape and layout) and step
 * (Adam steps taken, bias correction 1 - beta^step). amsgrad is not used, so
 * there is no max_exp_avg_sq. */

/* Parameter count of the optimizer (2 * n_layers), 0 for NULL. */
int32_t rls_tadam_n_tensors(const struct rls_tadam *opt);

/* Elements of parameter i (what exp_avg / exp_avg_sq hold), 0 for a bad i. */
int64_t rls_tadam_numel(const struct rls_tadam *opt, int32_t i);

/* Copies parameter i's moments into exp_avg[numel] and exp_avg_sq[numel]
 * and its step count into *step. A parameter that has not been stepped yet
 * gives zeros and step 0 (exactly what its first step would start from).
 * Returns RLS_OK or RLS_ERR_RANGE (bad i, NULL buffers). */
int rls_tadam_get_state(const struct rls_tadam *opt, int32_t i, float *exp_avg, float *exp_avg_sq,
                        int64_t *step);

/* Overwrites parameter i's state from exp_avg[numel], exp_avg_sq[numel] and
 * step, creating the state when the parameter has none yet (before its
 * first step); the next rls_tadam_step then continues as if the optimizer
 * had taken those steps itself. Returns RLS_OK, RLS_ERR_RANGE (bad i, NULL
 * buffers, step < 0) or RLS_ERR_INVALID (a NaN/inf moment or a negative
 * exp_avg_sq, naming the element). */
int rls_tadam_set_state(struct rls_tadam *opt, int32_t i, const float *exp_avg,
                        const float *exp_avg_sq, int64_t step);

/* ----------------------------------------------------------------- batches */

struct rls_tbatch;

/* A minibatch of capacity n rows of F features and A actions. Returns an
 * owned handle (rls_tbatch_destroy) or NULL. */
struct rls_tbatch *rls_tbatch_new(int32_t n, int32_t n_features, int32_t n_actions);
void rls_tbatch_destroy(struct rls_tbatch **b);

/* Copies a batch of n rows in (n <= capacity): obs, next_obs [n, F]
 * normalized; action [n] in [0, A); reward [n]; done [n] 0/1; mask,
 * next_mask [n, A] 1 = allowed (NULL = all allowed). Returns RLS_OK,
 * RLS_ERR_RANGE (an action outside [0, A) or n > capacity). */
int rls_tbatch_set(struct rls_tbatch *b, int32_t n, const float *obs, const int32_t *action,
                   const float *reward, const float *next_obs, const uint8_t *done,
                   const uint8_t *mask, const uint8_t *next_mask);

/* ---------------------------------------------------------- forward + loss */

/* The graph of one forward pass: holds the loss until backward. */
struct rls_tgraph;
struct rls_tgraph *rls_tgraph_new(void);
void rls_tgraph_destroy(struct rls_tgraph **g);
/* Backpropagates the loss of the last forward into the parameters' grads
 * and frees the graph. Returns RLS_OK, RLS_ERR_STATE without a forward. */
int rls_tgraph_backward(struct rls_tgraph *g);

/* What a forward measured (means over the batch). */
struct rls_tstats {
    double loss;            /* the total loss backward will minimise */
    double td_loss;         /* TD / value part (DQN, CQL, BCQ, IQL, FQE) */
    double reg_loss;        /* CQL term, BCQ/BC imitation, IQL actor part */
    double mean_q;          /* mean Q(s, a) of the batch's actions */
    double accuracy;        /* BC / imitation head: fraction argmax == action */
};

/* Hyperparameters of the Q-learning family (defaults: trainer/TRAINER.md). */
struct rls_tq_params {
    double gamma;           /* discount (0.99) */
    int huber;              /* 1: Huber (smooth L1, beta 1) TD loss as d3rlpy; 0: MSE */
    double cql_alpha;       /* > 0: add alpha * (logsumexp_allowed Q(s, .) - Q(s, a)) (CQL, 1.0) */
    int bcq;                /* 1: the net has two heads [Q | behaviour logits] (discrete BCQ) */
    double bcq_tau;         /* BCQ action flexibility (0.3) */
    double bcq_beta;        /* BCQ imitation logit penalty (0.5) */
};

/* Double DQN (+ CQL term, + BCQ): forward Q(s), Q(s'), Q_target(s'), the
 * TD target y = r + gamma (1 - done) Q_target(s', argmax_{allowed a'} Q(s', a'))
 * (BCQ: argmax among the flexible set), the loss into g. Returns RLS_OK,
 * RLS_ERR_INVALID (shapes). */
int rls_torch_q_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                        const struct rls_tbatch *b, const struct rls_tq_params *hp,
                        struct rls_tstats *st);

/* Behaviour cloning: cross-entropy of masked logits plus beta * mean(logits^2)
 * (d3rlpy DiscreteBC, beta 0.5). */
int rls_torch_bc_forward(struct rls_tgraph *g, struct rls_tnet *pi, const struct rls_tbatch *b,
                         double beta, struct rls_tstats *st);

/* Implicit Q-learning for discrete actions (three networks: q [A], v [1],
 * pi [A] logits; q_target [A]):
 *   value:  expectile regression of V(s) on Q_target(s, a), weight |tau - 1(d < 0)|
 *   critic: MSE of Q(s, a) on r + gamma (1 - done) V(s')
 *   actor:  -min(exp(temperature * (Q_target(s, a) - V(s))), max_weight) log pi(a | s)
 *           with pi the softmax over allowed actions.
 * The three parts share no parameters and their targets are detached, so one
 * backward of their sum gives each network its own gradient. */
struct rls_tiql_params {
    double gamma;           /* discount (0.99) */
    double expectile;       /* tau of the expectile (0.7) */
    double temperature;     /* inverse temperature of the advantage weight (3.0) */
    double max_weight;      /* clip of exp(temperature * advantage) (100) */
};
int rls_torch_iql_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                          struct rls_tnet *v, struct rls_tnet *pi, const struct rls_tbatch *b,
                          const struct rls_tiql_params *hp, struct rls_tstats *st);

/* Fitted Q evaluation of a fixed policy `policy` (chosen by `rule`):
 * MSE of Q(s, a) on r + gamma (1 - done) Q_target(s', pi(s')). */
int rls_torch_fqe_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                          struct rls_tnet *policy, const struct rls_tact_rule *rule,
                          const struct rls_tbatch *b, double gamma, struct rls_tstats *st);

/* Mean over the batch's states of Q(s, pi(s)) (FQE's value estimate). */
int rls_torch_fqe_value(struct rls_tnet *q, struct rls_tnet *policy,
                        const struct rls_tact_rule *rule, const struct rls_tbatch *b,
                        double *value);

#ifdef __cplusplus
}
#endif

#endif
