/* cluster_session.c - the cluster side of the protocol with one agent
 * (cluster_session.h): the server socket, the agent peer, hello, actions
 * checked and clamped, acks, refusals and heartbeats. What a state holds and
 * what actions and resets do is the caller's (ops). Library code: never
 * prints; log lines go to the caller's callback.
 */
#include "cluster_session.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RLS_VERSION
#define RLS_VERSION "0"
#endif

#define S_IO_ERRORS_MAX 50      /* consecutive socket failures before poll gives up */
#define S_IO_PAUSE_MS 10        /* pause after a socket failure, ms */

struct rls_cluster_session {
    struct rls_cluster_session_params p;    /* transport pointers cleared after the bind */
    struct rls_transport *tr;
    char software[RLS_NAME_MAX];
    char *yaml;                         /* the description as YAML, or NULL */
    size_t yaml_len;
    int32_t *desired;                   /* [n_services] scratch: clamped actions */
    struct rls_proto_msg in;            /* the message being handled */
    struct rls_transport_peer agent;    /* the lease holder */
    int have_agent;                     /* the holder is connected (not dropped) */
    int64_t lease_id;                   /* the lease in force, 0 = none yet */
    int64_t lease_rx_ms;                /* last message from the holder, monotonic ms */
    int64_t state_seq;                  /* seq of the state in force */
    int answered;                       /* actions were accepted for state_seq */
    int64_t last_tx_ms;                 /* last message sent to the agent, monotonic ms */
    int io_errors;                      /* consecutive socket failures */
    _Atomic int64_t states, actions, refused, agents, leases, takeovers, lease_refused;
    char errmsg[RLS_ERRMSG_MAX];
};

struct rls_cluster_session_params rls_cluster_session_default_params(void)
{
    struct rls_cluster_session_params p;
    memset(&p, 0, sizeof p);
    p.cluster = NULL;
    p.software = "rlsched " RLS_VERSION;
    p.send_scenario_yaml = 1;
    p.heartbeat_ms = 1000;
    p.send_timeout_ms = 200;
    p.lease_ms = 45000;
    p.log = NULL;
    p.log_ctx = NULL;
    p.transport = rls_transport_default_params();
    return p;
}

/* The scenario as YAML (caller frees), or NULL when it cannot be made or
 * does not fit a hello. */
static char *s_yaml(const struct rls_scenario *sc, size_t *len)
{
    char *buf = rls_scenario_to_yaml(sc, len);
    if (buf && (*len > RLS_PROTO_MAX_YAML || memchr(buf, 0, *len) != NULL)) {
        free(buf);
        *len = 0;
        return NULL;
    }
    return buf;
}

struct rls_cluster_session *rls_cluster_session_new(const char *endpoint,
                                                    const struct rls_cluster_session_params *p,
                                                    struct rls_err *err)
{
    struct rls_cluster_session *s = NULL;
    int rc = RLS_OK;

    if (endpoint == NULL || p == NULL || p->cluster == NULL || p->ops.send_state == NULL ||
        p->ops.apply_actions == NULL) {
        rls_err_set(err, RLS_ERR_INVALID,
                    "cluster session: NULL endpoint, params, cluster, ops.send_state or ops.apply_actions");
        return NULL;
    }
    if (p->heartbeat_ms < 1 || p->send_timeout_ms < 0 || p->lease_ms < 1) {
        rls_err_set(err, RLS_ERR_INVALID,
                    "cluster session: heartbeat_ms %d (>= 1), send_timeout_ms %d (>= 0), lease_ms %d (>= 1)",
                    p->heartbeat_ms, p->send_timeout_ms, p->lease_ms);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "cluster session: out of memory");
        return NULL;
    }
    s->p = *p;
    snprintf(s->software, sizeof s->software, "%s", p->software != NULL ? p->software : "");
    s->p.software = NULL;   /* copied */
    s->desired = calloc(p->cluster->n_services > 0 ? (size_t)p->cluster->n_services : 1, sizeof *s->desired);
    if (s->desired == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "cluster session: out of memory");
        goto done;
    }
    if (p->send_scenario_yaml)
        s->yaml = s_yaml(p->cluster, &s->yaml_len);     /* optional: NULL just leaves it out */
    s->tr = rls_transport_server_new(endpoint, &p->transport, err);
    if (s->tr == NULL) {
        rc = err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_IO;
        goto done;
    }
    /* borrowed for the bind only */
    s->p.transport.context = NULL;
    s->p.transport.curve_secret_file = NULL;
    s->p.transport.curve_server_file = NULL;
    s->p.transport.curve_allow_file = NULL;

done:
    if (rc != RLS_OK)
        rls_cluster_session_destroy(&s);
    return s;
}

void rls_cluster_session_destroy(struct rls_cluster_session **sp)
{
    struct rls_cluster_session *s;

    if (sp == NULL || *sp == NULL)
        return;
    s = *sp;
    rls_transport_destroy(&s->tr);
    rls_proto_msg_clear(&s->in);
    free(s->yaml);
    free(s->desired);
    free(s);
    *sp = NULL;
}

const char *rls_cluster_session_endpoint(const struct rls_cluster_session *s)
{
    return s != NULL && s->tr != NULL ? rls_transport_endpoint(s->tr) : "";
}

const char *rls_cluster_session_errmsg(const struct rls_cluster_session *s)
{
    return s != NULL ? s->errmsg : "";
}

int64_t rls_cluster_session_new_state(struct rls_cluster_session *s)
{
    if (s == NULL)
        return 0;
    s->state_seq++;
    s->answered = 0;
    return s->state_seq;
}

int64_t rls_cluster_session_seq(const struct rls_cluster_session *s)
{
    return s != NULL ? s->state_seq : 0;
}

int rls_cluster_session_answered(const struct rls_cluster_session *s)
{
    return s != NULL && s->answered;
}

int rls_cluster_session_has_agent(const struct rls_cluster_session *s)
{
    return s != NULL && s->have_agent;
}

const char *rls_cluster_session_agent_name(const struct rls_cluster_session *s)
{
    return s != NULL && s->have_agent ? rls_transport_peer_name(&s->agent) : "none";
}

int64_t rls_cluster_session_lease_id(const struct rls_cluster_session *s)
{
    return s != NULL ? s->lease_id : 0;
}

struct rls_cluster_session_stats rls_cluster_session_stats(const struct rls_cluster_session *s)
{
    struct rls_cluster_session_stats st;
    memset(&st, 0, sizeof st);
    if (s == NULL)
        return st;
    st.states = atomic_load(&s->states);
    st.actions = atomic_load(&s->actions);
    st.refused = atomic_load(&s->refused) + (s->tr != NULL ? rls_transport_refused(s->tr) : 0);
    st.agents = atomic_load(&s->agents);
    st.leases = atomic_load(&s->leases);
    st.takeovers = atomic_load(&s->takeovers);
    st.lease_refused = atomic_load(&s->lease_refused);
    return st;
}

/* ---------------------------------------------------------------------------
 * Sending. */

/* Sends m to the agent; a failure (agent gone, not reading) drops the agent. */
static int s_send_agent(struct rls_cluster_session *s, const struct rls_proto_msg *m)
{
    int rc;

    if (!s->have_agent)
        return RLS_ERR_STATE;
    rc = rls_transport_send_msg(s->tr, &s->agent, m, s->p.send_timeout_ms);
    if (rc != RLS_OK) {
        rls_logf(s->p.log, s->p.log_ctx, "agent %s dropped: %s (a new hello brings it back)", rls_transport_peer_name(&s->agent),
              rls_transport_errmsg(s->tr));
        s->have_agent = 0;
        return rc;
    }
    s->last_tx_ms = rls_transport_now_ms();
    return RLS_OK;
}

/* m zeroed with type, the seq in force and the time. */
static void s_msg(const struct rls_cluster_session *s, struct rls_proto_msg *m, int type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->seq = s->state_seq;
    m->ts_ns = rls_proto_now_ns();
}

int rls_cluster_session_send_state(struct rls_cluster_session *s, const struct rls_proto_state *st)
{
    struct rls_proto_msg m;
    int rc;

    if (s == NULL || st == NULL)
        return RLS_ERR_INVALID;
    if (!s->have_agent)
        return RLS_ERR_STATE;
    s_msg(s, &m, RLS_PROTO_STATE);
    m.state = *st;      /* borrowed arrays */
    rc = s_send_agent(s, &m);
    if (rc == RLS_OK)
        atomic_fetch_add(&s->states, 1);
    return rc;
}

int rls_cluster_session_ack(struct rls_cluster_session *s, const struct rls_transport_peer *to, int64_t re,
                            const char *note)
{
    struct rls_proto_msg m;

    if (s == NULL || to == NULL)
        return RLS_ERR_INVALID;
    s_msg(s, &m, RLS_PROTO_ACK);
    m.re = re;
    if (note != NULL)
        snprintf(m.note, sizeof m.note, "%s", note);
    if (s->have_agent && rls_transport_peer_equal(to, &s->agent))
        return s_send_agent(s, &m);
    return rls_transport_send_msg(s->tr, to, &m, s->p.send_timeout_ms);
}

void rls_cluster_session_refuse(struct rls_cluster_session *s, const struct rls_transport_peer *to, int64_t re,
                                int code, const char *fmt, ...)
{
    struct rls_proto_msg m;
    va_list ap;

    if (s == NULL || to == NULL || fmt == NULL)
        return;
    s_msg(s, &m, RLS_PROTO_ERROR);
    va_start(ap, fmt);
    vsnprintf(m.message, sizeof m.message, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&s->refused, 1);
    rls_logf(s->p.log, s->p.log_ctx, "refused from %s: %s", rls_transport_peer_name(to), m.message);
    m.re = re;
    m.code = code;
    rls_transport_send_msg(s->tr, to, &m, s->p.send_timeout_ms);  /* failing to answer is not fatal */
}

int64_t rls_cluster_session_heartbeat_in_ms(const struct rls_cluster_session *s)
{
    int64_t left;

    if (s == NULL || !s->have_agent)
        return INT64_MAX;
    left = s->last_tx_ms + s->p.heartbeat_ms - rls_transport_now_ms();
    return left > 0 ? left : 0;
}

int rls_cluster_session_heartbeat(struct rls_cluster_session *s)
{
    struct rls_proto_msg hb;
    int rc;

    if (s == NULL || !s->have_agent || rls_transport_now_ms() - s->last_tx_ms < s->p.heartbeat_ms)
        return 0;
    s_msg(s, &hb, RLS_PROTO_HEARTBEAT);
    rc = s_send_agent(s, &hb);
    return rc == RLS_OK ? 1 : rc;
}

/* ---------------------------------------------------------------------------
 * Receiving. */

/* A short form of a Z85 key for logs: its first 8 characters, or "no key". */
static const char *s_key_short(const struct rls_transport_peer *p, char buf[16])
{
    if (p->key[0] == '\0')
        return "no key";
    snprintf(buf, 16, "key %.8s", p->key);
    return buf;
}

/* The lease rule for a hello from `from` (cluster_session.h; PROTOCOL.md):
 * returns 1 when from holds the lease now (granted, renewed or taken over;
 * the change is logged), or refuses the hello and returns 0. */
static int s_lease_grant(struct rls_cluster_session *s, const struct rls_transport_peer *from,
                         const struct rls_proto_msg *in)
{
    int64_t now = rls_transport_now_ms();
    int64_t idle = now - s->lease_rx_ms;
    char kf[16], kh[16];
    const char *why = NULL;
    int taken = 0;          /* from a live holder */

    if (s->lease_id > 0 && rls_transport_peer_equal(from, &s->agent)) {
        s->have_agent = 1;      /* the holder again (renewed by the message itself) */
        s->lease_rx_ms = now;
        atomic_fetch_add(&s->agents, 1);
        return 1;
    }
    if (s->lease_id == 0)
        why = "first agent";
    else if (idle > s->p.lease_ms)
        why = "the holder's lease lapsed";
    else if (from->key[0] != '\0' && strcmp(from->key, s->agent.key) == 0)
        why = "same key reconnected", taken = 1;
    else if (in->hello.takeover && rls_transport_key_can_take_over(s->tr, from->key))
        why = "takeover by a key listed 'takeover'", taken = 1;
    if (why == NULL) {
        atomic_fetch_add(&s->lease_refused, 1);
        rls_cluster_session_refuse(
            s, from, in->seq, RLS_ERR_STATE,
            "lease %lld is held by agent %s (%s) for %lld ms more: standby, not in charge (%s)",
            (long long)s->lease_id, rls_transport_peer_name(&s->agent), s_key_short(&s->agent, kh),
            (long long)(s->p.lease_ms - idle),
            in->hello.takeover ? "takeover refused: this key is not listed with 'takeover'"
                               : "retry after it lapses, or ask takeover from a key listed 'takeover'");
        return 0;
    }
    if (s->lease_id > 0) {
        atomic_fetch_add(&s->takeovers, taken);
        rls_logf(s->p.log, s->p.log_ctx, "lease %lld of agent %s (%s, silent for %lld ms) ends: %s",
                 (long long)s->lease_id, rls_transport_peer_name(&s->agent), s_key_short(&s->agent, kh),
                 (long long)idle, why);
    }
    s->lease_id++;
    s->agent = *from;
    s->have_agent = 1;
    s->lease_rx_ms = now;
    atomic_fetch_add(&s->leases, 1);
    atomic_fetch_add(&s->agents, 1);
    rls_logf(s->p.log, s->p.log_ctx, "lease %lld granted to agent %s (%s; %s), lapses after %d ms without a message",
             (long long)s->lease_id, rls_transport_peer_name(from), s_key_short(from, kf), why, s->p.lease_ms);
    return 1;
}

static void s_on_hello(struct rls_cluster_session *s, const struct rls_transport_peer *from,
                       const struct rls_proto_msg *in)
{
    struct rls_proto_msg m;

    if (strcmp(in->hello.role, "cluster") == 0 || in->hello.cluster != NULL) {
        rls_cluster_session_refuse(
            s, from, in->seq, RLS_ERR_INVALID,
            "hello.role: '%s' with a cluster description: this is a cluster, only agents connect here",
            in->hello.role);
        return;
    }
    if (!s_lease_grant(s, from, in))
        return;
    rls_logf(s->p.log, s->p.log_ctx, "agent %s%s%s said hello (role '%s', software '%s'; lease %lld)",
             rls_transport_peer_name(from), from->key[0] ? " key " : "", from->key, in->hello.role,
             in->hello.software, (long long)s->lease_id);
    s_msg(s, &m, RLS_PROTO_HELLO);
    m.hello.lease_id = s->lease_id;
    m.hello.lease_ms = s->p.lease_ms;
    snprintf(m.hello.role, sizeof m.hello.role, "cluster");
    snprintf(m.hello.software, sizeof m.hello.software, "%s", s->software);
    m.hello.n_versions = 1;
    m.hello.versions[0] = RLS_PROTO_VERSION;
    m.hello.cluster = (struct rls_scenario *)s->p.cluster;     /* borrowed */
    m.hello.scenario_yaml = s->yaml;
    m.hello.scenario_yaml_len = s->yaml_len;
    if (s_send_agent(s, &m) == RLS_OK)
        s->p.ops.send_state(s->p.ops.ctx);
}

/* 1 when from is the agent, else refuses the message (what) and returns 0. */
static int s_from_agent(struct rls_cluster_session *s, const struct rls_transport_peer *from, int64_t re,
                        const char *what)
{
    if (s->have_agent && rls_transport_peer_equal(from, &s->agent))
        return 1;
    rls_cluster_session_refuse(s, from, re, RLS_ERR_STATE,
                               "%s: not applied: this peer does not hold the lease (say hello first)", what);
    return 0;
}

static void s_on_actions(struct rls_cluster_session *s, const struct rls_transport_peer *from,
                         const struct rls_proto_msg *in)
{
    const struct rls_proto_actions *a = &in->actions;
    const struct rls_scenario *sc = s->p.cluster;
    char note[RLS_PROTO_NOTE_MAX] = "";
    int clamped = 0;

    if (!s_from_agent(s, from, in->re, "actions"))
        return;
    if (in->re < s->state_seq) {
        rls_cluster_session_refuse(
            s, from, in->re, RLS_ERR_STATE,
            "actions.re: %lld answers an old state (the state in force is %lld): too late, not applied",
            (long long)in->re, (long long)s->state_seq);
        return;
    }
    if (in->re > s->state_seq) {
        rls_cluster_session_refuse(s, from, in->re, RLS_ERR_RANGE,
                                   "actions.re: %lld: no such state was sent (the state in force is %lld)",
                                   (long long)in->re, (long long)s->state_seq);
        return;
    }
    if (a->n_services != sc->n_services) {
        rls_cluster_session_refuse(s, from, in->re, RLS_ERR_RANGE,
                                   "actions.services.n: %d services, the cluster has %d", a->n_services,
                                   sc->n_services);
        return;
    }
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        int32_t d = a->desired[i];
        if (d < sp->min_replicas || d > sp->max_replicas) {
            if (clamped++ == 0)
                snprintf(note, sizeof note, "clamped desired[%d] %d to [%d, %d]", i, d, sp->min_replicas,
                         sp->max_replicas);
            d = d < sp->min_replicas ? sp->min_replicas : sp->max_replicas;
        }
        s->desired[i] = d;
    }
    if (clamped > 1) {
        size_t n = strlen(note);
        snprintf(note + n, sizeof note - n, " and %d more", clamped - 1);
    }
    s->answered = 1;
    atomic_fetch_add(&s->actions, 1);
    s->p.ops.apply_actions(s->p.ops.ctx, s->desired, a->placement);
    rls_cluster_session_ack(s, from, in->re, clamped ? note : NULL);
}

/* Handles one decoded message; returns RLS_OK or ops.reset's status. */
static int s_handle(struct rls_cluster_session *s, const struct rls_transport_peer *from,
                    const struct rls_proto_msg *m)
{
    switch (m->type) {
    case RLS_PROTO_HELLO:
        s_on_hello(s, from, m);
        return RLS_OK;
    case RLS_PROTO_ACTIONS:
        s_on_actions(s, from, m);
        return RLS_OK;
    case RLS_PROTO_RESET:
        if (s->p.ops.reset == NULL) {
            rls_cluster_session_refuse(
                s, from, m->seq, RLS_ERR_UNSUPPORTED,
                "reset: a real cluster cannot start a new episode (seed ignored); the next state goes on");
            return RLS_OK;
        }
        if (!s_from_agent(s, from, m->seq, "reset"))
            return RLS_OK;
        return s->p.ops.reset(s->p.ops.ctx, from, m);
    case RLS_PROTO_HEARTBEAT:
    case RLS_PROTO_ACK:
        return RLS_OK;
    case RLS_PROTO_ERROR:
        rls_logf(s->p.log, s->p.log_ctx, "error from %s (re %lld, code %d): %s", rls_transport_peer_name(from), (long long)m->re, m->code,
              m->message);
        return RLS_OK;
    case RLS_PROTO_STATE:
        rls_cluster_session_refuse(s, from, m->seq, RLS_ERR_INVALID,
                                   "state: a cluster sends states, it does not take them");
        return RLS_OK;
    default:
        rls_cluster_session_refuse(s, from, m->seq, RLS_ERR_INVALID, "type %d: not handled here", m->type);
        return RLS_OK;
    }
}

int rls_cluster_session_poll(struct rls_cluster_session *s, int timeout_ms)
{
    struct rls_transport_peer peer;
    struct rls_err err = { 0 };
    int got, rc;

    if (s == NULL)
        return RLS_ERR_INVALID;
    s->errmsg[0] = '\0';
    got = rls_transport_recv_msg(s->tr, &peer, &s->in, timeout_ms, &err);
    if (got == 0)
        return 0;
    if (got < 0) {
        /* refused (the transport answered the sender) or a socket failure */
        rls_logf(s->p.log, s->p.log_ctx, "%s", err.msg);
        if (got != RLS_ERR_IO)
            return 0;
        if (++s->io_errors > S_IO_ERRORS_MAX) {
            snprintf(s->errmsg, sizeof s->errmsg, "%s", err.msg);
            return RLS_ERR_IO;
        }
        struct timespec ts = { 0, S_IO_PAUSE_MS * 1000000L };
        nanosleep(&ts, NULL);
        return 0;
    }
    s->io_errors = 0;
    if (s->lease_id > 0 && rls_transport_peer_equal(&peer, &s->agent))
        s->lease_rx_ms = rls_transport_now_ms();   /* every message of the holder renews its lease */
    rc = s_handle(s, &peer, &s->in);
    rls_proto_msg_clear(&s->in);
    return rc != RLS_OK ? rc : 1;
}
