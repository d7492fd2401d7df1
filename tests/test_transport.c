/* test_transport.c - the ZeroMQ transport (env/transport.h) over real
 * sockets: inproc and TCP loopback request/reply, a bad message answered with
 * an error message, an oversized one dropped by ZMQ_MAXMSGSIZE, timeouts, and
 * CURVE: the right keys talk, a wrong server key, an unlisted client key or no
 * CURVE at all get nothing; without keys neither side starts unless insecure
 * is said; the allow file's "takeover" marks; keygen does not overwrite. */
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
#include <zmq.h>

#include "env/protocol.h"
#include "env/transport.h"
#include "rls_test_keys.h"

static struct rls_test_keys g_keys;     /* the group's keys (s_group_setup) */

/* Server and client params with the group's keys (agent: listed). */
static struct rls_transport_params s_sp(void)
{
    struct rls_transport_params p = rls_transport_default_params();
    rls_test_keys_server(&g_keys, &p);
    return p;
}

static struct rls_transport_params s_cp(const char *secret)
{
    struct rls_transport_params p = rls_transport_default_params();
    rls_test_keys_client(&g_keys, secret, &p);
    return p;
}

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_heartbeat(struct rls_proto_msg *m, int64_t seq)
{
    memset(m, 0, sizeof *m);
    m->type = RLS_PROTO_HEARTBEAT;
    m->seq = seq;
    m->ts_ns = rls_proto_now_ns();
}

/* Client sends a heartbeat until the server gets one (a connection may need
 * a reconnect first); returns 1 when it arrived within timeout_ms. */
static int s_reaches(struct rls_transport *cli, struct rls_transport *srv, struct rls_transport_peer *peer,
                     int timeout_ms)
{
    struct rls_proto_msg hb, got = { 0 };
    struct rls_err err = { 0 };
    int64_t end = s_ms() + timeout_ms;
    int ok = 0;

    s_heartbeat(&hb, 1);
    while (!ok && s_ms() < end) {
        rls_transport_send_msg(cli, NULL, &hb, 100);
        ok = rls_transport_recv_msg(srv, peer, &got, 200, &err) == 1;
    }
    rls_proto_msg_clear(&got);
    return ok;
}

/* One request/reply: client sends actions, server answers ack. */
static void s_round_trip(struct rls_transport *cli, struct rls_transport *srv, int64_t seq)
{
    struct rls_proto_msg m = { 0 }, got = { 0 };
    struct rls_transport_peer peer;
    struct rls_err err = { 0 };
    int32_t desired[3] = { 1, 2, (int32_t)seq };

    m.type = RLS_PROTO_ACTIONS;
    m.seq = seq;
    m.re = seq - 1;
    m.actions.n_services = 3;
    m.actions.desired = desired;
    assert_int_equal(rls_transport_send_msg(cli, NULL, &m, 2000), RLS_OK);
    assert_int_equal(rls_transport_recv_msg(srv, &peer, &got, 2000, &err), 1);
    assert_int_equal(got.type, RLS_PROTO_ACTIONS);
    assert_int_equal(got.seq, seq);
    assert_int_equal(got.actions.desired[2], (int32_t)seq);
    assert_true(peer.len > 0);

    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACK;
    m.seq = seq;
    m.re = seq;
    assert_int_equal(rls_transport_send_msg(srv, &peer, &m, 2000), RLS_OK);
    assert_int_equal(rls_transport_recv_msg(cli, NULL, &got, 2000, &err), 1);
    assert_int_equal(got.type, RLS_PROTO_ACK);
    assert_int_equal(got.re, seq);
    rls_proto_msg_clear(&got);
}

static void test_request_reply_over_inproc_with_a_shared_context(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    void *ctx = zmq_ctx_new();
    struct rls_transport_params p = rls_transport_default_params();
    struct rls_transport *srv = NULL, *cli = NULL;

    assert_non_null(ctx);
    p.context = ctx;
    srv = rls_transport_server_new("inproc://rls-test", &p, &err);
    assert_non_null(srv);
    cli = rls_transport_client_new("inproc://rls-test", &p, &err);
    assert_non_null(cli);
    for (int64_t i = 1; i <= 20; i++)
        s_round_trip(cli, srv, i);
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
    rls_transport_destroy(&srv);   /* twice is a no-op */
    assert_null(srv);
    zmq_ctx_term(ctx);
}

static void test_request_reply_over_tcp_loopback_on_an_ephemeral_port(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = s_sp(), cp = s_cp(g_keys.agent_sec);
    struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    struct rls_transport *cli = NULL;
    const char *ep;
    struct rls_transport_peer peer;

    assert_non_null(srv);
    ep = rls_transport_endpoint(srv);
    assert_true(strncmp(ep, "tcp://127.0.0.1:", 16) == 0);
    assert_true(atoi(ep + 16) > 0);
    cli = rls_transport_client_new(ep, &cp, &err);
    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    assert_string_equal(peer.address, "127.0.0.1");
    assert_string_equal(peer.key, g_keys.agent_z85);    /* the server knows who it is */
    assert_true(rls_transport_is_secure(srv) && rls_transport_is_secure(cli));
    for (int64_t i = 1; i <= 200; i++)
        s_round_trip(cli, srv, i);
    assert_int_equal(rls_transport_refused(srv), 0);
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
}

static void test_a_malformed_message_is_refused_and_answered_with_an_error(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = s_sp(), cp = s_cp(g_keys.agent_sec);
    struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    struct rls_transport *cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    struct rls_proto_msg got = { 0 };
    struct rls_transport_peer peer;
    static const uint8_t garbage[] = { 0x82, 0xa1, 'v', 0x01, 0xc1 };
    static const uint8_t wrong_version[] = { 0x82, 0xa1, 'v', 0x07, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'a', 'c', 'k' };

    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    assert_int_equal(rls_transport_send(cli, NULL, garbage, sizeof garbage, 1000), RLS_OK);
    assert_int_equal(rls_transport_recv_msg(srv, &peer, &got, 2000, &err), RLS_ERR_PARSE);
    assert_non_null(strstr(err.msg, "refused from 127.0.0.1: message: invalid MessagePack byte 0xc1"));
    assert_string_equal(rls_transport_errmsg(srv), err.msg);
    assert_int_equal(rls_transport_refused(srv), 1);
    /* the sender gets an error message naming the problem */
    assert_int_equal(rls_transport_recv_msg(cli, NULL, &got, 2000, &err), 1);
    assert_int_equal(got.type, RLS_PROTO_ERROR);
    assert_int_equal(got.code, RLS_ERR_PARSE);
    assert_non_null(strstr(got.message, "0xc1"));

    assert_int_equal(rls_transport_send(cli, NULL, wrong_version, sizeof wrong_version, 1000), RLS_OK);
    assert_int_equal(rls_transport_recv_msg(srv, &peer, &got, 2000, &err), RLS_ERR_VERSION);
    assert_int_equal(rls_transport_recv_msg(cli, NULL, &got, 2000, &err), 1);
    assert_int_equal(got.code, RLS_ERR_VERSION);
    assert_non_null(strstr(got.message, "protocol version 7 not supported"));
    assert_int_equal(rls_transport_refused(srv), 2);
    /* and the server goes on serving */
    s_round_trip(cli, srv, 5);
    rls_proto_msg_clear(&got);
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
}

static void test_an_oversized_message_is_dropped_by_maxmsgsize_and_the_link_recovers(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = s_sp(), cp = s_cp(g_keys.agent_sec);
    struct rls_transport *srv = NULL, *cli = NULL;
    struct rls_proto_buf rx = { 0 };
    struct rls_transport_peer peer;
    uint8_t *big = calloc(1, 8192);
    int64_t t0;

    assert_non_null(big);
    sp.max_message_bytes = 4096;
    srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    assert_non_null(srv);
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    assert_int_equal(rls_transport_send(cli, NULL, big, 8192, 1000), RLS_OK);
    t0 = s_ms();
    assert_int_equal(rls_transport_recv(srv, &peer, &rx, 700), 0);
    assert_true(s_ms() - t0 >= 600);
    /* the client reconnects and small messages flow again */
    assert_true(s_reaches(cli, srv, &peer, 5000));
    /* and a client never sends more than its own limit */
    rls_transport_destroy(&cli);
    cp.max_message_bytes = 4096;
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_int_equal(rls_transport_send(cli, NULL, big, 8192, 100), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_transport_errmsg(cli), "more than the limit 4096"));
    free(big);
    rls_proto_buf_free(&rx);
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
}

static void test_timeouts_without_a_peer(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = s_sp(), cp = s_cp(g_keys.agent_sec);
    struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    char ep[256];
    struct rls_transport *cli = NULL;
    struct rls_proto_buf rx = { 0 };
    struct rls_transport_peer ghost = { .id = { 0, 1, 2, 3, 4 }, .len = 5 };
    int64_t t0;

    assert_non_null(srv);
    snprintf(ep, sizeof ep, "%s", rls_transport_endpoint(srv));
    t0 = s_ms();
    assert_int_equal(rls_transport_recv(srv, NULL, &rx, 150), 0);
    assert_true(s_ms() - t0 >= 140);
    /* a peer the server never heard of */
    assert_int_equal(rls_transport_send(srv, &ghost, "x", 1, 100), RLS_ERR_IO);
    assert_non_null(strstr(rls_transport_errmsg(srv), "peer gone"));
    assert_int_equal(rls_transport_send(srv, NULL, "x", 1, 100), RLS_ERR_INVALID);
    rls_transport_destroy(&srv);
    /* a client whose cluster is not there: sends time out, nothing queues */
    cli = rls_transport_client_new(ep, &cp, &err);
    assert_non_null(cli);
    t0 = s_ms();
    assert_int_equal(rls_transport_send(cli, NULL, "x", 1, 200), RLS_ERR_IO);
    assert_true(s_ms() - t0 >= 190);
    assert_non_null(strstr(rls_transport_errmsg(cli), "timed out"));
    assert_int_equal(rls_transport_recv(cli, NULL, &rx, 50), 0);
    rls_proto_buf_free(&rx);
    rls_transport_destroy(&cli);
    /* bad endpoints fail with a message */
    assert_null(rls_transport_server_new("bogus://x", &sp, &err));
    assert_non_null(strstr(err.msg, "bogus://x"));
}

/* --- CURVE ----------------------------------------------------------------- */

struct keys {
    char dir[64];
    char srv_pub[128], srv_sec[128];
    char cli_pub[128], cli_sec[128];
    char bad_pub[128], bad_sec[128];
    char allow[128];
};

static int s_keys_setup(void **state)
{
    struct keys *k = calloc(1, sizeof *k);
    struct rls_err err = { 0 };
    char z[RLS_TRANSPORT_KEY_Z85 + 1];
    FILE *f;

    assert_non_null(k);
    snprintf(k->dir, sizeof k->dir, "/tmp/rls_curve_XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->srv_pub, sizeof k->srv_pub, "%s/server.pub", k->dir);
    snprintf(k->srv_sec, sizeof k->srv_sec, "%s/server.key", k->dir);
    snprintf(k->cli_pub, sizeof k->cli_pub, "%s/agent.pub", k->dir);
    snprintf(k->cli_sec, sizeof k->cli_sec, "%s/agent.key", k->dir);
    snprintf(k->bad_pub, sizeof k->bad_pub, "%s/other.pub", k->dir);
    snprintf(k->bad_sec, sizeof k->bad_sec, "%s/other.key", k->dir);
    snprintf(k->allow, sizeof k->allow, "%s/allowed", k->dir);
    assert_int_equal(rls_transport_keygen(k->srv_pub, k->srv_sec, 1, &err), RLS_OK);
    assert_int_equal(rls_transport_keygen(k->cli_pub, k->cli_sec, 1, &err), RLS_OK);
    assert_int_equal(rls_transport_keygen(k->bad_pub, k->bad_sec, 1, &err), RLS_OK);
    assert_int_equal(rls_transport_read_key(k->cli_pub, z, &err), RLS_OK);
    f = fopen(k->allow, "w");
    assert_non_null(f);
    fprintf(f, "# agents allowed to connect\n\n  %s  \n", z);
    fclose(f);
    *state = k;
    return 0;
}

static int s_keys_teardown(void **state)
{
    struct keys *k = *state;
    const char *files[] = { k->srv_pub, k->srv_sec, k->cli_pub, k->cli_sec, k->bad_pub, k->bad_sec, k->allow };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(k->dir);
    free(k);
    return 0;
}

static void test_keygen_writes_z85_key_files_and_keeps_the_secret_private(void **state)
{
    struct keys *k = *state;
    struct rls_err err = { 0 };
    char pub[RLS_TRANSPORT_KEY_Z85 + 1], sec[RLS_TRANSPORT_KEY_Z85 + 1], derived[RLS_TRANSPORT_KEY_Z85 + 1];
    char junk[128];
    struct stat st;
    FILE *f;

    assert_int_equal(rls_transport_read_key(k->srv_pub, pub, &err), RLS_OK);
    assert_int_equal(rls_transport_read_key(k->srv_sec, sec, &err), RLS_OK);
    assert_int_equal(strlen(pub), RLS_TRANSPORT_KEY_Z85);
    assert_int_equal(zmq_curve_public(derived, sec), 0);
    assert_string_equal(derived, pub);    /* the pair belongs together */
    assert_int_equal(stat(k->srv_sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* missing and malformed key files */
    assert_int_equal(rls_transport_read_key("/nonexistent/key", pub, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/key"));
    snprintf(junk, sizeof junk, "%s/junk", k->dir);
    f = fopen(junk, "w");
    assert_non_null(f);
    fprintf(f, "# comment\nnot a key\n");
    fclose(f);
    assert_int_equal(rls_transport_read_key(junk, pub, &err), RLS_ERR_PARSE);
    {
        struct rls_transport_params p = rls_transport_default_params();
        p.curve_secret_file = k->srv_sec;
        p.curve_allow_file = junk;
        assert_null(rls_transport_server_new("tcp://127.0.0.1:*", &p, &err));
        assert_non_null(strstr(err.msg, "junk:2: not a Z85 public key"));
    }
    unlink(junk);
}

/* A client that must get nothing: its message does not reach the server and
 * it receives nothing, within the timeouts. */
static void s_gets_nothing(struct rls_transport *srv, const struct rls_transport_params *cp)
{
    struct rls_err err = { 0 };
    struct rls_transport *cli = rls_transport_client_new(rls_transport_endpoint(srv), cp, &err);
    struct rls_proto_msg hb, got = { 0 };

    assert_non_null(cli);
    s_heartbeat(&hb, 1);
    rls_transport_send_msg(cli, NULL, &hb, 500);   /* may time out: never connected */
    assert_int_equal(rls_transport_recv_msg(srv, NULL, &got, 800, &err), 0);
    assert_int_equal(rls_transport_recv_msg(cli, NULL, &got, 100, &err), 0);
    rls_transport_destroy(&cli);
}

static void test_curve_admits_the_listed_key_and_nobody_else(void **state)
{
    struct keys *k = *state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = rls_transport_default_params(), cp;
    struct rls_transport *srv = NULL, *cli = NULL;
    struct rls_transport_peer peer;

    sp.curve_secret_file = k->srv_sec;
    sp.curve_allow_file = k->allow;
    srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    if (srv == NULL)
        fail_msg("%s", err.msg);

    /* the right server key and a listed client key: it talks */
    cp = rls_transport_default_params();
    cp.curve_server_file = k->srv_pub;
    cp.curve_secret_file = k->cli_sec;
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    s_round_trip(cli, srv, 1);
    rls_transport_destroy(&cli);
    assert_int_equal(rls_transport_auth_denied(srv), 0);

    /* the right server key, an unlisted client key: the ZAP handler says no */
    cp.curve_secret_file = k->bad_sec;
    s_gets_nothing(srv, &cp);
    assert_true(rls_transport_auth_denied(srv) >= 1);
    /* a fresh, unlisted key pair (a client that says insecure): no */
    cp.curve_secret_file = NULL;
    cp.insecure = 1;
    s_gets_nothing(srv, &cp);
    cp.insecure = 0;
    /* a wrong server key (the handshake cannot complete) */
    cp.curve_server_file = k->bad_pub;
    cp.curve_secret_file = k->cli_sec;
    s_gets_nothing(srv, &cp);
    /* no CURVE at all (a client that says insecure) */
    {
        struct rls_transport_params plain = rls_transport_default_params();
        plain.insecure = 1;
        s_gets_nothing(srv, &plain);
    }

    /* and the listed client still gets through afterwards */
    cp.curve_server_file = k->srv_pub;
    cp.curve_secret_file = k->cli_sec;
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
}

static void test_curve_without_an_allow_list_admits_any_client_with_the_server_key(void **state)
{
    struct keys *k = *state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = rls_transport_default_params(), cp = rls_transport_default_params();
    struct rls_transport *srv = NULL, *cli = NULL;
    struct rls_transport_peer peer;

    sp.curve_secret_file = k->srv_sec;
    /* without an allow list only with insecure (the operator's opt-out) */
    assert_null(rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err));
    assert_non_null(strstr(err.msg, "curve_allow_file"));
    sp.insecure = 1;
    srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    assert_non_null(srv);
    cp.curve_server_file = k->srv_pub;     /* own key: a fresh pair, only with insecure */
    assert_null(rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err));
    assert_non_null(strstr(err.msg, "curve_secret_file"));
    cp.insecure = 1;
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    s_round_trip(cli, srv, 2);
    rls_transport_destroy(&cli);
    /* still: no CURVE, or the wrong server key, get nothing */
    {
        struct rls_transport_params plain = rls_transport_default_params();
        plain.insecure = 1;
        s_gets_nothing(srv, &plain);
    }
    cp.curve_server_file = k->bad_pub;
    s_gets_nothing(srv, &cp);
    rls_transport_destroy(&srv);
}

static void test_without_keys_neither_side_starts_unless_insecure_is_said(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = rls_transport_default_params(), cp = rls_transport_default_params();
    struct rls_transport *srv = NULL, *cli = NULL;
    struct rls_transport_peer peer;

    /* a server without keys: refused, with a line saying how to make them */
    assert_null(rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "refusing to serve without authentication"));
    assert_non_null(strstr(err.msg, "rlsched keygen"));
    assert_null(rls_transport_server_new("ipc:///tmp/rls-insecure-test", &sp, &err));
    /* a secret key alone (any holder of the public key admitted): refused too */
    sp.curve_secret_file = g_keys.srv_sec;
    assert_null(rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err));
    assert_non_null(strstr(err.msg, "curve_allow_file"));
    /* a client without the server key, or without its own key */
    assert_null(rls_transport_client_new("tcp://127.0.0.1:5", &cp, &err));
    assert_non_null(strstr(err.msg, "refusing to connect without authentication"));
    cp.curve_server_file = g_keys.srv_pub;
    assert_null(rls_transport_client_new("tcp://127.0.0.1:5", &cp, &err));
    assert_non_null(strstr(err.msg, "curve_secret_file"));

    /* insecure, said explicitly: plain TCP works, and the peer has no key */
    sp = rls_transport_default_params();
    cp = rls_transport_default_params();
    sp.insecure = cp.insecure = 1;
    srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    assert_non_null(srv);
    assert_false(rls_transport_is_secure(srv));
    cli = rls_transport_client_new(rls_transport_endpoint(srv), &cp, &err);
    assert_non_null(cli);
    assert_true(s_reaches(cli, srv, &peer, 3000));
    assert_string_equal(peer.key, "");
    s_round_trip(cli, srv, 3);
    rls_transport_destroy(&cli);
    rls_transport_destroy(&srv);
}

static void test_the_allow_file_marks_keys_that_may_take_over(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_transport_params sp = s_sp();
    struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err);
    char bad[160];
    FILE *f;

    assert_non_null(srv);
    assert_int_equal(rls_transport_key_can_take_over(srv, g_keys.agent2_z85), 1);
    assert_int_equal(rls_transport_key_can_take_over(srv, g_keys.agent_z85), 0);
    assert_int_equal(rls_transport_key_can_take_over(srv, ""), 0);
    assert_int_equal(rls_transport_key_can_take_over(NULL, g_keys.agent2_z85), 0);
    rls_transport_destroy(&srv);
    /* any other word after a key is an error naming the line */
    snprintf(bad, sizeof bad, "%s/bad.allow", g_keys.dir);
    f = fopen(bad, "w");
    assert_non_null(f);
    fprintf(f, "%s admin\n", g_keys.agent_z85);
    fclose(f);
    sp.curve_allow_file = bad;
    assert_null(rls_transport_server_new("tcp://127.0.0.1:*", &sp, &err));
    assert_non_null(strstr(err.msg, "bad.allow:1: 'admin' after the key"));
    unlink(bad);
}

static void test_keygen_refuses_to_overwrite_unless_asked(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    char pub[160], sec[160], before[RLS_TRANSPORT_KEY_Z85 + 1], after[RLS_TRANSPORT_KEY_Z85 + 1];

    snprintf(pub, sizeof pub, "%s/x.pub", g_keys.dir);
    snprintf(sec, sizeof sec, "%s/x.key", g_keys.dir);
    assert_int_equal(rls_transport_keygen(pub, sec, 0, &err), RLS_OK);
    assert_int_equal(rls_transport_read_key(pub, before, &err), RLS_OK);
    assert_int_equal(rls_transport_keygen(pub, sec, 0, &err), RLS_ERR_STATE);
    assert_non_null(strstr(err.msg, "exists"));
    assert_int_equal(rls_transport_read_key(pub, after, &err), RLS_OK);
    assert_string_equal(before, after);
    assert_int_equal(rls_transport_keygen(pub, sec, 1, &err), RLS_OK);
    assert_int_equal(rls_transport_read_key(pub, after, &err), RLS_OK);
    assert_string_not_equal(before, after);
    unlink(pub);
    unlink(sec);
}

static int s_group_setup(void **state)
{
    (void)state;
    return rls_test_keys_make(&g_keys);
}

static int s_group_teardown(void **state)
{
    (void)state;
    rls_test_keys_remove(&g_keys);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_reply_over_inproc_with_a_shared_context),
        cmocka_unit_test(test_request_reply_over_tcp_loopback_on_an_ephemeral_port),
        cmocka_unit_test(test_a_malformed_message_is_refused_and_answered_with_an_error),
        cmocka_unit_test(test_an_oversized_message_is_dropped_by_maxmsgsize_and_the_link_recovers),
        cmocka_unit_test(test_timeouts_without_a_peer),
        cmocka_unit_test_setup_teardown(test_keygen_writes_z85_key_files_and_keeps_the_secret_private,
                                        s_keys_setup, s_keys_teardown),
        cmocka_unit_test_setup_teardown(test_curve_admits_the_listed_key_and_nobody_else, s_keys_setup,
                                        s_keys_teardown),
        cmocka_unit_test_setup_teardown(test_curve_without_an_allow_list_admits_any_client_with_the_server_key,
                                        s_keys_setup, s_keys_teardown),
        cmocka_unit_test(test_without_keys_neither_side_starts_unless_insecure_is_said),
        cmocka_unit_test(test_the_allow_file_marks_keys_that_may_take_over),
        cmocka_unit_test(test_keygen_refuses_to_overwrite_unless_asked),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
