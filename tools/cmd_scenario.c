/* cmd_scenario.c - `rlsched scenario show|check`: print a scenario as YAML
 * (the default one verbatim, with its comments), or validate scenario files
 * and print a one-line summary of each.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "env/scenario.h"
#include "env/scenario_internal.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched scenario show [default|FILE]\n"
            "       rlsched scenario check FILE|default [FILE...]\n"
            "\n"
            "  show   print the scenario as YAML: `default` (the compiled-in one, the\n"
            "         default argument) verbatim with its comments; a FILE with every\n"
            "         field written out, defaults included, and trace paths resolved\n"
            "  check  read and validate each scenario; print one summary line per file\n"
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

int rls_cmd_scenario(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
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
    fprintf(stderr, "rlsched scenario: unknown subcommand '%s' (show, check; try --help)\n",
            argv[1]);
    return 2;
}
