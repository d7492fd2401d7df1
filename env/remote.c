/* remote.c - the env backend for a cluster over the wire protocol
 * (remote.h): hello on connect, reset and step as request/answer/state
 * exchanges with timeouts, the last state kept as the backend's views.
 */
#include "remote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol.h"

#ifndef RLS_VERSION
#define RLS_VERSION "0"
#endif

struct rls_remote {
    struct rls_remote_params p;
    struct rls_transport *tr;
    char endpoint[256];
    struct rls_scenario *cluster;   /* from the hello (owned) */
    char *yaml;                     /* from the hello (owned) or NULL */
    struct rls_proto_msg cur;       /* the state in force (a decoded state, or zero) */
    struct rls_proto_msg rx;        /* receive scratch */
    struct rls_proto_msg pend;      /* a newer state that came before an answer */
    int have_cur;
    int64_t seq;                    /* our next message seq */
    int64_t steps;                  /* steps since reset */
    int64_t late;
    char errmsg[RLS_ERRMSG_MAX];
};

static int s_fail(struct rls_remote *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_remote *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

struct rls_remote_params rls_remote_default_params(void)
{
    struct rls_remote_params p;
    memset(&p, 0, sizeof p);
    p.connect_timeout_ms = 5000;
    p.timeout_ms = 5000;
    p.step_timeout_ms = 60000;
    p.transport = rls_transport_default_params();
    return p;
}

/* Waits for the next message that is not a heartbeat, into r->rx. Returns
 * 1, or RLS_ERR_IO with errmsg when the cluster was silent for timeout_ms or
 * the overall deadline (monotonic ms) passed. Messages from the cluster that
 * do not decode are answered by the transport and skipped. */
static int s_next(struct rls_remote *r, int64_t deadline, const char *what)
{
    struct rls_err e = { 0 };
    char refused[RLS_ERRMSG_MAX] = "";

    for (;;) {
        int64_t now = rls_transport_now_ms();
        int64_t wait = r->p.timeout_ms;
        int got;
        if (deadline - now < wait)
            wait = deadline - now;
        if (wait <= 0)
            return s_fail(r, RLS_ERR_IO, "cluster %s: no %s within %d ms%s%s", r->endpoint, what,
                          r->p.step_timeout_ms, refused[0] ? "; last refused: " : "", refused);
        got = rls_transport_recv_msg(r->tr, NULL, &r->rx, (int)wait, &e);
        if (got == 1) {
            if (r->rx.type == RLS_PROTO_HEARTBEAT)
                continue;
            return 1;
        }
        if (got == 0) {
            if (rls_transport_now_ms() - now < wait)
                continue;   /* a signal cut the wait short */
            return s_fail(r, RLS_ERR_IO,
                          "cluster %s: nothing received for %lld ms while waiting for %s (cluster gone?)%s%s",
                          r->endpoint, (long long)wait, what, refused[0] ? "; last refused: " : "", refused);
        }
        if (got == RLS_ERR_IO)
            return s_fail(r, got, "cluster %s: %s", r->endpoint, e.msg);
        snprintf(refused, sizeof refused, "%s", e.msg);     /* undecodable: answered, skipped */
    }
}

/* Checks r->rx (a state) against the cluster and makes it the state in force. */
static int s_take_state(struct rls_remote *r, struct rls_proto_msg *m)
{
    struct rls_err e = { 0 };
    int rc = rls_proto_check_state(&m->state, r->cluster, &e);
    if (rc != RLS_OK) {
        rls_proto_msg_clear(m);
        return s_fail(r, rc, "cluster %s: a state that does not fit its hello: %s", r->endpoint, e.msg);
    }
    rls_proto_msg_clear(&r->cur);
    r->cur = *m;
    memset(m, 0, sizeof *m);
    r->have_cur = 1;
    return RLS_OK;
}

struct rls_remote *rls_remote_new(const char *endpoint, const struct rls_remote_params *p, struct rls_err *err)
{
    struct rls_remote *r = NULL;
    struct rls_proto_msg hello;
    int rc = RLS_OK;
    int64_t deadline;

    if (endpoint == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "remote: NULL endpoint");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "remote: out of memory");
        return NULL;
    }
    r->p = p != NULL ? *p : rls_remote_default_params();
    if (r->p.connect_timeout_ms <= 0 || r->p.timeout_ms <= 0 || r->p.step_timeout_ms <= 0) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "remote: timeouts must be > 0 ms (connect %d, timeout %d, step %d)",
                         r->p.connect_timeout_ms, r->p.timeout_ms, r->p.step_timeout_ms);
        goto done;
    }
    snprintf(r->endpoint, sizeof r->endpoint, "%s", endpoint);
    r->tr = rls_transport_client_new(endpoint, &r->p.transport, err);
    if (r->tr == NULL) {
        rc = err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_IO;
        goto done;
    }
    r->p.transport.context = NULL;
    r->p.transport.curve_secret_file = NULL;
    r->p.transport.curve_server_file = NULL;
    r->p.transport.curve_allow_file = NULL;

    deadline = rls_transport_now_ms() + r->p.connect_timeout_ms;
    memset(&hello, 0, sizeof hello);
    hello.type = RLS_PROTO_HELLO;
    hello.seq = r->seq++;
    hello.ts_ns = rls_proto_now_ns();
    snprintf(hello.hello.role, sizeof hello.hello.role, "agent");
    snprintf(hello.hello.software, sizeof hello.hello.software, "rlsched %s remote env", RLS_VERSION);
    hello.hello.n_versions = 1;
    hello.hello.versions[0] = RLS_PROTO_VERSION;
    hello.hello.takeover = r->p.takeover ? 1 : 0;
    if (rls_transport_send_msg(r->tr, NULL, &hello, r->p.connect_timeout_ms) != RLS_OK) {
        rc = rls_err_set(err, RLS_ERR_IO, "cluster %s: no connection within %d ms (not running, wrong port or "
                         "CURVE keys?): %s", endpoint, r->p.connect_timeout_ms, rls_transport_errmsg(r->tr));
        goto done;
    }
    for (;;) {
        int got;
        int64_t left = deadline - rls_transport_now_ms();
        struct rls_err e = { 0 };
        if (left <= 0) {
            rc = rls_err_set(err, RLS_ERR_IO, "cluster %s: no hello within %d ms (not a cluster, or it is busy "
                             "with another agent?)", endpoint, r->p.connect_timeout_ms);
            goto done;
        }
        got = rls_transport_recv_msg(r->tr, NULL, &r->rx, (int)left, &e);
        if (got == RLS_ERR_IO) {
            rc = rls_err_set(err, got, "cluster %s: %s", endpoint, e.msg);
            goto done;
        }
        if (got < 0) {
            /* a hello that does not decode (bad cluster description) is final */
            rc = rls_err_set(err, got, "cluster %s: %s", endpoint, e.msg);
            goto done;
        }
        if (got == 0)
            continue;
        if (r->rx.type == RLS_PROTO_ERROR) {
            rc = rls_err_set(err, r->rx.code < 0 ? r->rx.code : RLS_ERR_EXTERNAL,
                             "cluster %s refused hello: %s", endpoint, r->rx.message);
            goto done;
        }
        if (r->rx.type != RLS_PROTO_HELLO)
            continue;   /* states or heartbeats of an earlier session */
        if (r->rx.hello.cluster == NULL) {
            rc = rls_err_set(err, RLS_ERR_PARSE, "cluster %s: its hello (role '%s') has no cluster description",
                             endpoint, r->rx.hello.role);
            goto done;
        }
        r->cluster = r->rx.hello.cluster;
        r->rx.hello.cluster = NULL;
        r->yaml = r->rx.hello.scenario_yaml;
        r->rx.hello.scenario_yaml = NULL;
        rls_proto_msg_clear(&r->rx);
        break;
    }

done:
    if (rc != RLS_OK)
        rls_remote_destroy(&r);
    return r;
}

void rls_remote_destroy(struct rls_remote **rp)
{
    struct rls_remote *r;

    if (rp == NULL || *rp == NULL)
        return;
    r = *rp;
    rls_transport_destroy(&r->tr);
    rls_proto_msg_clear(&r->cur);
    rls_proto_msg_clear(&r->rx);
    rls_proto_msg_clear(&r->pend);
    rls_scenario_destroy(&r->cluster);
    free(r->yaml);
    free(r);
    *rp = NULL;
}

const struct rls_scenario *rls_remote_scenario(const struct rls_remote *r)
{
    return r != NULL ? r->cluster : NULL;
}

const char *rls_remote_scenario_yaml(const struct rls_remote *r)
{
    return r != NULL ? r->yaml : NULL;
}

const char *rls_remote_errmsg(const struct rls_remote *r)
{
    return r != NULL ? r->errmsg : "";
}

int64_t rls_remote_late(const struct rls_remote *r)
{
    return r != NULL ? r->late : 0;
}

/* ---------------------------------------------------------------------------
 * The backend ops. */

static int s_reset(void *self, uint64_t seed)
{
    struct rls_remote *r = self;
    struct rls_proto_msg m;
    int64_t deadline = rls_transport_now_ms() + r->p.step_timeout_ms;
    int64_t rseq = r->seq++;
    int answered = 0, rc;

    r->errmsg[0] = '\0';
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_RESET;
    m.seq = rseq;
    m.ts_ns = rls_proto_now_ns();
    m.seed = seed;
    if (rls_transport_send_msg(r->tr, NULL, &m, r->p.timeout_ms) != RLS_OK)
        return s_fail(r, RLS_ERR_IO, "cluster %s: reset: %s", r->endpoint, rls_transport_errmsg(r->tr));
    for (;;) {
        rc = s_next(r, deadline, answered ? "first state after reset" : "answer to reset");
        if (rc != 1)
            return rc;
        struct rls_proto_msg *in = &r->rx;
        if (!answered && in->type == RLS_PROTO_ACK && in->re == rseq) {
            answered = 1;
        } else if (!answered && in->type == RLS_PROTO_ERROR && in->re == rseq) {
            if (in->code != RLS_ERR_UNSUPPORTED)
                return s_fail(r, in->code < 0 ? in->code : RLS_ERR_EXTERNAL, "cluster %s refused reset (seed %llu): %s",
                              r->endpoint, (unsigned long long)seed, in->message);
            if (r->p.require_reset)
                return s_fail(r, RLS_ERR_UNSUPPORTED,
                              "cluster %s cannot start an episode on request (a live cluster: %s); "
                              "a run from its current state would not be reproducible",
                              r->endpoint, in->message);
            answered = 1;   /* a live cluster: its next state starts the episode */
        } else if (answered && in->type == RLS_PROTO_STATE) {
            rc = s_take_state(r, in);
            if (rc != RLS_OK)
                return rc;
            rls_proto_msg_clear(&r->pend);
            r->steps = 0;
            return RLS_OK;
        }
        /* anything else (stale states, acks of earlier messages) is skipped */
    }
}

static int s_step(void *self, const int32_t *desired, const uint8_t *placement)
{
    struct rls_remote *r = self;
    struct rls_proto_msg m;
    int64_t deadline = rls_transport_now_ms() + r->p.step_timeout_ms;
    int64_t re;
    int answered = 0, rc;

    r->errmsg[0] = '\0';
    if (!r->have_cur)
        return s_fail(r, RLS_ERR_STATE, "cluster %s: step before reset", r->endpoint);
    re = r->cur.seq;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACTIONS;
    m.seq = r->seq++;
    m.ts_ns = rls_proto_now_ns();
    m.re = re;
    m.actions.n_services = r->cluster->n_services;
    m.actions.desired = (int32_t *)desired;         /* borrowed for encoding */
    m.actions.placement = (uint8_t *)placement;
    if (rls_transport_send_msg(r->tr, NULL, &m, r->p.timeout_ms) != RLS_OK)
        return s_fail(r, RLS_ERR_IO, "cluster %s: actions for state %lld: %s", r->endpoint, (long long)re,
                      rls_transport_errmsg(r->tr));
    rls_proto_msg_clear(&r->pend);
    for (;;) {
        if (answered && r->pend.type == RLS_PROTO_STATE) {
            rc = s_take_state(r, &r->pend);
            if (rc == RLS_OK)
                r->steps++;
            return rc;
        }
        rc = s_next(r, deadline, answered ? "next state" : "answer to actions");
        if (rc != 1)
            return rc;
        struct rls_proto_msg *in = &r->rx;
        if (in->type == RLS_PROTO_STATE && in->seq > re) {
            rls_proto_msg_clear(&r->pend);      /* keep the newest */
            r->pend = *in;
            memset(in, 0, sizeof *in);
        } else if (!answered && in->type == RLS_PROTO_ACK && in->re == re) {
            answered = 1;
        } else if (!answered && in->type == RLS_PROTO_ERROR && in->re == re) {
            if (in->code != RLS_ERR_STATE)
                return s_fail(r, in->code < 0 ? in->code : RLS_ERR_EXTERNAL,
                              "cluster %s refused the actions for state %lld: %s", r->endpoint, (long long)re,
                              in->message);
            r->late++;          /* too late: the cluster kept its replicas */
            answered = 1;
        }
    }
}

static const struct rls_scenario *s_scenario(const void *self)
{
    return ((const struct rls_remote *)self)->cluster;
}

static const struct rls_svc_state *s_services(const void *self)
{
    return ((const struct rls_remote *)self)->cur.state.services;
}

static const struct rls_node_state *s_nodes(const void *self, int32_t *n_nodes)
{
    const struct rls_remote *r = self;
    if (n_nodes != NULL)
        *n_nodes = r->cur.state.n_nodes;
    return r->cur.state.nodes;
}

static const struct rls_step_info *s_last(const void *self)
{
    return &((const struct rls_remote *)self)->cur.state.info;
}

static int64_t s_steps(const void *self)
{
    return ((const struct rls_remote *)self)->steps;
}

static int64_t s_horizon(const void *self)
{
    return ((const struct rls_remote *)self)->cluster->horizon_steps;
}

static double s_time_s(const void *self)
{
    return ((const struct rls_remote *)self)->cur.state.info.time_s;
}

static const char *s_errmsg(const void *self)
{
    return ((const struct rls_remote *)self)->errmsg;
}

static void s_destroy(void *self)
{
    struct rls_remote *r = self;
    rls_remote_destroy(&r);
}

const struct rls_env_backend_ops rls_remote_backend_ops = {
    .name = "remote",
    .reset = s_reset,
    .step = s_step,
    .scenario = s_scenario,
    .services = s_services,
    .nodes = s_nodes,
    .last = s_last,
    .steps = s_steps,
    .horizon = s_horizon,
    .time_s = s_time_s,
    .errmsg = s_errmsg,
    .destroy = s_destroy,
};

struct rls_env *rls_remote_env_new(const char *endpoint, const struct rls_env_params *p, struct rls_err *err)
{
    struct rls_remote *r = rls_remote_new(endpoint, NULL, err);
    if (r == NULL)
        return NULL;
    return rls_env_new_with_backend(p, &rls_remote_backend_ops, r, err);   /* owns r, also on failure */
}
