/* cmd_explain.c - `rlsched explain`: run a checkpoint policy as deployed (the
 * registry's spec: controller and out-of-distribution guard) on the simulator
 * up to a step, then print per service its decision and the top features of
 * the network's chosen action (policies/explain.h: integrated gradients from
 * the checkpoint's obs_mean). Parses and prints only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../env/env.h"
#include "../env/features.h"
#include "../env/scenario.h"
#include "../env/sim.h"
#include "../eval/eval.h"
#include "../policies/checkpoint.h"
#include "../policies/explain.h"
#include "../policies/guard.h"
#include "../policies/learned.h"
#include "../policies/policy.h"
#include "cli.h"

#define S_PROG "rlsched explain"
#define S_HISTORY_LEN 20   /* the learned policy's feature history (learned.c) */

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched explain --policy FILE.h5[:opts][@placement] --at STEP\n"
            "                       [--scenario FILE|default] [--trace FILE [--trace-column C]]\n"
            "                       [--seed N] [--service NAME|all] [--top K] [--json]\n"
            "\n"
            "Runs the checkpoint policy as deployed (controller and out-of-distribution guard,\n"
            "the spec as in 'rlsched eval') on the simulator up to control step STEP (0 = the\n"
            "first decision) and prints, per service, the decision and the K features that\n"
            "moved the network's chosen action most: integrated gradients of the action's\n"
            "output from the checkpoint's obs_mean, computed exactly over the network's linear\n"
            "regions: they sum to f(x) - f(obs_mean) (policies/EXPLAIN.md).\n"
            "  --scenario  scenario YAML or 'default' (default)\n"
            "  --trace     replace every service's load with this trace (as eval)\n"
            "  --seed      simulator seed (default: the scenario's)\n"
            "  --service   one service by name, or all (default)\n"
            "  --top       features shown per service (5; 1..%d)\n"
            "  --json      one JSON object on stdout\n",
            RLS_EXPLAIN_MAX_FEATURES);
}

static const char *s_place_name(int p)
{
    return p == RLS_PLACE_BINPACK ? "binpack" : "spread";
}

struct s_opts {
    const char *policy, *scenario, *trace, *trace_col, *service;
    uint64_t at, seed, top;
    int have_at, have_seed, json;
};

/* Returns 0, 2 (usage error, printed) or 3 (--help printed). */
static int s_parse(int argc, char **argv, struct s_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->scenario = "default";
    o->service = "all";
    o->top = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 3;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, S_PROG ": %s: missing value (try --help)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--policy") == 0)
            o->policy = v;
        else if (strcmp(a, "--scenario") == 0)
            o->scenario = v;
        else if (strcmp(a, "--trace") == 0)
            o->trace = v;
        else if (strcmp(a, "--trace-column") == 0)
            o->trace_col = v;
        else if (strcmp(a, "--service") == 0)
            o->service = v;
        else if (strcmp(a, "--at") == 0) {
            bad = rls_cli_parse_u64(v, INT32_MAX, &o->at);
            o->have_at = 1;
        } else if (strcmp(a, "--seed") == 0) {
            bad = rls_cli_parse_u64(v, UINT64_MAX / 2, &o->seed);
            o->have_seed = 1;
        } else if (strcmp(a, "--top") == 0)
            bad = rls_cli_parse_u64(v, RLS_EXPLAIN_MAX_FEATURES, &o->top) || o->top < 1;
        else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, S_PROG ": %s '%s': not a valid value (try --help)\n", a, v);
            return 2;
        }
    }
    if (!o->policy || !o->have_at) {
        fprintf(stderr, S_PROG ": --policy and --at are required (try --help)\n");
        return 2;
    }
    return 0;
}

/* The checkpoint path of spec (up to and including ".h5" before the end, a
 * ':' or an '@') into path[n], the options after it (up to '@') into
 * opts[n]. Returns 0, or -1 when spec names no checkpoint. */
static int s_split_spec(const char *spec, char *path, char *opts, size_t n)
{
    const char *at = strrchr(spec, '@');
    size_t base = at ? (size_t)(at - spec) : strlen(spec);
    for (size_t k = 3; k <= base; k++) {
        if (strncmp(spec + k - 3, ".h5", 3) == 0 && (k == base || spec[k] == ':')) {
            if (k >= n || base - k >= n)
                return -1;
            memcpy(path, spec, k);
            path[k] = '\0';
            memcpy(opts, spec + k, base - k);
            opts[base - k] = '\0';
            return 0;
        }
    }
    return -1;
}

int rls_cmd_explain(int argc, char **argv)
{
    struct s_opts o;
    struct rls_err err = {0};
    struct rls_scenario *sc = NULL;
    struct rls_checkpoint *ck = NULL;
    struct rls_policy *pol = NULL;
    struct rls_explainer *ex = NULL;
    struct rls_features *feat = NULL;
    struct rls_sim *sim = NULL;
    struct rls_learned_params lp = rls_learned_default_params();
    float *obs = NULL;
    uint8_t *mask = NULL;
    int32_t *desired = NULL, *prev = NULL;
    uint8_t *placement = NULL;
    json_t *root = NULL, *jsvcs = NULL;
    char path[4096], opts[4096];
    int ret = 1, rc, ood = 0;
    int32_t only = -1, F = RLS_ENV_N_FEATURES;
    const char *const *names = rls_env_feature_names(NULL);

    rc = s_parse(argc, argv, &o);
    if (rc == 3)
        return 0;
    if (rc != 0)
        return rc;
    if (s_split_spec(o.policy, path, opts, sizeof path) != 0) {
        fprintf(stderr, S_PROG ": --policy '%s': not a checkpoint spec (FILE.h5[:opts][@placement])\n",
                o.policy);
        return 2;
    }
    if (opts[0] && rls_policy_learned_options(opts, &lp, &ood, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        return 2;
    }
    if (rls_scenario_load(o.scenario, &sc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (o.trace) {
        double dur = 0.0;
        if (rls_eval_apply_trace(sc, o.trace, o.trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        double steps = floor(dur / sc->step_s);
        sc->horizon_steps = steps < 1.0 ? 1 : steps > INT32_MAX ? INT32_MAX : (int32_t)steps;
    }
    if ((int64_t)o.at >= (int64_t)sc->horizon_steps) {
        fprintf(stderr, S_PROG ": --at %" PRIu64 ": past the episode's %d steps (0..%d)\n", o.at,
                (int)sc->horizon_steps, (int)sc->horizon_steps - 1);
        ret = 2;
        goto done;
    }
    if (strcmp(o.service, "all") != 0) {
        only = rls_scenario_find_service(sc, o.service);
        if (only < 0) {
            fprintf(stderr, S_PROG ": --service '%s': no such service in scenario %s\n", o.service,
                    sc->name);
            ret = 2;
            goto done;
        }
    }
    if (rls_checkpoint_load(path, &ck, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    ex = rls_explainer_new(ck, NULL, &err);
    if (!ex) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    pol = rls_policy_new(o.policy, sc, &err);
    if (!pol) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    sim = rls_sim_new(sc, &err);
    feat = rls_features_new(sc, S_HISTORY_LEN, &err);
    if (!sim || !feat) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    int32_t S = sc->n_services, A = ck->n_actions;
    obs = malloc((size_t)S * (size_t)F * sizeof(float));
    mask = malloc((size_t)S * (size_t)A);
    desired = malloc((size_t)S * sizeof(int32_t));
    prev = malloc((size_t)S * sizeof(int32_t));
    placement = malloc((size_t)S);
    if (!obs || !mask || !desired || !prev || !placement) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    uint64_t seed = o.have_seed ? o.seed : sc->seed;
    if (rls_sim_reset(sim, seed) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_sim_errmsg(sim));
        goto done;
    }
    if (rls_policy_reset(pol, rls_sim_scenario(sim)) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_policy_errmsg(pol));
        goto done;
    }
    rls_features_reset(feat);
    double time_s = 0.0;
    for (int64_t k = 0; k <= (int64_t)o.at; k++) {
        struct rls_policy_input in;
        memset(&in, 0, sizeof(in));
        in.scenario = rls_sim_scenario(sim);
        in.step = k;
        in.time_s = rls_sim_time_s(sim);
        in.services = rls_sim_services(sim);
        in.nodes = rls_sim_nodes(sim);
        in.n_nodes = rls_sim_n_nodes(sim);
        /* the features the network sees, computed alongside it (env/features.h
         * gives the policy, the env and this the same rows) */
        if (rls_features_compute(feat, in.services, in.nodes, in.n_nodes, in.time_s, obs) != RLS_OK ||
            rls_features_flat_mask(feat, in.services, ck->deltas, ck->n_deltas, ck->n_placements,
                                   mask) != RLS_OK) {
            fprintf(stderr, S_PROG ": features at step %" PRId64 " failed\n", k);
            goto done;
        }
        for (int32_t i = 0; i < S; i++)
            prev[i] = in.services[i].desired;
        time_s = in.time_s;
        if (rls_policy_decide(pol, &in, desired, placement) != RLS_OK) {
            fprintf(stderr, S_PROG ": step %" PRId64 ": %s\n", k, rls_policy_errmsg(pol));
            goto done;
        }
        if (k == (int64_t)o.at)
            break;
        if (rls_sim_step(sim, desired, placement) != RLS_OK) {
            fprintf(stderr, S_PROG ": step %" PRId64 ": %s\n", k, rls_sim_errmsg(sim));
            goto done;
        }
    }
    const float *net_obs = rls_learned_last_obs(pol);   /* unguarded policies expose theirs */
    if (net_obs && memcmp(net_obs, obs, (size_t)S * (size_t)F * sizeof(float)) != 0) {
        fprintf(stderr, S_PROG ": the policy's features differ from the explained ones\n");
        goto done;
    }
    struct rls_guard_stats gs;
    const uint8_t *row_hpa = NULL;
    if (rls_guarded_stats(pol, &gs, &row_hpa) != RLS_OK)
        row_hpa = NULL;

    if (o.json) {
        root = json_object();
        jsvcs = json_array();
        json_object_set_new(root, "policy", json_string(o.policy));
        json_object_set_new(root, "scenario", json_string(sc->name));
        json_object_set_new(root, "seed", json_integer((json_int_t)seed));
        json_object_set_new(root, "step", json_integer((json_int_t)o.at));
        json_object_set_new(root, "time_s", json_real(time_s));
        json_object_set_new(root, "method", json_string("integrated-gradients"));
        json_object_set_new(root, "baseline", json_string("obs_mean"));
        json_object_set_new(root, "services", jsvcs);
    } else {
        printf("%s on scenario %s, seed %" PRIu64 ", step %" PRIu64 " (t=%g s): integrated gradients "
               "from obs_mean\n", o.policy, sc->name, seed, o.at, time_s);
    }
    for (int32_t i = 0; i < S; i++) {
        struct rls_explanation x;
        int32_t a = -1, top[RLS_EXPLAIN_MAX_FEATURES], nt;
        const float *row = obs + (size_t)i * (size_t)F;
        if (only >= 0 && i != only)
            continue;
        if (rls_explainer_choose(ex, row, mask + (size_t)i * (size_t)A, lp.support_tau, &a) != RLS_OK ||
            a < 0 || rls_explainer_explain(ex, row, F, a, &x) != RLS_OK) {
            fprintf(stderr, S_PROG ": service %s: explanation failed\n", sc->services[i].name);
            goto done;
        }
        nt = rls_explanation_top(&x, (int32_t)o.top, top);
        const char *by = row_hpa && row_hpa[i] ? "hpa" : "network";
        int32_t adelta = ck->deltas[a / ck->n_placements];
        const char *aplace = s_place_name(a % ck->n_placements);
        if (o.json) {
            json_t *js = json_object(), *jt = json_array();
            json_object_set_new(js, "service", json_string(sc->services[i].name));
            json_object_set_new(js, "previous_desired", json_integer(prev[i]));
            json_object_set_new(js, "desired", json_integer(desired[i]));
            json_object_set_new(js, "delta", json_integer(desired[i] - prev[i]));
            json_object_set_new(js, "placement", json_string(s_place_name(placement[i])));
            json_object_set_new(js, "decided_by", json_string(by));
            json_object_set_new(js, "action", json_integer(a));
            json_object_set_new(js, "action_delta", json_integer(adelta));
            json_object_set_new(js, "action_placement", json_string(aplace));
            json_object_set_new(js, "f_x", json_real(x.f_x));
            json_object_set_new(js, "f_baseline", json_real(x.f_baseline));
            json_object_set_new(js, "sum", json_real(x.sum));
            json_object_set_new(js, "completeness_err", json_real(x.completeness_err));
            json_object_set_new(js, "integral", json_string(x.method == RLS_EXPLAIN_EXACT ? "exact" : "trapezoid"));
            json_object_set_new(js, "steps", json_integer(x.steps));
            json_object_set_new(js, "converged", json_boolean(x.converged));
            for (int32_t k = 0; k < nt; k++) {
                json_t *jf = json_object();
                json_object_set_new(jf, "feature", json_string(names[top[k]]));
                json_object_set_new(jf, "value", json_real(row[top[k]]));
                json_object_set_new(jf, "attribution", json_real(x.attr[top[k]]));
                json_array_append_new(jt, jf);
            }
            json_object_set_new(js, "top", jt);
            json_array_append_new(jsvcs, js);
        } else {
            printf("\n%s: desired %d -> %d (%+d, %s), decided by the %s; network action %+d/%s "
                   "(a=%d)\n", sc->services[i].name, (int)prev[i], (int)desired[i],
                   (int)(desired[i] - prev[i]), s_place_name(placement[i]), by, (int)adelta,
                   aplace, (int)a);
            printf("  f(x) %.6g - f(obs_mean) %.6g = %.6g; attributions sum %.6g, completeness "
                   "error %.2g (%d %s)\n", x.f_x, x.f_baseline, x.f_x - x.f_baseline, x.sum,
                   x.completeness_err, (int)x.steps,
                   x.method == RLS_EXPLAIN_EXACT ? "linear regions, exact" : "trapezoid steps");
            for (int32_t k = 0; k < nt; k++)
                printf("  %2d. %-28s value %-12.6g attribution %+.6g\n", (int)k + 1, names[top[k]],
                       (double)row[top[k]], x.attr[top[k]]);
        }
    }
    if (o.json) {
        if (json_dumpf(root, stdout, JSON_REAL_PRECISION(10)) != 0) {
            fprintf(stderr, S_PROG ": cannot write the JSON\n");
            goto done;
        }
        printf("\n");
    }
    ret = 0;
done:
    json_decref(root);
    free(obs);
    free(mask);
    free(desired);
    free(prev);
    free(placement);
    rls_sim_destroy(&sim);
    rls_features_destroy(&feat);
    rls_policy_destroy(&pol);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
    return ret;
}

/* ------------------------------------------------------------------------
 * rlsched bench explain: decision latency of the deployed policy with and
 * without an explanation of every service's decision, at 1 and 100 services,
 * in the same run. */

struct s_bench_fig {
    double off_us, on_us;      /* mean per decision, microseconds */
    double regions;            /* mean linear regions per explanation */
};

static double s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs `steps` decisions of spec on scenario random:1:services=n twice (off,
 * then explaining every service each decision). Returns 0 or -1 with msg. */
static int s_bench_one(const char *ckpath, int32_t n, int32_t steps, struct s_bench_fig *fig,
                       char *msg, size_t msg_n)
{
    struct rls_err err = {0};
    struct rls_scenario *sc = NULL;
    struct rls_checkpoint *ck = NULL;
    struct rls_explainer *ex = NULL;
    int ret = -1;
    char name[64];
    snprintf(name, sizeof name, "random:1:services=%d", (int)n);
    if (rls_scenario_load(name, &sc, &err) != RLS_OK || rls_checkpoint_load(ckpath, &ck, &err) != RLS_OK ||
        !(ex = rls_explainer_new(ck, NULL, &err))) {
        snprintf(msg, msg_n, "%s", err.msg);
        goto done;
    }
    memset(fig, 0, sizeof(*fig));
    for (int on = 0; on <= 1; on++) {
        struct rls_policy *pol = rls_policy_new(ckpath, sc, &err);
        struct rls_sim *sim = rls_sim_new(sc, &err);
        struct rls_features *feat = rls_features_new(sc, S_HISTORY_LEN, &err);
        int32_t S = sc->n_services, A = ck->n_actions;
        float *obs = malloc((size_t)S * RLS_ENV_N_FEATURES * sizeof(float));
        uint8_t *mask = malloc((size_t)S * (size_t)A), *place = malloc((size_t)S);
        int32_t *desired = malloc((size_t)S * sizeof(int32_t));
        double t_total = 0.0, regions = 0.0;
        int failed = !pol || !sim || !feat || !obs || !mask || !place || !desired ||
                     rls_sim_reset(sim, 1) != RLS_OK || rls_policy_reset(pol, rls_sim_scenario(sim)) != RLS_OK;
        for (int32_t k = 0; !failed && k < steps; k++) {
            struct rls_policy_input in;
            memset(&in, 0, sizeof(in));
            in.scenario = rls_sim_scenario(sim);
            in.step = k;
            in.time_s = rls_sim_time_s(sim);
            in.services = rls_sim_services(sim);
            in.nodes = rls_sim_nodes(sim);
            in.n_nodes = rls_sim_n_nodes(sim);
            double t0 = s_now_s();
            failed = rls_policy_decide(pol, &in, desired, place) != RLS_OK;
            if (!failed && on) {
                failed = rls_features_compute(feat, in.services, in.nodes, in.n_nodes, in.time_s, obs) != RLS_OK ||
                         rls_features_flat_mask(feat, in.services, ck->deltas, ck->n_deltas,
                                                ck->n_placements, mask) != RLS_OK;
                for (int32_t i = 0; !failed && i < S; i++) {
                    struct rls_explanation x;
                    int32_t a = -1;
                    const float *row = obs + (size_t)i * RLS_ENV_N_FEATURES;
                    failed = rls_explainer_choose(ex, row, mask + (size_t)i * (size_t)A, 0.3, &a) != RLS_OK ||
                             a < 0 || rls_explainer_explain(ex, row, RLS_ENV_N_FEATURES, a, &x) != RLS_OK;
                    if (!failed)
                        regions += x.steps;
                }
            }
            t_total += s_now_s() - t0;
            if (!failed)
                failed = rls_sim_step(sim, desired, place) != RLS_OK;
        }
        if (failed)
            snprintf(msg, msg_n, "%s with %d services failed", on ? "explaining" : "deciding", (int)n);
        else if (on) {
            fig->on_us = 1e6 * t_total / steps;
            fig->regions = regions / ((double)steps * S);
        } else
            fig->off_us = 1e6 * t_total / steps;
        free(obs);
        free(mask);
        free(place);
        free(desired);
        rls_features_destroy(&feat);
        rls_sim_destroy(&sim);
        rls_policy_destroy(&pol);
        if (failed)
            goto done;
    }
    ret = 0;
done:
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
    return ret;
}

int rls_bench_explain(int argc, char **argv)
{
    const char *ck = "policies/default.h5";
    int json = 0;
    uint64_t steps = 40;
    struct s_bench_fig f1, f100;
    char msg[RLS_ERRMSG_MAX + 64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
            ck = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
            if (rls_cli_parse_u64(argv[++i], 100000, &steps) != 0 || steps < 1) {
                fprintf(stderr, "rlsched bench explain: --steps '%s': not a valid value\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: rlsched bench explain [--policy FILE.h5] [--steps N] [--json]\n"
                   "Decision latency of the checkpoint policy as deployed (default.h5, guarded) with\n"
                   "and without explaining every service's decision (policies/explain.h), at 1 and\n"
                   "100 services (random:1 scenarios), N decisions each (40).\n");
            return 0;
        } else {
            fprintf(stderr, "rlsched bench explain: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (s_bench_one(ck, 1, (int32_t)steps, &f1, msg, sizeof msg) != 0 ||
        s_bench_one(ck, 100, (int32_t)steps, &f100, msg, sizeof msg) != 0) {
        fprintf(stderr, "rlsched bench explain: %s\n", msg);
        return 1;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:f, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}",
                              "name", "explain_decision_latency_100_services", "value", f100.on_us / 1e3,
                              "unit", "ms", "baseline_name", "decision_latency_100_services_no_explain",
                              "baseline_value", f100.off_us / 1e3, "ratio", f100.on_us / f100.off_us,
                              "latency_1_service_ms", f1.on_us / 1e3,
                              "latency_1_service_no_explain_ms", f1.off_us / 1e3,
                              "ratio_1_service", f1.on_us / f1.off_us,
                              "regions_per_explanation_1", f1.regions,
                              "regions_per_explanation_100", f100.regions, "steps", (json_int_t)steps);
        if (!o || json_dumpf(o, stdout, JSON_REAL_PRECISION(6)) != 0) {
            json_decref(o);
            fprintf(stderr, "rlsched bench explain: cannot write the JSON\n");
            return 1;
        }
        printf("\n");
        json_decref(o);
    } else {
        printf("decision latency, %" PRIu64 " decisions each (explaining every service's decision):\n"
               "  1 service:    %.3f ms off, %.3f ms on (x%.1f), %.0f regions per explanation\n"
               "  100 services: %.3f ms off, %.3f ms on (x%.1f), %.0f regions per explanation\n",
               steps, f1.off_us / 1e3, f1.on_us / 1e3, f1.on_us / f1.off_us, f1.regions,
               f100.off_us / 1e3, f100.on_us / 1e3, f100.on_us / f100.off_us, f100.regions);
    }
    return 0;
}
