/* learned.c - a checkpoint as a policy (learned.h): features -> native MLP ->
 * masked argmax -> (desired, placement) for every service at once.
 */
#include "learned.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/env.h"
#include "../env/features.h"
#include "../env/queueing.h"
#include "mlp.h"

#define S_HISTORY_LEN 20   /* the env's default arrival history (trend features) */

/* discrete BCQ's threshold on the relative behaviour probability (d3rlpy's
 * default action_flexibility 0.3; the trainer's TorchScript act() uses it too) */
#define S_BCQ_TAU 0.3f

struct s_learned {
    struct rls_mlp *mlp;
    struct rls_features *feat;   /* built at reset for the scenario */
    int32_t n_svc;
    int32_t n_deltas, n_placements, n_actions, n_outputs;
    int32_t deltas[RLS_CHECKPOINT_MAX_DELTAS];
    float *obs;                  /* [n_svc, F] */
    int have_obs;                /* obs holds the last decide's features */
    float *q;                    /* [n_svc, n_outputs] */
    uint8_t *mask;               /* [n_svc, n_actions] */
    struct rls_learned_params prm;  /* the controller around the network */
    int32_t *ring;               /* [n_svc, hold_steps] the network's recent targets (-1 empty) */
    double *late, *seen;         /* [n_svc] the budget tracker: requests late or dropped, and all,
                                    over the exponential window (requests) */
    int32_t ring_pos;
    char err[RLS_ERRMSG_MAX];
};

struct rls_learned_params rls_learned_default_params(void)
{
    struct rls_learned_params p;
    p.hold_steps = 4;
    p.floor_util = 0.95;
    p.slo_floor = 0;
    p.budget_gain = 0.0;
    p.budget_window_s = 86400.0;
    p.support_tau = S_BCQ_TAU;
    return p;
}

static void s_free_buffers(struct s_learned *s)
{
    rls_features_destroy(&s->feat);
    free(s->obs);
    free(s->q);
    free(s->mask);
    free(s->ring);
    free(s->late);
    free(s->seen);
    s->late = NULL;
    s->seen = NULL;
    s->obs = NULL;
    s->q = NULL;
    s->mask = NULL;
    s->ring = NULL;
    s->n_svc = 0;
}

static void s_destroy(void *self)
{
    struct s_learned *s = self;
    if (!s)
        return;
    s_free_buffers(s);
    rls_mlp_destroy(&s->mlp);
    free(s);
}

static const char *s_errmsg(const void *self)
{
    return self ? ((const struct s_learned *)self)->err : NULL;
}

static int s_reset(void *self, const struct rls_scenario *sc)
{
    ((struct s_learned *)self)->have_obs = 0;
    struct s_learned *s = self;
    struct rls_err err;
    size_t n = 0;
    rls_err_clear(&err);
    s_free_buffers(s);
    s->feat = rls_features_new(sc, S_HISTORY_LEN, &err);
    if (!s->feat) {
        snprintf(s->err, sizeof(s->err), "%s", err.msg);
        return err.status ? err.status : RLS_ERR_INVALID;
    }
    s->n_svc = sc->n_services;
    n = (size_t)s->n_svc;
    s->obs = malloc(n * RLS_ENV_N_FEATURES * sizeof(float));
    s->q = malloc(n * (size_t)s->n_outputs * sizeof(float));
    s->mask = malloc(n * (size_t)s->n_actions);
    s->ring = malloc(n * (size_t)(s->prm.hold_steps > 0 ? s->prm.hold_steps : 1) * sizeof(int32_t));
    if (s->ring)
        for (size_t k = 0; k < n * (size_t)(s->prm.hold_steps > 0 ? s->prm.hold_steps : 1); k++)
            s->ring[k] = -1;
    s->ring_pos = 0;
    s->late = calloc(n, sizeof(double));
    s->seen = calloc(n, sizeof(double));
    if (!s->obs || !s->q || !s->mask || !s->ring || !s->late || !s->seen) {
        s_free_buffers(s);
        snprintf(s->err, sizeof(s->err), "learned: out of memory");
        return RLS_ERR_NOMEM;
    }
    return RLS_OK;
}

/* The controller around the network (rls_learned_params): the target of
 * service i is the most the network asked for over the last hold_steps
 * decisions (a scale-down waits until every recent target agrees, as the
 * HPA's stabilization window), never below the replicas the current arrivals
 * need at floor_util when that is over 10% above the current target (a spike
 * is met at once, whatever the network says), unless replicas are already
 * pending (a full cluster: more would only queue). */
/* The budget tracker (only with budget_gain > 0): adds the last step's requests of
 * every service, late or dropped and all, to exponential windows of
 * budget_window_s seconds. */
static void s_track_budget(struct s_learned *s, const struct rls_policy_input *in)
{
    double step_s = in->scenario->step_s, keep;
    if (s->prm.budget_gain <= 0.0 || in->step == 0)
        return;   /* tracker off (the default: nothing on the decision path), or no step served yet */
    keep = exp(-step_s / s->prm.budget_window_s);
    for (int32_t i = 0; i < s->n_svc; i++) {
        const struct rls_svc_state *v = &in->services[i];
        double late = (v->frac_over_slo * v->served_rps + v->dropped_rps) * step_s;
        double seen = (v->served_rps + v->dropped_rps) * step_s;
        s->late[i] = keep * s->late[i] + (late > 0.0 ? late : 0.0);
        s->seen[i] = keep * s->seen[i] + (seen > 0.0 ? seen : 0.0);
    }
}

/* The floor's rate multiplier of service i: 1 while its late fraction over the
 * window is within 0.8 x its budget (1 - slo_percentile), then 1 + gain x
 * (fraction / budget - 0.8), at most 2. */
static double s_headroom(const struct s_learned *s, const struct rls_service_spec *sp, int32_t i)
{
    double budget = 1.0 - sp->slo_percentile, h;
    if (s->prm.budget_gain <= 0.0 || budget <= 0.0 || s->seen[i] < 1.0)
        return 1.0;
    h = 1.0 + s->prm.budget_gain * (s->late[i] / s->seen[i] / budget - 0.8);
    return h < 1.0 ? 1.0 : h > 2.0 ? 2.0 : h;
}

/* The replicas the current arrivals of service i need (the reactive floor):
 * at floor_util utilization, and with slo_floor also the SLO's (the queueing
 * model), the arrivals x scale x the budget tracker's headroom; 0 when off. */
static int32_t s_floor(const struct s_learned *s, const struct rls_policy_input *in, int32_t i,
                       double scale)
{
    const struct rls_service_spec *sp = &in->scenario->services[i];
    double rate = scale * in->services[i].arrival_rps * s_headroom(s, sp, i), need = 0.0;
    if (s->prm.floor_util > 0.0 && sp->capacity_rps > 0.0)
        need = ceil(rate / (sp->capacity_rps * s->prm.floor_util) - 1e-9);
    if (s->prm.slo_floor) {
        double q = (double)rls_queueing_demand(sp, rate);
        if (q > need)
            need = q;
    }
    return need > (double)sp->max_replicas ? sp->max_replicas : (int32_t)need;
}

/* The controller around the network (rls_learned_params): the target of
 * service i is the most the network asked for over the last hold_steps
 * decisions (a scale-down waits until every recent target agrees, as the
 * HPA's stabilization window), never below the replicas the current arrivals
 * need (s_floor) when that is over 10% above the current target (a spike
 * is met at once, whatever the network says), unless replicas are already
 * pending (a full cluster: more would only queue); with slo_floor a
 * scale-down also stops at that floor. */
static int32_t s_control(struct s_learned *s, const struct rls_policy_input *in, int32_t i,
                         int32_t proposal)
{
    const struct rls_service_spec *sp = &in->scenario->services[i];
    int32_t target = proposal;
    int32_t cur = in->services[i].desired;
    if (s->prm.hold_steps > 0) {
        int32_t *r = s->ring + (size_t)i * (size_t)s->prm.hold_steps;
        r[s->ring_pos] = proposal;
        for (int32_t k = 0; k < s->prm.hold_steps; k++) {
            /* a slot not yet filled since the reset counts as the current
               target: the first scale-down also waits a whole window */
            int32_t v = r[k] >= 0 ? r[k] : cur;
            if (v > target)
                target = v;
        }
    }
    if (in->services[i].pending == 0) {
        int32_t floor_r = s_floor(s, in, i, 1.0);
        /* the HPA's 10% tolerance: Poisson noise around the target is no spike */
        if (floor_r > target && (double)floor_r > 1.1 * (double)cur) {
            target = floor_r;
        } else if (s->prm.slo_floor) {
            /* no scale-down through the floor, with the same 10% band below
               it (noise in the arrivals moves no replica) */
            int32_t lo = s_floor(s, in, i, 1.0 / 1.1);
            if (lo > target)
                target = lo < cur ? lo : cur;
        }
    }
    if (target > sp->max_replicas)
        target = sp->max_replicas;
    if (target < sp->min_replicas)
        target = sp->min_replicas;
    return target;
}

static int s_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                    uint8_t *placement)
{
    struct s_learned *s = self;
    int rc;
    if (!s->feat || in->scenario->n_services != s->n_svc) {
        snprintf(s->err, sizeof(s->err),
                 "learned: decide for %d services without a reset for them (reset first)",
                 (int)in->scenario->n_services);
        return RLS_ERR_STATE;
    }
    s->have_obs = 0;
    s_track_budget(s, in);
    rc = rls_features_compute(s->feat, in->services, in->nodes, in->n_nodes, in->time_s, s->obs);
    if (rc == RLS_OK)
        s->have_obs = 1;
    if (rc == RLS_OK)
        rc = rls_mlp_forward(s->mlp, s->obs, s->n_svc, s->q);
    if (rc == RLS_OK)
        rc = rls_features_flat_mask(s->feat, in->services, s->deltas, s->n_deltas,
                                    s->n_placements, s->mask);
    if (rc != RLS_OK) {
        snprintf(s->err, sizeof(s->err), "learned: %s", rls_status_str(rc));
        return rc;
    }
    for (int32_t i = 0; i < s->n_svc; i++) {
        const float *q = s->q + (size_t)i * (size_t)s->n_outputs;
        const uint8_t *m = s->mask + (size_t)i * (size_t)s->n_actions;
        int32_t best = -1;
        if (s->n_outputs >= 2 * s->n_actions) {
            /* discrete BCQ (two heads: Q, then behaviour logits): only actions
             * whose behaviour probability is at least tau of the likeliest
             * allowed one compete on Q; in logits, b[a] >= max b + log(tau) */
            const float *b = q + s->n_actions;
            float bmax = -INFINITY;
            for (int32_t a = 0; a < s->n_actions; a++)
                if (m[a] && b[a] > bmax)
                    bmax = b[a];
            float cut = bmax + logf((float)s->prm.support_tau);
            for (int32_t a = 0; a < s->n_actions; a++)
                if (m[a] && b[a] >= cut && (best < 0 || q[a] > q[best]))
                    best = a;
        } else {
            for (int32_t a = 0; a < s->n_actions; a++)
                if (m[a] && (best < 0 || q[a] > q[best]))
                    best = a;
        }
        if (best < 0) {   /* nothing allowed (cannot happen with a 0 delta): keep */
            desired[i] = s_control(s, in, i, in->services[i].desired);
            placement[i] = RLS_PLACE_SPREAD;
            continue;
        }
        desired[i] = s_control(s, in, i, in->services[i].desired + s->deltas[best / s->n_placements]);
        placement[i] = (uint8_t)(best % s->n_placements);
    }
    if (s->prm.hold_steps > 0)
        s->ring_pos = (s->ring_pos + 1) % s->prm.hold_steps;
    return RLS_OK;
}

static const struct rls_policy_ops s_learned_ops = {
    .kind = "learned",
    .needs_future = 0,
    .reset = s_reset,
    .decide = s_decide,
    .errmsg = s_errmsg,
    .destroy = s_destroy,
};

struct rls_policy *rls_learned_from_checkpoint(const struct rls_checkpoint *ck, const char *name,
                                               const struct rls_scenario *sc,
                                               struct rls_err *err)
{
    return rls_learned_from_checkpoint_with(ck, name, NULL, sc, err);
}

struct rls_policy *rls_learned_from_checkpoint_with(const struct rls_checkpoint *ck, const char *name,
                                                    const struct rls_learned_params *prm,
                                                    const struct rls_scenario *sc,
                                                    struct rls_err *err)
{
    struct s_learned *s = NULL;
    struct rls_policy *p = NULL;
    const char *what = name ? name : "learned";
    int has_zero = 0;
    if (!sc || sc->n_services < 1) {
        rls_err_set(err, RLS_ERR_INVALID, "%s: NULL scenario or no services", what);
        return NULL;
    }
    if (rls_checkpoint_validate(ck, what, err) != RLS_OK)
        return NULL;
    if (ck->sizes[0] != RLS_ENV_N_FEATURES) {
        rls_err_set(err, RLS_ERR_INVALID, "%s: the network takes %d inputs, this build has %d features",
                    what, (int)ck->sizes[0], RLS_ENV_N_FEATURES);
        return NULL;
    }
    if (ck->n_placements > RLS_PLACE_COUNT) {
        rls_err_set(err, RLS_ERR_UNSUPPORTED, "%s: %d placements, this build knows %d", what,
                    (int)ck->n_placements, RLS_PLACE_COUNT);
        return NULL;
    }
    for (int32_t j = 0; j < ck->n_deltas; j++) {
        has_zero |= ck->deltas[j] == 0;
        for (int32_t k = 0; k < j; k++)
            if (ck->deltas[k] == ck->deltas[j]) {
                rls_err_set(err, RLS_ERR_INVALID, "%s: attribute 'deltas': %d repeats", what,
                            (int)ck->deltas[j]);
                return NULL;
            }
    }
    if (!has_zero) {
        rls_err_set(err, RLS_ERR_INVALID, "%s: attribute 'deltas' has no 0 (no-op) entry", what);
        return NULL;
    }
    if (prm && (prm->hold_steps < 0 || prm->hold_steps > 100000 || !(prm->floor_util >= 0.0) ||
                prm->floor_util > 1.0 || !(prm->support_tau > 0.0) || prm->support_tau > 1.0 ||
                (prm->slo_floor != 0 && prm->slo_floor != 1) || !(prm->budget_gain >= 0.0) ||
                prm->budget_gain > 100.0 || !(prm->budget_window_s > 0.0) ||
                prm->budget_window_s > 1e9)) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "%s: controller hold_steps %d (0..100000), floor_util %g ([0, 1]), slo_floor %d (0|1), "
                    "budget_gain %g ([0, 100]) or budget_window_s %g ((0, 1e9])",
                    what, (int)prm->hold_steps, prm->floor_util, (int)prm->slo_floor,
                    prm->budget_gain, prm->budget_window_s);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", what);
        return NULL;
    }
    s->mlp = rls_mlp_new(ck, sc->n_services, err);
    if (!s->mlp) {
        s_destroy(s);
        return NULL;
    }
    s->n_deltas = ck->n_deltas;
    memcpy(s->deltas, ck->deltas, sizeof(s->deltas));
    s->n_placements = ck->n_placements;
    s->n_actions = ck->n_actions;
    s->n_outputs = ck->sizes[ck->n_layers];
    s->prm = prm ? *prm : rls_learned_default_params();
    if (s_reset(s, sc) != RLS_OK) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: %s", what, s->err);
        s_destroy(s);
        return NULL;
    }
    p = rls_policy_wrap(&s_learned_ops, s, what);   /* frees s on failure */
    if (!p)
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", what);
    return p;
}

struct rls_policy *rls_learned_new(const char *path, const struct rls_scenario *sc,
                                   struct rls_err *err)
{
    return rls_learned_new_with(path, NULL, sc, err);
}

struct rls_policy *rls_learned_new_with(const char *path, const struct rls_learned_params *prm,
                                        const struct rls_scenario *sc, struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_policy *p = NULL;
    if (rls_checkpoint_load(path, &ck, err) != RLS_OK)
        return NULL;
    p = rls_learned_from_checkpoint_with(ck, path, prm, sc, err);
    rls_checkpoint_destroy(&ck);
    return p;
}

const float *rls_learned_last_obs(const struct rls_policy *p)
{
    const struct s_learned *s = rls_policy_self_if(p, &s_learned_ops);
    return s && s->have_obs ? s->obs : NULL;
}
