/* test_cluster.c - the local process cluster (cluster/local.h) as real
 * processes: `rlsched cluster local` started from the build tree, this test
 * acting as the agent over the wire protocol (env/transport.h) and
 * `rlsched load` sending real open-loop requests. It proves that scaling a
 * service out lowers its measured p95 and raises its throughput under load,
 * that a new worker serves only after its start-up delay, that a full queue
 * drops requests and reports them, that scale-down and SIGTERM leave no
 * process behind (children counted in /proc), that a worker that dies unasked
 * is counted and replaced, that a killed gateway takes its workers with it, and that the protocol side behaves as the served
 * simulator's does. The load balancer's choice is tested on its own (the
 * source is included to reach it).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "../cluster/local.c"   /* the statics: s_pick */
#include "env/protocol.h"
#include "env/transport.h"
#include "rls_test_keys.h"

static struct rls_test_keys g_keys;     /* the control channel's keys (s_setup) */

#define N_SVC 2     /* api, batch */

static char s_dir[256];
static char s_bin[512];

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int s_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Two services: api (10 ms, 100 rps a worker, queue 100) and batch; cold
 * starts of 20 s that --time-scale shrinks. */
static void s_write_scenario(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: two\nstep_s: 15\nhorizon_steps: 100\n"
          "pools:\n  - {name: general, count: 2, cpu: 8, mem_gb: 32, price_per_hour: 0.40}\n"
          "tenants:\n  - {name: shop, weight: 2, guaranteed_replicas: 1}\n"
          "  - {name: lab, weight: 1, guaranteed_replicas: 1}\n"
          "services:\n"
          "  - {name: api, tenant: shop, capacity_rps: 100, service_time_ms: 10, cpu: 1, mem_gb: 1,\n"
          "     cold_start_s: 20, min_replicas: 1, max_replicas: 3, initial_replicas: 1, slo_ms: 50,\n"
          "     slo_percentile: 0.95, queue_limit: 100, load: {kind: const, peak_rps: 50}}\n"
          "  - {name: batch, tenant: lab, capacity_rps: 50, service_time_ms: 20, cpu: 1, mem_gb: 1,\n"
          "     cold_start_s: 20, min_replicas: 1, max_replicas: 2, initial_replicas: 1, slo_ms: 100,\n"
          "     slo_percentile: 0.95, queue_limit: 50, load: {kind: const, peak_rps: 10}}\n",
          f);
    fclose(f);
}

/* fork + exec of argv with stdout to out_path and stderr to err_path (NULL: keep). */
static pid_t s_run(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* a failed test leaves no gateway running */
        if (out_path != NULL) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0)
                dup2(fd, 1);
        }
        if (err_path != NULL) {
            int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
                dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to ms for pid to exit; returns its exit status, or -1 (still running). */
static int s_wait(pid_t pid, int ms)
{
    int64_t end = s_ms() + ms;
    int status = 0;
    do {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        s_sleep_ms(10);
    } while (s_ms() < end);
    return -1;
}

/* The live (not zombie) children of ppid, from /proc/PID/stat. */
static int s_children(pid_t ppid, pid_t *out, int cap)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], line[1024];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = '\0';
        char *rp = strrchr(line, ')');
        char state = 0;
        int pp = 0;
        if (rp == NULL || sscanf(rp + 1, " %c %d", &state, &pp) != 2)
            continue;
        if (pp == (int)ppid && state != 'Z') {
            if (n < cap)
                out[n] = (pid_t)atoi(e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* 1 when pid runs (exists and is not a zombie). */
static int s_alive(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t len = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[len] = '\0';
    char *rp = strrchr(line, ')');
    return rp != NULL && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* ---------------------------------------------------------------------------
 * A cluster process and this test as its agent. */

struct s_fixture {
    pid_t gw;                   /* the gateway process */
    int port, req_port;
    char req_ep[64];
    struct rls_transport *agent;
    struct rls_proto_msg hello; /* the cluster's hello */
    struct rls_proto_msg st;    /* the last state */
    int64_t st_ms;              /* when it came */
    int32_t desired[N_SVC];
    char log[300];
};

/* Starts `rlsched cluster local` with step step_s and time scale ts, connects
 * as agent and takes the hello and the first state. */
static void s_start(struct s_fixture *fx, const char *step_s, const char *ts, const char *grace_ms)
{
    char scen[300], bind[64];
    struct rls_err err = { 0 };
    struct rls_proto_msg m;

    memset(fx, 0, sizeof *fx);
    snprintf(scen, sizeof scen, "%s/two.yaml", s_dir);
    s_write_scenario(scen);
    snprintf(fx->log, sizeof fx->log, "%s/cluster.log", s_dir);
    fx->port = s_free_port();
    fx->req_port = s_free_port();
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", fx->port);
    snprintf(fx->req_ep, sizeof fx->req_ep, "tcp://127.0.0.1:%d", fx->req_port);
    char *argv[] = { s_bin, "cluster", "local", "--bind", bind, "--requests", fx->req_ep, "--scenario", scen,
                     "--step", (char *)step_s, "--time-scale", (char *)ts, "--cpu-fraction", "0.2",
                     "--max-workers", "6", "--grace", (char *)grace_ms, "--heartbeat", "200",
                     "--log-every", "1", "--curve-secret", g_keys.srv_sec, "--curve-allow", g_keys.allow,
                     NULL };
    struct rls_transport_params tp = rls_transport_default_params();
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &tp);
    fx->gw = s_run(argv, NULL, fx->log);
    fx->agent = rls_transport_client_new(bind, &tp, &err);
    if (fx->agent == NULL)
        fail_msg("client: %s", err.msg);
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_HELLO;
    snprintf(m.hello.role, sizeof m.hello.role, "agent");
    int64_t end = s_ms() + 10000;
    int got = 0;
    /* ZMQ_IMMEDIATE: the hello is refused until the gateway listens */
    while (s_ms() < end && rls_transport_send_msg(fx->agent, NULL, &m, 200) != RLS_OK)
        s_sleep_ms(50);
    while (s_ms() < end && !got) {
        int r = rls_transport_recv_msg(fx->agent, NULL, &fx->hello, 500, &err);
        got = r == 1 && fx->hello.type == RLS_PROTO_HELLO;
    }
    if (!got)
        fail_msg("no hello from the cluster (log %s)", fx->log);
    assert_non_null(fx->hello.hello.cluster);
    assert_int_equal(fx->hello.hello.cluster->n_services, N_SVC);
    fx->desired[0] = 1;
    fx->desired[1] = 1;
}

/* Takes the next state (acks and heartbeats skipped); fails after 5 s. */
static void s_next_state(struct s_fixture *fx)
{
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    int64_t end = s_ms() + 5000;
    while (s_ms() < end) {
        int r = rls_transport_recv_msg(fx->agent, NULL, &m, 200, &err);
        if (r == 1 && m.type == RLS_PROTO_STATE) {
            rls_proto_msg_clear(&fx->st);
            fx->st = m;
            fx->st_ms = s_ms();
            return;
        }
        if (r == 1)
            rls_proto_msg_clear(&m);
    }
    fail_msg("no state within 5 s (log %s)", fx->log);
}

/* Answers the state in force with fx->desired. */
static void s_act(struct s_fixture *fx)
{
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACTIONS;
    m.seq = fx->st.seq;
    m.re = fx->st.seq;
    m.actions.n_services = N_SVC;
    m.actions.desired = fx->desired;
    assert_int_equal(rls_transport_send_msg(fx->agent, NULL, &m, 1000), RLS_OK);
}

/* Next state, then answer it. */
static void s_tick(struct s_fixture *fx)
{
    s_next_state(fx);
    s_act(fx);
}

/* Steps until api has `ready` ready workers and nothing starting; fails after ms. */
static void s_until_ready(struct s_fixture *fx, int32_t svc, int32_t ready, int ms)
{
    int64_t end = s_ms() + ms;
    do {
        s_tick(fx);
        if (fx->st.state.services[svc].ready == ready && fx->st.state.services[svc].starting == 0)
            return;
    } while (s_ms() < end);
    fail_msg("service %d: %d ready, %d starting after %d ms, wanted %d ready (log %s)", svc,
             fx->st.state.services[svc].ready, fx->st.state.services[svc].starting, ms, ready, fx->log);
}

static void s_stop(struct s_fixture *fx)
{
    if (fx->gw > 0 && s_alive(fx->gw)) {
        kill(fx->gw, SIGTERM);
        if (s_wait(fx->gw, 5000) < 0) {
            kill(fx->gw, SIGKILL);
            s_wait(fx->gw, 2000);
        }
    }
    fx->gw = 0;
    rls_transport_destroy(&fx->agent);
    rls_proto_msg_clear(&fx->hello);
    rls_proto_msg_clear(&fx->st);
}

/* Starts `rlsched load` at rate rps on service for seconds; its summary goes to out. */
static pid_t s_load(const struct s_fixture *fx, const char *rate, const char *service, const char *seconds,
                    const char *out)
{
    char *argv[] = { s_bin, "load", "--connect", (char *)fx->req_ep, "--rate", (char *)rate, "--service",
                     (char *)service, "--duration", (char *)seconds, "--drain", "5", NULL };
    return s_run(argv, out, NULL);
}

/* A key=value from the load summary in file path (-1 when absent). */
static double s_summary(const char *path, const char *key)
{
    char text[1024], pat[64];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1.0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    snprintf(pat, sizeof pat, "%s=", key);
    char *p = strstr(text, pat);
    return p != NULL ? strtod(p + strlen(pat), NULL) : -1.0;
}

/* ---------------------------------------------------------------------------
 * Tests. */

static int s_setup(void **state)
{
    (void)state;
    if (rls_test_keys_make(&g_keys) != 0)
        return -1;
    snprintf(s_dir, sizeof s_dir, "/tmp/rls_test_cluster.XXXXXX");
    if (mkdtemp(s_dir) == NULL)
        return -1;
    snprintf(s_bin, sizeof s_bin, "%s/rlsched", RLS_BINARY_DIR);
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[400];
    (void)state;
    rls_test_keys_remove(&g_keys);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_need_binary(void)
{
    if (access(s_bin, X_OK) != 0)
        skip();     /* the rlsched binary is built with the tests (ctest); not here */
}

static void test_scaling_out_lowers_p95_and_raises_throughput(void **state)
{
    struct s_fixture fx;
    char out[300];
    double p95_1 = 0.0, served_1 = 0.0, p95_3 = 0.0, served_3 = 0.0;
    (void)state;
    s_need_binary();
    snprintf(out, sizeof out, "%s/load1.out", s_dir);
    s_start(&fx, "0.4", "0.01", "300");
    s_next_state(&fx);
    s_until_ready(&fx, 0, 1, 5000);
    /* 150 rps against one 100 rps worker: overloaded */
    pid_t load = s_load(&fx, "150", "api", "8", out);
    for (int k = 0; k < 5; k++)     /* 2 s for the queue to fill */
        s_tick(&fx);
    for (int k = 0; k < 3; k++) {
        s_tick(&fx);
        p95_1 += fx.st.state.latency_ms[0 * 3 + 1] / 3.0;
        served_1 += fx.st.state.services[0].served_rps / 3.0;
        assert_int_equal(fx.st.state.services[0].ready, 1);
    }
    fx.desired[0] = 3;
    s_act(&fx);     /* the state just answered is still in force: the new target replaces it */
    s_next_state(&fx);
    s_act(&fx);
    s_until_ready(&fx, 0, 3, 5000);
    for (int k = 0; k < 3; k++)     /* the backlog drains at 300 - 150 rps */
        s_tick(&fx);
    for (int k = 0; k < 3; k++) {
        s_tick(&fx);
        p95_3 += fx.st.state.latency_ms[0 * 3 + 1] / 3.0;
        served_3 += fx.st.state.services[0].served_rps / 3.0;
        assert_int_equal(fx.st.state.services[0].ready, 3);
    }
    print_message("api p95 %.1f ms -> %.1f ms, served %.1f -> %.1f rps\n", p95_1, p95_3, served_1, served_3);
    assert_true(p95_1 > 0.0 && p95_3 > 0.0);
    assert_true(p95_3 < p95_1 / 2.0);
    assert_true(served_3 > served_1 * 1.2);
    assert_true(s_wait(load, 15000) == 0);
    assert_true(s_summary(out, "ok") > 0);
    s_stop(&fx);
}

static void test_new_worker_serves_only_after_its_startup_delay(void **state)
{
    struct s_fixture fx;
    pid_t kids[16];
    int64_t t0, t_ready = -1;
    (void)state;
    s_need_binary();
    /* time scale 0.05: a 20 s cold start takes 1 s */
    s_start(&fx, "0.2", "0.05", "300");
    s_next_state(&fx);
    s_until_ready(&fx, 0, 1, 6000);
    s_until_ready(&fx, 1, 1, 6000);
    fx.desired[0] = 3;
    s_next_state(&fx);
    t0 = s_ms();
    s_act(&fx);
    while (s_ms() - t0 < 5000) {
        s_tick(&fx);
        const struct rls_svc_state *a = &fx.st.state.services[0];
        assert_int_equal(a->desired, 3);
        if (fx.st_ms - t0 < 800) {
            /* the processes exist but do not serve yet */
            assert_int_equal(a->ready, 1);
            assert_int_equal(a->starting, 2);
            if (fx.st_ms - t0 > 300)
                assert_int_equal(s_children(fx.gw, kids, 16), 4);
        }
        if (a->ready == 3) {
            t_ready = fx.st_ms;
            break;
        }
    }
    print_message("3 ready %lld ms after the action (start-up delay 1000 ms)\n", (long long)(t_ready - t0));
    assert_true(t_ready >= 0);
    assert_true(t_ready - t0 >= 1000);
    s_stop(&fx);
}

static void test_full_queue_drops_requests_and_reports_them(void **state)
{
    struct s_fixture fx;
    char out[300];
    double dropped_state = 0.0, max_backlog = 0.0;
    (void)state;
    s_need_binary();
    snprintf(out, sizeof out, "%s/load2.out", s_dir);
    s_start(&fx, "0.4", "0.01", "300");
    s_next_state(&fx);
    s_until_ready(&fx, 0, 1, 5000);
    /* 250 rps against 100 rps: the queue of 100 fills in under a second */
    pid_t load = s_load(&fx, "250", "api", "3", out);
    for (int k = 0; k < 10; k++) {
        s_tick(&fx);
        dropped_state += fx.st.state.services[0].dropped_rps * 0.4;
        if (fx.st.state.services[0].backlog > max_backlog)
            max_backlog = fx.st.state.services[0].backlog;
    }
    assert_true(s_wait(load, 15000) == 0);
    double sent = s_summary(out, "sent"), ok = s_summary(out, "ok"), dropped = s_summary(out, "dropped");
    print_message("sent %.0f, ok %.0f, dropped %.0f (states: %.0f dropped, backlog up to %.0f)\n", sent, ok,
                  dropped, dropped_state, max_backlog);
    assert_true(dropped > 0.0);
    assert_true(dropped_state > 0.0);
    assert_true(ok + dropped == sent);      /* every request answered, one way or the other */
    assert_true(max_backlog <= 100 + 2);    /* queue_limit + a worker's outstanding beyond one */
    assert_true(max_backlog >= 50);
    s_stop(&fx);
}

static void test_scale_down_kills_worker_processes(void **state)
{
    struct s_fixture fx;
    pid_t kids[16], after[16];
    int n, m, gone = 0;
    (void)state;
    s_need_binary();
    s_start(&fx, "0.2", "0.01", "300");
    s_next_state(&fx);
    fx.desired[0] = 3;
    fx.desired[1] = 2;
    s_act(&fx);
    s_until_ready(&fx, 0, 3, 6000);
    s_until_ready(&fx, 1, 2, 6000);
    n = s_children(fx.gw, kids, 16);
    assert_int_equal(n, 5);
    fx.desired[0] = 1;
    fx.desired[1] = 1;
    int64_t end = s_ms() + 4000;
    do {
        s_tick(&fx);
        m = s_children(fx.gw, after, 16);
    } while (m != 2 && s_ms() < end);
    assert_int_equal(m, 2);
    assert_int_equal(fx.st.state.services[0].ready, 1);
    assert_int_equal(fx.st.state.services[1].ready, 1);
    for (int i = 0; i < n; i++)
        gone += !s_alive(kids[i]);
    assert_int_equal(gone, 3);      /* stopped and reaped, not zombies */
    s_stop(&fx);
}

static void test_crashed_worker_is_counted_and_replaced(void **state)
{
    struct s_fixture fx;
    pid_t kids[16], now[16];
    int killed = 0;
    (void)state;
    s_need_binary();
    s_start(&fx, "0.2", "0.01", "300");
    s_next_state(&fx);
    s_until_ready(&fx, 0, 1, 6000);
    s_until_ready(&fx, 1, 1, 6000);
    assert_int_equal(s_children(fx.gw, kids, 16), 2);
    kill(kids[0], SIGKILL);
    int64_t end = s_ms() + 4000;
    do {
        s_tick(&fx);
        killed += fx.st.state.services[0].killed + fx.st.state.services[1].killed;
    } while ((killed == 0 || fx.st.state.services[0].ready != 1 || fx.st.state.services[1].ready != 1) &&
             s_ms() < end);
    assert_int_equal(killed, 1);
    assert_int_equal(fx.st.state.services[0].ready, 1);
    assert_int_equal(fx.st.state.services[1].ready, 1);
    assert_int_equal(s_children(fx.gw, now, 16), 2);
    assert_true(now[0] != kids[0] && now[1] != kids[0]);    /* a new process took its place */
    s_stop(&fx);
}

static void test_sigterm_and_sigkill_leave_no_process_behind(void **state)
{
    struct s_fixture fx;
    pid_t kids[16];
    int n;
    (void)state;
    s_need_binary();
    /* SIGTERM: the gateway stops its workers, reaps them, exits 0 */
    s_start(&fx, "0.2", "0.01", "300");
    s_next_state(&fx);
    fx.desired[0] = 3;
    fx.desired[1] = 2;
    s_act(&fx);
    s_until_ready(&fx, 0, 3, 6000);
    n = s_children(fx.gw, kids, 16);
    assert_true(n >= 4);
    kill(fx.gw, SIGTERM);
    assert_int_equal(s_wait(fx.gw, 4000), 0);
    fx.gw = 0;
    for (int i = 0; i < n && i < 16; i++)
        assert_false(s_alive(kids[i]));
    s_stop(&fx);

    /* SIGKILL: the workers die with it (PR_SET_PDEATHSIG) */
    s_start(&fx, "0.2", "0.01", "300");
    s_next_state(&fx);
    s_until_ready(&fx, 0, 1, 6000);
    n = s_children(fx.gw, kids, 16);
    assert_int_equal(n, 2);
    kill(fx.gw, SIGKILL);
    s_wait(fx.gw, 2000);
    fx.gw = 0;
    int64_t end = s_ms() + 3000;
    int alive;
    do {
        alive = 0;
        for (int i = 0; i < n; i++)
            alive += s_alive(kids[i]);
        if (alive)
            s_sleep_ms(20);
    } while (alive && s_ms() < end);
    assert_int_equal(alive, 0);
    s_stop(&fx);
}

static void test_protocol_answers_like_the_served_simulator(void **state)
{
    struct s_fixture fx;
    struct rls_err err = { 0 };
    struct rls_proto_msg m, r = { 0 };
    int32_t wild[N_SVC] = { 99, 0 };
    (void)state;
    s_need_binary();
    s_start(&fx, "0.2", "0.01", "300");
    const struct rls_scenario *d = fx.hello.hello.cluster;
    /* the description is the real cluster: the step, a 0.2 s cold start, 10 ms a request */
    assert_true(d->step_s > 0.19 && d->step_s < 0.21);
    assert_true(d->services[0].cold_start_s > 0.19 && d->services[0].cold_start_s < 0.21);
    assert_true(d->services[0].service_time_ms > 9.9 && d->services[0].service_time_ms < 10.1);
    assert_string_equal(d->services[1].name, "batch");
    s_next_state(&fx);
    assert_int_equal(rls_proto_check_state(&fx.st.state, d, &err), RLS_OK);
    assert_non_null(fx.st.state.latency_ms);
    assert_int_equal(fx.st.state.n_nodes, 1);

    /* out-of-range desired: clamped, and the ack says so */
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACTIONS;
    m.seq = 7;
    m.re = fx.st.seq;
    m.actions.n_services = N_SVC;
    m.actions.desired = wild;
    assert_int_equal(rls_transport_send_msg(fx.agent, NULL, &m, 1000), RLS_OK);
    int64_t end = s_ms() + 3000;
    do
        assert_true(rls_transport_recv_msg(fx.agent, NULL, &r, 500, &err) >= 0);
    while (r.type != RLS_PROTO_ACK && r.type != RLS_PROTO_ERROR && s_ms() < end);
    assert_int_equal(r.type, RLS_PROTO_ACK);
    assert_int_equal(r.re, fx.st.seq);
    assert_non_null(strstr(r.note, "clamped"));
    rls_proto_msg_clear(&r);
    /* the same state answered twice is accepted (it is still in force) or
     * late; a reset is not supported by a real cluster: error -8 */
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_RESET;
    m.seq = 8;
    m.seed = 3;
    assert_int_equal(rls_transport_send_msg(fx.agent, NULL, &m, 1000), RLS_OK);
    end = s_ms() + 3000;
    do
        assert_true(rls_transport_recv_msg(fx.agent, NULL, &r, 500, &err) >= 0);
    while (r.type != RLS_PROTO_ERROR && s_ms() < end);
    assert_int_equal(r.type, RLS_PROTO_ERROR);
    assert_int_equal(r.code, RLS_ERR_UNSUPPORTED);
    assert_int_equal(r.re, 8);
    rls_proto_msg_clear(&r);
    /* the clamped target is in force: desired 3 for api */
    s_next_state(&fx);
    assert_int_equal(fx.st.state.services[0].desired, 3);
    assert_int_equal(fx.st.state.services[1].desired, 1);
    /* actions for a state that was never sent: refused with -5 */
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACTIONS;
    m.seq = 9;
    m.re = fx.st.seq + 100;
    m.actions.n_services = N_SVC;
    m.actions.desired = fx.desired;
    assert_int_equal(rls_transport_send_msg(fx.agent, NULL, &m, 1000), RLS_OK);
    end = s_ms() + 3000;
    do
        assert_true(rls_transport_recv_msg(fx.agent, NULL, &r, 500, &err) >= 0);
    while (r.type != RLS_PROTO_ERROR && s_ms() < end);
    assert_int_equal(r.type, RLS_PROTO_ERROR);
    assert_int_equal(r.code, RLS_ERR_RANGE);
    rls_proto_msg_clear(&r);
    s_stop(&fx);
}

/* The balancer: the ready worker with room and the lowest (outstanding + 1) x
 * ewma latency; starting, draining and full workers get nothing. */
static void test_pick_prefers_the_lowest_expected_wait(void **state)
{
    struct rls_cluster c;
    struct s_worker w[4];
    struct rls_cluster_worker_info info[4];
    (void)state;
    memset(&c, 0, sizeof c);
    memset(w, 0, sizeof w);
    c.p.max_workers = 4;
    c.p.max_outstanding = 2;
    c.w = w;
    for (int k = 0; k < 4; k++) {
        w[k].state = S_READY;
        w[k].service = 0;
        w[k].pid = 100 + k;
    }
    w[0].ewma_ms = 20.0;        /* slow */
    w[1].ewma_ms = 5.0;         /* fast */
    w[2].ewma_ms = 8.0;
    w[3].ewma_ms = 1.0;
    w[3].state = S_STARTING;    /* fastest, but not serving yet */
    assert_ptr_equal(s_pick(&c, 0), &w[1]);
    w[1].nout = 1;              /* 2 x 5 = 10 > 8 */
    assert_ptr_equal(s_pick(&c, 0), &w[2]);
    w[2].nout = 2;              /* full */
    assert_ptr_equal(s_pick(&c, 0), &w[1]);
    w[1].nout = 2;
    assert_ptr_equal(s_pick(&c, 0), &w[0]);
    w[0].state = S_DRAINING;
    assert_null(s_pick(&c, 0));
    assert_null(s_pick(&c, 1));
    /* the reported weights: 1/ewma, normalized over the ready workers */
    w[0].state = S_READY;
    assert_int_equal(rls_cluster_workers(&c, info, 4), 4);
    assert_true(fabs(info[0].weight - (1.0 / 20) / (1.0 / 20 + 1.0 / 5 + 1.0 / 8)) < 1e-12);
    assert_true(info[1].weight > info[2].weight && info[2].weight > info[0].weight);
    assert_true(info[3].weight == 0.0);
}

static void test_request_wire_and_loopback_check(void **state)
{
    uint8_t buf[128];
    struct rls_cluster_reply rep;
    (void)state;
    size_t n = rls_cluster_encode_request(buf, sizeof buf, 0x0102030405060708ULL, "api");
    assert_int_equal(n, 12);
    assert_int_equal(buf[0], 'R');
    assert_int_equal(buf[1], 0x08);     /* little-endian */
    assert_memory_equal(buf + 9, "api", 3);
    assert_int_equal(rls_cluster_encode_request(buf, sizeof buf, 1, ""), 0);
    assert_int_equal(rls_cluster_encode_request(buf, 10, 1, "api"), 0);
    uint8_t r[RLS_CLUSTER_REPLY_BYTES] = { 'A', 7, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x27 };
    assert_int_equal(rls_cluster_decode_reply(r, sizeof r, &rep), RLS_OK);
    assert_int_equal(rep.id, 7);
    assert_int_equal(rep.status, RLS_CLUSTER_DROPPED);
    assert_int_equal(rep.latency_ns, 10000);
    assert_int_equal(rls_cluster_decode_reply(r, sizeof r - 1, &rep), RLS_ERR_PARSE);
    assert_true(rls_cluster_endpoint_is_loopback("tcp://127.0.0.1:5556"));
    assert_true(rls_cluster_endpoint_is_loopback("tcp://127.3.2.1:1"));
    assert_true(rls_cluster_endpoint_is_loopback("tcp://localhost:5556"));
    assert_true(rls_cluster_endpoint_is_loopback("tcp://[::1]:5556"));
    assert_true(rls_cluster_endpoint_is_loopback("ipc:///tmp/x"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://10.0.0.1:5556"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://128.0.0.1:5556"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://*:5556"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://0.0.0.0:5556"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://example.com:80"));
    assert_false(rls_cluster_endpoint_is_loopback("tcp://127.0.0.1"));
    assert_false(rls_cluster_endpoint_is_loopback("udp://127.0.0.1:5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_wire_and_loopback_check),
        cmocka_unit_test(test_pick_prefers_the_lowest_expected_wait),
        cmocka_unit_test(test_protocol_answers_like_the_served_simulator),
        cmocka_unit_test(test_scaling_out_lowers_p95_and_raises_throughput),
        cmocka_unit_test(test_new_worker_serves_only_after_its_startup_delay),
        cmocka_unit_test(test_full_queue_drops_requests_and_reports_them),
        cmocka_unit_test(test_scale_down_kills_worker_processes),
        cmocka_unit_test(test_crashed_worker_is_counted_and_replaced),
        cmocka_unit_test(test_sigterm_and_sigkill_leave_no_process_behind),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
