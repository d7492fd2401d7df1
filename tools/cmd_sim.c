/* cmd_sim.c - `rlsched sim serve`: the simulator served as a live cluster
 * over the wire protocol (env/served.h, agent/PROTOCOL.md), in real time,
 * accelerated, or lock-step with its agent. It binds, answers an agent's
 * hello with the cluster description, publishes a state per step and applies
 * the actions that answer it; SIGINT/SIGTERM stop it cleanly (exit 0).
 * Bad input: one line on stderr, exit 2 for usage errors, 1 for failures.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_keys.h"
#include "../env/scenario.h"
#include "../env/served.h"
#include "../eval/eval.h"

#define S_PROG "rlsched sim serve"

static struct rls_served *s_server;    /* for the signal handler */

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched sim serve --bind ENDPOINT [--scenario FILE|default]\n"
            "                         [--trace FILE [--trace-column C]] [--speed X|max] [--seed N]\n"
            "                         [--steps N] [--max-steps N] [--action-timeout MS]\n"
            "                         [--heartbeat MS] [--lease MS] [--log-every N] [--quiet]\n"
            "                         --curve-secret server.key --curve-allow agents.pub | --insecure\n"
            "\n"
            "Serves the simulator as a live cluster (agent/PROTOCOL.md): an agent or the\n"
            "remote env connects, says hello, gets a state per step and answers with actions.\n"
            "  --bind            where to listen, e.g. tcp://127.0.0.1:5555 (port * = any free)\n"
            "  --scenario        scenario YAML or 'default' (default)\n"
            "  --trace           replace every service's load with this trace (as rlsched eval)\n"
            "  --speed           simulated seconds per wall second: a step every step_s / X s\n"
            "                    (1 = real time, default); 'max' or 0 = lock-step, a step as\n"
            "                    soon as the agent answers\n"
            "  --seed            seed of the first episode (the scenario's); an agent may\n"
            "                    send 'reset' with its own\n"
            "  --steps           episode length (horizon) announced to agents (the scenario's;\n"
            "                    with --trace the whole trace); steps go on past it\n"
            "  --max-steps       exit after this many steps (0 = until SIGINT/SIGTERM)\n"
            "  --action-timeout  lock-step: take the step without the agent's actions after\n"
            "                    this long, keeping its last replicas (0 = wait, default)\n"
            "  --heartbeat       heartbeat to an idle agent every MS ms (1000)\n"
            "  --log-every       a progress line every N steps (100; 0 = none)\n"
            "  --lease           the agent's control lease lapses after MS ms without a\n"
            "                    message from it; till then no other agent takes over (45000)\n"
            "  --quiet           no progress or agent lines (refusals and lease changes are\n"
            "                    still logged)\n"
            "%s", rls_cli_keys_server_usage);
}

static void s_on_signal(int sig)
{
    (void)sig;
    rls_served_stop(s_server);
}

struct s_log_ctx {
    int quiet;
};

static void s_log(void *ctx, const char *line)
{
    const struct s_log_ctx *lc = ctx;
    if (lc->quiet && strncmp(line, "refused", 7) != 0 && strncmp(line, "lease", 5) != 0)
        return;
    fprintf(stderr, S_PROG ": %s\n", line);
}

static int s_serve(int argc, char **argv)
{
    int ret = 1;
    const char *bind = NULL, *scenario_path = "default", *trace_path = NULL, *trace_col = NULL;
    struct rls_cli_keys keys = { 0 };
    uint64_t lease = 45000;
    double speed = 1.0;
    uint64_t seed = 0, steps_u = 0, max_steps = 0, action_timeout = 0, heartbeat = 1000, log_every = 100;
    int have_seed = 0, have_steps = 0;
    struct s_log_ctx lc = { 0 };
    struct rls_err err = { 0 };
    struct rls_scenario *sc = NULL;
    struct rls_served_params p = rls_served_default_params();
    struct sigaction sa, old_int, old_term;
    int handlers = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0) {
            lc.quiet = 1;
            continue;
        }
        int kr = rls_cli_keys_option(&keys, 1, argc, argv, &i, S_PROG);
        if (kr < 0)
            return 2;
        if (kr > 0)
            continue;
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--bind") == 0)
            bind = v;
        else if (strcmp(a, "--scenario") == 0)
            scenario_path = v;
        else if (strcmp(a, "--trace") == 0)
            trace_path = v;
        else if (strcmp(a, "--trace-column") == 0)
            trace_col = v;
        else if (strcmp(a, "--lease") == 0) {
            if (rls_cli_parse_u64(v, 86400000, &lease) != 0 || lease < 1) {
                fprintf(stderr, S_PROG ": --lease '%s': expected milliseconds, 1 to 86400000\n", v);
                return 2;
            }
        } else if (strcmp(a, "--speed") == 0) {
            if (strcmp(v, "max") == 0) {
                speed = 0.0;
            } else {
                char *end = NULL;
                errno = 0;
                speed = strtod(v, &end);
                if (errno || !*v || *end || !(speed >= 0.0) || !isfinite(speed)) {
                    fprintf(stderr, S_PROG ": --speed '%s': expected 'max' or a number >= 0\n", v);
                    return 2;
                }
            }
        } else if (strcmp(a, "--seed") == 0) {
            if (rls_cli_parse_u64(v, UINT64_MAX, &seed) != 0) {
                fprintf(stderr, S_PROG ": --seed '%s': expected a non-negative integer\n", v);
                return 2;
            }
            have_seed = 1;
        } else if (strcmp(a, "--steps") == 0) {
            if (rls_cli_parse_u64(v, INT32_MAX, &steps_u) != 0 || steps_u < 1) {
                fprintf(stderr, S_PROG ": --steps '%s': expected an integer from 1 to %d\n", v, INT32_MAX);
                return 2;
            }
            have_steps = 1;
        } else if (strcmp(a, "--max-steps") == 0) {
            if (rls_cli_parse_u64(v, INT64_MAX, &max_steps) != 0) {
                fprintf(stderr, S_PROG ": --max-steps '%s': expected a non-negative integer\n", v);
                return 2;
            }
        } else if (strcmp(a, "--action-timeout") == 0) {
            if (rls_cli_parse_u64(v, 86400000, &action_timeout) != 0) {
                fprintf(stderr, S_PROG ": --action-timeout '%s': expected milliseconds, 0 to 86400000\n", v);
                return 2;
            }
        } else if (strcmp(a, "--heartbeat") == 0) {
            if (rls_cli_parse_u64(v, 3600000, &heartbeat) != 0 || heartbeat < 1) {
                fprintf(stderr, S_PROG ": --heartbeat '%s': expected milliseconds, 1 to 3600000\n", v);
                return 2;
            }
        } else if (strcmp(a, "--log-every") == 0) {
            if (rls_cli_parse_u64(v, INT64_MAX, &log_every) != 0) {
                fprintf(stderr, S_PROG ": --log-every '%s': expected a non-negative integer\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!bind) {
        fprintf(stderr, S_PROG ": --bind is required, e.g. --bind tcp://127.0.0.1:5555 (try --help)\n");
        return 2;
    }
    if (rls_cli_keys_apply(&keys, 1, &p.transport, S_PROG) != 0)
        return 2;

    if (rls_scenario_load(scenario_path, &sc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    int64_t steps = have_steps ? (int64_t)steps_u : sc->horizon_steps;
    if (trace_path) {
        double dur = 0.0;
        if (rls_eval_apply_trace(sc, trace_path, trace_col, &dur, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        if (!have_steps)
            steps = (int64_t)(dur / sc->step_s) > 0 ? (int64_t)(dur / sc->step_s) : 1;
    }
    if (steps > INT32_MAX)
        steps = INT32_MAX;
    sc->horizon_steps = (int32_t)steps;

    p.scenario = sc;
    p.speed = speed;
    p.seed = have_seed ? seed : sc->seed;
    p.max_steps = (int64_t)max_steps;
    p.action_timeout_ms = (int)action_timeout;
    p.heartbeat_ms = (int)heartbeat;
    p.log_every = lc.quiet ? 0 : (int64_t)log_every;
    p.log = s_log;
    p.log_ctx = &lc;
    p.lease_ms = (int)lease;
    s_server = rls_served_new(bind, &p, &err);
    if (!s_server) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;    /* no SA_RESTART: a signal cuts the wait short */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;

    if (speed > 0.0)
        fprintf(stderr, S_PROG ": listening on %s (scenario %s, %d services, seed %" PRIu64
                ", a step every %g s%s)\n", rls_served_endpoint(s_server), sc->name, sc->n_services, p.seed,
                sc->step_s / speed, keys.secret ? ", CURVE" : ", INSECURE");
    else
        fprintf(stderr, S_PROG ": listening on %s (scenario %s, %d services, seed %" PRIu64
                ", lock-step%s)\n", rls_served_endpoint(s_server), sc->name, sc->n_services, p.seed,
                keys.secret ? ", CURVE" : ", INSECURE");
    if (rls_served_run(s_server) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_served_errmsg(s_server));
        goto done;
    }
    {
        struct rls_served_stats st = rls_served_stats(s_server);
        fprintf(stderr, S_PROG ": stopped after %" PRId64 " steps (%" PRId64 " episodes, %" PRId64 " actions, %"
                PRId64 " steps without, %" PRId64 " refused, %" PRId64 " hellos)\n", st.steps, st.episodes,
                st.actions, st.missed, st.refused, st.agents);
    }
    ret = 0;
done:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    rls_served_destroy(&s_server);
    rls_scenario_destroy(&sc);
    return ret;
}

int rls_cmd_sim(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: rlsched sim serve --bind ENDPOINT [OPTIONS]   (rlsched sim serve --help)\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return s_serve(argc - 1, argv + 1);
    fprintf(stderr, "rlsched sim: unknown subcommand '%s' (try rlsched sim --help)\n", argv[1]);
    return 2;
}
