/* sim_input.h - what a policy sees of the step simulator (env/sim.h): the
 * one place that turns a simulator's state into a struct rls_policy_input,
 * for the loops that drive a policy on a simulator (eval's tuning runs, the
 * oracle-budget's calibration runs).
 */
#ifndef RLS_SIM_INPUT_H
#define RLS_SIM_INPUT_H

#include "../env/sim.h"
#include "policy.h"

/* Fills *in (all of it: what is not set is zero) with sim's scenario, step
 * count, time and service and node views before the next step; with
 * with_future non-zero also the clairvoyant future_rate (rls_sim_rate_at on
 * sim). The views are sim's: valid until its next step, reset or destroy.
 * Neither in nor sim may be NULL; nothing is allocated and nothing fails. */
void rls_policy_input_from_sim(struct rls_policy_input *in, const struct rls_sim *sim,
                               int with_future);

#endif
