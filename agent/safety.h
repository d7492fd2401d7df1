/* safety.h - the agent's safety layer: a per-service filter on the replicas a
 * policy (after fairness) asks for - min/max replicas, a maximum change per
 * step, a hysteresis band and direction-change cool-downs against flapping -
 * and the decision WHEN to fall back to the HPA baseline: no or stale state,
 * a checkpoint that failed to load, a policy error, or inputs far outside the
 * training distribution (the row check is policies/guard.h rls_guard_ood_rows,
 * which `rlsched eval` applies too). The fallback policy itself is
 * rls_policy_new("hpa", ...); this module does not run it. Rules and reasons
 * in agent/FAIRNESS.md.
 *
 *     struct rls_safety *s = rls_safety_new(NULL, n, mins, maxs, &err);
 *     uint32_t mask = RLS_FALLBACK_BIT(rls_safety_check_state(s, seq, t_state, now));
 *     mask |= RLS_FALLBACK_BIT(rls_safety_check_ood(s, x, mean, std, n, F, NULL, NULL));
 *     if (rls_safety_fallback_update(s, mask) != RLS_FALLBACK_NONE) ... use the HPA's wish
 *     rls_safety_apply(s, now, current, wish, out, reasons);
 *     rls_safety_destroy(&s);
 *
 * Times are seconds on one clock chosen by the caller (monotonic wall time for
 * a live cluster, simulated time for the simulator).
 */
#ifndef RLS_SAFETY_H
#define RLS_SAFETY_H

#include <stdint.h>

#include "../env/status.h"

/* Why the filter changed a wish (bit flags; several may be set). */
#define RLS_SAFE_CLAMP_MIN   0x01u  /* raised to the service's min replicas */
#define RLS_SAFE_CLAMP_MAX   0x02u  /* lowered to the service's max replicas */
#define RLS_SAFE_STEP_UP     0x04u  /* scale-up limited to the maximum step */
#define RLS_SAFE_STEP_DOWN   0x08u  /* scale-down limited to the maximum step */
#define RLS_SAFE_COOLDOWN    0x10u  /* direction change held back by the cool-down */
#define RLS_SAFE_HYSTERESIS  0x20u  /* change within the hysteresis band ignored */
#define RLS_SAFE_N_FLAGS 6

/* Why the agent falls back to the HPA (in priority order, highest first
 * after NONE; RECOVERING is the hold after every cause cleared). */
enum rls_fallback_reason {
    RLS_FALLBACK_NONE = 0,          /* the policy acts */
    RLS_FALLBACK_NO_CHECKPOINT = 1, /* no valid checkpoint (it failed to load) */
    RLS_FALLBACK_NO_STATE = 2,      /* no cluster state received yet */
    RLS_FALLBACK_STALE_STATE = 3,   /* the state is older than stale_after_s */
    RLS_FALLBACK_POLICY_ERROR = 4,  /* the forward pass or decision failed */
    RLS_FALLBACK_OOD_INPUT = 5,     /* features far outside the training distribution */
    RLS_FALLBACK_RECOVERING = 6,    /* causes cleared, waiting recover_steps clean checks */
    RLS_FALLBACK_COUNT = 7
};

/* The mask bit of a reason, for rls_safety_fallback_update (NONE gives 0). */
#define RLS_FALLBACK_BIT(r) ((r) == RLS_FALLBACK_NONE ? 0u : (1u << (unsigned)(r)))

struct rls_safety_params {
    int32_t max_step_up;        /* absolute part of the largest scale-up per step, replicas (4) */
    double max_step_up_frac;    /* relative part, fraction of current replicas (1.0 = double) (1.0);
                                   allowed = max(abs, ceil(frac * current)), at least 1;
                                   both 0 = no limit */
    int32_t max_step_down;      /* absolute part of the largest scale-down per step (1) */
    double max_step_down_frac;  /* relative part (0.5); allowed = max(abs, floor(frac *
                                   current)), at least 1; both 0 = no limit */
    double cooldown_up_s;       /* after a scale-down, no scale-up for this long, s (30) */
    double cooldown_down_s;     /* after a scale-up, no scale-down for this long, s (60) */
    int32_t hysteresis;         /* ignore changes of at most this many replicas (0) */
    double hysteresis_frac;     /* ... or of at most this fraction of current (0) */
    double stale_after_s;       /* state older than this, or whose seq has not advanced for
                                   this long, is stale, s (45: three 15 s steps) */
    double ood_k;               /* a feature is outside when |x - mean| > k * std (8) */
    double ood_max_frac;        /* a row is out of distribution when more than this fraction
                                   of its features are outside, 0..1 (0.25) */
    int32_t recover_steps;      /* clean consecutive checks before the policy acts again (3) */
};

/* The defaults above. */
struct rls_safety_params rls_safety_default_params(void);

/* Checks p. Returns RLS_OK or RLS_ERR_RANGE with err naming the field
 * (negative steps, fractions or times, non-finite values, ood_k <= 0,
 * ood_max_frac outside [0, 1], recover_steps < 0). */
int rls_safety_params_check(const struct rls_safety_params *p, struct rls_err *err);

struct rls_safety;

/* A safety filter for n_services services with replicas limited to
 * [min_replicas[i], max_replicas[i]] (arrays copied; NULL = [0, INT32_MAX]).
 * p NULL = defaults (copied). Returns an owned handle (rls_safety_destroy), or
 * NULL with err on a bad parameter, n_services < 0, min < 0 or max < min, or
 * no memory. */
struct rls_safety *rls_safety_new(const struct rls_safety_params *p, int32_t n_services,
                                  const int32_t *min_replicas, const int32_t *max_replicas,
                                  struct rls_err *err);

/* Frees *s and sets it to NULL; NULL is a no-op. */
void rls_safety_destroy(struct rls_safety **s);

/* Last error message ("" if none), never NULL. */
const char *rls_safety_errmsg(const struct rls_safety *s);

/* Forgets every service's history, the state seen and the fallback state
 * (counters are kept: they are monotonic metrics). */
void rls_safety_reset(struct rls_safety *s);

/* ---- the action filter ---- */

/* Filters one service's wish at time now_s given the replicas the cluster
 * currently targets (`current`; negative = unknown: the last output is used,
 * or no step limit on the first call). Order: clamp to [min, max],
 * hysteresis band, cool-down against reversing the last change, step limits,
 * clamp to [min, max] again (the hard limits win). Records a change in the
 * service's history and counts each reason. *reasons (may be NULL) gets the
 * RLS_SAFE_* bits. Returns the safe replicas, or -1 for a bad svc / NULL s. */
int32_t rls_safety_apply_one(struct rls_safety *s, int32_t svc, double now_s, int32_t current,
                             int32_t wish, uint32_t *reasons);

/* rls_safety_apply_one for every service: current[n] (NULL = all unknown),
 * wish[n], out[n], reasons[n] (may be NULL). Returns RLS_OK, or
 * RLS_ERR_INVALID for NULL s/wish/out. */
int rls_safety_apply(struct rls_safety *s, double now_s, const int32_t *current,
                     const int32_t *wish, int32_t *out, uint32_t *reasons);

/* How many times the reason with bit index `bit` (0..RLS_SAFE_N_FLAGS-1, i.e.
 * flag 1u << bit) was applied to a service. 0 for a bad bit or NULL s. */
uint64_t rls_safety_flag_count(const struct rls_safety *s, int bit);

/* "clamp_min", "clamp_max", "step_up", "step_down", "cooldown", "hysteresis"
 * for bit index 0..5 (a metric label; static), "unknown" otherwise. */
const char *rls_safety_flag_str(int bit);

/* ---- when to fall back ---- */

/* Records a state message (sequence number seq, its timestamp state_time_s
 * on the caller's clock, or NAN when the clocks are not comparable) arriving
 * at now_s. A seq different from the last one counts as fresh (a lower one
 * means the cluster restarted). Returns RLS_FALLBACK_STALE_STATE when the
 * timestamp is older than stale_after_s, or the seq has not changed for more
 * than stale_after_s (with a message in rls_safety_errmsg); RLS_FALLBACK_NONE
 * otherwise (also for NULL s). */
enum rls_fallback_reason rls_safety_check_state(struct rls_safety *s, uint64_t seq,
                                                double state_time_s, double now_s);

/* The age check at decision time without a new message: NO_STATE before any
 * state, STALE_STATE when the last fresh state came more than stale_after_s
 * before now_s, NONE otherwise. */
enum rls_fallback_reason rls_safety_check_age(const struct rls_safety *s, double now_s);

/* Features of x[n] outside mean[i] +- k * std[i] (a non-finite x, mean or
 * std counts as outside; std <= 0 means only x == mean is inside). Returns
 * the count, 0 for NULL arrays or n <= 0. */
int32_t rls_safety_ood_count(const float *x, const float *mean, const float *std, int32_t n,
                             double k);

/* Out-of-distribution check of x[n_rows][n_features] (row-major raw
 * features, one row per service) against the training data's
 * mean[n_features] and std[n_features] (e.g. a checkpoint's obs_mean /
 * obs_std): a row is out when more than ood_max_frac of its features are
 * outside mean +- ood_k * std. row_ood[n_rows] (may be NULL) gets 1 per row
 * out, *n_out (may be NULL) the rows out. Returns RLS_FALLBACK_OOD_INPUT when
 * any row is out, RLS_FALLBACK_NONE otherwise (also for NULL arguments). */
enum rls_fallback_reason rls_safety_check_ood(const struct rls_safety *s, const float *x,
                                              const float *mean, const float *std,
                                              int32_t n_rows, int32_t n_features,
                                              uint8_t *row_ood, int32_t *n_out);

/* One decision's fallback verdict from the causes present now (an OR of
 * RLS_FALLBACK_BIT(reason)): the highest-priority cause present; when none
 * is present but the agent was falling back, RLS_FALLBACK_RECOVERING until
 * recover_steps consecutive clean calls, then RLS_FALLBACK_NONE. Counts one
 * decision under the reason returned. Anything but NONE means: act with the
 * HPA. Returns RLS_FALLBACK_NONE for NULL s. */
enum rls_fallback_reason rls_safety_fallback_update(struct rls_safety *s, uint32_t reason_mask);

/* 1 while falling back (the last update returned something but NONE). */
int rls_safety_fallback_active(const struct rls_safety *s);

/* Decisions counted under `reason` by rls_safety_fallback_update; and how
 * many times the agent entered fallback (NONE -> anything else). */
uint64_t rls_safety_fallback_count(const struct rls_safety *s, enum rls_fallback_reason reason);
uint64_t rls_safety_fallback_entries(const struct rls_safety *s);

/* "none", "no_checkpoint", "no_state", "stale_state", "policy_error",
 * "ood_input", "recovering" (static; a metric label), "unknown" otherwise. */
const char *rls_safety_reason_str(enum rls_fallback_reason reason);

#endif
