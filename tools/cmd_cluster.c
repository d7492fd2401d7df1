/* cmd_cluster.c - `rlsched cluster local`: a real cluster of worker processes
 * on this machine (cluster/local.h, cluster/LOCAL.md), served to an agent over
 * the wire protocol; and the hidden `rlsched cluster worker`, the process the
 * gateway starts for each replica. `rlsched cluster haproxy`: the same
 * protocol over a real HAProxy and HTTP worker processes (cluster/haproxy.h,
 * cluster/HAPROXY.md), whose replicas are `rlsched cluster http-worker`
 * (also usable by hand). SIGINT/SIGTERM stop each cleanly (children stopped
 * by pid and reaped, exit 0). Bad input: one line on stderr, exit 2 for
 * usage errors, 1 for failures.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_keys.h"
#include "../cluster/haproxy.h"
#include "../cluster/local.h"
#include "../cluster/worker_http.h"
#include "../env/scenario.h"

#define S_PROG "rlsched cluster local"

static struct rls_cluster *s_cluster;  /* for the signal handler */
static volatile sig_atomic_t s_signalled;   /* a signal came before s_cluster existed */

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched cluster local --bind ENDPOINT --requests ENDPOINT [--scenario FILE|default]\n"
            "                             [--step S] [--max-workers N] [--time-scale X] [--work-scale X]\n"
            "                             [--cpu-fraction F] [--max-outstanding N] [--grace MS]\n"
            "                             [--seed N] [--max-steps N] [--heartbeat MS] [--log-every N]\n"
            "                             [--lease MS] [--quiet]\n"
            "                             --curve-secret server.key --curve-allow agents.pub | --insecure\n"
            "\n"
            "Runs a real cluster on this machine: a gateway that takes requests from\n"
            "`rlsched load`, queues them per service and dispatches them to worker\n"
            "processes doing real CPU work, and serves an agent over the wire protocol\n"
            "(agent/PROTOCOL.md): a state per step, actions = desired workers per service.\n"
            "  --bind             agent endpoint, e.g. tcp://127.0.0.1:5555\n"
            "  --requests         request endpoint for rlsched load (loopback only),\n"
            "                     e.g. tcp://127.0.0.1:5556\n"
            "  --scenario         services, tenants, limits (default)\n"
            "  --step             control step, wall seconds (1)\n"
            "  --max-workers      worker processes alive at once (8)\n"
            "  --time-scale       wall seconds per scenario second of cold start (1; 0.01\n"
            "                     makes a 30 s cold start 0.3 s)\n"
            "  --work-scale       multiplies every service time (1)\n"
            "  --cpu-fraction     share of a service time a worker spends busy, the rest\n"
            "                     asleep (1)\n"
            "  --max-outstanding  requests sent to one worker at a time (2)\n"
            "  --grace            a stopped worker gets MS ms to drain, then MS ms after\n"
            "                     SIGTERM before SIGKILL (1000)\n"
            "  --max-steps        exit after this many steps (0 = until SIGINT/SIGTERM)\n"
            "  --heartbeat        heartbeat to an idle agent every MS ms (1000)\n"
            "  --log-every        a progress line every N steps (10; 0 = none)\n"
            "  --lease            the agent's control lease lapses after MS ms without a\n"
            "                     message from it; till then no other agent takes over (45000)\n"
            "  --quiet            no progress or agent lines (refusals and lease changes are\n"
            "                     still logged)\n"
            "%s", rls_cli_keys_server_usage);
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_signalled = 1;
    rls_cluster_stop(s_cluster);
}

static void s_on_worker_signal(int sig)
{
    (void)sig;
    rls_cluster_worker_stop();
}

/* ---------------------------------------------------------------------------
 * What `cluster local` and `cluster haproxy` share: the log, the common
 * options, the signal handlers. */

struct s_log_ctx {
    const char *prog;
    int quiet;                  /* only refusals and lease changes (and worker trouble) */
    int worker_lines;           /* with quiet: lines about workers too */
};

static void s_log(void *ctx, const char *line)
{
    const struct s_log_ctx *lc = ctx;
    if (lc->quiet && strncmp(line, "refused", 7) != 0 && strncmp(line, "lease", 5) != 0 &&
        !(lc->worker_lines && strncmp(line, "worker", 6) == 0))
        return;
    fprintf(stderr, "%s: %s\n", lc->prog, line);
}

/* The options both cluster sides take, and where their values go (the
 * params fields of the same name). */
struct s_side_opts {
    const char *bind, *scenario_path;
    uint64_t log_every;
    struct s_log_ctx lc;
    struct rls_cli_keys keys;
    double *step_s, *time_scale, *work_scale, *cpu_fraction;
    int32_t *max_workers;
    int *grace_ms, *heartbeat_ms, *lease_ms;
    int64_t *max_steps;
    uint64_t *seed;
};

/* A side's own option a with value v: returns 1 when it is one (*want set
 * to what was expected when v is bad), 0 when it is not. */
typedef int (*s_own_opt_fn)(void *params, const char *a, const char *v, const char **want);

/* A common option a with value v into o; returns 1 / 0 as s_own_opt_fn. */
static int s_common_opt(struct s_side_opts *o, const char *a, const char *v, const char **want)
{
    uint64_t u = 0;

    if (strcmp(a, "--bind") == 0) {
        o->bind = v;
    } else if (strcmp(a, "--scenario") == 0) {
        o->scenario_path = v;
    } else if (strcmp(a, "--step") == 0) {
        if (rls_cli_parse_double(v, 0.01, 86400.0, o->step_s) != 0)
            *want = "seconds, 0.01 to 86400";
    } else if (strcmp(a, "--time-scale") == 0) {
        if (rls_cli_parse_double(v, 0.0, 1000.0, o->time_scale) != 0)
            *want = "a number from 0 to 1000";
    } else if (strcmp(a, "--work-scale") == 0) {
        if (rls_cli_parse_double(v, 1e-6, 1000.0, o->work_scale) != 0)
            *want = "a number above 0, at most 1000";
    } else if (strcmp(a, "--cpu-fraction") == 0) {
        if (rls_cli_parse_double(v, 0.0, 1.0, o->cpu_fraction) != 0)
            *want = "a number from 0 to 1";
    } else if (strcmp(a, "--max-workers") == 0) {
        if (rls_cli_parse_u64(v, 1024, &u) != 0 || u < 1)
            *want = "an integer from 1 to 1024";
        else
            *o->max_workers = (int32_t)u;
    } else if (strcmp(a, "--grace") == 0) {
        if (rls_cli_parse_u64(v, 600000, &u) != 0)
            *want = "milliseconds, 0 to 600000";
        else
            *o->grace_ms = (int)u;
    } else if (strcmp(a, "--heartbeat") == 0 || strcmp(a, "--lease") == 0) {
        if (rls_cli_parse_u64(v, 86400000, &u) != 0 || u < 1)
            *want = "milliseconds, 1 to 86400000";
        else if (a[2] == 'h')
            *o->heartbeat_ms = (int)u;
        else
            *o->lease_ms = (int)u;
    } else if (strcmp(a, "--seed") == 0) {
        if (rls_cli_parse_u64(v, UINT64_MAX, o->seed) != 0)
            *want = "a non-negative integer";
    } else if (strcmp(a, "--max-steps") == 0) {
        if (rls_cli_parse_u64(v, INT64_MAX, &u) != 0)
            *want = "a non-negative integer";
        else
            *o->max_steps = (int64_t)u;
    } else if (strcmp(a, "--log-every") == 0) {
        if (rls_cli_parse_u64(v, INT64_MAX, &o->log_every) != 0)
            *want = "a non-negative integer";
    } else {
        return 0;
    }
    return 1;
}

/* Parses argv[1..] into o and, through own, the side's params. Returns -1
 * to go on, or the exit status: 0 after --help (usage printed), 2 after a
 * usage error (one line on stderr). */
static int s_parse(struct s_side_opts *o, int argc, char **argv, void (*usage)(FILE *), s_own_opt_fn own,
                   void *params)
{
    const char *prog = o->lc.prog;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0) {
            o->lc.quiet = 1;
            continue;
        }
        int kr = rls_cli_keys_option(&o->keys, 1, argc, argv, &i, prog);
        if (kr < 0)
            return 2;
        if (kr > 0)
            continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (try --help)\n", prog, a);
            return 2;
        }
        const char *v = argv[++i];
        const char *want = NULL;
        if (!s_common_opt(o, a, v, &want) && !own(params, a, v, &want)) {
            fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, a);
            return 2;
        }
        if (want != NULL) {
            fprintf(stderr, "%s: %s '%s': expected %s\n", prog, a, v, want);
            return 2;
        }
    }
    return -1;
}

/* After parsing: the keys into *tp and the scenario loaded into *sc (owned
 * by the caller). Returns 0, 2 (usage) or 1 (failure), one line said. */
static int s_prepare(struct s_side_opts *o, struct rls_transport_params *tp, struct rls_scenario **sc)
{
    struct rls_err err = { 0 };

    if (rls_cli_keys_apply(&o->keys, 1, tp, o->lc.prog) != 0)
        return 2;
    if (rls_scenario_load(o->scenario_path, sc, &err) != RLS_OK) {
        fprintf(stderr, "%s: %s\n", o->lc.prog, err.msg);
        return 1;
    }
    return 0;
}

/* SIGINT and SIGTERM to fn (the old ones kept), so a signal from now on
 * stops the side cleanly; s_restore_handlers puts the old ones back. */
static void s_set_handlers(void (*fn)(int), struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void s_restore_handlers(const struct sigaction *old_int, const struct sigaction *old_term)
{
    sigaction(SIGINT, old_int, NULL);
    sigaction(SIGTERM, old_term, NULL);
}

/* ---------------------------------------------------------------------------
 * `rlsched cluster local` */

/* `cluster local`'s own options (s_own_opt_fn). */
static int s_local_opt(void *params, const char *a, const char *v, const char **want)
{
    struct rls_cluster_params *p = params;
    uint64_t u = 0;

    if (strcmp(a, "--requests") == 0) {
        p->requests_endpoint = v;
    } else if (strcmp(a, "--max-outstanding") == 0) {
        if (rls_cli_parse_u64(v, 1024, &u) != 0 || u < 1)
            *want = "an integer from 1 to 1024";
        else
            p->max_outstanding = (int32_t)u;
    } else {
        return 0;
    }
    return 1;
}

static int s_local(int argc, char **argv)
{
    int ret = 1;
    const char *requests;
    struct rls_err err = { 0 };
    struct rls_scenario *sc = NULL;
    struct rls_cluster_params p = rls_cluster_default_params();
    struct s_side_opts o = { .scenario_path = "default", .log_every = 10, .lc = { S_PROG, 0, 0 },
                             .step_s = &p.step_s, .time_scale = &p.time_scale, .work_scale = &p.work_scale,
                             .cpu_fraction = &p.cpu_fraction, .max_workers = &p.max_workers,
                             .grace_ms = &p.grace_ms, .heartbeat_ms = &p.heartbeat_ms, .lease_ms = &p.lease_ms,
                             .max_steps = &p.max_steps, .seed = &p.seed };
    struct sigaction old_int, old_term;
    int handlers = 0;

    ret = s_parse(&o, argc, argv, s_usage, s_local_opt, &p);
    if (ret >= 0)
        return ret;
    ret = 1;
    requests = p.requests_endpoint;
    if (!o.bind || !requests) {
        fprintf(stderr, S_PROG ": --bind and --requests are required, e.g. --bind tcp://127.0.0.1:5555 "
                "--requests tcp://127.0.0.1:5556 (try --help)\n");
        return 2;
    }
    if (!rls_cluster_endpoint_is_loopback(requests)) {
        fprintf(stderr, S_PROG ": --requests '%s': loopback only (tcp://127.0.0.1:PORT or tcp://localhost:PORT)\n",
                requests);
        return 2;
    }
    ret = s_prepare(&o, &p.transport, &sc);
    if (ret == 2)
        return 2;
    if (ret != 0)
        goto done;
    ret = 1;
    p.scenario = sc;
    p.log_every = o.lc.quiet ? 0 : (int64_t)o.log_every;
    p.log = s_log;
    p.log_ctx = &o.lc;

    /* handlers before the workers exist: a SIGTERM from now on stops cleanly */
    s_set_handlers(s_on_signal, &old_int, &old_term);
    handlers = 1;
    s_cluster = rls_cluster_new(o.bind, &p, &err);
    if (!s_cluster) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    fprintf(stderr, S_PROG ": listening on %s, requests on %s (scenario %s, %d services, a step every %g s, "
            "at most %d workers, time scale %g%s)\n", rls_cluster_endpoint(s_cluster),
            rls_cluster_requests_endpoint(s_cluster), sc->name, sc->n_services, p.step_s, p.max_workers,
            p.time_scale, p.transport.curve_secret_file ? ", CURVE" : ", INSECURE");
    if (s_signalled)
        rls_cluster_stop(s_cluster);
    if (rls_cluster_run(s_cluster) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", rls_cluster_errmsg(s_cluster));
        goto done;
    }
    {
        struct rls_cluster_stats st = rls_cluster_stats(s_cluster);
        rls_cluster_destroy(&s_cluster);   /* stops and reaps the workers */
        if (!o.lc.quiet)
            fprintf(stderr, S_PROG ": stopped after %" PRId64 " steps (%" PRId64 " requests, %" PRId64
                    " served, %" PRId64 " dropped; %" PRId64 " workers started, %" PRId64 " stopped, %" PRId64
                    " crashed; %" PRId64 " actions, %" PRId64 " refused)\n", st.steps, st.requests, st.served,
                    st.dropped, st.spawned, st.stopped, st.crashed, st.actions, st.refused);
    }
    ret = 0;
done:
    rls_cluster_destroy(&s_cluster);
    if (handlers)
        s_restore_handlers(&old_int, &old_term);
    rls_scenario_destroy(&sc);
    return ret;
}

/* `rlsched cluster worker` (started by the gateway; not in the help). */
static int s_worker(int argc, char **argv)
{
    struct rls_cluster_worker_params p = rls_cluster_worker_default_params();
    struct rls_err err = { 0 };
    struct sigaction sa;
    uint64_t u = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        int bad = 0;
        if (strcmp(a, "--connect") == 0)
            p.connect = v;
        else if (strcmp(a, "--id") == 0)
            bad = rls_cli_parse_u64(v, UINT32_MAX, &u) != 0, p.id = (uint32_t)u;
        else if (strcmp(a, "--cold-start") == 0)
            bad = rls_cli_parse_double(v, 0.0, 86400.0, &p.cold_start_s) != 0;
        else if (strcmp(a, "--mean-ms") == 0)
            bad = rls_cli_parse_double(v, 1e-9, 1e7, &p.mean_ms) != 0;
        else if (strcmp(a, "--cpu-fraction") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1.0, &p.cpu_fraction) != 0;
        else if (strcmp(a, "--seed") == 0)
            bad = rls_cli_parse_u64(v, UINT64_MAX, &p.seed) != 0;
        else if (strcmp(a, "--parent") == 0)
            bad = rls_cli_parse_u64(v, INT32_MAX, &u) != 0, p.parent_pid = (int32_t)u;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "rlsched cluster worker: bad option %s '%s'\n", a, v);
            return 2;
        }
    }
    if ((argc - 1) % 2 != 0 || p.connect == NULL) {
        fprintf(stderr, "rlsched cluster worker: started by `rlsched cluster local`, not by hand\n");
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_worker_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (rls_cluster_worker_run(&p, &err) != RLS_OK) {
        fprintf(stderr, "rlsched cluster worker: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * `rlsched cluster haproxy` */

#define S_HPROG "rlsched cluster haproxy"

static struct rls_haproxy *s_hap;       /* for the signal handler */

static void s_on_hap_signal(int sig)
{
    (void)sig;
    s_signalled = 1;
    rls_haproxy_stop(s_hap);
}

static void s_hap_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched cluster haproxy --bind ENDPOINT [--scenario FILE|default] [--http-port P]\n"
            "                               [--metrics-port P|-1] [--step S] [--time-scale X] [--work-scale X]\n"
            "                               [--dist exp|lognormal|const] [--cv X] [--concurrency N]\n"
            "                               [--cpu-fraction F] [--max-workers N] [--grace MS] [--queue-timeout MS]\n"
            "                               [--lb adaptive|rr] [--state-dir DIR] [--haproxy PATH] [--seed N]\n"
            "                               [--max-steps N] [--heartbeat MS] [--lease MS] [--log-every N] [--quiet]\n"
            "                               --curve-secret server.key --curve-allow agents.pub | --insecure\n"
            "\n"
            "Starts a real HAProxy (Debian's haproxy 2.6) on loopback with one backend per\n"
            "service and runs each replica as an HTTP worker process registered through\n"
            "HAProxy's runtime API; serves an agent over the wire protocol (agent/PROTOCOL.md)\n"
            "exactly as `rlsched cluster local` does. Requests: GET http://127.0.0.1:P/SERVICE/...\n"
            "(rlsched load --http http://127.0.0.1:P). cluster/HAPROXY.md has the details.\n"
            "  --bind           agent endpoint, e.g. tcp://127.0.0.1:5555\n"
            "  --http-port      HAProxy's HTTP frontend on 127.0.0.1 (0 = pick; printed) (0)\n"
            "  --metrics-port   HAProxy's Prometheus exporter on 127.0.0.1 (0 = pick, -1 = none) (0)\n"
            "  --scenario       services and limits (default)\n"
            "  --step           control step, wall seconds (1)\n"
            "  --time-scale     wall seconds of start-up delay per scenario second of cold start (1)\n"
            "  --work-scale     multiplies every service time (1)\n"
            "  --dist           service-time distribution: exp, lognormal, const (exp)\n"
            "  --cv             coefficient of variation of the lognormal (1)\n"
            "  --concurrency    requests a worker serves at once (HAProxy maxconn per server) (1)\n"
            "  --cpu-fraction   share of a service time burnt on the CPU, the rest asleep (1)\n"
            "  --max-workers    worker processes alive at once (8)\n"
            "  --grace          longest drain, then SIGTERM to SIGKILL, ms (2000)\n"
            "  --queue-timeout  a request queued longer in HAProxy gets 503, ms (5000)\n"
            "  --lb             adaptive (weights from measured latencies) or rr (round robin) (adaptive)\n"
            "  --state-dir      where the config, sockets and haproxy's output go (a new /tmp dir,\n"
            "                   removed at exit)\n"
            "  --haproxy        the haproxy executable (haproxy on PATH)\n"
            "  --max-steps      exit after this many steps (0 = until SIGINT/SIGTERM)\n"
            "  --log-every      a progress line every N steps (10; 0 = none)\n"
            "  --quiet          only refusals, lease changes and worker trouble\n"
            "%s", rls_cli_keys_server_usage);
}

/* `cluster haproxy`'s own options (s_own_opt_fn). */
static int s_hap_opt(void *params, const char *a, const char *v, const char **want)
{
    struct rls_haproxy_params *p = params;
    uint64_t u = 0;

    if (strcmp(a, "--state-dir") == 0) {
        p->state_dir = v;
    } else if (strcmp(a, "--haproxy") == 0) {
        p->haproxy_bin = v;
    } else if (strcmp(a, "--http-port") == 0) {
        if (rls_cli_parse_u64(v, 65535, &u) != 0)
            *want = "a port, 0 to 65535";
        p->http_port = (int)u;
    } else if (strcmp(a, "--metrics-port") == 0) {
        if (strcmp(v, "-1") == 0)
            p->metrics_port = -1;
        else if (rls_cli_parse_u64(v, 65535, &u) != 0)
            *want = "a port, 0 to 65535, or -1 for none";
        else
            p->metrics_port = (int)u;
    } else if (strcmp(a, "--cv") == 0) {
        if (rls_cli_parse_double(v, 0.0, 10.0, &p->cv) != 0)
            *want = "a number from 0 to 10";
    } else if (strcmp(a, "--dist") == 0) {
        if (rls_dist_parse(v, &p->dist) != RLS_OK)
            *want = "exp, lognormal or const";
    } else if (strcmp(a, "--lb") == 0) {
        if (strcmp(v, "adaptive") == 0)
            p->lb = RLS_HAPROXY_LB_ADAPTIVE;
        else if (strcmp(v, "rr") == 0 || strcmp(v, "roundrobin") == 0)
            p->lb = RLS_HAPROXY_LB_RR;
        else
            *want = "adaptive or rr";
    } else if (strcmp(a, "--concurrency") == 0) {
        if (rls_cli_parse_u64(v, 1024, &u) != 0 || u < 1)
            *want = "an integer from 1 to 1024";
        else
            p->concurrency = (int32_t)u;
    } else if (strcmp(a, "--queue-timeout") == 0) {
        if (rls_cli_parse_u64(v, 600000, &u) != 0 || u < 1)
            *want = "milliseconds, 1 to 600000";
        else
            p->queue_timeout_ms = (int)u;
    } else {
        return 0;
    }
    return 1;
}

static int s_haproxy(int argc, char **argv)
{
    int ret = 1;
    struct rls_err err = { 0 };
    struct rls_scenario *sc = NULL;
    struct rls_haproxy_params p = rls_haproxy_default_params();
    struct s_side_opts o = { .scenario_path = "default", .log_every = 10, .lc = { S_HPROG, 0, 1 },
                             .step_s = &p.step_s, .time_scale = &p.time_scale, .work_scale = &p.work_scale,
                             .cpu_fraction = &p.cpu_fraction, .max_workers = &p.max_workers,
                             .grace_ms = &p.grace_ms, .heartbeat_ms = &p.heartbeat_ms, .lease_ms = &p.lease_ms,
                             .max_steps = &p.max_steps, .seed = &p.seed };
    struct sigaction old_int, old_term;
    int handlers = 0;

    ret = s_parse(&o, argc, argv, s_hap_usage, s_hap_opt, &p);
    if (ret >= 0)
        return ret;
    ret = 1;
    if (!o.bind) {
        fprintf(stderr, S_HPROG ": --bind is required, e.g. --bind tcp://127.0.0.1:5555 (try --help)\n");
        return 2;
    }
    ret = s_prepare(&o, &p.transport, &sc);
    if (ret == 2)
        return 2;
    if (ret != 0)
        goto done;
    ret = 1;
    p.scenario = sc;
    p.log_every = o.lc.quiet ? 0 : (int64_t)o.log_every;
    p.log = s_log;
    p.log_ctx = &o.lc;
    s_set_handlers(s_on_hap_signal, &old_int, &old_term);
    handlers = 1;
    s_hap = rls_haproxy_new(o.bind, &p, &err);
    if (!s_hap) {
        fprintf(stderr, S_HPROG ": %s\n", err.msg);
        goto done;
    }
    fprintf(stderr, S_HPROG ": listening on %s; HTTP http://127.0.0.1:%d/SERVICE/; runtime API %s; ", 
            rls_haproxy_endpoint(s_hap), rls_haproxy_http_port(s_hap), rls_haproxy_admin_socket(s_hap));
    if (rls_haproxy_metrics_port(s_hap) > 0)
        fprintf(stderr, "metrics http://127.0.0.1:%d/metrics; ", rls_haproxy_metrics_port(s_hap));
    fprintf(stderr, "haproxy pid %d (scenario %s, %d services, a step every %g s, at most %d workers, lb %s%s)\n",
            (int)rls_haproxy_pid(s_hap), sc->name, sc->n_services, p.step_s, p.max_workers,
            p.lb == RLS_HAPROXY_LB_ADAPTIVE ? "adaptive" : "rr", p.transport.curve_secret_file ? ", CURVE" : ", INSECURE");
    if (s_signalled)
        rls_haproxy_stop(s_hap);
    if (rls_haproxy_run(s_hap) != RLS_OK) {
        fprintf(stderr, S_HPROG ": %s\n", rls_haproxy_errmsg(s_hap));
        goto done;
    }
    {
        struct rls_haproxy_stats st = rls_haproxy_stats(s_hap);
        rls_haproxy_destroy(&s_hap);
        if (!o.lc.quiet)
            fprintf(stderr, S_HPROG ": stopped after %" PRId64 " steps (%" PRId64 " requests, %" PRId64 " served, %"
                    PRId64 " failed; %" PRId64 " workers started, %" PRId64 " stopped, %" PRId64 " crashed; %" PRId64
                    " servers added, %" PRId64 " deleted, %" PRId64 " weight changes, %" PRId64 " API errors; %" PRId64
                    " actions)\n", st.steps, st.requests, st.served, st.failed, st.spawned, st.stopped, st.crashed,
                    st.added, st.deleted, st.weight_sets, st.api_errors, st.actions);
    }
    ret = 0;
done:
    rls_haproxy_destroy(&s_hap);
    if (handlers)
        s_restore_handlers(&old_int, &old_term);
    rls_scenario_destroy(&sc);
    return ret;
}

/* `rlsched cluster http-worker`: one HTTP worker (cluster/worker_http.h),
 * started by `rlsched cluster haproxy` on a socket it made, or by hand. */
static volatile sig_atomic_t s_worker_done;

static void s_on_http_worker_signal(int sig)
{
    (void)sig;
    s_worker_done = 1;
}

static int s_http_worker(int argc, char **argv)
{
    struct rls_worker_http_params p = rls_worker_http_default_params();
    struct rls_worker_http *w = NULL;
    struct rls_err err = { 0 };
    struct sigaction sa;
    sigset_t block, old;
    uint64_t u = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: rlsched cluster http-worker (--port P | --listen-fd N) [--service NAME]\n"
                   "           [--dist exp|lognormal|const] [--mean-ms M] [--cv X] [--concurrency N]\n"
                   "           [--cpu-fraction F] [--startup S] [--seed N]\n"
                   "An HTTP worker on 127.0.0.1: GET /healthz (503 until --startup s have passed), GET\n"
                   "/metrics (Prometheus text), anything else is one request of a service time drawn\n"
                   "from --dist with mean --mean-ms (503 beyond --concurrency at once). Runs until\n"
                   "SIGINT/SIGTERM. cluster/HAPROXY.md.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "rlsched cluster http-worker: %s needs a value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--listen-fd") == 0)
            bad = rls_cli_parse_u64(v, 1000000, &u) != 0 || u < 3, p.listen_fd = (int)u;
        else if (strcmp(a, "--port") == 0)
            bad = rls_cli_parse_u64(v, 65535, &u) != 0, p.port = (int)u;
        else if (strcmp(a, "--service") == 0)
            p.service = v;
        else if (strcmp(a, "--dist") == 0)
            bad = rls_dist_parse(v, &p.dist) != RLS_OK;
        else if (strcmp(a, "--mean-ms") == 0)
            bad = rls_cli_parse_double(v, 1e-6, 600000.0, &p.mean_ms) != 0;
        else if (strcmp(a, "--cv") == 0)
            bad = rls_cli_parse_double(v, 0.0, 10.0, &p.cv) != 0;
        else if (strcmp(a, "--concurrency") == 0)
            bad = rls_cli_parse_u64(v, 1024, &u) != 0 || u < 1, p.concurrency = (int32_t)u;
        else if (strcmp(a, "--cpu-fraction") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1.0, &p.cpu_fraction) != 0;
        else if (strcmp(a, "--startup") == 0)
            bad = rls_cli_parse_double(v, 0.0, 86400.0, &p.startup_s) != 0;
        else if (strcmp(a, "--seed") == 0)
            bad = rls_cli_parse_u64(v, UINT64_MAX, &p.seed) != 0;
        else {
            fprintf(stderr, "rlsched cluster http-worker: unknown option '%s' (try --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "rlsched cluster http-worker: bad value for %s: '%s' (try --help)\n", a, v);
            return 2;
        }
    }
    /* the signal is blocked until sigsuspend waits for it: none is lost */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_http_worker_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    w = rls_worker_http_new(&p, &err);
    if (w == NULL) {
        fprintf(stderr, "rlsched cluster http-worker: %s\n", err.msg);
        return 1;
    }
    if (p.listen_fd < 0)
        fprintf(stderr, "rlsched cluster http-worker: serving http://127.0.0.1:%d/ (pid %d)\n",
                rls_worker_http_port(w), (int)getpid());
    while (!s_worker_done)
        sigsuspend(&old);
    rls_worker_http_destroy(&w);
    return 0;
}

int rls_cmd_cluster(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: rlsched cluster local --bind ENDPOINT --requests ENDPOINT [OPTIONS]"
                "   (rlsched cluster local --help)\n"
                "       rlsched cluster haproxy --bind ENDPOINT [OPTIONS]   (rlsched cluster haproxy --help)\n"
                "       rlsched cluster http-worker --port P [OPTIONS]   (rlsched cluster http-worker --help)\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "local") == 0)
        return s_local(argc - 1, argv + 1);
    if (strcmp(argv[1], "worker") == 0)
        return s_worker(argc - 1, argv + 1);
    if (strcmp(argv[1], "haproxy") == 0)
        return s_haproxy(argc - 1, argv + 1);
    if (strcmp(argv[1], "http-worker") == 0)
        return s_http_worker(argc - 1, argv + 1);
    fprintf(stderr, "rlsched cluster: unknown subcommand '%s' (try rlsched cluster --help)\n", argv[1]);
    return 2;
}
