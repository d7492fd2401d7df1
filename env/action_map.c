/* action_map.c - a replica target to the nearest allowed env action, the flat
 * mask and exploration (action_map.h). The one copy of this logic: `rlsched
 * record` and the agent's recorder call it.
 */
#include "action_map.h"

#include <stdlib.h>

#include "rng.h"

int32_t rls_action_from_target(const uint8_t *mask_row, const int32_t *deltas, int32_t n_deltas,
                               int32_t n_placements, int32_t current, int32_t min_replicas,
                               int32_t max_replicas, int32_t target, int32_t placement)
{
    int32_t best = -1, zero = 0, pl = -1;
    int64_t best_gap = 0;

    if (mask_row == NULL || deltas == NULL || n_deltas < 1 || n_placements < 1)
        return -1;
    for (int32_t d = 0; d < n_deltas; d++) {
        if (deltas[d] == 0)
            zero = d;
        if (!mask_row[d])
            continue;
        /* where the env would land: current + delta, clamped to the limits */
        int64_t to = (int64_t)current + deltas[d];
        to = to < min_replicas ? min_replicas : to > max_replicas ? max_replicas : to;
        int64_t gap = to > target ? to - (int64_t)target : (int64_t)target - to;
        if (best < 0 || gap < best_gap || (gap == best_gap && abs(deltas[d]) < abs(deltas[best]))) {
            best = d;
            best_gap = gap;
        }
    }
    if (best < 0)
        best = zero;
    if (placement >= 0 && placement < n_placements && mask_row[n_deltas + placement])
        pl = placement;
    for (int32_t p = 0; pl < 0 && p < n_placements; p++)
        if (mask_row[n_deltas + p])
            pl = p;
    if (pl < 0)
        pl = 0;
    return best * n_placements + pl;
}

int rls_env_actions_from_targets(const struct rls_env *env, const uint8_t *mask,
                                 const int32_t *target, const uint8_t *placement, int32_t *flat,
                                 int32_t *action)
{
    if (env == NULL || mask == NULL || target == NULL)
        return RLS_ERR_INVALID;
    const struct rls_scenario *sc = rls_env_scenario(env);
    const struct rls_svc_state *sv = rls_env_services(env);
    const int32_t *deltas = rls_env_deltas(env);
    int32_t S = rls_env_n_services(env), nd = rls_env_n_deltas(env), W = rls_env_mask_width(env);
    const int32_t NP = RLS_ENV_N_PLACEMENTS;
    if (sc == NULL || sv == NULL || rls_env_obs(env) == NULL)
        return RLS_ERR_STATE;
    for (int32_t i = 0; i < S; i++) {
        int32_t want_pl = placement != NULL ? placement[i] : (int32_t)RLS_PLACE_SPREAD;
        int32_t a = rls_action_from_target(mask + (size_t)i * (size_t)W, deltas, nd, NP, sv[i].desired,
                                           sc->services[i].min_replicas, sc->services[i].max_replicas,
                                           target[i], want_pl);
        if (a < 0)
            return RLS_ERR_INVALID;
        if (flat != NULL)
            flat[i] = a;
        if (action != NULL) {
            action[(size_t)i * RLS_ENV_ACTION_DIMS] = a / NP;
            action[(size_t)i * RLS_ENV_ACTION_DIMS + 1] = a % NP;
        }
    }
    return RLS_OK;
}

int rls_action_mask_flatten(const uint8_t *mask, int32_t n_services, int32_t n_deltas,
                            int32_t n_placements, uint8_t *flat)
{
    if (mask == NULL || flat == NULL || n_services < 0 || n_deltas < 1 || n_placements < 1)
        return RLS_ERR_INVALID;
    size_t W = (size_t)n_deltas + (size_t)n_placements, A = (size_t)n_deltas * (size_t)n_placements;
    for (int32_t i = 0; i < n_services; i++) {
        const uint8_t *m = mask + (size_t)i * W;
        uint8_t *f = flat + (size_t)i * A;
        for (int32_t d = 0; d < n_deltas; d++)
            for (int32_t p = 0; p < n_placements; p++)
                f[d * n_placements + p] = (uint8_t)(m[d] && m[n_deltas + p]);
    }
    return RLS_OK;
}

/* uniform in [0, 1) from the splitmix64 stream */
static double s_unit(uint64_t *s)
{
    return (double)(rls_splitmix64(s) >> 11) * 0x1.0p-53;
}

int32_t rls_action_explore(const uint8_t *flat_mask_row, int32_t n_actions, double epsilon,
                           uint64_t *rng, int32_t a)
{
    int32_t n_ok = 0;

    if (flat_mask_row == NULL || rng == NULL || n_actions < 1 || !(epsilon > 0))
        return a;
    for (int32_t j = 0; j < n_actions; j++)
        n_ok += flat_mask_row[j] != 0;
    if (n_ok == 0 || s_unit(rng) >= epsilon)
        return a;
    int32_t k = (int32_t)(s_unit(rng) * n_ok);
    if (k >= n_ok)
        k = n_ok - 1;
    for (int32_t j = 0; j < n_actions; j++)
        if (flat_mask_row[j] && k-- == 0)
            return j;
    return a;
}
