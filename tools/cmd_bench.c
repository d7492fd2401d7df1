/* cmd_bench.c - `rlsched bench sim`: the simulator's performance figures.
 *
 * Measures, on one core (the process pins itself to the CPU it runs on):
 *   - the step simulator's throughput in service-steps per second (one service
 *     advanced one control step) on a 100-service scenario, against a
 *     vectorized numpy implementation of the same step model run in the same
 *     process tree (tools/bench/sim_ref.py, /usr/bin/python3);
 *   - the environment API's steps per second on a 1-service environment
 *     (rls_env_step_replicas), against the same numpy reference run on one
 *     service (its step model only: no observation, no reward), with
 *     CloudSim Plus's published gym figure beside it as a reference (not
 *     measured here, never the baseline);
 *   - how throughput and memory per service grow from 1 to 100,000 services.
 * Each figure is printed as {"name","value","unit","baseline_name",
 * "baseline_value","ratio"} (plus "reference_name","reference_value" where a
 * published figure is shown) (one JSON object per line with --json, built by
 * bench_json.h: always valid JSON, null for a missing number; a table
 * otherwise). Every baseline is measured in the same run.
 * tools/bench/README.md explains the scenario and the numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_json.h"
#include "cli.h"
#include "env/env.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "env/status.h"

#define S_PYTHON "/usr/bin/python3"
#define S_REF_SCRIPT "/tools/bench/sim_ref.py"
#define S_MAIN_SERVICES 100
#define S_CLOUDSIM_GYM_STEPS_PER_S 241.0  /* CloudSim Plus gym bridge, published figure: a reference only */
#define S_N_SIZES 4

/* How long and how big: the full run or --quick (tests). */
struct s_plan {
    double min_time_s;          /* seconds per measurement (at least) */
    int32_t repeats;            /* measurements; the best one counts */
    int32_t sizes[S_N_SIZES];   /* services of the scaling runs */
};

static const struct s_plan s_full_plan = {1.0, 3, {1, 100, 10000, 100000}};
static const struct s_plan s_quick_plan = {0.03, 1, {1, 100, 1000, 10000}};

/* One sample of a simulator run. */
struct s_sim_figures {
    double service_steps_per_s; /* best of the repeats */
    double mem_bytes;           /* rls_sim_memory_bytes */
    double rss_bytes;           /* resident set growth from before rls_sim_new to after the runs */
};

/* ---------------------------------------------------------------- helpers */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Resident set size in bytes from /proc/self/statm, or -1. */
static double s_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    int ok = 0;
    if (!f)
        return -1.0;
    ok = fscanf(f, "%lld %lld", &size, &resident) == 2;
    fclose(f);
    if (!ok)
        return -1.0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Pins the process to the CPU it runs on now. Returns that CPU or -1. */
static int s_pin_to_current_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    if (cpu < 0)
        return -1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -1;
    return cpu;
}

/* The CPU model from /proc/cpuinfo into buf ("unknown" if absent). */
static void s_cpu_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            break;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, len, "%s", colon);
        break;
    }
    fclose(f);
}

/* ---------------------------------------------------------------- scenario */

/* The benchmark scenario (tools/bench/sim_ref.py `scenario` builds the same
 * services): n services of 50 requests/s per replica, service times 20/50/100
 * ms (1, 3, 5 servers per replica), a constant load of 60..160 requests/s with
 * Poisson noise (RLS_LOAD_CONST: one shared sample, so memory per service does
 * not depend on the horizon), 30 s cold start, 1..8 replicas, 0.5 core and
 * 0.5 GiB each; one pool of 16-core / 64 GiB nodes, enough for every service
 * at base + 1 replicas with a spare node (about 65% allocated), no failures
 * (mtbf 0), the default 60 s node idle time. NULL on no memory. */
static struct rls_scenario *s_bench_scenario(int32_t n, int noise, double node_idle_s)
{
    static const double service_ms[3] = {20.0, 50.0, 100.0};
    struct rls_scenario *sc = rls_scenario_new(1, 1, n);
    if (!sc)
        return NULL;
    snprintf(sc->name, sizeof sc->name, "bench-%d", (int)n);
    sc->step_s = 15.0;
    sc->horizon_steps = 100000000;
    sc->poisson_noise = noise;
    sc->node_idle_s = node_idle_s;
    struct rls_node_pool *p = &sc->pools[0];
    p->cpu = 16.0;
    p->mem_gb = 64.0;
    p->mtbf_h = 0.0;
    double cores = 0.0;
    for (int32_t i = 0; i < n; i++) {
        struct rls_service_spec *s = &sc->services[i];
        s->capacity_rps = 50.0;
        s->service_time_ms = service_ms[i % 3];
        s->cpu = 0.5;
        s->mem_gb = 0.5;
        s->cold_start_s = 30.0;
        s->min_replicas = 1;
        s->max_replicas = 8;
        s->slo_ms = 250.0;
        s->slo_percentile = 0.95;
        s->queue_limit = 1000;
        s->load.kind = RLS_LOAD_CONST;
        s->load.peak_rps = 60.0 + (double)(((int64_t)i * 37) % 101);
        s->initial_replicas = (int32_t)ceil(s->load.peak_rps / s->capacity_rps);
        cores += (s->initial_replicas + 1) * s->cpu;
    }
    p->count = (int32_t)ceil(cores / p->cpu) + 1;
    return sc;
}

/* The policy-free controller: desired = base + {0, +1, 0, -1}[((t + i) / 4) % 4],
 * base = ceil(rate / capacity) (the scenario's initial replicas). Every service
 * changes its target every 4 steps, a quarter of them at each step, so cold
 * starts (and, at base - 1, overloads) keep happening. */
static void s_desired(const struct rls_scenario *sc, int64_t t, int32_t *desired)
{
    static const int32_t pattern[4] = {0, 1, 0, -1};
    for (int32_t i = 0; i < sc->n_services; i++)
        desired[i] = sc->services[i].initial_replicas + pattern[((t + i) / 4) % 4];
}

/* ---------------------------------------------------------------- runs */

/* Builds an n-service simulator, steps it min_time_s at least `repeats` times
 * and fills fig. Returns RLS_OK or a negative status with msg filled. */
static int s_run_sim(int32_t n, const struct s_plan *plan, struct s_sim_figures *fig,
                     char *msg, size_t msg_len)
{
    struct rls_scenario *sc = NULL;
    struct rls_sim *sim = NULL;
    int32_t *desired = NULL;
    struct rls_err err;
    int rc = RLS_OK;
    memset(&err, 0, sizeof err);
    memset(fig, 0, sizeof *fig);
    sc = s_bench_scenario(n, 1, 60.0);
    desired = malloc((size_t)n * sizeof *desired);
    if (!sc || !desired) {
        rc = RLS_ERR_NOMEM;
        snprintf(msg, msg_len, "out of memory building the %d-service scenario", (int)n);
        goto done;
    }
    malloc_trim(0);   /* give freed pages back, so reused memory counts as growth */
    double rss0 = s_rss_bytes();
    sim = rls_sim_new(sc, &err);
    if (!sim) {
        rc = err.status ? err.status : RLS_ERR_INVALID;
        snprintf(msg, msg_len, "%d services: %s", (int)n, err.msg);
        goto done;
    }
    /* steps between clock reads: about 1000 service-steps */
    int64_t batch = n >= 1000 ? 1 : 1000 / n;
    for (int32_t rep = 0; rep < plan->repeats; rep++) {
        rc = rls_sim_reset(sim, 1 + (uint64_t)rep);
        if (rc != RLS_OK) {
            snprintf(msg, msg_len, "%d services: reset: %s", (int)n, rls_sim_errmsg(sim));
            goto done;
        }
        int64_t steps = 0;
        double t0 = s_now(), el = 0.0;
        do {
            for (int64_t b = 0; b < batch; b++, steps++) {
                s_desired(sc, steps, desired);
                rc = rls_sim_step(sim, desired, NULL);
                if (rc != RLS_OK) {
                    snprintf(msg, msg_len, "%d services: step: %s", (int)n, rls_sim_errmsg(sim));
                    goto done;
                }
            }
            el = s_now() - t0;
        } while (el < plan->min_time_s);
        double rate = (double)n * (double)steps / el;
        if (rate > fig->service_steps_per_s)
            fig->service_steps_per_s = rate;
    }
    fig->mem_bytes = (double)rls_sim_memory_bytes(sim);
    double rss1 = s_rss_bytes();
    fig->rss_bytes = rss0 >= 0.0 && rss1 > rss0 ? rss1 - rss0 : 0.0;
done:
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
    free(desired);
    return rc;
}

/* Steps a 1-service environment through rls_env_step_replicas (resetting at
 * the end of each episode, the reset counted in the time). Fills *steps_per_s
 * with the best of the repeats. Returns RLS_OK or a negative status with msg. */
static int s_run_env(const struct s_plan *plan, double *steps_per_s, char *msg, size_t msg_len)
{
    struct rls_scenario *sc = NULL;
    struct rls_env *env = NULL;
    struct rls_err err;
    struct rls_step_result r;
    int32_t desired[1];
    int rc = RLS_OK;
    memset(&err, 0, sizeof err);
    *steps_per_s = 0.0;
    sc = s_bench_scenario(1, 1, 60.0);
    if (!sc) {
        snprintf(msg, msg_len, "out of memory building the 1-service scenario");
        return RLS_ERR_NOMEM;
    }
    sc->horizon_steps = 5760;   /* one day of 15 s steps, as a training episode */
    struct rls_env_params p = rls_env_default_params();
    p.scenario = sc;
    env = rls_env_new(&p, &err);
    if (!env) {
        rc = err.status ? err.status : RLS_ERR_INVALID;
        snprintf(msg, msg_len, "env: %s", err.msg);
        goto done;
    }
    for (int32_t rep = 0; rep < plan->repeats; rep++) {
        uint64_t seed = 1 + (uint64_t)rep * 1000;
        int64_t steps = 0, t = 0;
        double t0 = s_now(), el = 0.0;
        rc = rls_env_reset(env, seed, NULL);
        do {
            for (int b = 0; b < 1000 && rc == RLS_OK; b++, steps++, t++) {
                s_desired(sc, t, desired);
                rc = rls_env_step_replicas(env, desired, NULL, &r);
                if (rc == RLS_OK && (r.terminated || r.truncated)) {
                    rc = rls_env_reset(env, ++seed, NULL);
                    t = 0;
                }
            }
            el = s_now() - t0;
        } while (rc == RLS_OK && el < plan->min_time_s);
        if (rc != RLS_OK) {
            snprintf(msg, msg_len, "env: %s", rls_env_errmsg(env));
            goto done;
        }
        double rate = (double)steps / el;
        if (rate > *steps_per_s)
            *steps_per_s = rate;
    }
done:
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
    return rc;
}

/* The directory holding tools/bench: $RLSCHED_SOURCE_DIR or the build's source. */
static const char *s_source_dir(void)
{
    const char *dir = getenv("RLSCHED_SOURCE_DIR");
    return dir && dir[0] ? dir : RLS_SOURCE_DIR;
}

/* Appends s to buf single-quoted for /bin/sh. Returns 0, or -1 if it does not fit. */
static int s_shell_quote(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return -1;
    buf[used++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t plen = piece ? strlen(piece) : 1;
        if (used + plen + 2 >= len)
            return -1;
        if (piece)
            memcpy(buf + used, piece, plen);
        else
            buf[used] = *s;
        used += plen;
    }
    buf[used++] = '\'';
    buf[used] = '\0';
    return 0;
}

/* Runs sim_ref.py with `args` (single-threaded BLAS/OpenMP, inheriting this
 * process's CPU pinning) and parses the JSON object it prints. Returns the
 * object (caller owns, json_decref) or NULL with a reason in msg. */
static json_t *s_run_numpy(const char *args, char *msg, size_t msg_len)
{
    char script[4096], cmd[8192];
    char *out = NULL;
    size_t out_len = 0, out_cap = 0;
    FILE *p = NULL;
    json_t *obj = NULL;
    json_error_t jerr;
    if (access(S_PYTHON, X_OK) != 0) {
        snprintf(msg, msg_len, "%s not found", S_PYTHON);
        return NULL;
    }
    snprintf(script, sizeof script, "%s%s", s_source_dir(), S_REF_SCRIPT);
    if (access(script, R_OK) != 0) {
        snprintf(msg, msg_len, "%.400s: %s (set RLSCHED_SOURCE_DIR to the source tree)", script,
                 strerror(errno));
        return NULL;
    }
    snprintf(cmd, sizeof cmd, "%s ", S_PYTHON);
    if (s_shell_quote(cmd, sizeof cmd, script) != 0 ||
        strlen(cmd) + strlen(args) + 2 >= sizeof cmd) {
        snprintf(msg, msg_len, "the path of %.400s is too long", script);
        return NULL;
    }
    strcat(cmd, " ");
    strcat(cmd, args);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    fflush(stdout);
    p = popen(cmd, "r");
    if (!p) {
        snprintf(msg, msg_len, "cannot run %s: %s", S_PYTHON, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (out_len + 4096 + 1 > out_cap) {
            size_t cap = out_cap ? out_cap * 2 : 16384;
            char *grown = realloc(out, cap);
            if (!grown) {
                snprintf(msg, msg_len, "out of memory reading sim_ref.py's output");
                goto done;
            }
            out = grown;
            out_cap = cap;
        }
        size_t got = fread(out + out_len, 1, 4096, p);
        out_len += got;
        if (got == 0)
            break;
    }
    out[out_len] = '\0';
    int status = pclose(p);
    p = NULL;
    if (status != 0) {
        snprintf(msg, msg_len, "%.400s exited with status %d (is python3-numpy installed?)", script,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto done;
    }
    obj = json_loads(out, JSON_DISABLE_EOF_CHECK, &jerr);
    if (!obj || !json_is_object(obj)) {
        snprintf(msg, msg_len, "%.400s printed no JSON object (%s)", script, jerr.text);
        json_decref(obj);
        obj = NULL;
    }
done:
    if (p)
        pclose(p);
    free(out);
    return obj;
}

/* ---------------------------------------------------------------- output */

struct s_figure {
    char name[64];
    double value;
    const char *unit;
    char baseline_name[64];
    double baseline_value;      /* measured in this run; NAN: not available (printed as null) */
    const char *reference_name; /* a published figure shown beside it, or NULL */
    double reference_value;
};

static void s_print_json(const struct s_figure *f)
{
    int have_base = isfinite(f->baseline_value) && f->baseline_value != 0.0;
    if (rls_bench_json_print(f->name, f->value, f->unit, f->baseline_name, f->baseline_value,
                             have_base ? f->value / f->baseline_value : NAN, f->reference_name,
                             f->reference_value) != 0)
        fprintf(stderr, "rlsched bench sim: out of memory printing %s\n", f->name);
}

static void s_print_row(const struct s_figure *f)
{
    char base[32], ratio[32];
    if (isfinite(f->baseline_value)) {
        snprintf(base, sizeof base, "%.4g", f->baseline_value);
        if (f->baseline_value != 0.0)
            snprintf(ratio, sizeof ratio, "%.3g", f->value / f->baseline_value);
        else
            snprintf(ratio, sizeof ratio, "-");
    } else {
        snprintf(base, sizeof base, "n/a");
        snprintf(ratio, sizeof ratio, "-");
    }
    printf("%-34s %12.4g %-16s %-34s %12s %8s\n", f->name, f->value, f->unit, f->baseline_name,
           base, ratio);
    if (f->reference_name)
        printf("%-34s %12s %-16s %-34s %12.4g %8s\n", "", "", "  reference:", f->reference_name,
               f->reference_value, "(published)");
}

static void s_emit_ref(int json, const char *name, double value, const char *unit,
                       const char *baseline_name, double baseline_value, const char *ref_name,
                       double ref_value)
{
    struct s_figure f;
    snprintf(f.name, sizeof f.name, "%s", name);
    f.value = value;
    f.unit = unit;
    snprintf(f.baseline_name, sizeof f.baseline_name, "%s", baseline_name);
    f.baseline_value = baseline_value;
    f.reference_name = ref_name;
    f.reference_value = ref_value;
    if (json)
        s_print_json(&f);
    else
        s_print_row(&f);
    fflush(stdout);
}

/* A figure without a reference. */
static void s_emit(int json, const char *name, double value, const char *unit,
                   const char *baseline_name, double baseline_value)
{
    s_emit_ref(json, name, value, unit, baseline_name, baseline_value, NULL, NAN);
}

/* ---------------------------------------------------------------- verify */

static int s_close(double a, double b)
{
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
    return fabs(a - b) <= 1e-9 * scale;
}

/* Runs the C simulator and sim_ref.py without noise on the same scenario and
 * compares the per-step totals and every service's final state. Returns the
 * exit status (0 equal, 1 different or numpy unavailable). */
static int s_verify(void)
{
    enum { N = 30, T = 64 };
    struct rls_scenario *sc = NULL;
    struct rls_sim *sim = NULL;
    json_t *ref = NULL;
    struct rls_err err;
    char msg[512], args[128];
    int32_t desired[N];
    double tot[6] = {0, 0, 0, 0, 0, 0};
    static const char *tot_names[6] = {"arrivals", "served", "dropped", "over_slo",
                                       "replica_seconds", "churn"};
    int bad = 0, status = 1;
    memset(&err, 0, sizeof err);
    sc = s_bench_scenario(N, 0, 1e7);   /* no noise, no node scale-down */
    sim = sc ? rls_sim_new(sc, &err) : NULL;
    if (!sim || rls_sim_reset(sim, 1) != RLS_OK) {
        fprintf(stderr, "rlsched bench sim: verify: %s\n", sim ? rls_sim_errmsg(sim) : err.msg);
        goto done;
    }
    for (int64_t t = 0; t < T; t++) {
        s_desired(sc, t, desired);
        if (rls_sim_step(sim, desired, NULL) != RLS_OK) {
            fprintf(stderr, "rlsched bench sim: verify: step: %s\n", rls_sim_errmsg(sim));
            goto done;
        }
        const struct rls_step_info *in = rls_sim_last(sim);
        tot[0] += in->arrivals;
        tot[1] += in->served;
        tot[2] += in->dropped;
        tot[3] += in->over_slo;
        tot[4] += in->replica_seconds;
        tot[5] += in->churn;
    }
    snprintf(args, sizeof args, "--services %d --steps %d --no-noise --dump", N, T);
    ref = s_run_numpy(args, msg, sizeof msg);
    if (!ref) {
        fprintf(stderr, "rlsched bench sim: verify: numpy reference unavailable: %s\n", msg);
        goto done;
    }
    json_t *rt = json_object_get(ref, "totals"), *fin = json_object_get(ref, "final");
    for (int k = 0; k < 6; k++) {
        double r = json_number_value(json_object_get(rt, tot_names[k]));
        if (!s_close(tot[k], r)) {
            printf("verify: total %s: C %.17g, numpy %.17g\n", tot_names[k], tot[k], r);
            bad++;
        }
    }
    const struct rls_svc_state *st = rls_sim_services(sim);
    for (int32_t i = 0; i < N; i++) {
        const struct {
            const char *name;
            double c;
        } f[] = {
            {"rate_rps", st[i].rate_rps},       {"arrival_rps", st[i].arrival_rps},
            {"served_rps", st[i].served_rps},   {"dropped_rps", st[i].dropped_rps},
            {"backlog", st[i].backlog},         {"utilization", st[i].utilization},
            {"frac_over_slo", st[i].frac_over_slo}, {"p_wait", st[i].dist.p_wait},
            {"theta", st[i].dist.theta},        {"p_shift", st[i].dist.p_shift},
            {"shift_s", st[i].dist.shift_s},    {"shift_span_s", st[i].dist.shift_span_s},
            {"ready", (double)st[i].ready},     {"starting", (double)st[i].starting},
        };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
            json_t *arr = json_object_get(fin, f[k].name);
            double r = json_number_value(json_array_get(arr, (size_t)i));
            if (!json_is_array(arr) || !s_close(f[k].c, r)) {
                printf("verify: service %d %s: C %.17g, numpy %.17g\n", (int)i, f[k].name, f[k].c, r);
                bad++;
            }
        }
    }
    printf("verify: %s (%d services, %d steps without noise: 6 totals and 14 fields per service, "
           "relative tolerance 1e-9; %d differences)\n", bad ? "DIFFERENT" : "same", N, T, bad);
    status = bad ? 1 : 0;
done:
    json_decref(ref);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
    return status;
}

/* ---------------------------------------------------------------- command */

/* `rlsched bench python [--json] [--quick]`: runs tools/bench_python.py with
 * Debian's python3 on the librlsched.so beside this executable (the Python
 * package against the C env, both measured by that script in one run).
 * Returns only on failure (1, one line printed) or for bad options (2). */
static int s_bench_python(int argc, char **argv)
{
    char self[PATH_MAX], lib[PATH_MAX + 32], script[4096];
    char *args[8];
    int n_args = 0;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "rlsched bench python: cannot find my own executable: %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(lib, sizeof lib, "%s/librlsched.so", self);
    snprintf(script, sizeof script, "%s/tools/bench_python.py", s_source_dir());
    args[n_args++] = S_PYTHON;
    args[n_args++] = script;
    args[n_args++] = "--lib";
    args[n_args++] = lib;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--quick") == 0) {
            if (n_args < 7)
                args[n_args++] = argv[i];
        } else {
            fprintf(stderr, "rlsched bench python: unknown option '%s' (rlsched bench --help)\n", argv[i]);
            return 2;
        }
    }
    args[n_args] = NULL;
    if (access(lib, R_OK) != 0) {
        fprintf(stderr, "rlsched bench python: %s: %s (built with rlsched)\n", lib, strerror(errno));
        return 1;
    }
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "rlsched bench python: %s: %s (set RLSCHED_SOURCE_DIR to the source tree)\n",
                script, strerror(errno));
        return 1;
    }
    fflush(stdout);
    execv(S_PYTHON, args);
    fprintf(stderr, "rlsched bench python: cannot run %s: %s\n", S_PYTHON, strerror(errno));
    return 1;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched bench sim [--json] [--quick]\n"
            "       rlsched bench sim --verify\n"
            "       rlsched bench train [--json] [--quick]   (trainer updates/s vs PyTorch; replay reads)\n"
            "       rlsched bench agent [--json] [--quick]   (decision latency vs libtorch, round trip,\n"
            "                                                memory; tools/bench/AGENT_BENCH.md)\n"
            "       rlsched bench python [--json] [--quick]  (env steps/s through python/rlsched vs\n"
            "                                                the C env alone, 1 env and 64 envs)\n"
            "       rlsched bench sweep [--json] [--quick]   (sweep cells/s: a pool of 2 vs serial)\n"
            "       rlsched bench explain [--json] [--policy P.h5] (decision latency with\n"
            "                                                explanations on vs off, 1 and 100 services)\n"
            "\n"
            "Measures the step simulator on one core (the process pins itself to its CPU):\n"
            "service-steps/s on a 100-service scenario against the numpy reference\n"
            "(tools/bench/sim_ref.py run by " S_PYTHON "), the 1-service environment's\n"
            "steps/s against the same numpy reference on 1 service (CloudSim Plus's gym\n"
            "bridge, 241/s, is shown beside it as a published reference, not a baseline),\n"
            "and throughput and memory per service at 1, 100, 10,000 and 100,000 services.\n"
            "Every baseline is measured in the same run.\n"
            "\n"
            "  --json    one JSON object per line: name, value, unit, baseline_name,\n"
            "            baseline_value (null when unavailable), ratio = value / baseline;\n"
            "            reference_name, reference_value where a published figure is shown\n"
            "  --quick   short measurements and sizes 1, 100, 1,000, 10,000 (for tests)\n"
            "  --verify  check the numpy reference computes what the simulator does\n"
            "            (noise off, totals and final states equal to 1e-9); exit 0 if so\n"
            "\n"
            "RLSCHED_SOURCE_DIR overrides where tools/bench/sim_ref.py is looked for.\n");
}

int rls_cmd_bench(int argc, char **argv)
{
    int json = 0, quick = 0, verify = 0;
    char msg[1024], cpu_model[256], name[64], base_name[64], args[256];
    const struct s_plan *plan = NULL;
    struct s_sim_figures main_fig, figs[S_N_SIZES];
    double numpy_rate = NAN;
    json_t *ref = NULL;
    int status = 0;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        s_usage(stdout);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "rlsched bench: which benchmark? (sim, train, agent, python, sweep or explain; rlsched bench --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "train") == 0)
        return rls_cli_exec_trainer("bench-train", argc - 1, argv + 1);
    if (strcmp(argv[1], "agent") == 0)
        return rls_cli_exec_trainer("bench-agent", argc - 1, argv + 1);
    if (strcmp(argv[1], "python") == 0)
        return s_bench_python(argc - 1, argv + 1);
    if (strcmp(argv[1], "sweep") == 0)
        return rls_bench_sweep(argc - 1, argv + 1);
    if (strcmp(argv[1], "explain") == 0)
        return rls_bench_explain(argc - 1, argv + 1);
    if (strcmp(argv[1], "sim") != 0) {
        fprintf(stderr, "rlsched bench: unknown benchmark '%s' (sim, train, agent, python, sweep or explain; rlsched bench --help)\n",
                argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--verify") == 0)
            verify = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "rlsched bench sim: unknown option '%s' (rlsched bench --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (verify)
        return s_verify();
    plan = quick ? &s_quick_plan : &s_full_plan;

    int cpu = s_pin_to_current_cpu();
    s_cpu_model(cpu_model, sizeof cpu_model);
    char pin_note[128];
    if (cpu >= 0)
        snprintf(pin_note, sizeof pin_note, "pinned to CPU %d (one core)", cpu);
    else
        snprintf(pin_note, sizeof pin_note, "NOT pinned (sched_setaffinity failed)");
    if (json)
        fprintf(stderr, "rlsched bench sim: %s, %s, %ld CPUs online%s\n", pin_note, cpu_model,
                sysconf(_SC_NPROCESSORS_ONLN), quick ? ", quick" : "");
    else
        printf("rlsched bench sim: %s; %s; %ld CPUs online; %s; best of %d x >= %g s\n\n"
               "%-34s %12s %-16s %-34s %12s %8s\n",
               pin_note, cpu_model, sysconf(_SC_NPROCESSORS_ONLN), quick ? "quick" : "full",
               (int)plan->repeats, plan->min_time_s, "name", "value", "unit", "baseline_name",
               "baseline", "ratio");

    /* warm-up: page in the code and the allocator's arenas so the first
     * measured run's RSS growth is the simulator's, not the process's */
    struct s_plan warm = {0.0, 1, {0}};
    if (s_run_sim(S_MAIN_SERVICES, &warm, &main_fig, msg, sizeof msg) != RLS_OK) {
        fprintf(stderr, "rlsched bench sim: %s\n", msg);
        status = 1;
        goto done;
    }

    /* 1. the simulator against numpy, 100 services */
    if (s_run_sim(S_MAIN_SERVICES, plan, &main_fig, msg, sizeof msg) != RLS_OK) {
        fprintf(stderr, "rlsched bench sim: %s\n", msg);
        status = 1;
        goto done;
    }
    snprintf(args, sizeof args, "--services %d --min-time %g --repeat %d", S_MAIN_SERVICES,
             plan->min_time_s, (int)plan->repeats);
    ref = s_run_numpy(args, msg, sizeof msg);
    if (ref) {
        json_t *v = json_object_get(ref, "service_steps_per_s");
        if (json_is_number(v) && json_number_value(v) > 0.0)
            numpy_rate = json_number_value(v);
        else
            fprintf(stderr, "rlsched bench sim: note: sim_ref.py gave no service_steps_per_s\n");
    } else {
        fprintf(stderr, "rlsched bench sim: note: numpy baseline unavailable: %s\n", msg);
    }
    s_emit(json, "sim_service_steps_per_s", main_fig.service_steps_per_s, "service-steps/s",
           "numpy_service_steps_per_s", numpy_rate);

    /* 2. the environment API, 1 service */
    double env_rate = 0.0;
    if (s_run_env(plan, &env_rate, msg, sizeof msg) != RLS_OK) {
        fprintf(stderr, "rlsched bench sim: %s\n", msg);
        status = 1;
        goto done;
    }
    double numpy_rate_1 = NAN;
    json_decref(ref);
    snprintf(args, sizeof args, "--services 1 --min-time %g --repeat %d", plan->min_time_s,
             (int)plan->repeats);
    ref = s_run_numpy(args, msg, sizeof msg);
    if (ref) {
        json_t *v = json_object_get(ref, "service_steps_per_s");
        if (json_is_number(v) && json_number_value(v) > 0.0)
            numpy_rate_1 = json_number_value(v);
        else
            fprintf(stderr, "rlsched bench sim: note: sim_ref.py gave no service_steps_per_s (1 service)\n");
    } else {
        fprintf(stderr, "rlsched bench sim: note: numpy baseline unavailable (1 service): %s\n", msg);
    }
    s_emit_ref(json, "env_steps_per_s", env_rate, "steps/s", "numpy_service_steps_per_s_1", numpy_rate_1,
               "cloudsim_plus_gym_steps_per_s", S_CLOUDSIM_GYM_STEPS_PER_S);

    /* 3. growth with size; the 100-service run is the reference */
    int ref_k = -1;
    for (int k = 0; k < S_N_SIZES; k++) {
        if (plan->sizes[k] == S_MAIN_SERVICES) {
            figs[k] = main_fig;
            ref_k = k;
        } else if (s_run_sim(plan->sizes[k], plan, &figs[k], msg, sizeof msg) != RLS_OK) {
            fprintf(stderr, "rlsched bench sim: %s\n", msg);
            status = 1;
            goto done;
        }
    }
    for (int k = 0; k < S_N_SIZES; k++) {
        snprintf(name, sizeof name, "sim_service_steps_per_s_%d", (int)plan->sizes[k]);
        snprintf(base_name, sizeof base_name, "sim_service_steps_per_s_%d", S_MAIN_SERVICES);
        s_emit(json, name, figs[k].service_steps_per_s, "service-steps/s", base_name,
               figs[ref_k].service_steps_per_s);
    }
    for (int k = 0; k < S_N_SIZES; k++) {
        double n = (double)plan->sizes[k];
        snprintf(name, sizeof name, "memory_bytes_per_service_%d", (int)plan->sizes[k]);
        snprintf(base_name, sizeof base_name, "memory_bytes_per_service_%d", S_MAIN_SERVICES);
        s_emit(json, name, figs[k].mem_bytes / n, "bytes/service", base_name,
               figs[ref_k].mem_bytes / S_MAIN_SERVICES);
    }
    for (int k = 0; k < S_N_SIZES; k++) {
        double n = (double)plan->sizes[k];
        snprintf(name, sizeof name, "rss_bytes_per_service_%d", (int)plan->sizes[k]);
        snprintf(base_name, sizeof base_name, "rss_bytes_per_service_%d", S_MAIN_SERVICES);
        s_emit(json, name, figs[k].rss_bytes / n, "bytes/service", base_name,
               figs[ref_k].rss_bytes / S_MAIN_SERVICES);
    }
done:
    json_decref(ref);
    return status;
}
