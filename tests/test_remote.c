/* test_remote.c - the served simulator (env/served.h) and the remote env
 * backend (env/remote.h) over real ZeroMQ TCP loopback sockets, the server's
 * loop on its own thread: the same seed and actions give the same trajectory
 * remotely as locally, reset works again and again, a cluster that goes away
 * makes step fail with a clear message instead of hanging, bad messages get
 * error replies while the server keeps serving, and the real-time mode keeps
 * its clock (and the last replicas) without an agent. All of it with CURVE
 * keys (tests/rls_test_keys.h); a client without keys refuses to start, one
 * that is insecure or unlisted never gets a hello, a second listed one is
 * refused while the first holds the lease, and a key listed "takeover" that
 * asks gets it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rls_test_skip.h"

#include "env/env.h"
#include "env/protocol.h"
#include "env/remote.h"
#include "env/scenario.h"
#include "env/served.h"
#include "env/transport.h"
#include "rls_test_keys.h"
#include "eval/eval.h"

#define F RLS_ENV_N_FEATURES


static struct rls_test_keys g_keys;     /* the group's CURVE keys (main) */

/* A protocol client with the listed agent key (fails the test on error). */
static struct rls_transport *s_client(const char *ep, struct rls_err *err)
{
    struct rls_transport_params tp = rls_transport_default_params();
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &tp);
    return rls_transport_client_new(ep, &tp, err);
}

/* rls_remote_env_new with the listed agent key. */
static struct rls_env *s_remote_env(const char *ep, const struct rls_env_params *p, struct rls_err *err)
{
    struct rls_remote_params rp = rls_remote_default_params();
    struct rls_remote *r = NULL;
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &rp.transport);
    r = rls_remote_new(ep, &rp, err);
    if (r == NULL)
        return NULL;
    return rls_env_new_with_backend(p, &rls_remote_backend_ops, r, err);
}

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------
 * A served simulator on a thread. */

struct s_server {
    struct rls_served *s;
    pthread_t thread;
    int running;
    int rc;
};

static void *s_server_main(void *arg)
{
    struct s_server *srv = arg;
    srv->rc = rls_served_run(srv->s);
    return NULL;
}

static void s_server_start(struct s_server *srv, const struct rls_scenario *sc, double speed, int action_timeout_ms)
{
    struct rls_served_params p = rls_served_default_params();
    struct rls_err err = { 0 };

    memset(srv, 0, sizeof *srv);
    p.scenario = sc;
    p.speed = speed;
    p.action_timeout_ms = action_timeout_ms;
    p.heartbeat_ms = 200;
    rls_test_keys_server(&g_keys, &p.transport);
    srv->s = rls_served_new("tcp://127.0.0.1:*", &p, &err);
    if (srv->s == NULL)
        fail_msg("rls_served_new: %s", err.msg);
    assert_int_equal(pthread_create(&srv->thread, NULL, s_server_main, srv), 0);
    srv->running = 1;
}

static void s_server_stop(struct s_server *srv)
{
    if (srv->running) {
        int64_t t0 = s_ms();
        rls_served_stop(srv->s);
        pthread_join(srv->thread, NULL);
        srv->running = 0;
        assert_true(s_ms() - t0 < 1000);    /* stops within about 100 ms */
        assert_int_equal(srv->rc, RLS_OK);
    }
    rls_served_destroy(&srv->s);
}

static struct rls_scenario *s_default(int32_t horizon)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = { 0 };
    if (rls_scenario_load("default", &sc, &err) != RLS_OK)
        fail_msg("default scenario: %s", err.msg);
    sc->horizon_steps = horizon;
    return sc;
}

/* splitmix64 */
static uint64_t s_rand(uint64_t *st)
{
    uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A random action among the allowed ones of env's mask. */
static void s_random_action(struct rls_env *env, uint64_t *rng, uint8_t *mask, int32_t *action)
{
    int32_t S = rls_env_n_services(env), nd = rls_env_n_deltas(env), W = rls_env_mask_width(env);
    assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
    for (int32_t i = 0; i < S; i++) {
        const uint8_t *m = mask + (size_t)i * (size_t)W;
        int32_t d;
        do
            d = (int32_t)(s_rand(rng) % (uint64_t)nd);
        while (!m[d]);
        action[2 * i] = d;
        action[2 * i + 1] = (int32_t)(s_rand(rng) % 2);
    }
}

/* Runs `steps` steps of random allowed actions on a local env and a remote
 * one side by side, resetting both (seed, seed + 1, ...) at each episode's
 * end; every observation, reward and flag must be equal. */
static void s_compare(struct rls_env *local, struct rls_env *remote, uint64_t seed, int steps)
{
    int32_t S = rls_env_n_services(local);
    size_t obs_n = (size_t)S * F;
    float *ol = malloc(obs_n * sizeof *ol), *orm = malloc(obs_n * sizeof *orm);
    uint8_t *mask = malloc((size_t)S * (size_t)rls_env_mask_width(local));
    uint8_t *mask_r = malloc((size_t)S * (size_t)rls_env_mask_width(local));
    int32_t *action = malloc((size_t)S * 2 * sizeof *action);
    uint64_t rng = seed * 7919;
    int episodes = 1;

    assert_non_null(ol);
    assert_non_null(orm);
    assert_non_null(mask);
    assert_non_null(mask_r);
    assert_non_null(action);
    assert_int_equal(rls_env_n_services(remote), S);
    assert_int_equal(rls_env_reset(local, seed, ol), RLS_OK);
    if (rls_env_reset(remote, seed, orm) != RLS_OK)
        fail_msg("remote reset: %s", rls_env_errmsg(remote));
    assert_memory_equal(ol, orm, obs_n * sizeof *ol);
    for (int t = 0; t < steps; t++) {
        struct rls_step_result rl, rr;
        s_random_action(local, &rng, mask, action);
        assert_int_equal(rls_env_action_mask(remote, mask_r), RLS_OK);
        assert_memory_equal(mask, mask_r, (size_t)S * (size_t)rls_env_mask_width(local));
        assert_int_equal(rls_env_step(local, action, &rl), RLS_OK);
        if (rls_env_step(remote, action, &rr) != RLS_OK)
            fail_msg("remote step %d: %s", t, rls_env_errmsg(remote));
        assert_memory_equal(rl.obs, rr.obs, obs_n * sizeof *rl.obs);
        assert_true(rl.reward == rr.reward);
        assert_memory_equal(rl.service_reward, rr.service_reward, (size_t)S * sizeof(double));
        assert_int_equal(rl.terminated, rr.terminated);
        assert_int_equal(rl.truncated, rr.truncated);
        assert_true(rl.info->cost_usd == rr.info->cost_usd);
        assert_true(rl.info->arrivals == rr.info->arrivals);
        assert_true(rl.info->dropped == rr.info->dropped);
        assert_int_equal(rl.info->nodes_on, rr.info->nodes_on);
        assert_int_equal(rls_env_steps(local), rls_env_steps(remote));
        assert_true(rls_env_time_s(local) == rls_env_time_s(remote));
        for (int32_t i = 0; i < S; i++) {
            assert_int_equal(rl.services[i].ready, rr.services[i].ready);
            assert_int_equal(rl.services[i].desired, rr.services[i].desired);
            assert_true(rl.services[i].backlog == rr.services[i].backlog);
        }
        if (rl.terminated || rl.truncated) {
            uint64_t es = seed + (uint64_t)episodes++;
            assert_int_equal(rls_env_reset(local, es, ol), RLS_OK);
            if (rls_env_reset(remote, es, orm) != RLS_OK)
                fail_msg("remote reset %d: %s", episodes, rls_env_errmsg(remote));
            assert_memory_equal(ol, orm, obs_n * sizeof *ol);
        }
    }
    assert_true(episodes >= 3);     /* the horizons made it reset more than once */
    free(ol);
    free(orm);
    free(mask);
    free(mask_r);
    free(action);
}

static void s_trajectory_case(struct rls_scenario *sc, uint64_t seed, int steps)
{
    struct s_server srv;
    struct rls_env_params ep = rls_env_default_params();
    struct rls_err err = { 0 };
    struct rls_env *local = NULL, *remote = NULL;

    s_server_start(&srv, sc, 0.0, 0);
    ep.scenario = sc;
    local = rls_env_new(&ep, &err);
    assert_non_null(local);
    remote = s_remote_env(rls_served_endpoint(srv.s), &ep, &err);
    if (remote == NULL)
        fail_msg("s_remote_env: %s", err.msg);
    assert_string_equal(rls_env_backend_name(remote), "remote");
    assert_int_equal(rls_env_horizon(remote), sc->horizon_steps);
    assert_string_equal(rls_env_scenario(remote)->services[0].name, sc->services[0].name);
    s_compare(local, remote, seed, steps);
    struct rls_served_stats st = rls_served_stats(srv.s);
    assert_int_equal(st.steps, steps);
    assert_int_equal(st.missed, 0);
    assert_int_equal(st.refused, 0);
    rls_env_destroy(&remote);
    rls_env_destroy(&local);
    s_server_stop(&srv);
}

/* ---------------------------------------------------------------------------
 * Tests. */

static void test_remote_trajectory_equals_the_local_simulator_on_a_real_trace(void **state)
{
    (void)state;
    char path[1024];
    struct stat stt;
    struct rls_scenario *sc = NULL;
    struct rls_err err = { 0 };
    double dur = 0.0;

    snprintf(path, sizeof path, "%s/alibaba2018_cluster_usage_300s_days1_5.csv", RLS_TRACES_DIR);
    if (stat(path, &stt) != 0)
        rls_test_skip_missing(path);
    sc = s_default(120);
    if (rls_eval_apply_trace(sc, path, NULL, &dur, &err) != RLS_OK)
        fail_msg("apply trace: %s", err.msg);
    sc->horizon_steps = 120;
    s_trajectory_case(sc, 11, 300);
    rls_scenario_destroy(&sc);
}

static void test_remote_trajectory_equals_the_local_simulator_on_the_default_scenario(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(90);
    s_trajectory_case(sc, 3, 250);
    rls_scenario_destroy(&sc);
}

static void test_reset_with_the_same_seed_replays_the_same_episode(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(500);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_env *env = NULL;
    int32_t S;
    float *first = NULL, *obs = NULL, *after = NULL;
    int32_t *action = NULL;
    uint8_t *mask = NULL;

    s_server_start(&srv, sc, 0.0, 0);
    env = s_remote_env(rls_served_endpoint(srv.s), NULL, &err);
    if (env == NULL)
        fail_msg("s_remote_env: %s", err.msg);
    S = rls_env_n_services(env);
    first = malloc((size_t)S * F * sizeof *first);
    obs = malloc((size_t)S * F * sizeof *obs);
    after = malloc((size_t)S * F * sizeof *after);
    action = malloc((size_t)S * 2 * sizeof *action);
    mask = malloc((size_t)S * (size_t)rls_env_mask_width(env));
    for (int round = 0; round < 5; round++) {
        uint64_t rng = 42;
        struct rls_step_result r;
        assert_int_equal(rls_env_reset(env, 9, obs), RLS_OK);
        assert_int_equal(rls_env_steps(env), 0);
        for (int t = 0; t < 20; t++) {
            s_random_action(env, &rng, mask, action);
            assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        }
        assert_int_equal(rls_env_steps(env), 20);
        if (round == 0) {
            memcpy(first, obs, (size_t)S * F * sizeof *obs);
            memcpy(after, r.obs, (size_t)S * F * sizeof *obs);
        } else {
            assert_memory_equal(first, obs, (size_t)S * F * sizeof *obs);
            assert_memory_equal(after, r.obs, (size_t)S * F * sizeof *obs);
        }
    }
    assert_int_equal(rls_served_stats(srv.s).episodes, 1 + 5);
    rls_env_destroy(&env);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
    free(first);
    free(obs);
    free(after);
    free(action);
    free(mask);
}

static void test_a_cluster_that_goes_away_makes_step_fail_with_a_clear_message(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(500);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_env *env = NULL;
    struct rls_remote_params rp = rls_remote_default_params();
    struct rls_remote *rc = NULL;
    struct rls_step_result r;
    int32_t *action = NULL;
    uint8_t *mask = NULL;
    uint64_t rng = 1;
    char endpoint[256];
    int64_t t0;
    int status;

    s_server_start(&srv, sc, 0.0, 0);
    snprintf(endpoint, sizeof endpoint, "%s", rls_served_endpoint(srv.s));
    rp.timeout_ms = 500;
    rp.step_timeout_ms = 1500;
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &rp.transport);
    rc = rls_remote_new(endpoint, &rp, &err);
    if (rc == NULL)
        fail_msg("rls_remote_new: %s", err.msg);
    env = rls_env_new_with_backend(NULL, &rls_remote_backend_ops, rc, &err);
    assert_non_null(env);
    action = malloc((size_t)rls_env_n_services(env) * 2 * sizeof *action);
    mask = malloc((size_t)rls_env_n_services(env) * (size_t)rls_env_mask_width(env));
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    s_random_action(env, &rng, mask, action);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);

    s_server_stop(&srv);        /* the cluster goes away */
    t0 = s_ms();
    status = rls_env_step(env, action, &r);
    assert_int_equal(status, RLS_ERR_IO);
    assert_true(s_ms() - t0 < 3000);
    assert_non_null(strstr(rls_env_errmsg(env), endpoint));
    assert_non_null(strstr(rls_env_errmsg(env), "remote"));
    t0 = s_ms();
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_ERR_IO);     /* reset too, no hang */
    assert_true(s_ms() - t0 < 3000);
    assert_non_null(strstr(rls_env_errmsg(env), endpoint));
    rls_env_destroy(&env);

    /* nobody there at all: the constructor gives up after its timeout */
    rp.connect_timeout_ms = 300;
    t0 = s_ms();
    rc = rls_remote_new(endpoint, &rp, &err);
    assert_null(rc);
    assert_int_equal(err.status, RLS_ERR_IO);
    assert_non_null(strstr(err.msg, endpoint));
    assert_true(s_ms() - t0 < 2000);
    rls_scenario_destroy(&sc);
    free(action);
    free(mask);
}

/* Receives messages on cli until one of `type` (skipping heartbeats and
 * states unless asked for); returns 1 with *m filled. */
static int s_expect(struct rls_transport *cli, struct rls_proto_msg *m, int type, int timeout_ms)
{
    struct rls_err err = { 0 };
    int64_t end = s_ms() + timeout_ms;
    while (s_ms() < end) {
        int got = rls_transport_recv_msg(cli, NULL, m, 200, &err);
        if (got == 1 && m->type == type)
            return 1;
    }
    return 0;
}

static void s_send_actions(struct rls_transport *cli, int64_t re, int32_t n, int32_t value)
{
    struct rls_proto_msg m;
    int32_t desired[64];
    memset(&m, 0, sizeof m);
    for (int32_t i = 0; i < n && i < 64; i++)
        desired[i] = value;
    m.type = RLS_PROTO_ACTIONS;
    m.seq = 100 + re;
    m.re = re;
    m.actions.n_services = n;
    m.actions.desired = desired;
    assert_int_equal(rls_transport_send_msg(cli, NULL, &m, 2000), RLS_OK);
}

static void test_bad_messages_get_error_replies_and_the_server_keeps_serving(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(500);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_transport *cli = NULL;
    struct rls_proto_msg m = { 0 }, out;
    int32_t S = sc->n_services;
    int64_t seq;
    /* {"v": 2, "type": "heartbeat", "seq": 0}: a version this side does not speak */
    static const uint8_t v2[] = { 0x83, 0xa1, 'v', 0x02, 0xa4, 't', 'y', 'p', 'e', 0xa9, 'h', 'e', 'a', 'r',
                                  't', 'b', 'e', 'a', 't', 0xa3, 's', 'e', 'q', 0x00 };
    static const uint8_t junk[] = { 0xc1, 0xff, 0x00 };
    static const uint8_t truncated[] = { 0x85, 0xa1, 'v', 0x01, 0xa4, 't', 'y' };

    assert_true(S <= 64);
    s_server_start(&srv, sc, 0.0, 0);
    cli = s_client(rls_served_endpoint(srv.s), &err);
    assert_non_null(cli);

    /* undecodable bytes: the transport answers each with an error */
    assert_int_equal(rls_transport_send(cli, NULL, junk, sizeof junk, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_PARSE);
    assert_int_equal(rls_transport_send(cli, NULL, v2, sizeof v2, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_VERSION);
    assert_int_equal(rls_transport_send(cli, NULL, truncated, sizeof truncated, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));

    /* actions before hello */
    s_send_actions(cli, 0, S, 1);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_STATE);
    assert_non_null(strstr(m.message, "hello"));

    /* a state sent to the cluster (wrong direction) */
    memset(&out, 0, sizeof out);
    out.type = RLS_PROTO_STATE;
    assert_int_equal(rls_transport_send_msg(cli, NULL, &out, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_INVALID);

    /* hello: the cluster description, then the state in force */
    memset(&out, 0, sizeof out);
    out.type = RLS_PROTO_HELLO;
    snprintf(out.hello.role, sizeof out.hello.role, "agent");
    assert_int_equal(rls_transport_send_msg(cli, NULL, &out, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_HELLO, 2000));
    assert_non_null(m.hello.cluster);
    assert_int_equal(m.hello.cluster->n_services, S);
    assert_string_equal(m.hello.role, "cluster");
    assert_true(s_expect(cli, &m, RLS_PROTO_STATE, 2000));
    seq = m.seq;
    assert_int_equal(m.state.n_services, S);

    /* wrong service count, unknown re: refused, nothing moves */
    s_send_actions(cli, seq, S - 1, 1);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_RANGE);
    assert_non_null(strstr(m.message, "actions.services.n"));
    s_send_actions(cli, seq + 1000, S, 1);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.re, seq + 1000);
    assert_int_equal(rls_served_stats(srv.s).steps, 0);

    /* still serving: good actions (out of range ones clamped) are acked and step */
    s_send_actions(cli, seq, S, 100000);
    assert_true(s_expect(cli, &m, RLS_PROTO_ACK, 2000));
    assert_int_equal(m.re, seq);
    assert_non_null(strstr(m.note, "clamped"));
    assert_true(s_expect(cli, &m, RLS_PROTO_STATE, 2000));
    assert_int_equal(m.seq, seq + 1);
    for (int32_t i = 0; i < S; i++)
        assert_int_equal(m.state.services[i].desired, sc->services[i].max_replicas);
    /* the same state answered twice: the second is late */
    s_send_actions(cli, seq, S, 1);
    assert_true(s_expect(cli, &m, RLS_PROTO_ERROR, 2000));
    assert_int_equal(m.code, RLS_ERR_STATE);
    assert_non_null(strstr(m.message, "late"));

    struct rls_served_stats st = rls_served_stats(srv.s);
    assert_int_equal(st.steps, 1);
    assert_int_equal(st.refused, 8);
    assert_int_equal(st.actions, 1);
    rls_proto_msg_clear(&m);
    rls_transport_destroy(&cli);

    /* and a remote env still gets a working session from the same server */
    {
        struct rls_env *env = s_remote_env(rls_served_endpoint(srv.s), NULL, &err);
        if (env == NULL)
            fail_msg("s_remote_env: %s", err.msg);
        assert_int_equal(rls_env_reset(env, 2, NULL), RLS_OK);
        int32_t *action = calloc((size_t)S * 2, sizeof *action);
        struct rls_step_result r;
        for (int32_t i = 0; i < S; i++)
            action[2 * i] = 4;      /* delta 0 in the default set */
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        free(action);
        rls_env_destroy(&env);
    }
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

static void test_real_time_mode_steps_on_its_clock_and_keeps_the_last_replicas(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(5000);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_transport *cli = NULL;
    struct rls_proto_msg m = { 0 }, out;
    int64_t first = -1, last = -1, t0;
    int n_states = 0;

    /* one step every 25 ms of wall time */
    s_server_start(&srv, sc, sc->step_s / 0.025, 0);
    cli = s_client(rls_served_endpoint(srv.s), &err);
    assert_non_null(cli);
    memset(&out, 0, sizeof out);
    out.type = RLS_PROTO_HELLO;
    snprintf(out.hello.role, sizeof out.hello.role, "agent");
    assert_int_equal(rls_transport_send_msg(cli, NULL, &out, 2000), RLS_OK);
    assert_true(s_expect(cli, &m, RLS_PROTO_HELLO, 2000));
    t0 = s_ms();
    while (s_ms() - t0 < 600) {
        if (rls_transport_recv_msg(cli, NULL, &m, 100, &err) == 1 && m.type == RLS_PROTO_STATE) {
            if (first < 0)
                first = m.seq;
            assert_true(m.seq > last);
            last = m.seq;
            n_states++;
            for (int32_t i = 0; i < sc->n_services; i++)    /* nobody asked for a change */
                assert_int_equal(m.state.services[i].change, 0);
        }
    }
    /* about 24 steps in 600 ms; generous bounds for a loaded machine */
    assert_true(n_states >= 8);
    assert_true(last - first >= 7);
    assert_true(last - first <= 40);
    struct rls_served_stats st = rls_served_stats(srv.s);
    assert_true(st.steps >= 8);
    assert_int_equal(st.missed, st.steps);      /* no actions were sent */
    assert_int_equal(st.actions, 0);
    rls_proto_msg_clear(&m);
    rls_transport_destroy(&cli);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

static void test_lock_step_with_an_action_timeout_moves_on_without_the_agent(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(5000);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_transport *cli = NULL;
    struct rls_proto_msg m = { 0 }, out;
    int n = 0;
    int64_t t0;

    s_server_start(&srv, sc, 0.0, 50);
    cli = s_client(rls_served_endpoint(srv.s), &err);
    assert_non_null(cli);
    /* no agent yet: nothing moves */
    usleep(200 * 1000);
    assert_int_equal(rls_served_stats(srv.s).steps, 0);
    memset(&out, 0, sizeof out);
    out.type = RLS_PROTO_HELLO;
    snprintf(out.hello.role, sizeof out.hello.role, "agent");
    assert_int_equal(rls_transport_send_msg(cli, NULL, &out, 2000), RLS_OK);
    t0 = s_ms();
    while (n < 4 && s_ms() - t0 < 3000)
        if (s_expect(cli, &m, RLS_PROTO_STATE, 500))
            n++;
    assert_int_equal(n, 4);
    assert_true(rls_served_stats(srv.s).missed >= 3);
    rls_proto_msg_clear(&m);
    rls_transport_destroy(&cli);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

static void test_remote_env_on_a_real_time_cluster_gets_each_next_state(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(5000);
    struct s_server srv;
    struct rls_err err = { 0 };
    struct rls_env *env = NULL;
    int32_t S = sc->n_services;
    int32_t *action = calloc((size_t)S * 2, sizeof *action);
    double t_prev;

    s_server_start(&srv, sc, sc->step_s / 0.02, 0);     /* a step every 20 ms */
    env = s_remote_env(rls_served_endpoint(srv.s), NULL, &err);
    if (env == NULL)
        fail_msg("s_remote_env: %s", err.msg);
    assert_int_equal(rls_env_reset(env, 4, NULL), RLS_OK);
    t_prev = rls_env_time_s(env);
    for (int t = 0; t < 15; t++) {
        struct rls_step_result r;
        for (int32_t i = 0; i < S; i++)
            action[2 * i] = t % 2 == 0 ? 5 : 3;     /* +1, -1 in the default delta set */
        if (rls_env_step(env, action, &r) != RLS_OK)
            fail_msg("step %d: %s", t, rls_env_errmsg(env));
        assert_true(rls_env_time_s(env) > t_prev);  /* always a newer state */
        t_prev = rls_env_time_s(env);
    }
    assert_int_equal(rls_env_steps(env), 15);
    assert_true(rls_served_stats(srv.s).actions >= 1);
    rls_env_destroy(&env);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
    free(action);
}

static void test_only_a_listed_key_gets_the_cluster_and_only_one_at_a_time(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(100);
    struct rls_remote_params rp = rls_remote_default_params();
    struct rls_err err = { 0 };
    struct s_server srv;
    struct rls_remote *rc = NULL;
    struct rls_env *env = NULL;
    char ep[256];

    s_server_start(&srv, sc, 0.0, 0);
    snprintf(ep, sizeof ep, "%s", rls_served_endpoint(srv.s));
    /* no keys at all: the client refuses to start, naming what is missing */
    assert_null(rls_remote_new(ep, &rp, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "curve_server_file"));
    /* insecure (plain TCP), or an unlisted key: never a hello */
    rp.connect_timeout_ms = 400;
    rp.transport.insecure = 1;
    assert_null(rls_remote_new(ep, &rp, &err));
    assert_int_equal(err.status, RLS_ERR_IO);
    rp.transport.insecure = 0;
    rls_test_keys_client(&g_keys, g_keys.stranger_sec, &rp.transport);
    assert_null(rls_remote_new(ep, &rp, &err));
    assert_int_equal(err.status, RLS_ERR_IO);
    assert_int_equal(rls_served_stats(srv.s).agents, 0);

    /* the listed key: it runs */
    rp.connect_timeout_ms = 5000;
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &rp.transport);
    rc = rls_remote_new(ep, &rp, &err);
    if (rc == NULL)
        fail_msg("rls_remote_new with a listed key: %s", err.msg);
    env = rls_env_new_with_backend(NULL, &rls_remote_backend_ops, rc, &err);
    assert_non_null(env);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    /* a second listed key while the first holds the lease: refused, with why */
    rls_test_keys_client(&g_keys, g_keys.agent3_sec, &rp.transport);
    assert_null(rls_remote_new(ep, &rp, &err));
    assert_non_null(strstr(err.msg, "refused hello"));
    assert_non_null(strstr(err.msg, "lease 1 is held"));
    /* a key listed "takeover" that asks for it: granted */
    rls_test_keys_client(&g_keys, g_keys.agent2_sec, &rp.transport);
    rp.takeover = 1;
    rc = rls_remote_new(ep, &rp, &err);
    if (rc == NULL)
        fail_msg("takeover: %s", err.msg);
    rls_remote_destroy(&rc);
    assert_int_equal(rls_served_stats(srv.s).leases, 2);
    assert_int_equal(rls_served_stats(srv.s).takeovers, 1);
    assert_int_equal(rls_served_stats(srv.s).lease_refused, 1);
    rls_env_destroy(&env);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

static void test_a_served_cluster_refuses_a_bad_endpoint_and_bad_params(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default(100);
    struct rls_served_params p = rls_served_default_params();
    struct rls_err err = { 0 };
    struct rls_served *s = NULL;

    assert_null(rls_served_new("tcp://127.0.0.1:*", &p, &err));     /* no scenario */
    assert_int_equal(err.status, RLS_ERR_INVALID);
    p.scenario = sc;
    p.speed = -1;
    assert_null(rls_served_new("tcp://127.0.0.1:*", &p, &err));
    p.speed = 0;
    s = rls_served_new("nonsense://x", &p, &err);
    assert_null(s);
    assert_non_null(strstr(err.msg, "nonsense://x"));
    rls_served_destroy(&s);     /* NULL is a no-op */
    assert_null(s);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_trajectory_equals_the_local_simulator_on_a_real_trace),
        cmocka_unit_test(test_remote_trajectory_equals_the_local_simulator_on_the_default_scenario),
        cmocka_unit_test(test_reset_with_the_same_seed_replays_the_same_episode),
        cmocka_unit_test(test_a_cluster_that_goes_away_makes_step_fail_with_a_clear_message),
        cmocka_unit_test(test_bad_messages_get_error_replies_and_the_server_keeps_serving),
        cmocka_unit_test(test_real_time_mode_steps_on_its_clock_and_keeps_the_last_replicas),
        cmocka_unit_test(test_lock_step_with_an_action_timeout_moves_on_without_the_agent),
        cmocka_unit_test(test_remote_env_on_a_real_time_cluster_gets_each_next_state),
        cmocka_unit_test(test_only_a_listed_key_gets_the_cluster_and_only_one_at_a_time),
        cmocka_unit_test(test_a_served_cluster_refuses_a_bad_endpoint_and_bad_params),
    };
    int rc;
    if (rls_test_keys_make(&g_keys) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rls_test_keys_remove(&g_keys);
    return rls_test_exit(rc);
}
