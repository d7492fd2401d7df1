/* side.c - the cluster side shared by the local and the HAProxy cluster
 * (side.h): the description, the session, the step's state, the loop, the
 * counters, and the clock and process helpers. Library code: never prints,
 * never exits (a forked child that cannot exec calls _exit).
 */
#include "side.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../env/quantile.h"
#include "local.h"

#ifndef RLS_VERSION
#define RLS_VERSION "0"
#endif

#define S_POLL_MS 10            /* longest wait in the loop */
#define S_AGENT_BURST 16        /* agent messages handled before looking at the others */
#define S_LAT_MAX 1000000       /* latencies kept per service and step (more are not sampled) */

/* ---------------------------------------------------------------------------
 * Clocks and processes. */

int64_t rls__side_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t rls__side_spin(int64_t end_ns, uint64_t x)
{
    while (rls__side_now_ns() < end_ns)
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

pid_t rls__side_spawn(char *const argv[], int keep, int keep2, int quiet, const char *out_path)
{
    pid_t parent = getpid();
    int out = -1, in = -1;
    pid_t pid;

    if (quiet) {
        out = open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || in < 0) {
            if (out >= 0)
                close(out);
            if (in >= 0)
                close(in);
            return -1;
        }
    }
    pid = fork();
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec */
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (quiet) {
            dup2(in, 0);
            dup2(out, 1);
            dup2(out, 2);
        }
        if (keep >= 0)
            fcntl(keep, F_SETFD, 0);
        if (keep2 >= 0)
            fcntl(keep2, F_SETFD, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (quiet) {
        int e = errno;
        close(out);
        close(in);
        errno = e;
    }
    return pid;
}

int rls__side_wait_exit(pid_t pid, int ms)
{
    int status;
    for (int t = 0; t <= ms; t += 5) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    return 0;
}

void rls__side_stop_pids(const pid_t *pids, int32_t n, int grace_ms)
{
    int64_t end = rls__side_now_ns() + (int64_t)grace_ms * 1000000;

    for (int32_t i = 0; i < n; i++)
        kill(pids[i], SIGTERM);
    for (int32_t i = 0; i < n; i++) {
        int64_t left = end - rls__side_now_ns();
        if (!rls__side_wait_exit(pids[i], left > 0 ? (int)(left / 1000000) : 0)) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
}

void rls__side_stop_pid(pid_t pid, int ms)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    if (!rls__side_wait_exit(pid, ms)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* ---------------------------------------------------------------------------
 * Measurements. */

int rls__side_fail(struct rls__side *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

void rls__side_arrived(struct rls__side *s, int32_t svc)
{
    s->svc[svc].arrivals++;
    atomic_fetch_add(&s->requests, 1);
}

void rls__side_served(struct rls__side *s, int32_t svc, double latency_ms, double busy_s)
{
    struct rls__side_svc *v = &s->svc[svc];

    v->served++;
    atomic_fetch_add(&s->served, 1);
    if (latency_ms > v->slo_ms)
        v->over_slo++;
    if (busy_s >= 0.0)
        v->busy_s += busy_s;
    if (v->nlat >= S_LAT_MAX)
        return;
    if (v->nlat == v->caplat) {
        int32_t cap = v->caplat > 0 ? v->caplat * 2 : 1024;
        double *nl = realloc(v->lat, (size_t)cap * sizeof *nl);
        if (nl != NULL) {
            v->lat = nl;
            v->caplat = cap;
        }
    }
    if (v->nlat < v->caplat)
        v->lat[v->nlat++] = latency_ms;
}

void rls__side_dropped(struct rls__side *s, int32_t svc)
{
    s->svc[svc].dropped++;
    atomic_fetch_add(&s->dropped, 1);
}

void rls__side_killed(struct rls__side *s, int32_t svc)
{
    s->svc[svc].killed++;
    atomic_fetch_add(&s->crashed, 1);
}

double rls__side_ready_s(const struct rls__side *s, int64_t ready_ns, int64_t now_ns)
{
    double from = (double)(ready_ns > s->step_start_ns ? ready_ns : s->step_start_ns);
    return ((double)now_ns - from) / 1e9;
}

void rls__side_set_counts(struct rls__side *s, int32_t workers, int32_t ready)
{
    atomic_store(&s->n_workers, workers);
    atomic_store(&s->n_ready, ready);
}

struct rls__side_stats rls__side_stats(const struct rls__side *s)
{
    struct rls__side_stats st;
    struct rls_cluster_session_stats ss;
    struct rls__side *m = (struct rls__side *)s;     /* atomics: loads only */

    memset(&st, 0, sizeof st);
    if (s == NULL)
        return st;
    ss = rls_cluster_session_stats(s->ss);
    st.steps = atomic_load(&m->steps);
    st.states = ss.states;
    st.actions = ss.actions;
    st.missed = atomic_load(&m->missed);
    st.refused = ss.refused;
    st.agents = ss.agents;
    st.leases = ss.leases;
    st.takeovers = ss.takeovers;
    st.lease_refused = ss.lease_refused;
    st.spawned = atomic_load(&m->spawned);
    st.stopped = atomic_load(&m->stopped);
    st.crashed = atomic_load(&m->crashed);
    st.requests = atomic_load(&m->requests);
    st.served = atomic_load(&m->served);
    st.dropped = atomic_load(&m->dropped);
    st.workers = atomic_load(&m->n_workers);
    st.ready = atomic_load(&m->n_ready);
    return st;
}

/* ---------------------------------------------------------------------------
 * The step and the agent. */

/* Makes the step's measurements the state in force and starts a new step. */
static void s_take_state(struct rls__side *s, int64_t now)
{
    double dt = (double)(now - s->step_start_ns) / 1e9;
    struct rls_step_info *in = &s->info;
    double cpu = 0.0, mem = 0.0;
    int32_t replicas = 0;

    if (dt <= 0.0)
        dt = 1e-9;
    memset(in, 0, sizeof *in);
    in->step = atomic_load(&s->steps);
    in->time_s = (double)(now - s->start_ns) / 1e9;
    in->cost_usd = s->desc->pools[0].price_per_hour * dt / 3600.0;
    in->nodes_on = 1;
    for (int32_t i = 0; i < s->sc->n_services; i++) {
        struct rls__side_svc *v = &s->svc[i];
        struct rls_svc_state *o = &s->st[i];
        const struct rls_service_spec *sp = &s->desc->services[i];
        struct rls__side_count n = { 0, 0, 0.0, 0.0 };

        s->p.ops.count(s->p.ops.ctx, i, now, &n);
        memset(o, 0, sizeof *o);
        o->arrival_rps = (double)v->arrivals / dt;
        o->served_rps = (double)v->served / dt;
        o->dropped_rps = (double)v->dropped / dt;
        o->backlog = n.backlog;
        if (n.ready_s > 0.0)
            o->utilization = v->busy_s / n.ready_s > 1.0 ? 1.0 : v->busy_s / n.ready_s;
        else
            o->utilization = v->arrivals > 0 ? 1.0 : 0.0;
        o->frac_over_slo = v->served > 0 ? (double)v->over_slo / (double)v->served : 0.0;
        o->ready = n.ready;
        o->starting = n.starting;
        o->desired = v->desired;
        o->pending = v->desired > n.ready + n.starting ? v->desired - n.ready - n.starting : 0;
        o->change = v->desired - v->prev_desired;
        o->killed = v->killed;
        rls_quantile_sort(v->lat, v->nlat);
        s->lat_q[i * 3 + 0] = rls_quantile_nearest_rank(v->lat, v->nlat, 0.50);
        s->lat_q[i * 3 + 1] = rls_quantile_nearest_rank(v->lat, v->nlat, 0.95);
        s->lat_q[i * 3 + 2] = rls_quantile_nearest_rank(v->lat, v->nlat, 0.99);

        in->replica_seconds += (double)(n.ready + n.starting) * dt;
        in->arrivals += (double)v->arrivals;
        in->served += (double)v->served;
        in->dropped += (double)v->dropped;
        in->over_slo += (double)v->over_slo;
        in->churn += fabs((double)o->change) / (double)sp->max_replicas;
        cpu += (double)(n.ready + n.starting) * sp->cpu;
        mem += (double)(n.ready + n.starting) * sp->mem_gb;
        replicas += n.ready + n.starting;

        v->prev_desired = v->desired;
        v->arrivals = v->served = v->dropped = v->over_slo = 0;
        v->killed = 0;
        v->busy_s = 0.0;
        v->nlat = 0;
    }
    s->node.pool = 0;
    s->node.status = RLS_NODE_ON;
    s->node.timer_s = 0.0;
    s->node.cpu_used = cpu;
    s->node.mem_used = mem;
    s->node.replicas = replicas;
    s->step_start_ns = now;
}

/* ops.send_state: the measured state in force, to the agent. */
static void s_send_state(void *ctx)
{
    struct rls__side *s = ctx;
    struct rls_proto_state st;

    memset(&st, 0, sizeof st);
    st.info = s->info;
    st.n_services = s->sc->n_services;
    st.services = s->st;
    st.has_dist = 0;
    st.latency_ms = s->lat_q;
    st.n_nodes = 1;
    st.nodes = &s->node;
    rls_cluster_session_send_state(s->ss, &st);
}

/* ops.apply_actions: the desired replicas (clamped); replicas start or stop
 * now, not at the next step. Placement means nothing on one machine. */
static void s_apply_actions(void *ctx, const int32_t *desired, const uint8_t *placement)
{
    struct rls__side *s = ctx;

    (void)placement;
    for (int32_t i = 0; i < s->sc->n_services; i++)
        s->svc[i].desired = desired[i];
    rls__side_reconcile(s, rls__side_now_ns());
}

void rls__side_reconcile(struct rls__side *s, int64_t now_ns)
{
    const struct rls__side_ops *o = &s->p.ops;

    for (int32_t i = 0; i < s->sc->n_services; i++) {
        int32_t live = o->live(o->ctx, i);
        while (live > s->svc[i].desired) {
            o->stop_one(o->ctx, i, now_ns);
            live--;
        }
        while (live < s->svc[i].desired && o->spawn(o->ctx, i) == RLS_OK)
            live++;
    }
}

/* A progress line: each service's replicas, rates, p95 and backlog. */
static void s_log_step(struct rls__side *s, int64_t steps)
{
    char line[512];
    size_t n = 0;

    line[0] = '\0';
    for (int32_t i = 0; i < s->sc->n_services && n < sizeof line - 64; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s %d+%d/%d %.0f/%.0f/%.0f rps p95 %.1f ms q %.0f",
                              i ? "; " : "", s->sc->services[i].name, s->st[i].ready, s->st[i].starting,
                              s->st[i].desired, s->st[i].arrival_rps, s->st[i].served_rps, s->st[i].dropped_rps,
                              s->lat_q[i * 3 + 1], s->st[i].backlog);
    rls_logf(s->p.log, s->p.log_ctx, "step %lld: %s (ready+starting/desired, arrived/served/%s)", (long long)steps,
             line, s->p.dropped_word);
}

static void s_step(struct rls__side *s, int64_t now)
{
    if (s->p.ops.step_begin != NULL)
        s->p.ops.step_begin(s->p.ops.ctx);
    if (!rls_cluster_session_answered(s->ss))
        atomic_fetch_add(&s->missed, 1);
    s_take_state(s, now);
    int64_t steps = atomic_fetch_add(&s->steps, 1) + 1;
    rls_cluster_session_new_state(s->ss);
    s_send_state(s);
    if (s->p.ops.step_end != NULL)
        s->p.ops.step_end(s->p.ops.ctx);
    if (s->p.log_every > 0 && steps % s->p.log_every == 0)
        s_log_step(s, steps);
}

/* ---------------------------------------------------------------------------
 * Life cycle. */

int rls__side_init(struct rls__side *s, const struct rls__side_params *p, struct rls_err *err)
{
    int32_t ns;

    s->p = *p;
    s->p.scenario = NULL;
    s->p.worker_exe = NULL;
    s->sc = rls_scenario_copy(p->scenario);
    if (s->sc == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", p->who);
    s->desc = rls_cluster_describe(p->scenario, p->step_s, p->time_scale, p->work_scale, p->concurrency,
                                   p->max_workers, p->pool, err);
    if (s->desc == NULL)
        return err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_NOMEM;
    if (p->worker_exe != NULL) {
        snprintf(s->exe, sizeof s->exe, "%s", p->worker_exe);
    } else {
        ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
        if (n <= 0)
            return rls_err_set(err, RLS_ERR_IO, "%s: /proc/self/exe: %s", p->who, strerror(errno));
        s->exe[n] = '\0';
    }
    if (access(s->exe, X_OK) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: worker executable %s: %s", p->who, s->exe, strerror(errno));
    ns = s->sc->n_services;
    s->svc = calloc((size_t)ns, sizeof *s->svc);
    s->st = calloc((size_t)ns, sizeof *s->st);
    s->lat_q = calloc((size_t)ns * 3, sizeof *s->lat_q);
    if (s->svc == NULL || s->st == NULL || s->lat_q == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", p->who);
    for (int32_t i = 0; i < ns; i++) {
        const struct rls_service_spec *sp = &s->sc->services[i];
        struct rls__side_svc *v = &s->svc[i];
        v->mean_ms = s->desc->services[i].service_time_ms;
        v->cold_s = s->desc->services[i].cold_start_s;
        v->slo_ms = s->desc->services[i].slo_ms;
        v->desired = sp->initial_replicas > 0 ? sp->initial_replicas : sp->min_replicas;
        v->prev_desired = v->desired;
    }
    return RLS_OK;
}

int rls__side_open(struct rls__side *s, const char *endpoint, const struct rls_transport_params *tp,
                   struct rls_err *err)
{
    struct rls_cluster_session_params sp = rls_cluster_session_default_params();
    char software[RLS_NAME_MAX];

    snprintf(software, sizeof software, "rlsched " RLS_VERSION " (%s)", s->p.label);
    sp.cluster = s->desc;
    sp.software = software;
    sp.heartbeat_ms = s->p.heartbeat_ms;
    sp.lease_ms = s->p.lease_ms;
    sp.log = s->p.log;
    sp.log_ctx = s->p.log_ctx;
    sp.ops.send_state = s_send_state;
    sp.ops.apply_actions = s_apply_actions;
    sp.ops.reset = NULL;        /* a real cluster has no episodes: refused */
    sp.ops.ctx = s;
    sp.transport = *tp;
    s->ss = rls_cluster_session_new(endpoint, &sp, err);
    if (s->ss == NULL)
        return err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_IO;
    return RLS_OK;
}

void rls__side_start(struct rls__side *s)
{
    s->start_ns = s->step_start_ns = rls__side_now_ns();
    rls__side_reconcile(s, s->start_ns);
    s_take_state(s, s->start_ns);       /* the state in force before the first step: zeros */
    for (int32_t i = 0; i < s->sc->n_services; i++)
        s->st[i].change = 0;
}

void rls__side_fini(struct rls__side *s)
{
    if (s == NULL)
        return;
    rls_cluster_session_destroy(&s->ss);     /* before desc: it borrows it */
    if (s->svc != NULL && s->sc != NULL)
        for (int32_t i = 0; i < s->sc->n_services; i++)
            free(s->svc[i].lat);
    free(s->svc);
    s->svc = NULL;
    rls_scenario_destroy(&s->sc);
    rls_scenario_destroy(&s->desc);
    free(s->st);
    s->st = NULL;
    free(s->lat_q);
    s->lat_q = NULL;
}

void rls__side_stop(struct rls__side *s)
{
    if (s != NULL)
        atomic_store(&s->stop, 1);
}

int rls__side_run(struct rls__side *s)
{
    int64_t period_ns = (int64_t)(s->p.step_s * 1e9);
    int64_t next_step_ns = s->step_start_ns + period_ns;
    int64_t next_house_ns = rls__side_now_ns();
    int rc = RLS_OK;

    while (!atomic_load(&s->stop)) {
        int64_t now = rls__side_now_ns();
        int wait_ms = S_POLL_MS;

        if (s->p.max_steps > 0 && atomic_load(&s->steps) >= s->p.max_steps)
            break;
        if (next_step_ns - now < (int64_t)wait_ms * 1000000)
            wait_ms = next_step_ns > now ? (int)((next_step_ns - now) / 1000000) : 0;
        rc = s->p.ops.wait(s->p.ops.ctx, wait_ms);
        if (rc != RLS_OK)
            break;
        for (int k = 0; k < S_AGENT_BURST; k++) {
            int got = rls_cluster_session_poll(s->ss, 0);
            if (got == 0)
                break;
            if (got < 0)
                return rls__side_fail(s, got, "%s", rls_cluster_session_errmsg(s->ss));
        }
        now = rls__side_now_ns();
        if (now >= next_house_ns) {
            rc = s->p.ops.housekeep(s->p.ops.ctx, now);
            if (rc != RLS_OK)
                break;
            next_house_ns = now + s->p.housekeep_ns;
        }
        if (now >= next_step_ns) {
            s_step(s, now);
            next_step_ns += period_ns;
            if (next_step_ns < now - 1000000000)    /* far behind: do not race to catch up */
                next_step_ns = now + period_ns;
        }
        rls_cluster_session_heartbeat(s->ss);
    }
    return rc;
}
