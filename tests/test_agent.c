/* test_agent.c - the inference agent's control loop (agent/agent.h) against
 * a real cluster built in the test: a ZeroMQ server (env/transport.h) that
 * answers the agent's hello with a scenario and serves the states of a real
 * simulator (env/sim.h) over TCP loopback, applying the actions it gets back.
 * The agent runs in its own thread, as in rlsched-agent. The tests show that
 * replicas follow a rising load, no tenant falls below its guarantee under
 * contention, a silent cluster makes the HPA act and the policy comes back
 * after recovering, a missing or corrupt checkpoint runs the HPA, a bad
 * reload keeps the old policy, the recorded replay file opens and holds the
 * transitions with the training features, bad messages are refused without
 * harm, and the metrics are served over HTTP.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/metrics.h"
#include "env/action_map.h"
#include "env/env.h"
#include "env/features.h"
#include "env/protocol.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "env/transport.h"
#include "rls_test_keys.h"

static struct rls_test_keys g_keys;     /* the control channel's keys (main) */
#include "policies/checkpoint.h"
#include "replay/replay.h"

#define S_CKPT RLS_SOURCE_DIR "/policies/default.h5"

/* ---------------------------------------------------------------------------
 * Scenarios. */

/* One service under a daily load that peaks at 8 h: from midnight it rises
 * steeply for six hours (two-minute steps, no noise). */
static const char s_rising_yaml[] =
    "name: rising\n"
    "step_s: 120\n"
    "horizon_steps: 1000\n"
    "poisson_noise: false\n"
    "pools:\n"
    "  - {name: p, count: 8, min_on: 1, cpu: 8, mem_gb: 32, price_per_hour: 0.4,\n"
    "     boot_s: 30, mtbf_h: 0, repair_s: 600}\n"
    "tenants:\n"
    "  - {name: a, weight: 1, guaranteed_replicas: 0, max_replicas: 0}\n"
    "services:\n"
    "  - name: web\n"
    "    tenant: a\n"
    "    capacity_rps: 50\n"
    "    service_time_ms: 40\n"
    "    cpu: 1\n"
    "    mem_gb: 1\n"
    "    cold_start_s: 20\n"
    "    min_replicas: 1\n"
    "    max_replicas: 40\n"
    "    initial_replicas: 2\n"
    "    slo_ms: 200\n"
    "    slo_percentile: 0.95\n"
    "    queue_limit: 500\n"
    "    load:\n"
    "      kind: synth\n"
    "      peak_rps: 1000\n"
    "      seed: 3\n"
    "      synth: {diurnal_amp: 0.9, peak_hour: 8, weekly_amp: 0, trend_per_day: 0,\n"
    "              noise: 0, flash_per_day: 0, outage_per_day: 0}\n";

/* 8 cores for two tenants whose services all want 20 replicas of 1 core:
 * "big" (weight 3, 2 services, guaranteed 2) and "small" (weight 1, 1
 * service, guaranteed 3). */
static const char s_contention_yaml[] =
    "name: contention\n"
    "step_s: 60\n"
    "horizon_steps: 1000\n"
    "poisson_noise: false\n"
    "pools:\n"
    "  - {name: p, count: 2, min_on: 2, cpu: 4, mem_gb: 16, price_per_hour: 0.4,\n"
    "     boot_s: 30, mtbf_h: 0, repair_s: 600}\n"
    "tenants:\n"
    "  - {name: big, weight: 3, guaranteed_replicas: 2, max_replicas: 0}\n"
    "  - {name: small, weight: 1, guaranteed_replicas: 3, max_replicas: 0}\n"
    "services:\n"
    "  - {name: big1, tenant: big, capacity_rps: 50, service_time_ms: 40, cpu: 1, mem_gb: 1,\n"
    "     cold_start_s: 10, min_replicas: 1, max_replicas: 20, initial_replicas: 1, slo_ms: 200,\n"
    "     slo_percentile: 0.95, queue_limit: 500, load: {kind: const, peak_rps: 1000}}\n"
    "  - {name: big2, tenant: big, capacity_rps: 50, service_time_ms: 40, cpu: 1, mem_gb: 1,\n"
    "     cold_start_s: 10, min_replicas: 1, max_replicas: 20, initial_replicas: 1, slo_ms: 200,\n"
    "     slo_percentile: 0.95, queue_limit: 500, load: {kind: const, peak_rps: 1000}}\n"
    "  - {name: small1, tenant: small, capacity_rps: 50, service_time_ms: 40, cpu: 1, mem_gb: 1,\n"
    "     cold_start_s: 10, min_replicas: 1, max_replicas: 20, initial_replicas: 1, slo_ms: 200,\n"
    "     slo_percentile: 0.95, queue_limit: 500, load: {kind: const, peak_rps: 1000}}\n";

static struct rls_scenario *s_scenario(const char *yaml)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    if (strcmp(yaml, "default") == 0)
        assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    else if (rls_scenario_parse(yaml, strlen(yaml), "test", &sc, &err) != RLS_OK)
        fail_msg("scenario: %s", err.msg);
    return sc;
}

/* ---------------------------------------------------------------------------
 * The in-test cluster: a transport server and a simulator. */

struct s_cl {
    struct rls_transport *srv;
    struct rls_scenario *sc;
    struct rls_sim *sim;
    struct rls_transport_peer peer;
    int have_peer;
    int hellos;             /* hellos received from the agent */
    int64_t tx;
    int64_t ts_offset_ns;   /* added to the states' timestamps */
};

static struct s_cl *s_cl_new(struct rls_scenario *sc)
{
    struct rls_err err = {0};
    struct s_cl *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->sc = sc;
    struct rls_transport_params tp = rls_transport_default_params();
    rls_test_keys_server(&g_keys, &tp);
    c->srv = rls_transport_server_new("tcp://127.0.0.1:*", &tp, &err);
    assert_non_null(c->srv);
    c->sim = rls_sim_new(sc, &err);
    assert_non_null(c->sim);
    assert_int_equal(rls_sim_reset(c->sim, 7), RLS_OK);
    return c;
}

static void s_cl_destroy(struct s_cl **pc)
{
    struct s_cl *c = *pc;
    if (!c)
        return;
    rls_transport_destroy(&c->srv);
    rls_sim_destroy(&c->sim);
    rls_scenario_destroy(&c->sc);
    free(c);
    *pc = NULL;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void s_cl_send_hello(struct s_cl *c)
{
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_HELLO;
    m.seq = ++c->tx;
    m.ts_ns = rls_proto_now_ns();
    snprintf(m.hello.role, sizeof m.hello.role, "cluster");
    snprintf(m.hello.software, sizeof m.hello.software, "test_agent");
    m.hello.cluster = c->sc;
    assert_int_equal(rls_transport_send_msg(c->srv, &c->peer, &m, 2000), RLS_OK);
}

/* Receives one message within timeout_ms into *got, answering a hello.
 * Returns its type, 0 on timeout. */
static int s_cl_pump(struct s_cl *c, int timeout_ms, struct rls_proto_msg *got)
{
    struct rls_err err = {0};
    struct rls_transport_peer from;
    int rc = rls_transport_recv_msg(c->srv, &from, got, timeout_ms, &err);
    if (rc != 1)
        return 0;
    if (got->type == RLS_PROTO_HELLO) {
        c->peer = from;
        c->have_peer = 1;
        c->hellos++;
        s_cl_send_hello(c);
    }
    return got->type;
}

static void s_cl_wait_hello(struct s_cl *c)
{
    struct rls_proto_msg got = {0};
    double end = s_now() + 10.0;
    while (!c->have_peer && s_now() < end)
        s_cl_pump(c, 100, &got);
    rls_proto_msg_clear(&got);
    assert_true(c->have_peer);
}

static void s_cl_send_state(struct s_cl *c)
{
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_STATE;
    m.seq = rls_sim_steps(c->sim);
    m.ts_ns = rls_proto_now_ns() + c->ts_offset_ns;
    m.state.info = *rls_sim_last(c->sim);
    m.state.n_services = rls_sim_n_services(c->sim);
    m.state.services = (struct rls_svc_state *)rls_sim_services(c->sim);
    m.state.has_dist = 1;
    m.state.n_nodes = rls_sim_n_nodes(c->sim);
    /* the simulator can leave a booting node's timer below 0 when boot_s <
     * step_s (env/sim.c), which the protocol refuses: send it as 0 */
    static struct rls_node_state nodes[64];
    assert_true(m.state.n_nodes <= 64);
    memcpy(nodes, rls_sim_nodes(c->sim), (size_t)m.state.n_nodes * sizeof *nodes);
    for (int32_t j = 0; j < m.state.n_nodes; j++)
        if (nodes[j].timer_s < 0)
            nodes[j].timer_s = 0;
    m.state.nodes = nodes;
    int rc = rls_transport_send_msg(c->srv, &c->peer, &m, 2000);
    if (rc != RLS_OK)
        fail_msg("state: %s", rls_transport_errmsg(c->srv));
}

/* Sends the current state and waits for the actions that answer it (desired
 * [S], note may be NULL); then steps the simulator with them. Returns 1 when
 * they came within timeout_ms. */
static int s_cl_exchange(struct s_cl *c, int32_t *desired, char *note, int timeout_ms)
{
    struct rls_proto_msg got = {0};
    int64_t seq = rls_sim_steps(c->sim);
    double end = s_now() + timeout_ms / 1000.0;
    int ok = 0;
    s_cl_send_state(c);
    while (!ok && s_now() < end) {
        int type = s_cl_pump(c, 50, &got);
        if (type == RLS_PROTO_HELLO)
            s_cl_send_state(c);   /* re-handshake: the agent wants the state again */
        else if (type == RLS_PROTO_ACTIONS && got.re == seq) {
            int32_t S = rls_sim_n_services(c->sim);
            assert_int_equal(got.actions.n_services, S);
            memcpy(desired, got.actions.desired, (size_t)S * sizeof *desired);
            if (note)
                snprintf(note, RLS_PROTO_NOTE_MAX, "%s", got.note);
            assert_int_equal(rls_sim_step(c->sim, got.actions.desired, got.actions.placement), RLS_OK);
            ok = 1;
        }
    }
    rls_proto_msg_clear(&got);
    return ok;
}

/* ---------------------------------------------------------------------------
 * The agent in a thread, with its log lines kept. */

struct s_run {
    struct rls_agent *a;
    pthread_t th;
    int rc;
    int started;
    pthread_mutex_t lock;
    char log[65536];
    size_t log_len;
};

static void s_log(void *ctx, int level, const char *line)
{
    struct s_run *r = ctx;
    pthread_mutex_lock(&r->lock);
    int n = snprintf(r->log + r->log_len, sizeof r->log - r->log_len, "%d %s\n", level, line);
    if (n > 0 && r->log_len + (size_t)n < sizeof r->log)
        r->log_len += (size_t)n;
    pthread_mutex_unlock(&r->lock);
    if (getenv("RLS_TEST_VERBOSE"))
        fprintf(stderr, "agent: %d %s\n", level, line);
}

/* 1 when some log line contains s. */
static int s_logged(struct s_run *r, const char *s)
{
    pthread_mutex_lock(&r->lock);
    int found = strstr(r->log, s) != NULL;
    pthread_mutex_unlock(&r->lock);
    return found;
}

static struct rls_agent_params s_params(struct s_run *r, const char *endpoint, const char *policy)
{
    struct rls_agent_params p = rls_agent_default_params();
    p.connect = endpoint;
    p.policy_path = policy;
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &p.transport);
    p.poll_ms = 20;
    p.hello_retry_s = 0.05;
    p.hello_retry_max_s = 0.2;
    p.timeout_s = 30;   /* a broken test ends instead of hanging */
    p.log = s_log;
    p.log_ctx = r;
    return p;
}

static void *s_thread(void *arg)
{
    struct s_run *r = arg;
    r->rc = rls_agent_run(r->a);
    return NULL;
}

static struct s_run *s_run_new(const struct rls_agent_params *p0)
{
    struct rls_err err = {0};
    struct s_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    struct rls_agent_params p = *p0;
    p.log_ctx = r;
    r->a = rls_agent_new(&p, &err);
    if (!r->a)
        fail_msg("rls_agent_new: %s", err.msg);
    return r;
}

static void s_run_start(struct s_run *r)
{
    assert_int_equal(pthread_create(&r->th, NULL, s_thread, r), 0);
    r->started = 1;
}

static int s_run_stop(struct s_run *r)
{
    if (r->started) {
        rls_agent_stop(r->a);
        pthread_join(r->th, NULL);
        r->started = 0;
    }
    return r->rc;
}

static void s_run_destroy(struct s_run **pr)
{
    struct s_run *r = *pr;
    if (!r)
        return;
    s_run_stop(r);
    rls_agent_destroy(&r->a);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *pr = NULL;
}

/* A temporary file path (the file is created empty). */
static void s_tmp(char *path, size_t len, const char *suffix)
{
    snprintf(path, len, "/tmp/rls_test_agent_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    strncat(path, suffix, len - strlen(path) - 1);
}

static void s_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void s_copy(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    s_write(to, buf, (size_t)n);
    free(buf);
}

static int s_have_ckpt(void)
{
    return access(S_CKPT, R_OK) == 0;
}

/* ---------------------------------------------------------------------------
 * Tests. */

static void test_replicas_follow_a_rising_load(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    struct s_cl *c = s_cl_new(s_scenario(s_rising_yaml));
    struct s_run *r = NULL;
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), S_CKPT);
    int32_t desired[1];
    char note[RLS_PROTO_NOTE_MAX];
    enum { N = 180 };   /* six hours of two-minute steps, from midnight */
    static int32_t got[N];
    int policy_notes = 0;

    if (getenv("RLS_TEST_VERBOSE"))
        for (int k = 0; k < N; k += 20)
            fprintf(stderr, "rate %d: %.1f\n", k, rls_sim_rate_at(c->sim, 0, k));
    /* the load really rises over the window */
    assert_true(rls_sim_rate_at(c->sim, 0, N - 1) > 2.5 * rls_sim_rate_at(c->sim, 0, 0));
    r = s_run_new(&p);
    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < N; k++) {
        assert_true(s_cl_exchange(c, desired, note, 5000));
        got[k] = desired[0];
        policy_notes += strcmp(note, "policy") == 0;
    }
    assert_int_equal(s_run_stop(r), RLS_OK);

    double first = 0, last = 0;
    for (int k = 0; k < 20; k++) {
        first += got[k] / 20.0;
        last += got[N - 20 + k] / 20.0;
    }
    /* replicas rose with the load, roughly in proportion */
    assert_true(last > 2.0 * first);
    double need_end = rls_sim_rate_at(c->sim, 0, N - 1) / 50.0;
    assert_true(last >= 0.8 * need_end);
    struct rls_agent_stats st;
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.decisions, N);
    assert_int_equal(st.states, N);
    assert_int_equal(st.policy_decisions + st.fallback_decisions, N);
    assert_int_equal(st.policy_decisions, policy_notes);
    /* the checkpoint itself drove most of it (not only the HPA fallback) */
    assert_true(policy_notes >= N / 2);
    if (getenv("RLS_TEST_VERBOSE"))
        fprintf(stderr, "rising: first %.1f last %.1f need %.1f policy %d of %d\n", first, last, need_end,
                policy_notes, N);
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void s_contention(int fairness, int *min_small, int *max_total)
{
    struct s_cl *c = s_cl_new(s_scenario(s_contention_yaml));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), NULL);
    p.fairness = fairness;
    struct s_run *r = s_run_new(&p);
    int32_t d[3];
    *min_small = 1 << 30;
    *max_total = 0;
    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 30; k++) {
        assert_true(s_cl_exchange(c, d, NULL, 5000));
        if (k < 2)
            continue;   /* from the initial 1 replica each, the step limit needs a step */
        if (d[2] < *min_small)
            *min_small = d[2];
        if (d[0] + d[1] + d[2] > *max_total)
            *max_total = d[0] + d[1] + d[2];
        if (fairness) {
            assert_true(d[0] + d[1] >= 2);   /* big's guarantee */
            assert_true(d[2] >= 3);          /* small's guarantee */
            assert_true(d[0] + d[1] + d[2] <= 8);
        }
    }
    assert_int_equal(s_run_stop(r), RLS_OK);
    if (fairness) {
        struct rls_agent_stats st;
        rls_agent_get_stats(r->a, &st);
        assert_true(st.fair_contended >= 28);
        assert_true(st.last_jain > 0 && st.last_jain <= 1.0);
        /* the cluster itself runs small's guaranteed replicas */
        assert_true(rls_sim_services(c->sim)[2].ready >= 3);
    }
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void test_fairness_keeps_every_tenant_at_its_guarantee_under_contention(void **state)
{
    (void)state;
    int min_small = 0, max_total = 0;
    s_contention(1, &min_small, &max_total);
    assert_true(min_small >= 3);
    assert_true(max_total <= 8);
    /* without the projection the same wishes overrun the 8 cores */
    s_contention(0, &min_small, &max_total);
    assert_true(max_total > 8);
}

static void test_a_silent_cluster_makes_the_hpa_act_until_state_returns(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    struct s_cl *c = s_cl_new(s_scenario("default"));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), S_CKPT);
    p.safety.stale_after_s = 0.5;
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    char note[RLS_PROTO_NOTE_MAX];
    struct rls_proto_msg got = {0};
    struct rls_agent_stats st;

    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 5; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "policy");
    }
    /* the cluster goes silent (it still hears the agent) */
    int hellos = c->hellos;
    double end = s_now() + 1.3;
    while (s_now() < end)
        s_cl_pump(c, 50, &got);
    rls_proto_msg_clear(&got);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.stale_events, 1);
    assert_int_equal(st.last_reason, RLS_FALLBACK_STALE_STATE);
    assert_true(c->hellos > hellos);   /* the agent re-sent hello */
    assert_true(s_logged(r, "fallback: stale_state"));
    /* state returns: the HPA acts while recovering (the policy acts again at
     * the recover_steps-th clean check), then the policy */
    for (int k = 0; k < p.safety.recover_steps - 1; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "fallback: recovering");
    }
    assert_true(s_cl_exchange(c, d, note, 5000));
    assert_string_equal(note, "policy");

    /* a state stamped long ago is stale too */
    c->ts_offset_ns = -(int64_t)10 * 1000000000;
    assert_true(s_cl_exchange(c, d, note, 5000));
    assert_string_equal(note, "fallback: stale_state");
    c->ts_offset_ns = 0;
    assert_true(s_cl_exchange(c, d, note, 5000));
    assert_string_equal(note, "fallback: recovering");

    assert_int_equal(s_run_stop(r), RLS_OK);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.stale_events, 1);
    assert_int_equal(st.fallback_by_reason[RLS_FALLBACK_STALE_STATE], 1);   /* the old stamp */
    assert_int_equal(st.fallback_by_reason[RLS_FALLBACK_RECOVERING], p.safety.recover_steps);
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void test_a_restarted_cluster_is_found_again(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    struct rls_err err = {0};
    struct s_cl *c = s_cl_new(s_scenario("default"));
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "%s", rls_transport_endpoint(c->srv));
    struct rls_agent_params p = s_params(NULL, endpoint, S_CKPT);
    p.safety.stale_after_s = 0.5;
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    char note[RLS_PROTO_NOTE_MAX];
    struct rls_agent_stats st;

    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 4; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "policy");
    }
    /* the cluster dies ... */
    rls_transport_destroy(&c->srv);
    usleep(900 * 1000);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.stale_events, 1);
    /* ... and a new one starts on the same endpoint, from step 0 */
    struct rls_transport_params tp = rls_transport_default_params();
    rls_test_keys_server(&g_keys, &tp);
    c->srv = rls_transport_server_new(endpoint, &tp, &err);
    if (!c->srv)
        fail_msg("rebind %s: %s", endpoint, err.msg);
    c->have_peer = 0;
    assert_int_equal(rls_sim_reset(c->sim, 8), RLS_OK);
    s_cl_wait_hello(c);   /* the agent reconnected and said hello again */
    for (int k = 0; k < p.safety.recover_steps - 1; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "fallback: recovering");
    }
    assert_true(s_cl_exchange(c, d, note, 5000));
    assert_string_equal(note, "policy");
    assert_int_equal(s_run_stop(r), RLS_OK);
    assert_true(s_logged(r, "the cluster restarted"));
    assert_true(s_logged(r, "state: back from"));
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void test_dry_run_logs_the_policy_while_the_hpa_acts(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    struct s_cl *c = s_cl_new(s_scenario("default"));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), S_CKPT);
    p.dry_run = 1;
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    char note[RLS_PROTO_NOTE_MAX];
    struct rls_agent_stats st;

    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 6; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "shadow: hpa acts; policy ok");
    }
    assert_int_equal(s_run_stop(r), RLS_OK);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.policy_decisions, 0);
    assert_int_equal(st.fallback_decisions, 6);
    /* what the policy would have done is logged, step by step */
    assert_true(s_logged(r, "shadow seq 0: policy would set frontend:"));
    assert_true(s_logged(r, "shadow seq 5: policy would set"));
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void s_runs_the_hpa(const char *policy)
{
    struct s_cl *c = s_cl_new(s_scenario("default"));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), policy);
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    char note[RLS_PROTO_NOTE_MAX];
    struct rls_agent_stats st;

    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.checkpoint_loaded, 0);
    assert_string_equal(rls_agent_policy_name(r->a), "hpa (no checkpoint)");
    assert_true(s_logged(r, "checkpoint: "));
    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 8; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "fallback: no_checkpoint");
        for (int i = 0; i < c->sc->n_services; i++) {
            assert_true(d[i] >= c->sc->services[i].min_replicas);
            assert_true(d[i] <= c->sc->services[i].max_replicas);
        }
    }
    assert_int_equal(s_run_stop(r), RLS_OK);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.fallback_by_reason[RLS_FALLBACK_NO_CHECKPOINT], 8);
    assert_int_equal(st.policy_decisions, 0);
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void test_a_missing_or_corrupt_checkpoint_runs_the_hpa(void **state)
{
    (void)state;
    char bad[256], missing[256];
    s_tmp(bad, sizeof bad, ".h5");
    s_tmp(missing, sizeof missing, ".h5");
    /* an HDF5 signature followed by garbage */
    char junk[4096];
    memcpy(junk, "\x89HDF\r\n\x1a\n", 8);
    for (size_t i = 8; i < sizeof junk; i++)
        junk[i] = (char)(i * 131u + 7u);
    s_write(bad, junk, sizeof junk);
    s_runs_the_hpa(bad);
    s_runs_the_hpa(missing);
    s_runs_the_hpa(NULL);
    unlink(bad);
}

static void test_a_reload_with_a_bad_file_keeps_the_old_policy(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    char path[256], bad[256];
    struct rls_err err = {0};
    struct rls_agent_stats st;
    s_tmp(path, sizeof path, ".h5");
    s_tmp(bad, sizeof bad, ".h5");
    s_copy(S_CKPT, path);
    s_write(bad, "not a checkpoint\n", 17);

    struct s_cl *c = s_cl_new(s_scenario("default"));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), path);
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    char note[RLS_PROTO_NOTE_MAX];

    /* directly (SIGHUP's work, before the loop runs) */
    assert_int_not_equal(rls_agent_reload(r->a, bad, &err), RLS_OK);
    assert_true(strstr(err.msg, bad) != NULL);
    assert_string_equal(rls_agent_policy_name(r->a), path);
    assert_true(s_logged(r, "reload: "));
    assert_int_equal(rls_agent_reload(r->a, NULL, &err), RLS_OK);

    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 3; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "policy");
    }
    /* the file is overwritten with garbage, then SIGHUP: the old policy stays */
    s_write(path, "garbage", 7);
    rls_agent_request_reload(r->a);
    double end = s_now() + 5.0;
    do {
        rls_agent_get_stats(r->a, &st);
    } while (st.reloads_failed < 2 && s_now() < end && usleep(10000) == 0);
    assert_int_equal(st.reloads_failed, 2);
    for (int k = 0; k < 3; k++) {
        assert_true(s_cl_exchange(c, d, note, 5000));
        assert_string_equal(note, "policy");
    }
    /* a good file again: reloaded */
    s_copy(S_CKPT, path);
    rls_agent_request_reload(r->a);
    end = s_now() + 5.0;
    do {
        rls_agent_get_stats(r->a, &st);
    } while (st.reloads_ok < 2 && s_now() < end && usleep(10000) == 0);
    assert_int_equal(st.reloads_ok, 2);
    assert_true(s_cl_exchange(c, d, note, 5000));
    assert_string_equal(note, "policy");
    assert_int_equal(s_run_stop(r), RLS_OK);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.checkpoint_loaded, 1);
    assert_int_equal(st.fallback_decisions, 0);
    s_run_destroy(&r);
    s_cl_destroy(&c);
    unlink(path);
    unlink(bad);
}

static void test_the_recorded_replay_opens_with_the_training_features(void **state)
{
    (void)state;
    if (!s_have_ckpt())
        skip();
    char out[256];
    struct rls_err err = {0};
    s_tmp(out, sizeof out, ".h5");
    struct rls_scenario *sc = s_scenario("default");
    struct rls_scenario *sc2 = rls_scenario_copy(sc);
    struct s_cl *c = s_cl_new(sc);
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), S_CKPT);
    p.record_path = out;
    p.episode_steps = 5;
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    int S = c->sc->n_services;
    float *obs0 = malloc((size_t)S * RLS_ENV_N_FEATURES * sizeof *obs0);
    struct rls_features *f = rls_features_new(sc2, 20, &err);
    assert_non_null(obs0);
    assert_non_null(f);
    /* the features of the first state, as training computes them */
    assert_int_equal(rls_features_compute(f, rls_sim_services(c->sim), rls_sim_nodes(c->sim),
                                          rls_sim_n_nodes(c->sim), rls_sim_time_s(c->sim), obs0),
                     RLS_OK);

    s_run_start(r);
    s_cl_wait_hello(c);
    int32_t cur5[5][16], sent5[5][16];   /* episode 0: the state's targets, the replicas sent */
    assert_true(S <= 16);
    for (int k = 0; k < 12; k++) {
        if (k < 5)
            for (int i = 0; i < S; i++)
                cur5[k][i] = rls_sim_services(c->sim)[i].desired;
        assert_true(s_cl_exchange(c, d, NULL, 5000));
        if (k < 5)
            memcpy(sent5[k], d, (size_t)S * sizeof *d);
    }
    /* the 12th state's answer is sent; stop, destroy: the last episode is committed */
    assert_int_equal(s_run_stop(r), RLS_OK);
    s_run_destroy(&r);

    struct rls_replay_reader *rd = rls_replay_reader_open(out, NULL, &err);
    if (!rd)
        fail_msg("%s", err.msg);
    const struct rls_replay_meta *m = rls_replay_reader_meta(rd);
    assert_int_equal(m->n_services, S);
    assert_int_equal(m->n_features, RLS_ENV_N_FEATURES);
    /* 12 states: 11 transitions in episodes of 5, 5 and 1 */
    assert_int_equal(rls_replay_reader_n_steps(rd), 11);
    assert_int_equal(rls_replay_reader_n_episodes(rd), 3);
    struct rls_replay_episode ep;
    assert_int_equal(rls_replay_reader_read_episode(rd, 0, &ep), RLS_OK);
    assert_int_equal(ep.steps, 5);
    for (int i = 0; i < S * RLS_ENV_N_FEATURES; i++)
        assert_float_equal(ep.observations[i], obs0[i], 1e-6);
    assert_int_equal(ep.truncations[4], 1);
    for (int i = 0; i < 5 * S; i++)
        assert_true(ep.actions[i] >= 0 && ep.actions[i] < m->n_actions);
    /* the recorded action is the one `rlsched record` maps the same target to
     * (rls_action_from_target on the state's mask, env/action_map.h) */
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < S; i++) {
            uint8_t row[RLS_ENV_MAX_DELTAS + RLS_ENV_N_PLACEMENTS];
            const uint8_t *fm = ep.action_masks + ((size_t)k * (size_t)S + (size_t)i) * (size_t)m->n_actions;
            for (int dd = 0; dd < m->n_deltas; dd++)
                row[dd] = (uint8_t)(fm[dd * m->n_placements] || fm[dd * m->n_placements + 1]);
            for (int pl = 0; pl < m->n_placements; pl++)
                row[m->n_deltas + pl] = 1;
            int32_t want = rls_action_from_target(row, m->deltas, m->n_deltas, m->n_placements, cur5[k][i],
                                                  sc2->services[i].min_replicas, sc2->services[i].max_replicas,
                                                  sent5[k][i], 0);
            assert_int_equal(ep.actions[k * S + i] / m->n_placements, want / m->n_placements);
        }
    rls_replay_episode_free(&ep);
    struct rls_replay_episode_info info;
    assert_int_equal(rls_replay_reader_episode_info(rd, 2, &info), RLS_OK);
    assert_int_equal(info.steps, 1);
    assert_true(info.has_masks);
    assert_true(info.has_infos);
    rls_replay_reader_close(&rd);
    rls_features_destroy(&f);
    rls_scenario_destroy(&sc2);
    free(obs0);
    s_cl_destroy(&c);
    unlink(out);
}

static void test_bad_messages_are_refused_and_the_loop_goes_on(void **state)
{
    (void)state;
    struct s_cl *c = s_cl_new(s_scenario("default"));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), NULL);
    struct s_run *r = s_run_new(&p);
    int32_t d[16];
    struct rls_proto_msg got = {0};
    struct rls_agent_stats st;

    s_run_start(r);
    s_cl_wait_hello(c);
    assert_true(s_cl_exchange(c, d, NULL, 5000));
    /* garbage bytes, a truncated map, and a state of the wrong size */
    static const uint8_t junk[] = {0xc1, 0x00, 0xff};
    static const uint8_t trunc[] = {0x83, 0xa1, 'v', 0x01};
    assert_int_equal(rls_transport_send(c->srv, &c->peer, junk, sizeof junk, 1000), RLS_OK);
    assert_int_equal(rls_transport_send(c->srv, &c->peer, trunc, sizeof trunc, 1000), RLS_OK);
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_STATE;
    m.seq = 999;
    m.state.info = *rls_sim_last(c->sim);
    m.state.n_services = 2;
    m.state.services = (struct rls_svc_state *)rls_sim_services(c->sim);
    m.state.n_nodes = 0;
    assert_int_equal(rls_transport_send_msg(c->srv, &c->peer, &m, 1000), RLS_OK);
    /* each refusal comes back as an error message */
    int errors = 0;
    double end = s_now() + 3.0;
    while (errors < 3 && s_now() < end)
        if (s_cl_pump(c, 50, &got) == RLS_PROTO_ERROR)
            errors++;
    rls_proto_msg_clear(&got);
    assert_int_equal(errors, 3);
    for (int k = 0; k < 3; k++)
        assert_true(s_cl_exchange(c, d, NULL, 5000));
    assert_int_equal(s_run_stop(r), RLS_OK);
    rls_agent_get_stats(r->a, &st);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.decisions, 4);
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

/* GET path from 127.0.0.1:port; returns the response (caller frees). */
static char *s_http_get(uint16_t port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t k;
    while ((k = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)k;
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_metrics_are_served_over_http(void **state)
{
    (void)state;
    struct s_cl *c = s_cl_new(s_scenario(s_contention_yaml));
    struct rls_agent_params p = s_params(NULL, rls_transport_endpoint(c->srv), NULL);
    p.metrics_addr = "127.0.0.1:0";
    struct s_run *r = s_run_new(&p);
    int32_t d[3];
    uint16_t port = rls_agent_metrics_port(r->a);
    assert_true(port > 0);
    s_run_start(r);
    s_cl_wait_hello(c);
    for (int k = 0; k < 5; k++)
        assert_true(s_cl_exchange(c, d, NULL, 5000));
    assert_int_equal(s_run_stop(r), RLS_OK);   /* the server stays up until destroy */
    char *body = s_http_get(port, "/metrics");
    assert_non_null(strstr(body, "200 OK"));
    assert_non_null(strstr(body, "rlsched_agent_decisions_total 5"));
    assert_non_null(strstr(body, "rlsched_agent_fallback_decisions_total{reason=\"no_checkpoint\"} 5"));
    assert_non_null(strstr(body, "rlsched_agent_decision_latency_seconds_count 5"));
    assert_non_null(strstr(body, "rlsched_agent_tenant_share_ratio{tenant=\"small\"}"));
    assert_non_null(strstr(body, "rlsched_agent_desired_replicas{service=\"big1\"}"));
    assert_non_null(strstr(body, "rlsched_agent_fairness_jain_ratio "));
    assert_non_null(strstr(body, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(body, "\nprocess_open_fds "));
    assert_non_null(strstr(body, "\nrlsched_build_info{version=\""));
    free(body);
    s_run_destroy(&r);
    s_cl_destroy(&c);
}

static void test_new_refuses_bad_parameters_and_run_times_out_without_a_cluster(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct s_run dummy;
    memset(&dummy, 0, sizeof dummy);
    pthread_mutex_init(&dummy.lock, NULL);
    struct rls_agent_params p = s_params(&dummy, NULL, NULL);
    assert_null(rls_agent_new(&p, &err));
    assert_true(strstr(err.msg, "endpoint") != NULL);
    p.connect = "tcp://127.0.0.1:1";
    p.metrics_addr = "127.0.0.1:notaport";
    assert_null(rls_agent_new(&p, &err));
    assert_true(strstr(err.msg, "metrics") != NULL);
    p.metrics_addr = NULL;
    p.safety.ood_k = -1;
    assert_null(rls_agent_new(&p, &err));
    p.safety = rls_safety_default_params();

    /* nobody listens: run gives up after timeout_s with a clear message */
    p.timeout_s = 0.5;
    struct rls_agent *a = rls_agent_new(&p, &err);
    assert_non_null(a);
    double t0 = s_now();
    assert_int_equal(rls_agent_run(a), RLS_ERR_IO);
    assert_true(s_now() - t0 < 3.0);
    assert_true(strstr(rls_agent_errmsg(a), "no cluster at tcp://127.0.0.1:1") != NULL);
    rls_agent_destroy(&a);
    rls_agent_destroy(&a);   /* twice is a no-op */
    assert_null(a);
    pthread_mutex_destroy(&dummy.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicas_follow_a_rising_load),
        cmocka_unit_test(test_fairness_keeps_every_tenant_at_its_guarantee_under_contention),
        cmocka_unit_test(test_a_silent_cluster_makes_the_hpa_act_until_state_returns),
        cmocka_unit_test(test_a_restarted_cluster_is_found_again),
        cmocka_unit_test(test_dry_run_logs_the_policy_while_the_hpa_acts),
        cmocka_unit_test(test_a_missing_or_corrupt_checkpoint_runs_the_hpa),
        cmocka_unit_test(test_a_reload_with_a_bad_file_keeps_the_old_policy),
        cmocka_unit_test(test_the_recorded_replay_opens_with_the_training_features),
        cmocka_unit_test(test_bad_messages_are_refused_and_the_loop_goes_on),
        cmocka_unit_test(test_metrics_are_served_over_http),
        cmocka_unit_test(test_new_refuses_bad_parameters_and_run_times_out_without_a_cluster),
    };
    int rc;
    if (rls_test_keys_make(&g_keys) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rls_test_keys_remove(&g_keys);
    return rc;
}
