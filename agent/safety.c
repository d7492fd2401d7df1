/* safety.c - the per-service safety filter and the fallback decision (see
 * safety.h and agent/FAIRNESS.md "Safety").
 */
#include "safety.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policies/guard.h"

#define S_ERRMSG_MAX 256

/* One service's history. */
struct s_svc {
    int32_t last_out;       /* last safe replicas returned (-1 = none yet) */
    int32_t last_dir;       /* +1 / -1: direction of the last change; 0 = none */
    double last_change_s;   /* when that change was made */
};

struct rls_safety {
    struct rls_safety_params p;
    int32_t n;
    int32_t *min;           /* [n] */
    int32_t *max;           /* [n] */
    struct s_svc *svc;      /* [n] */
    /* state freshness */
    int state_seen;
    uint64_t last_seq;
    double last_fresh_s;    /* when the seq last changed */
    /* fallback */
    int fallback;           /* 1 while falling back */
    int32_t clean;          /* consecutive clean updates while falling back */
    uint64_t flag_count[RLS_SAFE_N_FLAGS];
    uint64_t reason_count[RLS_FALLBACK_COUNT];
    uint64_t entries;
    char errmsg[S_ERRMSG_MAX];
};

struct rls_safety_params rls_safety_default_params(void)
{
    struct rls_safety_params p;
    memset(&p, 0, sizeof p);
    p.max_step_up = 4;
    p.max_step_up_frac = 1.0;
    p.max_step_down = 1;
    p.max_step_down_frac = 0.5;
    p.cooldown_up_s = 30.0;
    p.cooldown_down_s = 60.0;
    p.hysteresis = 0;
    p.hysteresis_frac = 0.0;
    p.stale_after_s = 45.0;
    p.ood_k = rls_guard_default_params().ood_k;             /* 8, as `rlsched eval` */
    p.ood_max_frac = rls_guard_default_params().ood_max_frac; /* 0.25 */
    p.recover_steps = rls_guard_default_params().recover_steps; /* 3 */
    return p;
}

static int s_nonneg(double v, const char *name, struct rls_err *err)
{
    if (!isfinite(v) || v < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: %s: must be finite and >= 0 (got %g)", name, v);
    return RLS_OK;
}

int rls_safety_params_check(const struct rls_safety_params *p, struct rls_err *err)
{
    int rc = RLS_OK;

    if (p == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "safety: params is NULL");
    if (p->max_step_up < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: max_step_up: must be >= 0 (got %d)", p->max_step_up);
    if (p->max_step_down < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: max_step_down: must be >= 0 (got %d)",
                           p->max_step_down);
    if (p->hysteresis < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: hysteresis: must be >= 0 (got %d)", p->hysteresis);
    if (p->recover_steps < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: recover_steps: must be >= 0 (got %d)",
                           p->recover_steps);
    if ((rc = s_nonneg(p->max_step_up_frac, "max_step_up_frac", err)) != RLS_OK ||
        (rc = s_nonneg(p->max_step_down_frac, "max_step_down_frac", err)) != RLS_OK ||
        (rc = s_nonneg(p->cooldown_up_s, "cooldown_up_s", err)) != RLS_OK ||
        (rc = s_nonneg(p->cooldown_down_s, "cooldown_down_s", err)) != RLS_OK ||
        (rc = s_nonneg(p->hysteresis_frac, "hysteresis_frac", err)) != RLS_OK ||
        (rc = s_nonneg(p->stale_after_s, "stale_after_s", err)) != RLS_OK)
        return rc;
    if (!isfinite(p->ood_k) || p->ood_k <= 0)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: ood_k: must be finite and > 0 (got %g)", p->ood_k);
    if (!isfinite(p->ood_max_frac) || p->ood_max_frac < 0 || p->ood_max_frac > 1)
        return rls_err_set(err, RLS_ERR_RANGE, "safety: ood_max_frac: must be in [0, 1] (got %g)",
                           p->ood_max_frac);
    return RLS_OK;
}

static void s_reset_history(struct rls_safety *s)
{
    for (int32_t i = 0; i < s->n; i++) {
        s->svc[i].last_out = -1;
        s->svc[i].last_dir = 0;
        s->svc[i].last_change_s = 0.0;
    }
    s->state_seen = 0;
    s->last_seq = 0;
    s->last_fresh_s = 0.0;
    s->fallback = 0;
    s->clean = 0;
}

struct rls_safety *rls_safety_new(const struct rls_safety_params *p, int32_t n_services,
                                  const int32_t *min_replicas, const int32_t *max_replicas,
                                  struct rls_err *err)
{
    struct rls_safety *s = NULL;
    struct rls_safety_params params = p != NULL ? *p : rls_safety_default_params();
    size_t n = 0;

    if (rls_safety_params_check(&params, err) != RLS_OK)
        goto fail;
    if (n_services < 0) {
        rls_err_set(err, RLS_ERR_RANGE, "safety: n_services: must be >= 0 (got %d)", n_services);
        goto fail;
    }
    for (int32_t i = 0; i < n_services; i++) {
        int32_t lo = min_replicas != NULL ? min_replicas[i] : 0;
        int32_t hi = max_replicas != NULL ? max_replicas[i] : INT32_MAX;
        if (lo < 0 || hi < lo) {
            rls_err_set(err, RLS_ERR_RANGE, "safety: service %d: need 0 <= min <= max replicas (got %d, %d)",
                        i, lo, hi);
            goto fail;
        }
    }
    n = (size_t)(n_services > 0 ? n_services : 1);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        goto nomem;
    s->p = params;
    s->n = n_services;
    s->min = calloc(n, sizeof *s->min);
    s->max = calloc(n, sizeof *s->max);
    s->svc = calloc(n, sizeof *s->svc);
    if (s->min == NULL || s->max == NULL || s->svc == NULL)
        goto nomem;
    for (int32_t i = 0; i < n_services; i++) {
        s->min[i] = min_replicas != NULL ? min_replicas[i] : 0;
        s->max[i] = max_replicas != NULL ? max_replicas[i] : INT32_MAX;
    }
    s_reset_history(s);
    return s;

nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "safety: out of memory for %d services", n_services);
fail:
    rls_safety_destroy(&s);
    return NULL;
}

void rls_safety_destroy(struct rls_safety **s)
{
    if (s == NULL || *s == NULL)
        return;
    free((*s)->min);
    free((*s)->max);
    free((*s)->svc);
    free(*s);
    *s = NULL;
}

const char *rls_safety_errmsg(const struct rls_safety *s)
{
    return s != NULL ? s->errmsg : "";
}

void rls_safety_reset(struct rls_safety *s)
{
    if (s != NULL)
        s_reset_history(s);
}

/* ---- the action filter ---- */

/* Largest step allowed from `current`: max(abs, frac * current rounded),
 * at least 1; -1 = no limit. */
static int64_t s_allowed(int32_t abs_part, double frac, int32_t current, int round_up)
{
    if (abs_part <= 0 && frac <= 0)
        return -1;
    double rel = frac * (double)current;
    if (rel > (double)INT32_MAX)
        rel = (double)INT32_MAX;
    int64_t r = (int64_t)(round_up ? ceil(rel) : floor(rel));
    int64_t a = abs_part > r ? abs_part : r;
    return a < 1 ? 1 : a;
}

static void s_count(struct rls_safety *s, uint32_t flags)
{
    for (int b = 0; b < RLS_SAFE_N_FLAGS; b++)
        if (flags & (1u << b))
            s->flag_count[b]++;
}

int32_t rls_safety_apply_one(struct rls_safety *s, int32_t svc, double now_s, int32_t current,
                             int32_t wish, uint32_t *reasons)
{
    uint32_t flags = 0;

    if (reasons != NULL)
        *reasons = 0;
    if (s == NULL || svc < 0 || svc >= s->n)
        return -1;
    struct s_svc *h = &s->svc[svc];
    int32_t lo = s->min[svc];
    int32_t hi = s->max[svc];
    int64_t w = wish;

    if (w < lo) {
        w = lo;
        flags |= RLS_SAFE_CLAMP_MIN;
    } else if (w > hi) {
        w = hi;
        flags |= RLS_SAFE_CLAMP_MAX;
    }
    int32_t cur = current >= 0 ? current : h->last_out;
    if (cur >= 0 && w != cur) {
        int64_t diff = w > cur ? w - cur : cur - w;
        /* hysteresis: small moves are ignored, unless current breaks a hard limit */
        int64_t band = (int64_t)floor(s->p.hysteresis_frac * (double)cur);
        if (band < s->p.hysteresis)
            band = s->p.hysteresis;
        if (cur >= lo && cur <= hi && diff <= band) {
            w = cur;
            flags |= RLS_SAFE_HYSTERESIS;
        }
        /* cool-down: no reversal of the last change too soon */
        if (w > cur && h->last_dir < 0 && now_s - h->last_change_s < s->p.cooldown_up_s) {
            w = cur;
            flags |= RLS_SAFE_COOLDOWN;
        } else if (w < cur && h->last_dir > 0 && now_s - h->last_change_s < s->p.cooldown_down_s) {
            w = cur;
            flags |= RLS_SAFE_COOLDOWN;
        }
        /* step limits */
        if (w > cur) {
            int64_t up = s_allowed(s->p.max_step_up, s->p.max_step_up_frac, cur, 1);
            if (up >= 0 && w - cur > up) {
                w = cur + up;
                flags |= RLS_SAFE_STEP_UP;
            }
        } else if (w < cur) {
            int64_t down = s_allowed(s->p.max_step_down, s->p.max_step_down_frac, cur, 0);
            if (down >= 0 && cur - w > down) {
                w = cur - down;
                flags |= RLS_SAFE_STEP_DOWN;
            }
        }
        /* the hard limits win over everything above */
        if (w < lo) {
            w = lo;
            flags |= RLS_SAFE_CLAMP_MIN;
        } else if (w > hi) {
            w = hi;
            flags |= RLS_SAFE_CLAMP_MAX;
        }
        if (w != cur) {
            h->last_dir = w > cur ? 1 : -1;
            h->last_change_s = now_s;
        }
    }
    h->last_out = (int32_t)w;
    s_count(s, flags);
    if (reasons != NULL)
        *reasons = flags;
    return (int32_t)w;
}

int rls_safety_apply(struct rls_safety *s, double now_s, const int32_t *current,
                     const int32_t *wish, int32_t *out, uint32_t *reasons)
{
    if (s == NULL || (s->n > 0 && (wish == NULL || out == NULL)))
        return RLS_ERR_INVALID;
    for (int32_t i = 0; i < s->n; i++) {
        int32_t cur = current != NULL ? current[i] : -1;
        out[i] = rls_safety_apply_one(s, i, now_s, cur, wish[i], reasons != NULL ? &reasons[i] : NULL);
    }
    return RLS_OK;
}

uint64_t rls_safety_flag_count(const struct rls_safety *s, int bit)
{
    if (s == NULL || bit < 0 || bit >= RLS_SAFE_N_FLAGS)
        return 0;
    return s->flag_count[bit];
}

const char *rls_safety_flag_str(int bit)
{
    static const char *const names[RLS_SAFE_N_FLAGS] = {
        "clamp_min", "clamp_max", "step_up", "step_down", "cooldown", "hysteresis"};
    if (bit < 0 || bit >= RLS_SAFE_N_FLAGS)
        return "unknown";
    return names[bit];
}

/* ---- when to fall back ---- */

enum rls_fallback_reason rls_safety_check_state(struct rls_safety *s, uint64_t seq,
                                                double state_time_s, double now_s)
{
    if (s == NULL)
        return RLS_FALLBACK_NONE;
    if (!s->state_seen || seq != s->last_seq) {
        s->state_seen = 1;
        s->last_seq = seq;
        s->last_fresh_s = now_s;
    }
    if (isfinite(state_time_s) && now_s - state_time_s > s->p.stale_after_s) {
        snprintf(s->errmsg, sizeof s->errmsg, "state seq %llu is %.3f s old (stale after %.3f s)",
                 (unsigned long long)seq, now_s - state_time_s, s->p.stale_after_s);
        return RLS_FALLBACK_STALE_STATE;
    }
    if (now_s - s->last_fresh_s > s->p.stale_after_s) {
        snprintf(s->errmsg, sizeof s->errmsg, "state seq %llu has not advanced for %.3f s (stale after %.3f s)",
                 (unsigned long long)seq, now_s - s->last_fresh_s, s->p.stale_after_s);
        return RLS_FALLBACK_STALE_STATE;
    }
    return RLS_FALLBACK_NONE;
}

enum rls_fallback_reason rls_safety_check_age(const struct rls_safety *s, double now_s)
{
    if (s == NULL)
        return RLS_FALLBACK_NONE;
    if (!s->state_seen)
        return RLS_FALLBACK_NO_STATE;
    if (now_s - s->last_fresh_s > s->p.stale_after_s)
        return RLS_FALLBACK_STALE_STATE;
    return RLS_FALLBACK_NONE;
}

int32_t rls_safety_ood_count(const float *x, const float *mean, const float *std, int32_t n,
                             double k)
{
    return rls_guard_ood_count(x, mean, std, n, k);
}

enum rls_fallback_reason rls_safety_check_ood(const struct rls_safety *s, const float *x,
                                              const float *mean, const float *std,
                                              int32_t n_rows, int32_t n_features,
                                              uint8_t *row_ood, int32_t *n_out)
{
    int32_t rows_out = 0;

    if (n_out != NULL)
        *n_out = 0;
    if (s == NULL || x == NULL || mean == NULL || std == NULL || n_rows <= 0 || n_features <= 0)
        return RLS_FALLBACK_NONE;
    /* the row check `rlsched eval` applies too (policies/guard.h) */
    rows_out = rls_guard_ood_rows(x, mean, std, n_rows, n_features, s->p.ood_k, s->p.ood_max_frac, row_ood);
    if (n_out != NULL)
        *n_out = rows_out;
    return rows_out > 0 ? RLS_FALLBACK_OOD_INPUT : RLS_FALLBACK_NONE;
}

enum rls_fallback_reason rls_safety_fallback_update(struct rls_safety *s, uint32_t reason_mask)
{
    enum rls_fallback_reason r = RLS_FALLBACK_NONE;

    if (s == NULL)
        return RLS_FALLBACK_NONE;
    for (int i = RLS_FALLBACK_NO_CHECKPOINT; i < RLS_FALLBACK_RECOVERING; i++) {
        if (reason_mask & (1u << i)) {
            r = (enum rls_fallback_reason)i;
            break;
        }
    }
    if (r != RLS_FALLBACK_NONE) {
        if (!s->fallback)
            s->entries++;
        s->fallback = 1;
        s->clean = 0;
    } else if (s->fallback) {
        s->clean++;
        if (s->clean >= s->p.recover_steps) {
            s->fallback = 0;
            s->clean = 0;
        } else {
            r = RLS_FALLBACK_RECOVERING;
        }
    }
    s->reason_count[r]++;
    return r;
}

int rls_safety_fallback_active(const struct rls_safety *s)
{
    return s != NULL && s->fallback;
}

uint64_t rls_safety_fallback_count(const struct rls_safety *s, enum rls_fallback_reason reason)
{
    if (s == NULL || (int)reason < 0 || reason >= RLS_FALLBACK_COUNT)
        return 0;
    return s->reason_count[reason];
}

uint64_t rls_safety_fallback_entries(const struct rls_safety *s)
{
    return s != NULL ? s->entries : 0;
}

const char *rls_safety_reason_str(enum rls_fallback_reason reason)
{
    switch (reason) {
    case RLS_FALLBACK_NONE: return "none";
    case RLS_FALLBACK_NO_CHECKPOINT: return "no_checkpoint";
    case RLS_FALLBACK_NO_STATE: return "no_state";
    case RLS_FALLBACK_STALE_STATE: return "stale_state";
    case RLS_FALLBACK_POLICY_ERROR: return "policy_error";
    case RLS_FALLBACK_OOD_INPUT: return "ood_input";
    case RLS_FALLBACK_RECOVERING: return "recovering";
    default: return "unknown";
    }
}
