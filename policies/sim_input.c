/* sim_input.c - a struct rls_policy_input from the step simulator (see
 * sim_input.h). */
#include "sim_input.h"

#include <string.h>

static double s_sim_rate(const void *ctx, int32_t svc, int64_t step)
{
    return rls_sim_rate_at((const struct rls_sim *)ctx, svc, step);
}

void rls_policy_input_from_sim(struct rls_policy_input *in, const struct rls_sim *sim,
                               int with_future)
{
    memset(in, 0, sizeof *in);
    in->scenario = rls_sim_scenario(sim);
    in->step = rls_sim_steps(sim);
    in->time_s = rls_sim_time_s(sim);
    in->services = rls_sim_services(sim);
    in->nodes = rls_sim_nodes(sim);
    in->n_nodes = rls_sim_n_nodes(sim);
    if (with_future) {
        in->future_rate = s_sim_rate;
        in->future_ctx = sim;
    }
}
