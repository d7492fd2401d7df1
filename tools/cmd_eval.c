/* cmd_eval.c - `rlsched eval`: run policies side by side on one scenario and
 * seed, print the table, optionally write the JSON, the decisions CSV and the
 * SVG (eval/eval.h, eval/report.h; metrics in docs/METRICS.md).
 *
 * The oracle is always run (hidden when not asked for) because every cost is
 * quoted against it. Bad input: one line on stderr, exit 2 for usage errors
 * (unknown option or policy, bad number), 1 for failures (missing file,
 * unwritable output); outputs are written atomically, so a failed run leaves
 * no file under the requested name.
 *
 * With --cluster the policies run in turn on a live cluster that speaks the
 * protocol (rlsched sim serve, agent/PROTOCOL.md) through the remote env
 * backend (env/remote.h): the cluster describes itself (no --scenario,
 * --trace, --tune-trace), each run starts with a reset(seed), there is no
 * oracle (no future load to read, cost_vs_oracle is null) and no hpa-tuned
 * (nothing to tune on).
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_keys.h"
#include "../env/env.h"
#include "../env/remote.h"
#include "../env/scenario.h"
#include "../eval/eval.h"
#include "../eval/metrics.h"
#include "../eval/report.h"
#include "../eval/tune.h"
#include "../policies/hpa_manifest.h"
#include "../policies/policy.h"

#define S_PROG "rlsched eval"
#define S_DEFAULT_POLICIES "static,hpa,hpa-tuned,kpa,predictive,oracle"
#define S_MAX_POLICIES 32

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched eval [--scenario FILE|default] [--trace FILE [--trace-column C]]\n"
            "                    [--tune-trace FILE] [--policy P1,P2,...] [--seed N] [--steps N]\n"
            "                    [--json OUT] [--decisions OUT.csv] [--svg OUT.svg]\n"
            "                    [--cluster tcp://HOST:PORT]\n"
            "                    [--hpa-manifest FILE.yaml] [--hpa-manifest-out FILE.yaml]\n"
            "\n"
            "Runs each policy on the same scenario and seed and prints one row per policy.\n"
            "  --scenario   scenario YAML, or 'default' (the compiled-in one; default)\n"
            "  --trace      replace every service's load with this trace (any format\n"
            "               'rlsched trace import' reads), each service scaled to its own\n"
            "               peak and shifted by i*duration/n_services; without --steps the\n"
            "               run covers the whole trace\n"
            "  --tune-trace train hpa-tuned on this trace (default: the first half of the\n"
            "               episode with --trace, else re-seeded synthetic loads)\n"
            "  --policy     comma-separated specs: static[:N], hpa, hpa-tuned, kpa,\n"
            "               predictive, oracle, each with optional @spread|@binpack\n"
            "               (default " S_DEFAULT_POLICIES ")\n"
            "  --hpa-manifest  autoscaling/v2 HorizontalPodAutoscaler manifests: each runs\n"
            "               as the hpa policy of the service its scaleTargetRef.name names\n"
            "  --hpa-manifest-out  write hpa-tuned's choice as HPA manifests (kubectl apply)\n"
            "  --seed       simulator seed (default: the scenario's)\n"
            "  --steps      control steps (default: the scenario's horizon)\n"
            "  --json       write every metric as JSON\n"
            "  --decisions  write one CSV row per policy per step per service\n"
            "  --svg        write a picture of load, replicas and latency over time\n"
            "  --cluster    run on a live cluster that speaks the protocol (rlsched sim\n"
            "               serve, agent/PROTOCOL.md) instead of a local simulator; it\n"
            "               describes itself (no --scenario, --trace, --tune-trace), must\n"
            "               accept reset(seed), and runs no oracle or hpa-tuned; its keys:\n"
            "               --curve-server F --curve-secret F (or --insecure), --takeover\n"
            "Metric definitions: docs/METRICS.md.\n");
}

/* Parses a non-negative integer (decimal, no sign, no junk) up to max. */
/* 0 when path is not a directory and the directory that will hold it
 * exists and is writable; else -1 with errno set. */
static int s_check_writable(const char *path)
{
    char buf[PATH_MAX];
    struct stat st;
    if (!*path) {
        errno = ENOENT;
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", path);
    const char *dir = dirname(buf);
    return access(dir, W_OK | X_OK);
}

int rls_cmd_eval(int argc, char **argv)
{
    int ret = 1;
    const char *scenario_path = NULL, *trace_path = NULL, *trace_col = NULL, *cluster = NULL;
    const char *tune_trace = NULL, *policy_list = S_DEFAULT_POLICIES;
    const char *json_out = NULL, *csv_out = NULL, *svg_out = NULL;
    const char *hpa_manifest = NULL, *hpa_manifest_out = NULL;
    uint64_t seed = 0, steps_u = 0;
    int have_seed = 0, have_steps = 0;
    struct rls_err err;
    struct rls_scenario *sc = NULL, *train_sc = NULL;
    struct rls_env *env = NULL;
    struct rls_policy *pols[S_MAX_POLICIES + 1] = {NULL};
    struct rls_eval_result res[S_MAX_POLICIES + 1];
    struct rls_tune_result tuned[S_MAX_POLICIES + 1];
    char *specs_buf = NULL;
    char *specs[S_MAX_POLICIES + 1] = {NULL};
    int n = 0, n_run = 0, oracle_idx = -1;

    struct rls_cli_keys keys = {0};
    memset(res, 0, sizeof res);
    memset(tuned, 0, sizeof tuned);
    rls_err_clear(&err);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        int kr = rls_cli_keys_option(&keys, 0, argc, argv, &i, S_PROG);
        if (kr != 0) { if (kr < 0) return 2; continue; }
        const char **dst = NULL;
        if (strcmp(a, "--scenario") == 0) dst = &scenario_path;
        else if (strcmp(a, "--trace") == 0) dst = &trace_path;
        else if (strcmp(a, "--trace-column") == 0) dst = &trace_col;
        else if (strcmp(a, "--tune-trace") == 0) dst = &tune_trace;
        else if (strcmp(a, "--policy") == 0 || strcmp(a, "--policies") == 0) dst = &policy_list;
        else if (strcmp(a, "--json") == 0) dst = &json_out;
        else if (strcmp(a, "--decisions") == 0) dst = &csv_out;
        else if (strcmp(a, "--svg") == 0) dst = &svg_out;
        else if (strcmp(a, "--cluster") == 0) dst = &cluster;
        else if (strcmp(a, "--hpa-manifest") == 0) dst = &hpa_manifest;
        else if (strcmp(a, "--hpa-manifest-out") == 0) dst = &hpa_manifest_out;
        else if (strcmp(a, "--seed") != 0 && strcmp(a, "--steps") != 0) {
            fprintf(stderr, S_PROG ": unknown option '%s' (try " S_PROG " --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (dst) {
            *dst = v;
        } else if (strcmp(a, "--seed") == 0) {
            if (rls_cli_parse_u64(v, UINT64_MAX, &seed) != 0) {
                fprintf(stderr, S_PROG ": --seed '%s': expected a non-negative integer\n", v);
                return 2;
            }
            have_seed = 1;
        } else {
            if (rls_cli_parse_u64(v, 100000000ULL, &steps_u) != 0 || steps_u < 1) {
                fprintf(stderr, S_PROG ": --steps '%s': expected an integer from 1 to 100000000\n", v);
                return 2;
            }
            have_steps = 1;
        }
    }
    if (cluster && (scenario_path || trace_path || tune_trace)) {
        fprintf(stderr, S_PROG ": --cluster with %s: the cluster describes itself and brings its "
                "own load\n", scenario_path ? "--scenario" : trace_path ? "--trace" : "--tune-trace");
        return 2;
    }
    if (!scenario_path)
        scenario_path = "default";
    const char *outs[3] = {json_out, csv_out, svg_out};
    for (int k = 0; k < 3; k++)
        if (outs[k] && s_check_writable(outs[k]) != 0) {
            fprintf(stderr, S_PROG ": cannot write %s: %s\n", outs[k], strerror(errno));
            return 1;
        }

    /* policy specs */
    specs_buf = strdup(policy_list);
    if (!specs_buf) {
        fprintf(stderr, S_PROG ": out of memory\n");
        return 1;
    }
    for (char *save = NULL, *tok = strtok_r(specs_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (n >= S_MAX_POLICIES) {
            fprintf(stderr, S_PROG ": at most %d policies\n", S_MAX_POLICIES);
            ret = 2;
            goto done;
        }
        if (cluster && (strncmp(tok, "oracle", 6) == 0 || strncmp(tok, "hpa-tuned", 9) == 0)) {
            fprintf(stderr, S_PROG ": --policy %s cannot run on a live cluster (it needs the "
                    "cluster's future load or a simulation of it)\n", tok);
            ret = 2;
            goto done;
        }
        specs[n++] = tok;
    }
    if (n == 0) {
        fprintf(stderr, S_PROG ": --policy '%s': no policy named\n", policy_list);
        ret = 2;
        goto done;
    }

    /* scenario (from the live cluster's hello, or a file), trace, horizon */
    if (cluster) {
        struct rls_remote_params rp = rls_remote_default_params();
        rp.require_reset = 1;   /* every policy must start from the same episode */
        rp.takeover = keys.takeover;
        if (rls_cli_keys_apply(&keys, 0, &rp.transport, S_PROG) != 0) { ret = 2; goto done; }
        struct rls_remote *rc = rls_remote_new(cluster, &rp, &err);
        struct rls_env_params cep = rls_env_default_params();
        cep.terminate_steps = 0;    /* eval runs every step, as on a simulator */
        if (rc)
            env = rls_env_new_with_backend(&cep, &rls_remote_backend_ops, rc, &err);
        if (!env) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        sc = rls_scenario_copy(rls_env_scenario(env));
        if (!sc) {
            fprintf(stderr, S_PROG ": out of memory\n");
            goto done;
        }
    } else if (rls_scenario_load(scenario_path, &sc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (hpa_manifest && rls_scenario_apply_hpa_manifest(sc, hpa_manifest, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        ret = err.status == RLS_ERR_IO || err.status == RLS_ERR_NOMEM ? 1 : 2;
        goto done;
    }
    int64_t steps = have_steps ? (int64_t)steps_u : sc->horizon_steps;
    if (trace_path) {
        double dur = 0.0;
        if (rls_eval_apply_trace(sc, trace_path, trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        if (!have_steps) {
            steps = (int64_t)(dur / sc->step_s);
            if (steps < 1)
                steps = 1;
        }
    }
    if (steps > INT32_MAX) {
        fprintf(stderr, S_PROG ": %" PRId64 " steps is too many\n", steps);
        goto done;
    }
    if (cluster && steps > sc->horizon_steps) {
        fprintf(stderr, S_PROG ": --steps %" PRId64 ": the cluster's episodes are %d steps long\n",
                steps, (int)sc->horizon_steps);
        ret = 2;
        goto done;
    }
    if (sc->horizon_steps < steps)
        sc->horizon_steps = (int32_t)steps;
    if (!have_seed)
        seed = sc->seed;
    double budget = rls_metrics_slo_budget_pct(sc);

    /* the training run of hpa-tuned: never the evaluation run */
    struct rls_tune_params tp = rls_tune_default_params();
    tp.seed = seed + 1000;
    tp.steps = steps;
    if (cluster) {
        /* nothing to tune on (hpa-tuned refused above) */
    } else if (tune_trace) {
        struct rls_scenario *base = NULL;
        double dur = 0.0;
        if (rls_scenario_load(scenario_path, &base, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        train_sc = base;
        if (rls_eval_apply_trace(train_sc, tune_trace, trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        /* its whole duration, or --steps when given (quick runs stay quick) */
        tp.steps = have_steps ? steps : (int64_t)(dur / train_sc->step_s);
        if (tp.steps < 1)
            tp.steps = 1;
        if (tp.steps > INT32_MAX)
            tp.steps = INT32_MAX;
        if (train_sc->horizon_steps < tp.steps)
            train_sc->horizon_steps = (int32_t)tp.steps;
    } else if (trace_path) {
        train_sc = rls_scenario_copy(sc);          /* same trace: its first half */
        tp.steps = steps / 2 > 0 ? steps / 2 : 1;
    } else {
        train_sc = rls_tune_training_scenario(sc); /* synthetic loads re-seeded */
    }
    if (!train_sc && !cluster) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    tp.scenario = train_sc;

    /* build every policy first, so a typo fails before minutes of running;
     * the tuned ones (which train) after the others */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            if ((strncmp(specs[i], "hpa-tuned", 9) == 0) != (pass == 1))
                continue;
            pols[i] = rls_eval_build_policy(specs[i], sc, &tp, &tuned[i], &err);
            if (!pols[i]) {
                fprintf(stderr, S_PROG ": %s\n", err.msg);
                ret = err.status == RLS_ERR_INVALID || err.status == RLS_ERR_NOTFOUND ? 2 : 1;
                goto done;
            }
            if (tuned[i].done) {
                const struct rls_tune_result *t = &tuned[i];
                fprintf(stderr,
                        S_PROG ": %s: chose target_utilization=%g scale_down_window_s=%g "
                        "scale_up_pods=%d (training seed %" PRIu64 ", %" PRId64 " steps, $%.2f, "
                        "%.2f%% violations vs budget %g%%%s)\n",
                        specs[i], t->chosen.target_utilization, t->chosen.scale_down_window_s,
                        (int)t->chosen.scale_up_pods, t->seed, t->steps, t->cost_usd,
                        t->slo_violation_pct, t->slo_budget_pct, t->met_slo ? "" : ", none met it");
                FILE *mf = hpa_manifest_out ? fopen(hpa_manifest_out, "w") : NULL;
                int bad = hpa_manifest_out && (!mf || rls_hpa_manifest_write_scenario(&t->chosen, sc, mf, &err) != RLS_OK);
                if ((mf && fclose(mf) != 0) || bad) {
                    fprintf(stderr, S_PROG ": --hpa-manifest-out %s: %s\n", hpa_manifest_out,
                            mf ? err.msg : strerror(errno));
                    goto done;
                }
                hpa_manifest_out = NULL;   /* written once, from the first hpa-tuned */
            }
        }
    }
    if (hpa_manifest_out) {
        fprintf(stderr, S_PROG ": --hpa-manifest-out needs --policy hpa-tuned\n");
        ret = 2;
        goto done;
    }
    for (int i = 0; i < n && oracle_idx < 0; i++)
        if (strcmp(rls_policy_kind(pols[i]), "oracle") == 0)
            oracle_idx = i;
    n_run = n;
    if (oracle_idx < 0 && !cluster) {
        pols[n] = rls_policy_new("oracle", sc, &err);
        if (!pols[n]) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        oracle_idx = n;
        n_run = n + 1;
    }

    /* run */
    int record = csv_out || svg_out;
    for (int i = 0; i < n_run; i++) {
        struct rls_eval_params ep = rls_eval_default_params();
        ep.scenario = sc;
        ep.seed = seed;
        ep.steps = steps;
        ep.record = record && i < n;
        ep.name = i < n ? specs[i] : "oracle";
        ep.env = env;       /* NULL: a simulator of sc; else each run resets the cluster */
        if (rls_eval_run(&ep, pols[i], &res[i], &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        if (tuned[i].done) {
            res[i].tuned = 1;
            res[i].tune = tuned[i];
        }
    }
    if (oracle_idx >= 0)
        rls_eval_set_oracle(res, n_run, res[oracle_idx].cost_usd);

    printf("scenario %s, seed %" PRIu64 ", %" PRId64 " steps of %g s%s%s\n", sc->name, seed, steps,
           sc->step_s, trace_path ? ", trace " : cluster ? ", cluster " : "",
           trace_path ? trace_path : cluster ? cluster : "");
    rls_report_table(stdout, res, n, budget);
    fflush(stdout);

    if (json_out && rls_report_json_write(json_out, res, n, budget, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (csv_out && rls_report_csv_write(csv_out, res, n, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (svg_out && rls_report_svg_write(svg_out, res, n, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    ret = 0;

done:
    for (int i = 0; i <= S_MAX_POLICIES; i++) {
        rls_policy_destroy(&pols[i]);
        rls_eval_result_clear(&res[i]);
    }
    rls_scenario_destroy(&train_sc);
    rls_scenario_destroy(&sc);
    rls_env_destroy(&env);
    free(specs_buf);
    return ret;
}
