/* served.c - the simulator served as a live cluster (served.h): a server
 * socket, one agent at a time, and a control loop that publishes a state per
 * step and applies the actions answering it. Library code: it never prints;
 * log lines go to the caller's callback.
 */
#include "served.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol.h"
#include "sim.h"

#ifndef RLS_VERSION
#define RLS_VERSION "0"
#endif

#define S_POLL_MS 100           /* longest wait before the loop looks at its stop flag */
#define S_SEND_MS 200           /* longest a send to the agent may block, ms */
#define S_IO_ERRORS_MAX 50      /* consecutive socket failures before the loop gives up */

struct rls_served {
    struct rls_served_params p;
    struct rls_sim *sim;
    const struct rls_scenario *sc;      /* the simulator's copy (owned by sim) */
    struct rls_transport *tr;
    char *yaml;                         /* the scenario as YAML, or NULL */
    size_t yaml_len;
    struct rls_transport_peer agent;    /* the last peer that said hello */
    int have_agent;
    int64_t state_seq;                  /* seq of the state in force */
    uint64_t seed;                      /* seed of the episode in force */
    int32_t *desired;                   /* [n_services] replicas in force */
    uint8_t *placement;                 /* [n_services] placement in force */
    int got_actions;                    /* actions arrived for state_seq */
    int64_t state_ms;                   /* when the state in force was made or sent, monotonic ms */
    int64_t last_tx_ms;                 /* last message sent to the agent, monotonic ms */
    atomic_int stop;
    _Atomic int64_t steps, episodes, states, actions, missed, refused, agents;
    char errmsg[RLS_ERRMSG_MAX];
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_log(struct rls_served *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_log(struct rls_served *s, const char *fmt, ...)
{
    char line[RLS_ERRMSG_MAX + 128];
    va_list ap;

    if (s->p.log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->p.log(s->p.log_ctx, line);
}

struct rls_served_params rls_served_default_params(void)
{
    struct rls_served_params p;
    memset(&p, 0, sizeof p);
    p.scenario = NULL;
    p.speed = 0.0;
    p.seed = 1;
    p.max_steps = 0;
    p.action_timeout_ms = 0;
    p.heartbeat_ms = 1000;
    p.log_every = 0;
    p.log = NULL;
    p.log_ctx = NULL;
    p.send_scenario_yaml = 1;
    p.transport = rls_transport_default_params();
    return p;
}

/* The scenario as YAML (caller frees), or NULL. */
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

/* The replicas in force after a reset: each service's initial desired. */
static void s_take_initial(struct rls_served *s)
{
    const struct rls_svc_state *sv = rls_sim_services(s->sim);
    for (int32_t i = 0; i < s->sc->n_services; i++) {
        s->desired[i] = sv[i].desired;
        s->placement[i] = RLS_PLACE_SPREAD;
    }
    s->got_actions = 0;
    s->state_ms = s_now_ms();
}

struct rls_served *rls_served_new(const char *endpoint, const struct rls_served_params *p,
                                  struct rls_err *err)
{
    struct rls_served *s = NULL;
    int rc = RLS_OK;

    if (endpoint == NULL || p == NULL || p->scenario == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "served: NULL endpoint, params or scenario");
        return NULL;
    }
    if (!(p->speed >= 0.0) || !isfinite(p->speed) || p->max_steps < 0 || p->action_timeout_ms < 0 ||
        p->heartbeat_ms < 1 || p->log_every < 0) {
        rls_err_set(err, RLS_ERR_INVALID,
                    "served: bad params (speed %g, max_steps %lld, action_timeout_ms %d, heartbeat_ms %d)",
                    p->speed, (long long)p->max_steps, p->action_timeout_ms, p->heartbeat_ms);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "served: out of memory");
        return NULL;
    }
    s->p = *p;
    s->p.transport.context = p->transport.context;
    s->sim = rls_sim_new(p->scenario, err);
    if (s->sim == NULL) {
        rc = err != NULL ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    s->p.scenario = NULL;   /* do not keep the borrowed pointer */
    s->sc = rls_sim_scenario(s->sim);
    s->desired = calloc((size_t)s->sc->n_services, sizeof *s->desired);
    s->placement = calloc((size_t)s->sc->n_services, sizeof *s->placement);
    if (s->desired == NULL || s->placement == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "served: out of memory");
        goto done;
    }
    rc = rls_sim_reset(s->sim, p->seed);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "served: reset with seed %llu: %s", (unsigned long long)p->seed,
                    rls_sim_errmsg(s->sim));
        goto done;
    }
    s->seed = p->seed;
    s->episodes = 1;
    s_take_initial(s);
    if (p->send_scenario_yaml)
        s->yaml = s_yaml(s->sc, &s->yaml_len);  /* optional: NULL just leaves it out */
    s->tr = rls_transport_server_new(endpoint, &s->p.transport, err);
    if (s->tr == NULL) {
        rc = err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_IO;
        goto done;
    }
    s->p.transport.context = NULL;
    s->p.transport.curve_secret_file = NULL;
    s->p.transport.curve_server_file = NULL;
    s->p.transport.curve_allow_file = NULL;

done:
    if (rc != RLS_OK)
        rls_served_destroy(&s);
    return s;
}

void rls_served_destroy(struct rls_served **sp)
{
    struct rls_served *s;

    if (sp == NULL || *sp == NULL)
        return;
    s = *sp;
    rls_transport_destroy(&s->tr);
    rls_sim_destroy(&s->sim);
    free(s->yaml);
    free(s->desired);
    free(s->placement);
    free(s);
    *sp = NULL;
}

const char *rls_served_endpoint(const struct rls_served *s)
{
    return s != NULL && s->tr != NULL ? rls_transport_endpoint(s->tr) : "";
}

const char *rls_served_errmsg(const struct rls_served *s)
{
    return s != NULL ? s->errmsg : "";
}

void rls_served_stop(struct rls_served *s)
{
    if (s != NULL)
        atomic_store(&s->stop, 1);
}

struct rls_served_stats rls_served_stats(const struct rls_served *s)
{
    struct rls_served_stats st;
    memset(&st, 0, sizeof st);
    if (s == NULL)
        return st;
    st.steps = atomic_load(&s->steps);
    st.episodes = atomic_load(&s->episodes);
    st.states = atomic_load(&s->states);
    st.actions = atomic_load(&s->actions);
    st.missed = atomic_load(&s->missed);
    st.refused = atomic_load(&s->refused) + (s->tr != NULL ? rls_transport_refused(s->tr) : 0);
    st.agents = atomic_load(&s->agents);
    return st;
}

/* ---------------------------------------------------------------------------
 * Sending. */

/* Sends m to the agent; a failure (agent gone, not reading) drops the agent. */
static int s_send_agent(struct rls_served *s, const struct rls_proto_msg *m)
{
    int rc;

    if (!s->have_agent)
        return RLS_ERR_STATE;
    rc = rls_transport_send_msg(s->tr, &s->agent, m, S_SEND_MS);
    if (rc != RLS_OK) {
        s_log(s, "agent %s dropped: %s (a new hello brings it back)", rls_transport_peer_name(&s->agent),
              rls_transport_errmsg(s->tr));
        s->have_agent = 0;
        return rc;
    }
    s->last_tx_ms = s_now_ms();
    return RLS_OK;
}

static void s_send_state(struct rls_served *s)
{
    struct rls_proto_msg m;

    if (!s->have_agent)
        return;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_STATE;
    m.seq = s->state_seq;
    m.ts_ns = rls_proto_now_ns();
    m.state.info = *rls_sim_last(s->sim);
    m.state.info.time_s = rls_sim_time_s(s->sim);
    m.state.n_services = rls_sim_n_services(s->sim);
    m.state.services = (struct rls_svc_state *)rls_sim_services(s->sim);   /* borrowed */
    m.state.has_dist = 1;
    m.state.n_nodes = rls_sim_n_nodes(s->sim);
    m.state.nodes = (struct rls_node_state *)rls_sim_nodes(s->sim);        /* borrowed */
    if (s_send_agent(s, &m) == RLS_OK) {
        atomic_fetch_add(&s->states, 1);
        s->state_ms = s_now_ms();
    }
}

static void s_send_ack(struct rls_served *s, const struct rls_transport_peer *to, int64_t re, const char *note)
{
    struct rls_proto_msg m;

    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_ACK;
    m.seq = s->state_seq;
    m.ts_ns = rls_proto_now_ns();
    m.re = re;
    if (note != NULL)
        snprintf(m.note, sizeof m.note, "%s", note);
    if (s->have_agent && rls_transport_peer_equal(to, &s->agent))
        s_send_agent(s, &m);
    else
        rls_transport_send_msg(s->tr, to, &m, S_SEND_MS);
}

static void s_refuse(struct rls_served *s, const struct rls_transport_peer *to, int64_t re, int code,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Answers a refused message with an error, counts and logs it. */
static void s_refuse(struct rls_served *s, const struct rls_transport_peer *to, int64_t re, int code,
                     const char *fmt, ...)
{
    struct rls_proto_msg m;
    va_list ap;

    memset(&m, 0, sizeof m);
    va_start(ap, fmt);
    vsnprintf(m.message, sizeof m.message, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&s->refused, 1);
    s_log(s, "refused from %s: %s", rls_transport_peer_name(to), m.message);
    m.type = RLS_PROTO_ERROR;
    m.seq = s->state_seq;
    m.ts_ns = rls_proto_now_ns();
    m.re = re;
    m.code = code;
    rls_transport_send_msg(s->tr, to, &m, S_SEND_MS);   /* failing to answer is not fatal */
}

/* ---------------------------------------------------------------------------
 * The cluster's moves. */

/* Takes one step with the replicas in force and publishes its state. */
static int s_advance(struct rls_served *s)
{
    int rc = rls_sim_step(s->sim, s->desired, s->placement);
    if (rc != RLS_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "served: step %lld: %s", (long long)rls_sim_steps(s->sim),
                 rls_sim_errmsg(s->sim)[0] ? rls_sim_errmsg(s->sim) : rls_status_str(rc));
        return rc;
    }
    if (!s->got_actions)
        atomic_fetch_add(&s->missed, 1);
    int64_t steps = atomic_fetch_add(&s->steps, 1) + 1;
    s->state_seq++;
    s->got_actions = 0;
    s->state_ms = s_now_ms();
    s_send_state(s);
    if (s->p.log_every > 0 && steps % s->p.log_every == 0) {
        const struct rls_step_info *in = rls_sim_last(s->sim);
        const struct rls_svc_state *sv = rls_sim_services(s->sim);
        int64_t ready = 0;
        for (int32_t i = 0; i < s->sc->n_services; i++)
            ready += sv[i].ready;
        struct rls_served_stats st = rls_served_stats(s);
        s_log(s,
              "step %lld (episode step %lld, seed %llu): %lld replicas ready, %d nodes on, $%.4f, "
              "%.0f arrived, %.0f dropped; %lld actions, %lld steps without, %lld refused, agent %s",
              (long long)steps, (long long)rls_sim_steps(s->sim), (unsigned long long)s->seed,
              (long long)ready, in->nodes_on, in->cost_usd, in->arrivals, in->dropped,
              (long long)st.actions, (long long)st.missed, (long long)st.refused,
              s->have_agent ? rls_transport_peer_name(&s->agent) : "none");
    }
    return RLS_OK;
}

static void s_on_hello(struct rls_served *s, const struct rls_transport_peer *from, const struct rls_proto_msg *in)
{
    struct rls_proto_msg m;

    if (strcmp(in->hello.role, "cluster") == 0 || in->hello.cluster != NULL) {
        s_refuse(s, from, in->seq, RLS_ERR_INVALID,
                 "hello.role: '%s' with a cluster description: this is a cluster, only agents connect here",
                 in->hello.role);
        return;
    }
    if (s->have_agent && !rls_transport_peer_equal(from, &s->agent))
        s_log(s, "agent %s replaced by %s", rls_transport_peer_name(&s->agent), rls_transport_peer_name(from));
    s->agent = *from;
    s->have_agent = 1;
    atomic_fetch_add(&s->agents, 1);
    s_log(s, "agent %s said hello (role '%s', software '%s')", rls_transport_peer_name(from), in->hello.role,
          in->hello.software);
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_HELLO;
    m.seq = s->state_seq;
    m.ts_ns = rls_proto_now_ns();
    snprintf(m.hello.role, sizeof m.hello.role, "cluster");
    snprintf(m.hello.software, sizeof m.hello.software, "rlsched %s", RLS_VERSION);
    m.hello.n_versions = 1;
    m.hello.versions[0] = RLS_PROTO_VERSION;
    m.hello.cluster = (struct rls_scenario *)s->sc;     /* borrowed */
    m.hello.scenario_yaml = s->yaml;
    m.hello.scenario_yaml_len = s->yaml_len;
    if (s_send_agent(s, &m) == RLS_OK)
        s_send_state(s);
}

static void s_on_actions(struct rls_served *s, const struct rls_transport_peer *from,
                         const struct rls_proto_msg *in)
{
    const struct rls_proto_actions *a = &in->actions;
    char note[RLS_PROTO_NOTE_MAX] = "";
    int clamped = 0;

    if (!s->have_agent || !rls_transport_peer_equal(from, &s->agent)) {
        s_refuse(s, from, in->re, RLS_ERR_STATE, "actions: say hello first (not the agent of this cluster)");
        return;
    }
    if (in->re < s->state_seq) {
        s_refuse(s, from, in->re, RLS_ERR_STATE,
                 "actions.re: %lld answers an old state (the state in force is %lld): too late, not applied",
                 (long long)in->re, (long long)s->state_seq);
        return;
    }
    if (in->re > s->state_seq) {
        s_refuse(s, from, in->re, RLS_ERR_RANGE, "actions.re: %lld: no such state was sent (the state in force is %lld)",
                 (long long)in->re, (long long)s->state_seq);
        return;
    }
    if (a->n_services != s->sc->n_services) {
        s_refuse(s, from, in->re, RLS_ERR_RANGE, "actions.services.n: %d services, the cluster has %d",
                 a->n_services, s->sc->n_services);
        return;
    }
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_service_spec *sp = &s->sc->services[i];
        int32_t d = a->desired[i];
        if (d < sp->min_replicas || d > sp->max_replicas) {
            if (clamped++ == 0)
                snprintf(note, sizeof note, "clamped desired[%d] %d to [%d, %d]", i, d, sp->min_replicas,
                         sp->max_replicas);
            d = d < sp->min_replicas ? sp->min_replicas : sp->max_replicas;
        }
        s->desired[i] = d;
        s->placement[i] = a->placement != NULL ? a->placement[i] : RLS_PLACE_SPREAD;
    }
    if (clamped > 1) {
        size_t n = strlen(note);
        snprintf(note + n, sizeof note - n, " and %d more", clamped - 1);
    }
    s->got_actions = 1;
    atomic_fetch_add(&s->actions, 1);
    s_send_ack(s, from, in->re, clamped ? note : NULL);
}

/* Starts a new episode; returns RLS_OK or the simulator's status. */
static int s_on_reset(struct rls_served *s, const struct rls_transport_peer *from, const struct rls_proto_msg *in)
{
    int rc;

    if (!s->have_agent || !rls_transport_peer_equal(from, &s->agent)) {
        s_refuse(s, from, in->seq, RLS_ERR_STATE, "reset: say hello first (not the agent of this cluster)");
        return RLS_OK;
    }
    rc = rls_sim_reset(s->sim, in->seed);
    if (rc != RLS_OK) {
        s_refuse(s, from, in->seq, rc, "reset: seed %llu: %s", (unsigned long long)in->seed,
                 rls_sim_errmsg(s->sim));
        rc = rls_sim_reset(s->sim, s->seed);    /* back to the episode that worked */
        if (rc != RLS_OK) {
            snprintf(s->errmsg, sizeof s->errmsg, "served: reset: %s", rls_sim_errmsg(s->sim));
            return rc;
        }
    } else {
        s->seed = in->seed;
        s_send_ack(s, from, in->seq, NULL);
    }
    atomic_fetch_add(&s->episodes, 1);
    s->state_seq++;
    s_take_initial(s);
    s_send_state(s);
    return RLS_OK;
}

/* Handles one decoded message; returns RLS_OK or a fatal status. */
static int s_handle(struct rls_served *s, const struct rls_transport_peer *from, const struct rls_proto_msg *m)
{
    switch (m->type) {
    case RLS_PROTO_HELLO:
        s_on_hello(s, from, m);
        return RLS_OK;
    case RLS_PROTO_ACTIONS:
        s_on_actions(s, from, m);
        if (s->p.speed == 0.0 && s->got_actions)
            return s_advance(s);    /* lock-step: the agent has answered */
        return RLS_OK;
    case RLS_PROTO_RESET:
        return s_on_reset(s, from, m);
    case RLS_PROTO_HEARTBEAT:
    case RLS_PROTO_ACK:
        return RLS_OK;
    case RLS_PROTO_ERROR:
        s_log(s, "error from %s (re %lld, code %d): %s", rls_transport_peer_name(from), (long long)m->re, m->code,
              m->message);
        return RLS_OK;
    case RLS_PROTO_STATE:
        s_refuse(s, from, m->seq, RLS_ERR_INVALID, "state: a cluster sends states, it does not take them");
        return RLS_OK;
    default:
        s_refuse(s, from, m->seq, RLS_ERR_INVALID, "type %d: not handled here", m->type);
        return RLS_OK;
    }
}

int rls_served_run(struct rls_served *s)
{
    struct rls_proto_msg m = { 0 };
    struct rls_transport_peer peer;
    struct rls_err err = { 0 };
    int rc = RLS_OK, io_errors = 0;
    int timed;
    double period_ms = 0.0, next_ms = 0.0;

    if (s == NULL)
        return RLS_ERR_INVALID;
    timed = s->p.speed > 0.0;
    if (timed) {
        period_ms = s->sc->step_s * 1000.0 / s->p.speed;
        next_ms = (double)s_now_ms() + period_ms;
    }
    while (!atomic_load(&s->stop)) {
        int64_t now = s_now_ms();
        long wait = S_POLL_MS;
        int got;

        if (s->p.max_steps > 0 && atomic_load(&s->steps) >= s->p.max_steps)
            break;
        if (timed && next_ms - (double)now < (double)wait)
            wait = next_ms > (double)now ? (long)ceil(next_ms - (double)now) : 0;
        if (s->have_agent) {
            int64_t hb = s->last_tx_ms + s->p.heartbeat_ms - now;
            if (hb < wait)
                wait = hb > 0 ? (long)hb : 0;
            if (!timed && s->p.action_timeout_ms > 0) {
                int64_t at = s->state_ms + s->p.action_timeout_ms - now;
                if (at < wait)
                    wait = at > 0 ? (long)at : 0;
            }
        }
        got = rls_transport_recv_msg(s->tr, &peer, &m, (int)wait, &err);
        if (got < 0) {
            /* refused (the transport answered the sender) or a socket failure */
            s_log(s, "%s", err.msg);
            if (got == RLS_ERR_IO && ++io_errors > S_IO_ERRORS_MAX) {
                snprintf(s->errmsg, sizeof s->errmsg, "%s", err.msg);
                rc = RLS_ERR_IO;
                break;
            }
            if (got == RLS_ERR_IO) {
                struct timespec ts = { 0, 10 * 1000000 };
                nanosleep(&ts, NULL);
            }
        } else if (got == 1) {
            io_errors = 0;
            rc = s_handle(s, &peer, &m);
            rls_proto_msg_clear(&m);
            if (rc != RLS_OK)
                break;
        }

        now = s_now_ms();
        if (timed && (double)now >= next_ms) {
            rc = s_advance(s);
            if (rc != RLS_OK)
                break;
            next_ms += period_ms;
            if (next_ms < (double)now - 1000.0)     /* far behind: do not race to catch up */
                next_ms = (double)now + period_ms;
        }
        if (!timed && s->have_agent && s->p.action_timeout_ms > 0 && !s->got_actions &&
            now >= s->state_ms + s->p.action_timeout_ms) {
            rc = s_advance(s);  /* the agent is silent: keep its last replicas */
            if (rc != RLS_OK)
                break;
        }
        if (s->have_agent && now - s->last_tx_ms >= s->p.heartbeat_ms) {
            struct rls_proto_msg hb;
            memset(&hb, 0, sizeof hb);
            hb.type = RLS_PROTO_HEARTBEAT;
            hb.seq = s->state_seq;
            hb.ts_ns = rls_proto_now_ns();
            s_send_agent(s, &hb);
        }
    }
    rls_proto_msg_clear(&m);
    return rc;
}
