/* test_cluster_session.c - the cluster side of the protocol with one agent
 * (env/cluster_session.h) over real ZeroMQ sockets (inproc, one context): an
 * agent's hello is answered with the description and then the state in
 * force; actions are refused before hello, when late, unknown or misshaped,
 * and otherwise clamped, applied and acked; a reset goes to the op (after the
 * hello check) or is refused; wrong-direction and undecodable messages get an
 * error back; heartbeats go when it is idle. Over TCP with CURVE keys: one
 * agent holds the control lease; other agents (listed or not) are refused and
 * change nothing until it lapses or a key listed "takeover" asks; unlisted
 * and unauthenticated peers never get through.
 * Every expected value comes from the scenario or the protocol, not from the
 * session's own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zmq.h>

#include "env/cluster_session.h"
#include "env/protocol.h"
#include "env/scenario.h"
#include "env/transport.h"
#include "rls_test_keys.h"

#define S_EP "inproc://rls-test-cluster-session"

/* What the ops saw. */
struct s_fx {
    void *zctx;
    struct rls_scenario *sc;
    struct rls_cluster_session *ss;
    struct rls_transport *agent;        /* a DEALER playing the agent */
    struct rls_svc_state *svc;          /* [n_services] the state sent (zeros) */
    int states_asked;                   /* ops.send_state calls */
    int applied;                        /* ops.apply_actions calls */
    int32_t desired[64];                /* the last desired applied */
    int placement_null;                 /* the last placement was NULL */
    int resets;                         /* ops.reset calls */
    uint64_t reset_seed;
    int reset_rc;                       /* what ops.reset returns */
};

static void s_op_send_state(void *ctx)
{
    struct s_fx *fx = ctx;
    struct rls_proto_state st;

    fx->states_asked++;
    memset(&st, 0, sizeof st);
    st.n_services = fx->sc->n_services;
    st.services = fx->svc;
    rls_cluster_session_send_state(fx->ss, &st);
}

static void s_op_apply(void *ctx, const int32_t *desired, const uint8_t *placement)
{
    struct s_fx *fx = ctx;

    fx->applied++;
    for (int32_t i = 0; i < fx->sc->n_services && i < 64; i++)
        fx->desired[i] = desired[i];
    fx->placement_null = placement == NULL;
}

static int s_op_reset(void *ctx, const struct rls_transport_peer *from, const struct rls_proto_msg *m)
{
    struct s_fx *fx = ctx;

    fx->resets++;
    fx->reset_seed = m->seed;
    if (fx->reset_rc == RLS_OK) {
        rls_cluster_session_ack(fx->ss, from, m->seq, NULL);
        rls_cluster_session_new_state(fx->ss);
        s_op_send_state(fx);
    }
    return fx->reset_rc;
}

/* A session with the default scenario at endpoint ep; with_reset: ops.reset
 * set; k: CURVE keys for a TCP endpoint (NULL: inproc, one context, and the
 * fixture's agent is connected); lease_ms: the lease. */
static struct s_fx *s_fx_new_at(int with_reset, int heartbeat_ms, const char *ep, const struct rls_test_keys *k,
                                int lease_ms)
{
    struct s_fx *fx = calloc(1, sizeof *fx);
    struct rls_err err = { 0 };
    const char *yaml = rls_scenario_default_yaml();
    struct rls_cluster_session_params p = rls_cluster_session_default_params();
    struct rls_transport_params tp = rls_transport_default_params();

    assert_non_null(fx);
    fx->zctx = zmq_ctx_new();
    assert_non_null(fx->zctx);
    assert_int_equal(rls_scenario_parse(yaml, strlen(yaml), "default", &fx->sc, &err), RLS_OK);
    assert_true(fx->sc->n_services >= 2 && fx->sc->n_services <= 64);
    fx->svc = calloc((size_t)fx->sc->n_services, sizeof *fx->svc);
    assert_non_null(fx->svc);
    p.cluster = fx->sc;
    p.software = "test-cluster 1";
    p.heartbeat_ms = heartbeat_ms;
    p.ops.send_state = s_op_send_state;
    p.ops.apply_actions = s_op_apply;
    p.ops.reset = with_reset ? s_op_reset : NULL;
    p.ops.ctx = fx;
    p.lease_ms = lease_ms;
    if (k != NULL)
        rls_test_keys_server(k, &p.transport);
    else
        p.transport.context = fx->zctx;
    fx->ss = rls_cluster_session_new(ep, &p, &err);
    if (fx->ss == NULL)
        fail_msg("%s", err.msg);
    if (k != NULL)
        return fx;
    tp.context = fx->zctx;
    fx->agent = rls_transport_client_new(ep, &tp, &err);
    assert_non_null(fx->agent);
    return fx;
}

static struct s_fx *s_fx_new(int with_reset, int heartbeat_ms)
{
    return s_fx_new_at(with_reset, heartbeat_ms, S_EP, NULL, 45000);
}

static void s_fx_destroy(struct s_fx **fxp)
{
    struct s_fx *fx = *fxp;
    rls_transport_destroy(&fx->agent);
    rls_cluster_session_destroy(&fx->ss);
    rls_cluster_session_destroy(&fx->ss);   /* twice is a no-op */
    assert_null(fx->ss);
    rls_scenario_destroy(&fx->sc);
    free(fx->svc);
    zmq_ctx_term(fx->zctx);
    free(fx);
    *fxp = NULL;
}

/* Sends m from the agent and has the session handle it (poll returns want). */
static void s_say(struct s_fx *fx, struct rls_transport *from, const struct rls_proto_msg *m, int want)
{
    assert_int_equal(rls_transport_send_msg(from, NULL, m, 2000), RLS_OK);
    assert_int_equal(rls_cluster_session_poll(fx->ss, 2000), want);
}

/* The next message to the agent `at` (fails after 2 s). */
static void s_hear(struct rls_transport *at, struct rls_proto_msg *got)
{
    struct rls_err err = { 0 };
    assert_int_equal(rls_transport_recv_msg(at, NULL, got, 2000, &err), 1);
}

static void s_hello_msg(struct rls_proto_msg *m, const char *role)
{
    memset(m, 0, sizeof *m);
    m->type = RLS_PROTO_HELLO;
    m->ts_ns = rls_proto_now_ns();
    snprintf(m->hello.role, sizeof m->hello.role, "%s", role);
    m->hello.n_versions = 1;
    m->hello.versions[0] = RLS_PROTO_VERSION;
}

/* hello from `from`, then its hello and state back; checks both. */
static void s_hello(struct s_fx *fx, struct rls_transport *from)
{
    struct rls_proto_msg m, got = { 0 };
    int64_t seq = rls_cluster_session_seq(fx->ss);

    s_hello_msg(&m, "agent");
    s_say(fx, from, &m, 1);
    s_hear(from, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_string_equal(got.hello.role, "cluster");
    assert_int_equal(got.seq, seq);
    s_hear(from, &got);
    assert_int_equal(got.type, RLS_PROTO_STATE);
    assert_int_equal(got.seq, seq);
    assert_int_equal(got.state.n_services, fx->sc->n_services);
    rls_proto_msg_clear(&got);
}

static void s_actions_msg(struct rls_proto_msg *m, int64_t re, int32_t n, int32_t *desired)
{
    memset(m, 0, sizeof *m);
    m->type = RLS_PROTO_ACTIONS;
    m->ts_ns = rls_proto_now_ns();
    m->re = re;
    m->actions.n_services = n;
    m->actions.desired = desired;
}

/* The agent gets error{re, code}. */
static void s_expect_error(struct rls_transport *at, int64_t re, int code)
{
    struct rls_proto_msg got = { 0 };
    s_hear(at, &got);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_int_equal(got.re, re);
    assert_int_equal(got.code, code);
    assert_true(got.message[0] != '\0');
    rls_proto_msg_clear(&got);
}

static void test_hello_gets_the_description_then_the_state_in_force(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    struct rls_proto_msg m, got = { 0 };
    struct rls_cluster_session_stats st;
    (void)state;

    assert_false(rls_cluster_session_has_agent(fx->ss));
    assert_string_equal(rls_cluster_session_agent_name(fx->ss), "none");
    s_hello_msg(&m, "agent");
    s_say(fx, fx->agent, &m, 1);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_string_equal(got.hello.role, "cluster");
    assert_string_equal(got.hello.software, "test-cluster 1");
    assert_int_equal(got.hello.n_versions, 1);
    assert_int_equal(got.hello.versions[0], RLS_PROTO_VERSION);
    assert_non_null(got.hello.cluster);
    assert_int_equal(got.hello.cluster->n_services, fx->sc->n_services);
    assert_string_equal(got.hello.cluster->services[1].name, fx->sc->services[1].name);
    assert_non_null(got.hello.scenario_yaml);   /* send_scenario_yaml defaults to 1 */
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_STATE);
    assert_int_equal(got.seq, 0);
    assert_int_equal(fx->states_asked, 1);
    assert_true(rls_cluster_session_has_agent(fx->ss));
    st = rls_cluster_session_stats(fx->ss);
    assert_int_equal(st.agents, 1);
    assert_int_equal(st.states, 1);
    assert_int_equal(st.refused, 0);
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

static void test_actions_before_hello_are_refused_and_not_applied(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    struct rls_proto_msg m;
    int32_t desired[64] = { 0 };
    (void)state;

    for (int32_t i = 0; i < fx->sc->n_services; i++)
        desired[i] = fx->sc->services[i].min_replicas;
    s_actions_msg(&m, 0, fx->sc->n_services, desired);
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 0, RLS_ERR_STATE);
    assert_int_equal(fx->applied, 0);
    assert_false(rls_cluster_session_answered(fx->ss));
    assert_int_equal(rls_cluster_session_stats(fx->ss).refused, 1);
    assert_int_equal(rls_cluster_session_stats(fx->ss).actions, 0);
    s_fx_destroy(&fx);
}

static void test_actions_are_clamped_applied_and_acked_with_a_note(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    const struct rls_service_spec *sv = NULL;
    struct rls_proto_msg m, got = { 0 };
    int32_t desired[64] = { 0 };
    char note[RLS_PROTO_NOTE_MAX];
    (void)state;

    sv = fx->sc->services;
    s_hello(fx, fx->agent);
    for (int32_t i = 0; i < fx->sc->n_services; i++)
        desired[i] = sv[i].min_replicas;
    desired[0] = sv[0].max_replicas + 3;    /* over: clamped to max */
    desired[1] = sv[1].max_replicas + 1;
    s_actions_msg(&m, 0, fx->sc->n_services, desired);
    s_say(fx, fx->agent, &m, 1);
    assert_int_equal(fx->applied, 1);
    assert_int_equal(fx->desired[0], sv[0].max_replicas);
    assert_int_equal(fx->desired[1], sv[1].max_replicas);
    for (int32_t i = 2; i < fx->sc->n_services; i++)
        assert_int_equal(fx->desired[i], sv[i].min_replicas);
    assert_true(fx->placement_null);
    assert_true(rls_cluster_session_answered(fx->ss));
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_ACK);
    assert_int_equal(got.re, 0);
    snprintf(note, sizeof note, "clamped desired[0] %d to [%d, %d] and 1 more", (int)desired[0],
             (int)sv[0].min_replicas, (int)sv[0].max_replicas);
    assert_string_equal(got.note, note);
    assert_int_equal(rls_cluster_session_stats(fx->ss).actions, 1);
    /* a new state: no answer yet */
    assert_int_equal(rls_cluster_session_new_state(fx->ss), 1);
    assert_false(rls_cluster_session_answered(fx->ss));
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

static void test_late_unknown_and_misshaped_actions_are_refused(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    struct rls_proto_msg m, got = { 0 };
    int32_t desired[64] = { 0 };
    int32_t n;
    (void)state;

    n = fx->sc->n_services;
    for (int32_t i = 0; i < n; i++)
        desired[i] = fx->sc->services[i].min_replicas;
    s_hello(fx, fx->agent);
    rls_cluster_session_new_state(fx->ss);  /* the state in force is 1 */
    s_actions_msg(&m, 0, n, desired);       /* answers state 0: late */
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 0, RLS_ERR_STATE);
    s_actions_msg(&m, 2, n, desired);       /* state 2 was never sent */
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 2, RLS_ERR_RANGE);
    s_actions_msg(&m, 1, n - 1, desired);   /* one service short */
    s_say(fx, fx->agent, &m, 1);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_int_equal(got.code, RLS_ERR_RANGE);
    assert_int_equal(got.seq, 1);           /* every message carries the state in force */
    assert_int_equal(fx->applied, 0);
    assert_int_equal(rls_cluster_session_stats(fx->ss).refused, 3);
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

static void test_reset_without_the_op_is_refused_as_unsupported(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    struct rls_proto_msg m;
    (void)state;

    s_hello(fx, fx->agent);
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_RESET;
    m.seq = 7;
    m.seed = 42;
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 7, RLS_ERR_UNSUPPORTED);
    assert_int_equal(rls_cluster_session_seq(fx->ss), 0);
    s_fx_destroy(&fx);
}

static void test_reset_reaches_the_op_only_from_the_agent_and_its_failure_ends_the_poll(void **state)
{
    struct s_fx *fx = s_fx_new(1, 1000);
    struct rls_proto_msg m, got = { 0 };
    (void)state;

    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_RESET;
    m.seq = 3;
    m.seed = 42;
    s_say(fx, fx->agent, &m, 1);           /* no hello yet */
    s_expect_error(fx->agent, 3, RLS_ERR_STATE);
    assert_int_equal(fx->resets, 0);
    s_hello(fx, fx->agent);
    s_say(fx, fx->agent, &m, 1);
    assert_int_equal(fx->resets, 1);
    assert_int_equal(fx->reset_seed, 42);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_ACK);
    assert_int_equal(got.re, 3);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_STATE);
    assert_int_equal(got.seq, 1);
    fx->reset_rc = RLS_ERR_NOMEM;           /* a failure the cluster cannot go on with */
    s_say(fx, fx->agent, &m, RLS_ERR_NOMEM);
    assert_string_equal(rls_cluster_session_errmsg(fx->ss), "");    /* not the socket's */
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

static void test_wrong_direction_and_undecodable_messages_get_an_error_back(void **state)
{
    struct s_fx *fx = s_fx_new(0, 1000);
    struct rls_proto_msg m, got = { 0 };
    struct rls_proto_state st;
    (void)state;

    s_hello_msg(&m, "cluster");             /* another cluster */
    m.seq = 5;
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 5, RLS_ERR_INVALID);
    assert_false(rls_cluster_session_has_agent(fx->ss));

    memset(&st, 0, sizeof st);
    st.n_services = fx->sc->n_services;
    st.services = fx->svc;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_STATE;
    m.seq = 6;
    m.state = st;
    s_say(fx, fx->agent, &m, 1);
    s_expect_error(fx->agent, 6, RLS_ERR_INVALID);

    /* not MessagePack at all: the transport answers, poll reports nothing */
    assert_int_equal(rls_transport_send(fx->agent, NULL, "\xc1zz", 3, 2000), RLS_OK);
    assert_int_equal(rls_cluster_session_poll(fx->ss, 2000), 0);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_int_equal(rls_cluster_session_stats(fx->ss).refused, 3);
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

/* A client over TCP with the secret key `secret` (NULL: a plain, insecure one). */
static struct rls_transport *s_tcp_client(const struct rls_test_keys *k, const char *ep, const char *secret)
{
    struct rls_transport_params tp = rls_transport_default_params();
    struct rls_err err = { 0 };
    struct rls_transport *t = NULL;

    if (secret != NULL)
        rls_test_keys_client(k, secret, &tp);
    else
        tp.insecure = 1;
    t = rls_transport_client_new(ep, &tp, &err);
    if (t == NULL)
        fail_msg("client: %s", err.msg);
    return t;
}

/* hello (takeover 0/1) from `from`; the session answers it. Returns the
 * message `from` gets first (caller clears it). */
static void s_hello_tcp(struct s_fx *fx, struct rls_transport *from, int takeover, struct rls_proto_msg *got)
{
    struct rls_proto_msg m;
    s_hello_msg(&m, "agent");
    m.hello.takeover = takeover;
    s_say(fx, from, &m, 1);
    s_hear(from, got);
}

/* A peer that gets nothing: its hello and actions never reach the session. */
static void s_locked_out(struct s_fx *fx, struct rls_transport *t, int32_t *desired)
{
    struct rls_proto_msg m, got = { 0 };
    struct rls_err err = { 0 };
    s_hello_msg(&m, "agent");
    rls_transport_send_msg(t, NULL, &m, 300);       /* may time out: never admitted */
    s_actions_msg(&m, rls_cluster_session_seq(fx->ss), fx->sc->n_services, desired);
    rls_transport_send_msg(t, NULL, &m, 300);
    assert_int_equal(rls_cluster_session_poll(fx->ss, 500), 0);
    assert_int_equal(rls_transport_recv_msg(t, NULL, &got, 100, &err), 0);
}

static void test_one_agent_holds_the_lease_until_it_lapses_or_a_listed_key_takes_over(void **state)
{
    struct rls_test_keys k;
    struct s_fx *fx = NULL;
    struct rls_transport *a1 = NULL, *a2 = NULL, *a3 = NULL, *a3b = NULL, *x = NULL;
    struct rls_proto_msg m, got = { 0 };
    int32_t maxed[64] = { 0 }, mins[64] = { 0 };
    struct timespec lapse = { 0, 450 * 1000000L };
    char ep[256];
    (void)state;

    assert_int_equal(rls_test_keys_make(&k), 0);
    fx = s_fx_new_at(0, 1000, "tcp://127.0.0.1:*", &k, 300);
    snprintf(ep, sizeof ep, "%s", rls_cluster_session_endpoint(fx->ss));
    for (int32_t i = 0; i < fx->sc->n_services; i++) {
        maxed[i] = fx->sc->services[i].max_replicas;
        mins[i] = fx->sc->services[i].min_replicas;
    }
    a1 = s_tcp_client(&k, ep, k.agent_sec);
    a2 = s_tcp_client(&k, ep, k.agent2_sec);     /* listed with "takeover" */
    a3 = s_tcp_client(&k, ep, k.agent3_sec);     /* listed, no takeover */

    /* the first hello gets lease 1, announced in the cluster's hello */
    s_hello_tcp(fx, a1, 0, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_int_equal(got.hello.lease_id, 1);
    assert_int_equal(got.hello.lease_ms, 300);
    s_hear(a1, &got);                               /* the state */
    assert_int_equal(rls_cluster_session_lease_id(fx->ss), 1);

    /* a second listed agent is refused while the lease is live, takeover or not */
    s_hello_tcp(fx, a3, 0, &got);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_int_equal(got.code, RLS_ERR_STATE);
    assert_non_null(strstr(got.message, "lease 1 is held"));
    assert_non_null(strstr(got.message, "standby"));
    s_hello_tcp(fx, a3, 1, &got);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_non_null(strstr(got.message, "takeover refused"));
    s_hello_tcp(fx, a2, 0, &got);                   /* may take over, but did not ask */
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    /* and its actions change nothing */
    s_actions_msg(&m, rls_cluster_session_seq(fx->ss), fx->sc->n_services, maxed);
    s_say(fx, a3, &m, 1);
    s_expect_error(a3, m.re, RLS_ERR_STATE);
    assert_int_equal(fx->applied, 0);
    assert_int_equal(rls_cluster_session_stats(fx->ss).takeovers, 0);
    assert_int_equal(rls_cluster_session_stats(fx->ss).lease_refused, 3);
    assert_int_equal(rls_cluster_session_lease_id(fx->ss), 1);

    /* the holder acts */
    s_actions_msg(&m, rls_cluster_session_seq(fx->ss), fx->sc->n_services, mins);
    s_say(fx, a1, &m, 1);
    assert_int_equal(fx->applied, 1);
    s_hear(a1, &got);
    assert_int_equal(got.type, RLS_PROTO_ACK);

    /* the takeover rule: a key listed "takeover" that asks gets lease 2 */
    s_hello_tcp(fx, a2, 1, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_int_equal(got.hello.lease_id, 2);
    s_hear(a2, &got);
    assert_int_equal(rls_cluster_session_stats(fx->ss).takeovers, 1);
    rls_cluster_session_new_state(fx->ss);
    s_actions_msg(&m, rls_cluster_session_seq(fx->ss), fx->sc->n_services, maxed);
    s_say(fx, a1, &m, 1);                           /* the old holder: refused */
    s_expect_error(a1, m.re, RLS_ERR_STATE);
    assert_int_equal(fx->applied, 1);
    assert_int_equal(fx->desired[0], mins[0]);

    /* expiry: the holder falls silent for longer than the lease, the next hello gets it */
    nanosleep(&lapse, NULL);
    s_hello_tcp(fx, a3, 0, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_int_equal(got.hello.lease_id, 3);
    s_hear(a3, &got);
    assert_int_equal(rls_cluster_session_stats(fx->ss).takeovers, 1);     /* a lapse, not a takeover */
    s_actions_msg(&m, rls_cluster_session_seq(fx->ss), fx->sc->n_services, maxed);
    s_say(fx, a2, &m, 1);
    s_expect_error(a2, m.re, RLS_ERR_STATE);
    assert_int_equal(fx->applied, 1);
    s_say(fx, a3, &m, 1);
    assert_int_equal(fx->applied, 2);
    s_hear(a3, &got);

    /* the same key on a new connection (a restarted agent) takes its lease back */
    a3b = s_tcp_client(&k, ep, k.agent3_sec);
    s_hello_tcp(fx, a3b, 0, &got);
    assert_int_equal(got.type, RLS_PROTO_HELLO);
    assert_int_equal(got.hello.lease_id, 4);
    s_hear(a3b, &got);
    assert_int_equal(rls_cluster_session_stats(fx->ss).leases, 4);

    /* an unlisted key and an unauthenticated peer never get through */
    x = s_tcp_client(&k, ep, k.stranger_sec);
    s_locked_out(fx, x, maxed);
    rls_transport_destroy(&x);
    x = s_tcp_client(&k, ep, NULL);
    s_locked_out(fx, x, maxed);
    assert_int_equal(fx->applied, 2);
    assert_int_equal(rls_cluster_session_lease_id(fx->ss), 4);

    rls_proto_msg_clear(&got);
    rls_transport_destroy(&x);
    rls_transport_destroy(&a1);
    rls_transport_destroy(&a2);
    rls_transport_destroy(&a3);
    rls_transport_destroy(&a3b);
    s_fx_destroy(&fx);
    rls_test_keys_remove(&k);
}

static void test_without_keys_a_tcp_session_refuses_to_start_unless_insecure(void **state)
{
    struct rls_err err = { 0 };
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    struct rls_cluster_session_params p = rls_cluster_session_default_params();
    struct rls_cluster_session *ss = NULL;
    (void)state;

    assert_non_null(sc);
    p.cluster = sc;
    p.ops.send_state = s_op_send_state;
    p.ops.apply_actions = s_op_apply;
    assert_null(rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "without authentication"));
    p.transport.insecure = 1;
    ss = rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err);
    assert_non_null(ss);
    rls_cluster_session_destroy(&ss);
    p.lease_ms = 0;
    assert_null(rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err));
    assert_non_null(strstr(err.msg, "lease_ms"));
    rls_scenario_destroy(&sc);
}

static void test_a_heartbeat_goes_only_when_the_agent_was_idle_long_enough(void **state)
{
    struct s_fx *fx = s_fx_new(0, 50);
    struct rls_proto_msg got = { 0 };
    struct timespec ts = { 0, 80 * 1000000L };
    (void)state;

    assert_int_equal(rls_cluster_session_heartbeat_in_ms(fx->ss), INT64_MAX);   /* no agent */
    assert_int_equal(rls_cluster_session_heartbeat(fx->ss), 0);
    s_hello(fx, fx->agent);
    if (rls_cluster_session_heartbeat_in_ms(fx->ss) > 0)     /* just sent the state */
        assert_int_equal(rls_cluster_session_heartbeat(fx->ss), 0);
    assert_true(rls_cluster_session_heartbeat_in_ms(fx->ss) <= 50);
    nanosleep(&ts, NULL);
    assert_int_equal(rls_cluster_session_heartbeat_in_ms(fx->ss), 0);
    assert_int_equal(rls_cluster_session_heartbeat(fx->ss), 1);
    s_hear(fx->agent, &got);
    assert_int_equal(got.type, RLS_PROTO_HEARTBEAT);
    assert_int_equal(got.seq, rls_cluster_session_seq(fx->ss));
    assert_true(rls_cluster_session_heartbeat_in_ms(fx->ss) > 0);
    rls_proto_msg_clear(&got);
    s_fx_destroy(&fx);
}

static void test_new_refuses_missing_ops_and_bad_params(void **state)
{
    struct rls_err err = { 0 };
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    struct rls_cluster_session_params p = rls_cluster_session_default_params();
    (void)state;

    assert_non_null(sc);
    p.cluster = sc;
    assert_null(rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err));   /* no ops */
    assert_int_equal(err.status, RLS_ERR_INVALID);
    p.ops.send_state = s_op_send_state;
    p.ops.apply_actions = s_op_apply;
    p.heartbeat_ms = 0;
    assert_null(rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    p.heartbeat_ms = 1000;
    assert_null(rls_cluster_session_new("nonsense://x", &p, &err));       /* the transport's error */
    assert_true(err.status < 0);
    assert_null(rls_cluster_session_new(NULL, &p, &err));
    assert_int_equal(rls_cluster_session_poll(NULL, 0), RLS_ERR_INVALID);
    assert_string_equal(rls_cluster_session_endpoint(NULL), "");
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_gets_the_description_then_the_state_in_force),
        cmocka_unit_test(test_actions_before_hello_are_refused_and_not_applied),
        cmocka_unit_test(test_actions_are_clamped_applied_and_acked_with_a_note),
        cmocka_unit_test(test_late_unknown_and_misshaped_actions_are_refused),
        cmocka_unit_test(test_reset_without_the_op_is_refused_as_unsupported),
        cmocka_unit_test(test_reset_reaches_the_op_only_from_the_agent_and_its_failure_ends_the_poll),
        cmocka_unit_test(test_wrong_direction_and_undecodable_messages_get_an_error_back),
        cmocka_unit_test(test_one_agent_holds_the_lease_until_it_lapses_or_a_listed_key_takes_over),
        cmocka_unit_test(test_without_keys_a_tcp_session_refuses_to_start_unless_insecure),
        cmocka_unit_test(test_a_heartbeat_goes_only_when_the_agent_was_idle_long_enough),
        cmocka_unit_test(test_new_refuses_missing_ops_and_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
