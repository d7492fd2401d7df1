/* cmd_record.c - `rlsched record`: runs behaviour policies (hpa, kpa,
 * predictive, oracle, static, hpa-tuned) in the environment, one policy per
 * episode in turn, with epsilon-random exploration, and records what happened
 * into a replay file (replay/FORMAT.md) for offline learning.
 *
 * Each policy's absolute replica target becomes the allowed delta (under the
 * env's action mask) that lands closest to it, plus the policy's placement;
 * with probability epsilon per service and step that is replaced by a
 * uniformly random allowed action. Episode i uses seed base + i. The env runs
 * on a simulator this command owns, so the oracle gets the true future load.
 * Bad input: one line on stderr, exit 2 for usage errors, 1 for failures; an
 * unwritable --out leaves no file under that name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_keys.h"
#include "../env/env.h"
#include "../env/remote.h"
#include "../env/rng.h"
#include "../env/scenario.h"
#include "../env/sim.h"
#include "../eval/eval.h"
#include "../eval/tune.h"
#include "../policies/policy.h"
#include "../replay/replay.h"

#define S_PROG "rlsched record"
#define S_MAX_POLICIES 16

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched record [--scenario FILE|default] [--trace FILE [--trace-column C]]\n"
            "                      [--cluster tcp://HOST:PORT]\n"
            "                      --policy P1,P2,... [--epsilon E] --episodes N [--steps N]\n"
            "                      [--seed N] --out FILE.h5 [--quiet]\n"
            "\n"
            "Records experience from behaviour policies into an HDF5 replay file.\n"
            "  --scenario  scenario YAML or 'default' (default)\n"
            "  --trace     replace every service's load with this trace (as rlsched eval);\n"
            "              without --steps an episode covers the whole trace\n"
            "  --policy    comma-separated behaviour policies, used episode by episode in\n"
            "              turn: static[:N], hpa, hpa-tuned, kpa, predictive, oracle\n"
            "              (each optionally @spread or @binpack)\n"
            "  --epsilon   probability per service and step of a uniformly random allowed\n"
            "              action instead of the policy's (0)\n"
            "  --episodes  episodes to record\n"
            "  --cluster   record from a live cluster that speaks the protocol (rlsched sim\n"
            "              serve, agent/PROTOCOL.md) instead of a local simulator; the\n"
            "              cluster describes itself (no --scenario, --trace, oracle, hpa-tuned);\n"
            "              its keys: --curve-server F --curve-secret F (or --insecure), --takeover\n"
            "  --steps     steps per episode (default: the scenario's horizon)\n"
            "  --seed      seed of episode 0; episode i uses seed + i (1)\n"
            "  --out       the replay file (written crash-safe, episode by episode)\n"
            "  --quiet     no progress on stderr\n");
}

/* ---------------------------------------------------------------------------
 * The simulator backend, owned here so the oracle can see the future load. */

static int s_b_reset(void *self, uint64_t seed) { return rls_sim_reset(self, seed); }
static int s_b_step(void *self, const int32_t *d, const uint8_t *p) { return rls_sim_step(self, d, p); }
static const struct rls_scenario *s_b_scenario(const void *self) { return rls_sim_scenario(self); }
static const struct rls_svc_state *s_b_services(const void *self) { return rls_sim_services(self); }
static const struct rls_node_state *s_b_nodes(const void *self, int32_t *n)
{
    if (n)
        *n = rls_sim_n_nodes(self);
    return rls_sim_nodes(self);
}
static const struct rls_step_info *s_b_last(const void *self) { return rls_sim_last(self); }
static int64_t s_b_steps(const void *self) { return rls_sim_steps(self); }
static int64_t s_b_horizon(const void *self) { return rls_sim_horizon(self); }
static double s_b_time_s(const void *self) { return rls_sim_time_s(self); }
static const char *s_b_errmsg(const void *self) { return rls_sim_errmsg(self); }
static void s_b_destroy(void *self)
{
    struct rls_sim *sim = self;
    rls_sim_destroy(&sim);
}

static const struct rls_env_backend_ops s_ops = {
    .name = "sim",
    .reset = s_b_reset,
    .step = s_b_step,
    .scenario = s_b_scenario,
    .services = s_b_services,
    .nodes = s_b_nodes,
    .last = s_b_last,
    .steps = s_b_steps,
    .horizon = s_b_horizon,
    .time_s = s_b_time_s,
    .errmsg = s_b_errmsg,
    .destroy = s_b_destroy,
};

static double s_future_rate(const void *ctx, int32_t svc, int64_t step)
{
    return rls_sim_rate_at((const struct rls_sim *)ctx, svc, step);
}

/* uniform in [0, 1) from a splitmix64 stream (the exploration draws) */
static double s_unit(uint64_t *s)
{
    return (double)(rls_splitmix64(s) >> 11) * 0x1.0p-53;
}

int rls_cmd_record(int argc, char **argv)
{
    int ret = 1;
    struct rls_cli_keys keys = {0};
    const char *scenario_path = "default", *trace_path = NULL, *trace_col = NULL, *policy_list = NULL;
    const char *out = NULL, *cluster = NULL;
    double epsilon = 0.0;
    uint64_t episodes = 0, steps_u = 0, seed = 1;
    int have_episodes = 0, have_steps = 0, quiet = 0;
    struct rls_err err = {0};
    struct rls_scenario *sc = NULL, *train_sc = NULL;
    struct rls_policy *pols[S_MAX_POLICIES] = {NULL};
    char specs[S_MAX_POLICIES][64];
    int n_pols = 0;
    struct rls_env *env = NULL;
    struct rls_sim *sim = NULL;
    struct rls_replay_writer *w = NULL;
    struct rls_replay_meta meta;
    float *obs = NULL, *srew = NULL;
    int32_t *desired = NULL, *action = NULL, *flat = NULL;
    uint8_t *placement = NULL, *emask = NULL, *fmask = NULL;
    memset(&meta, 0, sizeof meta);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        int kr = rls_cli_keys_option(&keys, 0, argc, argv, &i, S_PROG);
        if (kr != 0) { if (kr < 0) return 2; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--scenario") == 0)
            scenario_path = v;
        else if (strcmp(a, "--trace") == 0)
            trace_path = v;
        else if (strcmp(a, "--cluster") == 0)
            cluster = v;
        else if (strcmp(a, "--trace-column") == 0)
            trace_col = v;
        else if (strcmp(a, "--policy") == 0)
            policy_list = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--epsilon") == 0) {
            char *end = NULL;
            errno = 0;
            epsilon = strtod(v, &end);
            if (errno || !*v || *end || !(epsilon >= 0.0 && epsilon <= 1.0)) {
                fprintf(stderr, S_PROG ": --epsilon '%s': expected a number from 0 to 1\n", v);
                return 2;
            }
        } else if (strcmp(a, "--episodes") == 0) {
            if (rls_cli_parse_u64(v, 100000000ULL, &episodes) != 0 || episodes < 1) {
                fprintf(stderr, S_PROG ": --episodes '%s': expected an integer from 1 to 100000000\n", v);
                return 2;
            }
            have_episodes = 1;
        } else if (strcmp(a, "--steps") == 0) {
            if (rls_cli_parse_u64(v, 100000000ULL, &steps_u) != 0 || steps_u < 1) {
                fprintf(stderr, S_PROG ": --steps '%s': expected an integer from 1 to 100000000\n", v);
                return 2;
            }
            have_steps = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (rls_cli_parse_u64(v, UINT64_MAX / 2, &seed) != 0) {
                fprintf(stderr, S_PROG ": --seed '%s': expected a non-negative integer\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!policy_list || !out || !have_episodes) {
        fprintf(stderr, S_PROG ": --policy, --episodes and --out are required (try --help)\n");
        return 2;
    }

    /* scenario (from the live cluster's hello, or a file), trace, horizon */
    if (cluster) {
        if (trace_path) {
            fprintf(stderr, S_PROG ": --cluster and --trace: the cluster brings its own load\n");
            return 2;
        }
        struct rls_remote_params rp = rls_remote_default_params();
        rp.takeover = keys.takeover;
        if (rls_cli_keys_apply(&keys, 0, &rp.transport, S_PROG) != 0) { ret = 2; goto done; }
        struct rls_remote *rc = rls_remote_new(cluster, &rp, &err);
        struct rls_env_params cep = rls_env_default_params();
        if (rc)
            env = rls_env_new_with_backend(&cep, &rls_remote_backend_ops, rc, &err);
        if (!env) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        sc = rls_scenario_copy(rls_env_scenario(env));
    } else if (rls_scenario_load(scenario_path, &sc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (!sc) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    int64_t steps = have_steps ? (int64_t)steps_u : sc->horizon_steps;
    if (trace_path) {
        double dur = 0;
        if (rls_eval_apply_trace(sc, trace_path, trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        if (!have_steps)
            steps = (int64_t)(dur / sc->step_s) > 0 ? (int64_t)(dur / sc->step_s) : 1;
    }
    if (steps > INT32_MAX) {
        fprintf(stderr, S_PROG ": %" PRId64 " steps is too many\n", steps);
        goto done;
    }
    sc->horizon_steps = (int32_t)steps;     /* episodes end (truncated) after `steps` */

    /* behaviour policies */
    struct rls_tune_params tp = rls_tune_default_params();
    {
        const char *p = policy_list;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (n == 0 || n >= sizeof specs[0]) {
                fprintf(stderr, S_PROG ": --policy '%s': empty or too long entry\n", policy_list);
                ret = 2;
                goto done;
            }
            if (n_pols == S_MAX_POLICIES) {
                fprintf(stderr, S_PROG ": --policy: at most %d policies\n", S_MAX_POLICIES);
                ret = 2;
                goto done;
            }
            memcpy(specs[n_pols], p, n);
            specs[n_pols][n] = '\0';
            n_pols++;
            p = comma ? comma + 1 : p + n;
        }
    }
    for (int i = 0; i < n_pols; i++) {
        if (cluster && (strncmp(specs[i], "hpa-tuned", 9) == 0 || strncmp(specs[i], "oracle", 6) == 0)) {
            fprintf(stderr, S_PROG ": --policy %s cannot run on a live cluster (it needs the cluster's "
                    "future load or a simulation of it)\n", specs[i]);
            ret = 2;
            goto done;
        }
        if (strncmp(specs[i], "hpa-tuned", 9) == 0 && !train_sc) {
            /* tuned on a training run that is not the recorded one (as eval) */
            train_sc = trace_path ? rls_scenario_copy(sc) : rls_tune_training_scenario(sc);
            if (!train_sc) {
                fprintf(stderr, S_PROG ": out of memory\n");
                goto done;
            }
            tp.scenario = train_sc;
            tp.seed = seed + 1000;
            tp.steps = trace_path ? (steps / 2 > 0 ? steps / 2 : 1) : steps;
        }
        pols[i] = rls_eval_build_policy(specs[i], sc, &tp, NULL, &err);
        if (!pols[i]) {
            fprintf(stderr, S_PROG ": --policy: %s\n", err.msg);
            ret = 2;
            goto done;
        }
    }

    /* environment on our own simulator (the oracle reads its future load) */
    struct rls_sim *sim_view = NULL;
    if (!env) {
        sim = rls_sim_new(sc, &err);
        if (!sim) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        sim_view = sim;
        struct rls_env_params ep = rls_env_default_params();
        env = rls_env_new_with_backend(&ep, &s_ops, sim, &err);
        sim = NULL;     /* owned by env now (freed on failure too) */
        if (!env) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
    }
    int32_t S = rls_env_n_services(env), nd = rls_env_n_deltas(env), W = rls_env_mask_width(env);
    int32_t NP = RLS_ENV_N_PLACEMENTS, A = nd * NP, F = RLS_ENV_N_FEATURES;
    const int32_t *deltas = rls_env_deltas(env);

    /* the file */
    meta.n_services = S;
    meta.n_features = F;
    meta.n_deltas = nd;
    memcpy(meta.deltas, deltas, (size_t)nd * sizeof *deltas);
    meta.n_placements = NP;
    meta.n_actions = A;
    snprintf(meta.scenario_name, sizeof meta.scenario_name, "%s", sc->name);
    meta.scenario_yaml = rls_scenario_to_yaml(sc, NULL);
    snprintf(meta.trace, sizeof meta.trace, "%s", trace_path ? trace_path : (cluster ? cluster : ""));
    snprintf(meta.behavior, sizeof meta.behavior, "%s eps=%g", policy_list, epsilon);
    meta.epsilon = epsilon;
    const struct rls_space *os = rls_env_observation_space(env);
    if (os && os->kind == RLS_SPACE_BOX && os->size == (int64_t)S * F) {
        meta.obs_low = malloc((size_t)F * sizeof *meta.obs_low);
        meta.obs_high = malloc((size_t)F * sizeof *meta.obs_high);
        if (meta.obs_low && meta.obs_high) {
            memcpy(meta.obs_low, os->low, (size_t)F * sizeof *meta.obs_low);
            memcpy(meta.obs_high, os->high, (size_t)F * sizeof *meta.obs_high);
        }
    }
    w = rls_replay_writer_open(out, &meta, &err);
    if (!w) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }

    obs = malloc((size_t)S * (size_t)F * sizeof *obs);
    srew = malloc((size_t)S * sizeof *srew);
    desired = malloc((size_t)S * sizeof *desired);
    action = malloc((size_t)S * 2 * sizeof *action);
    flat = malloc((size_t)S * sizeof *flat);
    placement = malloc((size_t)S);
    emask = malloc((size_t)S * (size_t)W);
    fmask = malloc((size_t)S * (size_t)A);
    if (!obs || !srew || !desired || !action || !flat || !placement || !emask || !fmask) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t total_steps = 0;
    for (uint64_t e = 0; e < episodes; e++) {
        int pi = (int)(e % (uint64_t)n_pols);
        struct rls_policy *pol = pols[pi];
        uint64_t es = seed + e, rng = es ^ 0xA5A5A5A5DEADBEEFULL;
        double ret_sum = 0;
        struct timespec e0, e1;
        clock_gettime(CLOCK_MONOTONIC, &e0);
        if (rls_env_reset(env, es, NULL) != RLS_OK) {
            fprintf(stderr, S_PROG ": episode %" PRIu64 ": reset: %s\n", e, rls_env_errmsg(env));
            goto done;
        }
        if (rls_policy_reset(pol, rls_env_scenario(env)) != RLS_OK) {
            fprintf(stderr, S_PROG ": policy '%s': reset: %s\n", specs[pi], rls_policy_errmsg(pol));
            goto done;
        }
        if (rls_replay_writer_begin_episode(w, es, specs[pi]) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(w));
            goto done;
        }
        const struct rls_scenario *esc = rls_env_scenario(env);
        int needs_future = rls_policy_needs_future(pol);
        for (;;) {
            struct rls_policy_input in;
            struct rls_step_result r;
            const struct rls_svc_state *sv = rls_env_services(env);
            memset(&in, 0, sizeof in);
            in.scenario = esc;
            in.step = rls_env_steps(env);
            in.time_s = rls_env_time_s(env);
            in.services = sv;
            in.nodes = rls_env_nodes(env, &in.n_nodes);
            if (needs_future) {
                in.future_rate = s_future_rate;
                in.future_ctx = sim_view;
            }
            if (rls_env_action_mask(env, emask) != RLS_OK ||
                rls_policy_decide(pol, &in, desired, placement) != RLS_OK) {
                fprintf(stderr, S_PROG ": episode %" PRIu64 " step %" PRId64 ": %s\n", e, in.step,
                        rls_policy_errmsg(pol)[0] ? rls_policy_errmsg(pol) : rls_env_errmsg(env));
                goto done;
            }
            for (int32_t i = 0; i < S; i++) {
                const uint8_t *m = emask + (size_t)i * (size_t)W;
                uint8_t *fm = fmask + (size_t)i * (size_t)A;
                int32_t n_ok = 0;
                for (int32_t d = 0; d < nd; d++)
                    for (int32_t p = 0; p < NP; p++) {
                        fm[d * NP + p] = (uint8_t)(m[d] && m[nd + p]);
                        n_ok += fm[d * NP + p];
                    }
                /* the allowed delta that lands closest to the policy's target */
                int32_t cur = sv[i].desired, best = -1;
                int64_t best_gap = 0;
                for (int32_t d = 0; d < nd; d++) {
                    if (!m[d])
                        continue;
                    int64_t to = (int64_t)cur + deltas[d];
                    int64_t lo = esc->services[i].min_replicas, hi = esc->services[i].max_replicas;
                    to = to < lo ? lo : to > hi ? hi : to;
                    int64_t gap = to > desired[i] ? to - desired[i] : desired[i] - to;
                    if (best < 0 || gap < best_gap ||
                        (gap == best_gap && abs(deltas[d]) < abs(deltas[best]))) {
                        best = d;
                        best_gap = gap;
                    }
                }
                int32_t p = placement[i] < NP && m[nd + placement[i]] ? placement[i] : 0;
                int32_t a = (best < 0 ? 0 : best) * NP + p;
                if (epsilon > 0 && n_ok > 0 && s_unit(&rng) < epsilon) {
                    int32_t k = (int32_t)(s_unit(&rng) * n_ok);
                    if (k >= n_ok)
                        k = n_ok - 1;
                    for (int32_t j = 0; j < A; j++)
                        if (fm[j] && k-- == 0) {
                            a = j;
                            break;
                        }
                }
                flat[i] = a;
                action[2 * i] = a / NP;
                action[2 * i + 1] = a % NP;
            }
            memcpy(obs, rls_env_obs(env), (size_t)S * (size_t)F * sizeof *obs);
            if (rls_env_step(env, action, &r) != RLS_OK) {
                fprintf(stderr, S_PROG ": episode %" PRIu64 " step %" PRId64 ": %s\n", e, in.step,
                        rls_env_errmsg(env));
                goto done;
            }
            for (int32_t i = 0; i < S; i++)
                srew[i] = (float)r.service_reward[i];
            /* a live cluster has its own horizon: --steps ends our episode */
            if (cluster && !r.terminated && rls_env_steps(env) >= steps)
                r.truncated = 1;
            struct rls_replay_info info = {
                .cost_usd = r.info->cost_usd, .arrivals = r.info->arrivals, .served = r.info->served,
                .dropped = r.info->dropped, .over_slo = r.info->over_slo, .nodes_on = r.info->nodes_on};
            if (rls_replay_writer_add_step(w, obs, flat, r.reward, srew, fmask, r.terminated, r.truncated) !=
                    RLS_OK ||
                rls_replay_writer_add_info(w, &info) != RLS_OK) {
                fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(w));
                goto done;
            }
            ret_sum += r.reward;
            total_steps++;
            if (r.terminated || r.truncated) {
                if (rls_env_action_mask(env, emask) != RLS_OK) {
                    fprintf(stderr, S_PROG ": %s\n", rls_env_errmsg(env));
                    goto done;
                }
                for (int32_t i = 0; i < S; i++)
                    for (int32_t d = 0; d < nd; d++)
                        for (int32_t p = 0; p < NP; p++)
                            fmask[(size_t)i * (size_t)A + (size_t)(d * NP + p)] =
                                (uint8_t)(emask[(size_t)i * (size_t)W + (size_t)d] &&
                                          emask[(size_t)i * (size_t)W + (size_t)(nd + p)]);
                if (rls_replay_writer_end_episode(w, r.obs, fmask) != RLS_OK) {
                    fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(w));
                    goto done;
                }
                break;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &e1);
        if (!quiet) {
            double el = (double)(e1.tv_sec - t0.tv_sec) + 1e-9 * (double)(e1.tv_nsec - t0.tv_nsec);
            double ee = (double)(e1.tv_sec - e0.tv_sec) + 1e-9 * (double)(e1.tv_nsec - e0.tv_nsec);
            fprintf(stderr, S_PROG ": episode %" PRIu64 "/%" PRIu64 " (%s, seed %" PRIu64 "): %" PRId64
                    " steps, return %.3f, %.0f steps/s, %.1f s elapsed\n", e + 1, episodes, specs[pi], es,
                    rls_env_steps(env), ret_sum, ee > 0 ? (double)rls_env_steps(env) / ee : 0.0, el);
        }
    }
    if (rls_replay_writer_close(&w, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (!quiet)
        fprintf(stderr, S_PROG ": wrote %" PRIu64 " episodes, %" PRId64 " steps, %" PRId64 " transitions to %s\n",
                episodes, total_steps, total_steps * S, out);
    ret = 0;
done:
    if (w) {
        struct rls_err e2;
        rls_replay_writer_close(&w, &e2);   /* committed episodes stay */
    }
    for (int i = 0; i < n_pols; i++)
        rls_policy_destroy(&pols[i]);
    rls_env_destroy(&env);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
    rls_scenario_destroy(&train_sc);
    rls_replay_meta_clear(&meta);
    free(obs);
    free(srew);
    free(desired);
    free(action);
    free(flat);
    free(placement);
    free(emask);
    free(fmask);
    return ret;
}
