/* cmd_record.c - `rlsched record`: runs behaviour policies (hpa, kpa,
 * predictive, oracle, static, hpa-tuned) in the environment, one policy per
 * episode in turn, with epsilon-random exploration, and records what happened
 * into a replay file (replay/FORMAT.md) for offline learning.
 *
 * Each policy's absolute replica target becomes the allowed action nearest to
 * it (rls_env_actions_from_targets, env/action_map.h: the env's delta and
 * placement mask); with probability epsilon per service and step that is
 * replaced by a uniformly random allowed action (rls_action_explore). Episode i uses seed base + i. The env runs
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
#include "../env/action_map.h"
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
 * Options. */

struct s_opts {
    struct rls_cli_keys keys;
    const char *scenario_path, *trace_path, *trace_col, *policy_list, *out, *cluster;
    double epsilon;
    uint64_t episodes, steps, seed;
    int have_steps, quiet;
};

/* Parses argv into o. Returns 0 to go on, -1 after --help (exit 0), 2 on a
 * usage error (one line printed). */
static int s_parse(int argc, char **argv, struct s_opts *o)
{
    int have_episodes = 0;
    memset(o, 0, sizeof *o);
    o->scenario_path = "default";
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return -1;
        }
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        int kr = rls_cli_keys_option(&o->keys, 0, argc, argv, &i, S_PROG);
        if (kr != 0) { if (kr < 0) return 2; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--scenario") == 0)
            o->scenario_path = v;
        else if (strcmp(a, "--trace") == 0)
            o->trace_path = v;
        else if (strcmp(a, "--cluster") == 0)
            o->cluster = v;
        else if (strcmp(a, "--trace-column") == 0)
            o->trace_col = v;
        else if (strcmp(a, "--policy") == 0)
            o->policy_list = v;
        else if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--epsilon") == 0) {
            char *end = NULL;
            errno = 0;
            o->epsilon = strtod(v, &end);
            if (errno || !*v || *end || !(o->epsilon >= 0.0 && o->epsilon <= 1.0)) {
                fprintf(stderr, S_PROG ": --epsilon '%s': expected a number from 0 to 1\n", v);
                return 2;
            }
        } else if (strcmp(a, "--episodes") == 0) {
            if (rls_cli_parse_u64(v, 100000000ULL, &o->episodes) != 0 || o->episodes < 1) {
                fprintf(stderr, S_PROG ": --episodes '%s': expected an integer from 1 to 100000000\n", v);
                return 2;
            }
            have_episodes = 1;
        } else if (strcmp(a, "--steps") == 0) {
            if (rls_cli_parse_u64(v, 100000000ULL, &o->steps) != 0 || o->steps < 1) {
                fprintf(stderr, S_PROG ": --steps '%s': expected an integer from 1 to 100000000\n", v);
                return 2;
            }
            o->have_steps = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (rls_cli_parse_u64(v, UINT64_MAX / 2, &o->seed) != 0) {
                fprintf(stderr, S_PROG ": --seed '%s': expected a non-negative integer\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!o->policy_list || !o->out || !have_episodes) {
        fprintf(stderr, S_PROG ": --policy, --episodes and --out are required (try --help)\n");
        return 2;
    }
    if (o->cluster && o->trace_path) {
        fprintf(stderr, S_PROG ": --cluster and --trace: the cluster brings its own load\n");
        return 2;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The run: everything a recording holds. */

struct s_run {
    const struct s_opts *o;
    struct rls_scenario *sc, *train_sc;
    int64_t steps;                  /* per episode */
    struct rls_policy *pols[S_MAX_POLICIES];
    char specs[S_MAX_POLICIES][64];
    int n_pols;
    struct rls_env *env;
    struct rls_sim *sim_view;       /* the env's simulator (NULL on a live cluster) */
    struct rls_replay_writer *w;
    int32_t S, nd, W, A;
    float *obs, *srew;              /* [S, F], [S] */
    int32_t *desired, *action, *flat; /* [S], [S, 2], [S] */
    uint8_t *placement, *emask, *fmask; /* [S], [S, W], [S, A] */
};

static double s_future_rate(const void *ctx, int32_t svc, int64_t step)
{
    return rls_sim_rate_at((const struct rls_sim *)ctx, svc, step);
}

/* The scenario (the live cluster's hello, or a file), the trace, the episode
 * length. On a live cluster this also connects r->env. Returns 0, 1 or 2. */
static int s_open_scenario(struct s_run *r)
{
    const struct s_opts *o = r->o;
    struct rls_err err = {0};
    if (o->cluster) {
        struct rls_remote_params rp = rls_remote_default_params();
        rp.takeover = o->keys.takeover;
        if (rls_cli_keys_apply(&o->keys, 0, &rp.transport, S_PROG) != 0)
            return 2;
        struct rls_remote *rc = rls_remote_new(o->cluster, &rp, &err);
        struct rls_env_params cep = rls_env_default_params();
        if (rc)
            r->env = rls_env_new_with_backend(&cep, &rls_remote_backend_ops, rc, &err);
        if (!r->env) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            return 1;
        }
        r->sc = rls_scenario_copy(rls_env_scenario(r->env));
    } else if (rls_scenario_load(o->scenario_path, &r->sc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        return 1;
    }
    if (!r->sc) {
        fprintf(stderr, S_PROG ": out of memory\n");
        return 1;
    }
    r->steps = o->have_steps ? (int64_t)o->steps : r->sc->horizon_steps;
    if (o->trace_path) {
        double dur = 0;
        if (rls_eval_apply_trace(r->sc, o->trace_path, o->trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            return 1;
        }
        if (!o->have_steps)
            r->steps = (int64_t)(dur / r->sc->step_s) > 0 ? (int64_t)(dur / r->sc->step_s) : 1;
    }
    if (r->steps > INT32_MAX) {
        fprintf(stderr, S_PROG ": %" PRId64 " steps is too many\n", r->steps);
        return 1;
    }
    r->sc->horizon_steps = (int32_t)r->steps;     /* episodes end (truncated) after `steps` */
    return 0;
}

/* The behaviour policies of --policy. Returns 0, 1 or 2. */
static int s_open_policies(struct s_run *r)
{
    const struct s_opts *o = r->o;
    struct rls_err err = {0};
    struct rls_tune_params tp = rls_tune_default_params();
    const char *p = o->policy_list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof r->specs[0]) {
            fprintf(stderr, S_PROG ": --policy '%s': empty or too long entry\n", o->policy_list);
            return 2;
        }
        if (r->n_pols == S_MAX_POLICIES) {
            fprintf(stderr, S_PROG ": --policy: at most %d policies\n", S_MAX_POLICIES);
            return 2;
        }
        memcpy(r->specs[r->n_pols], p, n);
        r->specs[r->n_pols][n] = '\0';
        r->n_pols++;
        p = comma ? comma + 1 : p + n;
    }
    for (int i = 0; i < r->n_pols; i++) {
        const char *spec = r->specs[i];
        if (o->cluster && (strncmp(spec, "hpa-tuned", 9) == 0 || strncmp(spec, "oracle", 6) == 0)) {
            fprintf(stderr, S_PROG ": --policy %s cannot run on a live cluster (it needs the cluster's "
                    "future load or a simulation of it)\n", spec);
            return 2;
        }
        if (strncmp(spec, "hpa-tuned", 9) == 0 && !r->train_sc) {
            /* tuned on a training run that is not the recorded one (as eval) */
            r->train_sc = o->trace_path ? rls_scenario_copy(r->sc) : rls_tune_training_scenario(r->sc);
            if (!r->train_sc) {
                fprintf(stderr, S_PROG ": out of memory\n");
                return 1;
            }
            tp.scenario = r->train_sc;
            tp.seed = o->seed + 1000;
            tp.steps = o->trace_path ? (r->steps / 2 > 0 ? r->steps / 2 : 1) : r->steps;
        }
        r->pols[i] = rls_eval_build_policy(spec, r->sc, &tp, NULL, &err);
        if (!r->pols[i]) {
            fprintf(stderr, S_PROG ": --policy: %s\n", err.msg);
            return 2;
        }
    }
    return 0;
}

/* The env on our own simulator (the oracle reads its future load) unless a
 * live cluster is connected, the replay file and the buffers. Returns 0 or 1. */
static int s_open_env_and_file(struct s_run *r)
{
    const struct s_opts *o = r->o;
    struct rls_err err = {0};
    struct rls_replay_meta meta;
    int ret = 1;
    memset(&meta, 0, sizeof meta);
    if (!r->env) {
        struct rls_sim *sim = rls_sim_new(r->sc, &err);
        if (!sim) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            return 1;
        }
        r->sim_view = sim;
        struct rls_env_params ep = rls_env_default_params();
        r->env = rls_env_new_with_backend(&ep, &rls_sim_backend_ops, sim, &err); /* owns sim, also on failure */
        if (!r->env) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            return 1;
        }
    }
    r->S = rls_env_n_services(r->env);
    r->nd = rls_env_n_deltas(r->env);
    r->W = rls_env_mask_width(r->env);
    r->A = r->nd * RLS_ENV_N_PLACEMENTS;
    int32_t S = r->S, F = RLS_ENV_N_FEATURES;

    meta.n_services = S;
    meta.n_features = F;
    meta.n_deltas = r->nd;
    memcpy(meta.deltas, rls_env_deltas(r->env), (size_t)r->nd * sizeof *meta.deltas);
    meta.n_placements = RLS_ENV_N_PLACEMENTS;
    meta.n_actions = r->A;
    snprintf(meta.scenario_name, sizeof meta.scenario_name, "%s", r->sc->name);
    meta.scenario_yaml = rls_scenario_to_yaml(r->sc, NULL);
    snprintf(meta.trace, sizeof meta.trace, "%s", o->trace_path ? o->trace_path : (o->cluster ? o->cluster : ""));
    snprintf(meta.behavior, sizeof meta.behavior, "%s eps=%g", o->policy_list, o->epsilon);
    meta.epsilon = o->epsilon;
    const struct rls_space *os = rls_env_observation_space(r->env);
    if (os && os->kind == RLS_SPACE_BOX && os->size == (int64_t)S * F) {
        meta.obs_low = malloc((size_t)F * sizeof *meta.obs_low);
        meta.obs_high = malloc((size_t)F * sizeof *meta.obs_high);
        if (meta.obs_low && meta.obs_high) {
            memcpy(meta.obs_low, os->low, (size_t)F * sizeof *meta.obs_low);
            memcpy(meta.obs_high, os->high, (size_t)F * sizeof *meta.obs_high);
        }
    }
    r->w = rls_replay_writer_open(o->out, &meta, &err);
    if (!r->w) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    r->obs = malloc((size_t)S * (size_t)F * sizeof *r->obs);
    r->srew = malloc((size_t)S * sizeof *r->srew);
    r->desired = malloc((size_t)S * sizeof *r->desired);
    r->action = malloc((size_t)S * RLS_ENV_ACTION_DIMS * sizeof *r->action);
    r->flat = malloc((size_t)S * sizeof *r->flat);
    r->placement = malloc((size_t)S);
    r->emask = malloc((size_t)S * (size_t)r->W);
    r->fmask = malloc((size_t)S * (size_t)r->A);
    if (!r->obs || !r->srew || !r->desired || !r->action || !r->flat || !r->placement || !r->emask ||
        !r->fmask) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    ret = 0;
done:
    rls_replay_meta_clear(&meta);
    return ret;
}

/* The env's mask now, flat into r->fmask. Returns RLS_OK or the env's status. */
static int s_masks(struct s_run *r)
{
    int rc = rls_env_action_mask(r->env, r->emask);
    if (rc == RLS_OK)
        rc = rls_action_mask_flatten(r->emask, r->S, r->nd, RLS_ENV_N_PLACEMENTS, r->fmask);
    return rc;
}

/* One step's actions: the policy's targets, mapped to the nearest allowed
 * action, then explored. Returns 0 or 1 (printed). */
static int s_act(struct s_run *r, struct rls_policy *pol, uint64_t e, uint64_t *rng)
{
    struct rls_policy_input in;
    memset(&in, 0, sizeof in);
    in.scenario = rls_env_scenario(r->env);
    in.step = rls_env_steps(r->env);
    in.time_s = rls_env_time_s(r->env);
    in.services = rls_env_services(r->env);
    in.nodes = rls_env_nodes(r->env, &in.n_nodes);
    if (rls_policy_needs_future(pol)) {
        in.future_rate = s_future_rate;
        in.future_ctx = r->sim_view;
    }
    if (s_masks(r) != RLS_OK || rls_policy_decide(pol, &in, r->desired, r->placement) != RLS_OK ||
        rls_env_actions_from_targets(r->env, r->emask, r->desired, r->placement, r->flat, NULL) != RLS_OK) {
        fprintf(stderr, S_PROG ": episode %" PRIu64 " step %" PRId64 ": %s\n", e, in.step,
                rls_policy_errmsg(pol)[0] ? rls_policy_errmsg(pol) : rls_env_errmsg(r->env));
        return 1;
    }
    for (int32_t i = 0; i < r->S; i++) {
        int32_t a = rls_action_explore(r->fmask + (size_t)i * (size_t)r->A, r->A, r->o->epsilon, rng,
                                       r->flat[i]);
        r->flat[i] = a;
        r->action[RLS_ENV_ACTION_DIMS * i] = a / RLS_ENV_N_PLACEMENTS;
        r->action[RLS_ENV_ACTION_DIMS * i + 1] = a % RLS_ENV_N_PLACEMENTS;
    }
    return 0;
}

/* Steps the env with r->action and writes the transition (and, at the end
 * of the episode, its last observation). *ret_sum adds the reward, *done is
 * set when the episode ended. Returns 0 or 1 (printed). */
static int s_step_and_write(struct s_run *r, uint64_t e, double *ret_sum, int *done)
{
    struct rls_step_result st;
    int64_t step = rls_env_steps(r->env);
    memcpy(r->obs, rls_env_obs(r->env), (size_t)r->S * RLS_ENV_N_FEATURES * sizeof *r->obs);
    if (rls_env_step(r->env, r->action, &st) != RLS_OK) {
        fprintf(stderr, S_PROG ": episode %" PRIu64 " step %" PRId64 ": %s\n", e, step, rls_env_errmsg(r->env));
        return 1;
    }
    for (int32_t i = 0; i < r->S; i++)
        r->srew[i] = (float)st.service_reward[i];
    /* a live cluster has its own horizon: --steps ends our episode */
    if (r->o->cluster && !st.terminated && rls_env_steps(r->env) >= r->steps)
        st.truncated = 1;
    struct rls_replay_info info = {
        .cost_usd = st.info->cost_usd, .arrivals = st.info->arrivals, .served = st.info->served,
        .dropped = st.info->dropped, .over_slo = st.info->over_slo, .nodes_on = st.info->nodes_on};
    if (rls_replay_writer_add_step(r->w, r->obs, r->flat, st.reward, r->srew, r->fmask, st.terminated,
                                   st.truncated) != RLS_OK ||
        rls_replay_writer_add_info(r->w, &info) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(r->w));
        return 1;
    }
    *ret_sum += st.reward;
    *done = st.terminated || st.truncated;
    if (!*done)
        return 0;
    if (s_masks(r) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_env_errmsg(r->env));
        return 1;
    }
    if (rls_replay_writer_end_episode(r->w, st.obs, r->fmask) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(r->w));
        return 1;
    }
    return 0;
}

static double s_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Episode e: reset (seed base + e), then act / step / write until it ends.
 * Returns 0 or 1 (printed). */
static int s_episode(struct s_run *r, uint64_t e, const struct timespec *t0)
{
    int pi = (int)(e % (uint64_t)r->n_pols);
    struct rls_policy *pol = r->pols[pi];
    uint64_t es = r->o->seed + e, rng = es ^ 0xA5A5A5A5DEADBEEFULL;
    double ret_sum = 0;
    int done = 0;
    struct timespec e0;
    clock_gettime(CLOCK_MONOTONIC, &e0);
    if (rls_env_reset(r->env, es, NULL) != RLS_OK) {
        fprintf(stderr, S_PROG ": episode %" PRIu64 ": reset: %s\n", e, rls_env_errmsg(r->env));
        return 1;
    }
    if (rls_policy_reset(pol, rls_env_scenario(r->env)) != RLS_OK) {
        fprintf(stderr, S_PROG ": policy '%s': reset: %s\n", r->specs[pi], rls_policy_errmsg(pol));
        return 1;
    }
    if (rls_replay_writer_begin_episode(r->w, es, r->specs[pi]) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_replay_writer_errmsg(r->w));
        return 1;
    }
    while (!done)
        if (s_act(r, pol, e, &rng) != 0 || s_step_and_write(r, e, &ret_sum, &done) != 0)
            return 1;
    if (!r->o->quiet) {
        double ee = s_since(&e0);
        fprintf(stderr, S_PROG ": episode %" PRIu64 "/%" PRIu64 " (%s, seed %" PRIu64 "): %" PRId64
                " steps, return %.3f, %.0f steps/s, %.1f s elapsed\n", e + 1, r->o->episodes, r->specs[pi], es,
                rls_env_steps(r->env), ret_sum, ee > 0 ? (double)rls_env_steps(r->env) / ee : 0.0, s_since(t0));
    }
    return 0;
}

static void s_run_free(struct s_run *r)
{
    if (r->w) {
        struct rls_err e2;
        rls_replay_writer_close(&r->w, &e2);   /* committed episodes stay */
    }
    for (int i = 0; i < r->n_pols; i++)
        rls_policy_destroy(&r->pols[i]);
    rls_env_destroy(&r->env);
    rls_scenario_destroy(&r->sc);
    rls_scenario_destroy(&r->train_sc);
    free(r->obs);
    free(r->srew);
    free(r->desired);
    free(r->action);
    free(r->flat);
    free(r->placement);
    free(r->emask);
    free(r->fmask);
}

int rls_cmd_record(int argc, char **argv)
{
    struct s_opts o;
    struct s_run r;
    struct rls_err err = {0};
    struct timespec t0;
    int ret = s_parse(argc, argv, &o);
    if (ret != 0)
        return ret < 0 ? 0 : ret;
    memset(&r, 0, sizeof r);
    r.o = &o;
    if ((ret = s_open_scenario(&r)) != 0 || (ret = s_open_policies(&r)) != 0 ||
        (ret = s_open_env_and_file(&r)) != 0)
        goto done;
    ret = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t e = 0; e < o.episodes; e++)
        if (s_episode(&r, e, &t0) != 0)
            goto done;
    int64_t total_steps = rls_replay_writer_n_steps(r.w);
    if (rls_replay_writer_close(&r.w, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, S_PROG ": wrote %" PRIu64 " episodes, %" PRId64 " steps, %" PRId64 " transitions to %s\n",
                o.episodes, total_steps, total_steps * r.S, o.out);
    ret = 0;
done:
    s_run_free(&r);
    return ret;
}
