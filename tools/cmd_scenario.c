/* cmd_scenario.c - `rlsched scenario show|check|random`: print a scenario as
 * YAML (the default one verbatim, with its comments), validate scenario files
 * and print a one-line summary of each, or draw a random scenario.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "env/scenario.h"
#include "env/scenario_internal.h"
#include "env/scenario_random.h"
#include "policies/hpa_manifest.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched scenario show [default|FILE]\n"
            "       rlsched scenario check FILE|default [FILE...]\n"
            "       rlsched scenario random [--seed N] [--trace-lib DIR[:DIR|FILE...]] [--steps N]\n"
            "       rlsched scenario hpa|knative [default|FILE]\n"
            "\n"
            "  show   print the scenario as YAML: `default` (the compiled-in one, the\n"
            "         default argument) verbatim with its comments; a FILE with every\n"
            "         field written out, defaults included, and trace paths resolved\n"
            "  check  read and validate each scenario; print one summary line per file\n"
            "  random draw a whole scenario from a seed (default 1) and print it as YAML:\n"
            "         pools, tenants, services and their loads; --trace-lib adds random\n"
            "         windows of those trace files (a folder: its .csv/.txt/.trace files;\n"
            "         default $RLS_TRACE_LIB; none: synthetic loads only); --steps sets the\n"
            "         episode length (default 5760 steps of 15 s)\n"
            "  hpa    print the hpa baseline of each service as an autoscaling/v2\n"
            "         HorizontalPodAutoscaler manifest (its `hpa:` when given; kubectl apply)\n"
            "  knative print the kpa baseline's parameters as Knative Serving annotations\n"
            "\n"
            "Wherever a scenario is named (eval, record, train, sim, show, check):\n"
            "  random:SEED         the scenario `scenario random --seed SEED` prints (with\n"
            "                      the library of $RLS_TRACE_LIB)\n"
            "  NAME:load-seed=N    NAME with its loads perturbed by seed N (0 = unchanged)\n"
            "\n"
            "A bad scenario is refused with one line naming the file, line and field,\n"
            "and exit status 1 (2 for a usage error). Fields: docs/SCENARIO.md.\n");
}

static int s_show(int argc, char **argv)
{
    const char *what = argc >= 3 ? argv[2] : "default";
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    int rc = 0;

    if (argc > 3) {
        fprintf(stderr, "rlsched scenario show: one scenario at a time (try --help)\n");
        return 2;
    }
    if (strcmp(what, "default") == 0) {
        fputs(rls_scenario_default_yaml(), stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (rls_scenario_load(what, &sc, &err) != RLS_OK) {
        fprintf(stderr, "rlsched scenario show: %s\n", err.msg);
        return 1;
    }
    if (rls_scenario_write_yaml(sc, stdout) != RLS_OK) {
        fprintf(stderr, "rlsched scenario show: cannot write to standard output\n");
        rc = 1;
    }
    rls_scenario_destroy(&sc);
    return rc;
}

static void s_summary(const char *path, const struct rls_scenario *sc)
{
    double hours = sc->horizon_steps * sc->step_s / 3600.0;
    printf("%s: ok: scenario '%s': %d service%s, %d tenant%s, %lld node%s in %d pool%s, "
           "%g cores, %g GiB, up to $%.2f/h; peak demand %g cores; %d steps of %g s (%g h)\n",
           path, sc->name, (int)sc->n_services, sc->n_services == 1 ? "" : "s",
           (int)sc->n_tenants, sc->n_tenants == 1 ? "" : "s",
           (long long)rls_scenario_total_nodes(sc), rls_scenario_total_nodes(sc) == 1 ? "" : "s",
           (int)sc->n_pools, sc->n_pools == 1 ? "" : "s", rls_scenario_total_cpu(sc),
           rls_scenario_total_mem_gb(sc), rls_scenario_max_cost_per_hour(sc),
           rls_scenario_peak_demand_cpu(sc), (int)sc->horizon_steps, sc->step_s, hours);
}

static int s_check(int argc, char **argv)
{
    int failed = 0;

    if (argc < 3) {
        fprintf(stderr, "rlsched scenario check: missing FILE (try --help)\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        struct rls_scenario *sc = NULL;
        struct rls_err err = {0};
        if (rls_scenario_load(argv[i], &sc, &err) != RLS_OK) {
            fprintf(stderr, "rlsched scenario check: %s\n", err.msg);
            failed = 1;
            continue;
        }
        s_summary(argv[i], sc);
        rls_scenario_destroy(&sc);
    }
    fflush(stdout);
    return failed;
}

static int s_random(int argc, char **argv)
{
    struct rls_scenario_random_params p = rls_scenario_random_default_params();
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    const char *lib = getenv("RLS_TRACE_LIB");
    char **files = NULL;
    int32_t n = 0;
    uint64_t seed = 1, steps = 0;
    int rc = 0;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "rlsched scenario random: %s: missing value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--seed") == 0) {
            if (rls_cli_parse_u64(v, UINT64_MAX, &seed) != 0) {
                fprintf(stderr, "rlsched scenario random: --seed '%s': expected a non-negative "
                                "integer\n", v);
                return 2;
            }
        } else if (strcmp(a, "--steps") == 0) {
            if (rls_cli_parse_u64(v, 10000000, &steps) != 0 || steps == 0) {
                fprintf(stderr, "rlsched scenario random: --steps '%s': expected 1..10000000\n",
                        v);
                return 2;
            }
            p.horizon_steps = (int32_t)steps;
        } else if (strcmp(a, "--trace-lib") == 0) {
            lib = v;
        } else {
            fprintf(stderr, "rlsched scenario random: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (lib != NULL && lib[0] != '\0') {
        if (rls_scenario_random_list_traces(lib, &files, &n, &err) != RLS_OK) {
            fprintf(stderr, "rlsched scenario random: %s\n", err.msg);
            return 1;
        }
        p.trace_files = (const char *const *)files;
        p.n_trace_files = n;
    }
    if (rls_scenario_random(&p, seed, &sc, &err) != RLS_OK) {
        fprintf(stderr, "rlsched scenario random: %s\n", err.msg);
        rc = 1;
    } else if (rls_scenario_write_yaml(sc, stdout) != RLS_OK) {
        fprintf(stderr, "rlsched scenario random: cannot write to standard output\n");
        rc = 1;
    }
    rls_scenario_destroy(&sc);
    rls_scenario_random_free_list(&files, n);
    return rc;
}

/* `scenario hpa|knative`: the baselines as Kubernetes/Knative configuration */
static int s_kube(int argc, char **argv)
{
    const char *what = argc >= 3 ? argv[2] : "default";
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    struct rls_hpa_params hp = rls_hpa_default_params();
    struct rls_kpa_params kp = rls_kpa_default_params();
    int rc = RLS_OK;

    if (argc > 3) {
        fprintf(stderr, "rlsched scenario %s: one scenario at a time (try --help)\n", argv[1]);
        return 2;
    }
    if (rls_scenario_load(what, &sc, &err) != RLS_OK) {
        fprintf(stderr, "rlsched scenario %s: %s\n", argv[1], err.msg);
        return 1;
    }
    if (strcmp(argv[1], "knative") == 0) {
        rc = rls_kpa_annotations_write(&kp, sc, stdout);
    } else {
        for (int32_t i = 0; i < sc->n_services && rc == RLS_OK; i++) {
            const struct rls_service_spec *sv = &sc->services[i];
            struct rls_hpa_spec spec = sv->hpa;
            if (!spec.present)
                rc = rls_hpa_spec_from_params(&hp, sv->name, sv->min_replicas, sv->max_replicas,
                                              &spec, &err);
            if (rc == RLS_OK && i > 0)
                fputs("---\n", stdout);
            if (rc == RLS_OK)
                rc = rls_hpa_manifest_write(&spec, 0, stdout);
        }
    }
    rls_scenario_destroy(&sc);
    if (rc != RLS_OK || fflush(stdout) != 0) {
        fprintf(stderr, "rlsched scenario %s: %s\n", argv[1], err.msg[0] ? err.msg : "cannot write");
        return 1;
    }
    return 0;
}

int rls_cmd_scenario(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "rlsched scenario: which subcommand? (show, check, random; try --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
    if (strcmp(argv[1], "show") == 0)
        return s_show(argc, argv);
    if (strcmp(argv[1], "check") == 0)
        return s_check(argc, argv);
    if (strcmp(argv[1], "random") == 0)
        return s_random(argc, argv);
    if (strcmp(argv[1], "hpa") == 0 || strcmp(argv[1], "knative") == 0)
        return s_kube(argc, argv);
    fprintf(stderr, "rlsched scenario: unknown subcommand '%s' (show, check, random; try --help)\n",
            argv[1]);
    return 2;
}
