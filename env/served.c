/* served.c - the simulator served as a live cluster (served.h): a control
 * loop that publishes a state per step and applies the actions answering
 * it; the socket and the agent (hello, actions checked and acked, refusals,
 * heartbeats) are the cluster session's (cluster_session.h). Library code: it
 * never prints; log lines go to the caller's callback.
 */
#include "served.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_session.h"
#include "protocol.h"
#include "sim.h"

#define S_POLL_MS 100           /* longest wait before the loop looks at its stop flag */

struct rls_served {
    struct rls_served_params p;
    struct rls_sim *sim;
    const struct rls_scenario *sc;      /* the simulator's copy (owned by sim) */
    struct rls_cluster_session *ss;     /* the socket and the agent */
    uint64_t seed;                      /* seed of the episode in force */
    int32_t *desired;                   /* [n_services] replicas in force */
    uint8_t *placement;                 /* [n_services] placement in force */
    int64_t state_ms;                   /* when the state in force was made or sent, monotonic ms */
    atomic_int stop;
    _Atomic int64_t steps, episodes, missed;
    char errmsg[RLS_ERRMSG_MAX];
};

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
    p.lease_ms = 45000;
    p.log_every = 0;
    p.log = NULL;
    p.log_ctx = NULL;
    p.send_scenario_yaml = 1;
    p.transport = rls_transport_default_params();
    return p;
}

/* The replicas in force after a reset: each service's initial desired. */
static void s_take_initial(struct rls_served *s)
{
    const struct rls_svc_state *sv = rls_sim_services(s->sim);
    for (int32_t i = 0; i < s->sc->n_services; i++) {
        s->desired[i] = sv[i].desired;
        s->placement[i] = RLS_PLACE_SPREAD;
    }
    s->state_ms = rls_transport_now_ms();
}

static void s_send_state(void *ctx);
static void s_apply_actions(void *ctx, const int32_t *desired, const uint8_t *placement);
static int s_reset(void *ctx, const struct rls_transport_peer *from, const struct rls_proto_msg *in);

struct rls_served *rls_served_new(const char *endpoint, const struct rls_served_params *p,
                                  struct rls_err *err)
{
    struct rls_served *s = NULL;
    struct rls_cluster_session_params sp = rls_cluster_session_default_params();
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
    s->p.transport = rls_transport_default_params();   /* the session keeps what it needs */
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
    sp.cluster = s->sc;
    sp.send_scenario_yaml = p->send_scenario_yaml;
    sp.heartbeat_ms = p->heartbeat_ms;
    sp.lease_ms = p->lease_ms;
    sp.log = p->log;
    sp.log_ctx = p->log_ctx;
    sp.ops.send_state = s_send_state;
    sp.ops.apply_actions = s_apply_actions;
    sp.ops.reset = s_reset;
    sp.ops.ctx = s;
    sp.transport = p->transport;
    s->ss = rls_cluster_session_new(endpoint, &sp, err);
    if (s->ss == NULL) {
        rc = err != NULL && err->status != RLS_OK ? err->status : RLS_ERR_IO;
        goto done;
    }

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
    rls_cluster_session_destroy(&s->ss);     /* before the sim: it borrows its scenario */
    rls_sim_destroy(&s->sim);
    free(s->desired);
    free(s->placement);
    free(s);
    *sp = NULL;
}

const char *rls_served_endpoint(const struct rls_served *s)
{
    return s != NULL ? rls_cluster_session_endpoint(s->ss) : "";
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
    struct rls_cluster_session_stats ss;
    memset(&st, 0, sizeof st);
    if (s == NULL)
        return st;
    ss = rls_cluster_session_stats(s->ss);
    st.steps = atomic_load(&s->steps);
    st.episodes = atomic_load(&s->episodes);
    st.states = ss.states;
    st.actions = ss.actions;
    st.missed = atomic_load(&s->missed);
    st.refused = ss.refused;
    st.agents = ss.agents;
    st.leases = ss.leases;
    st.takeovers = ss.takeovers;
    st.lease_refused = ss.lease_refused;
    return st;
}

/* ---------------------------------------------------------------------------
 * The cluster's moves (the session calls the ops). */

/* ops.send_state: the simulator's state in force, to the agent. */
static void s_send_state(void *ctx)
{
    struct rls_served *s = ctx;
    struct rls_proto_state st;

    if (!rls_cluster_session_has_agent(s->ss))
        return;
    memset(&st, 0, sizeof st);
    st.info = *rls_sim_last(s->sim);
    st.info.time_s = rls_sim_time_s(s->sim);
    st.n_services = rls_sim_n_services(s->sim);
    st.services = (struct rls_svc_state *)rls_sim_services(s->sim);   /* borrowed */
    st.has_dist = 1;
    st.n_nodes = rls_sim_n_nodes(s->sim);
    st.nodes = (struct rls_node_state *)rls_sim_nodes(s->sim);        /* borrowed */
    if (rls_cluster_session_send_state(s->ss, &st) == RLS_OK)
        s->state_ms = rls_transport_now_ms();
}

/* ops.apply_actions: the replicas (clamped) and placement of the next step. */
static void s_apply_actions(void *ctx, const int32_t *desired, const uint8_t *placement)
{
    struct rls_served *s = ctx;

    for (int32_t i = 0; i < s->sc->n_services; i++) {
        s->desired[i] = desired[i];
        s->placement[i] = placement != NULL ? placement[i] : RLS_PLACE_SPREAD;
    }
}


/* Takes one step with the replicas in force and publishes its state. */
static int s_advance(struct rls_served *s)
{
    int rc = rls_sim_step(s->sim, s->desired, s->placement);
    if (rc != RLS_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "served: step %lld: %s", (long long)rls_sim_steps(s->sim),
                 rls_sim_errmsg(s->sim)[0] ? rls_sim_errmsg(s->sim) : rls_status_str(rc));
        return rc;
    }
    if (!rls_cluster_session_answered(s->ss))
        atomic_fetch_add(&s->missed, 1);
    int64_t steps = atomic_fetch_add(&s->steps, 1) + 1;
    rls_cluster_session_new_state(s->ss);
    s->state_ms = rls_transport_now_ms();
    s_send_state(s);
    if (s->p.log_every > 0 && steps % s->p.log_every == 0) {
        const struct rls_step_info *in = rls_sim_last(s->sim);
        const struct rls_svc_state *sv = rls_sim_services(s->sim);
        int64_t ready = 0;
        for (int32_t i = 0; i < s->sc->n_services; i++)
            ready += sv[i].ready;
        struct rls_served_stats st = rls_served_stats(s);
        rls_logf(s->p.log, s->p.log_ctx,
              "step %lld (episode step %lld, seed %llu): %lld replicas ready, %d nodes on, $%.4f, "
              "%.0f arrived, %.0f dropped; %lld actions, %lld steps without, %lld refused, agent %s",
              (long long)steps, (long long)rls_sim_steps(s->sim), (unsigned long long)s->seed,
              (long long)ready, in->nodes_on, in->cost_usd, in->arrivals, in->dropped,
              (long long)st.actions, (long long)st.missed, (long long)st.refused,
              rls_cluster_session_agent_name(s->ss));
    }
    return RLS_OK;
}

/* ops.reset (the session checked that from is the agent): starts a new
 * episode; returns RLS_OK or the simulator's status. */
static int s_reset(void *ctx, const struct rls_transport_peer *from, const struct rls_proto_msg *in)
{
    struct rls_served *s = ctx;
    int rc;

    rc = rls_sim_reset(s->sim, in->seed);
    if (rc != RLS_OK) {
        rls_cluster_session_refuse(s->ss, from, in->seq, rc, "reset: seed %llu: %s", (unsigned long long)in->seed,
                                   rls_sim_errmsg(s->sim));
        rc = rls_sim_reset(s->sim, s->seed);    /* back to the episode that worked */
        if (rc != RLS_OK) {
            snprintf(s->errmsg, sizeof s->errmsg, "served: reset: %s", rls_sim_errmsg(s->sim));
            return rc;
        }
    } else {
        s->seed = in->seed;
        rls_cluster_session_ack(s->ss, from, in->seq, NULL);
    }
    atomic_fetch_add(&s->episodes, 1);
    rls_cluster_session_new_state(s->ss);
    s_take_initial(s);
    s_send_state(s);
    return RLS_OK;
}

int rls_served_run(struct rls_served *s)
{
    int rc = RLS_OK;
    int timed;
    double period_ms = 0.0, next_ms = 0.0;

    if (s == NULL)
        return RLS_ERR_INVALID;
    timed = s->p.speed > 0.0;
    if (timed) {
        period_ms = s->sc->step_s * 1000.0 / s->p.speed;
        next_ms = (double)rls_transport_now_ms() + period_ms;
    }
    while (!atomic_load(&s->stop)) {
        int64_t now = rls_transport_now_ms();
        long wait = S_POLL_MS;
        int agent = rls_cluster_session_has_agent(s->ss);
        int got;

        if (s->p.max_steps > 0 && atomic_load(&s->steps) >= s->p.max_steps)
            break;
        if (timed && next_ms - (double)now < (double)wait)
            wait = next_ms > (double)now ? (long)ceil(next_ms - (double)now) : 0;
        if (agent) {
            int64_t hb = rls_cluster_session_heartbeat_in_ms(s->ss);
            if (hb < wait)
                wait = (long)hb;
            if (!timed && s->p.action_timeout_ms > 0) {
                int64_t at = s->state_ms + s->p.action_timeout_ms - now;
                if (at < wait)
                    wait = at > 0 ? (long)at : 0;
            }
        }
        got = rls_cluster_session_poll(s->ss, (int)wait);
        if (got < 0) {
            /* the socket gave up (the session says why), or a reset failed (errmsg set) */
            if (rls_cluster_session_errmsg(s->ss)[0] != '\0')
                snprintf(s->errmsg, sizeof s->errmsg, "%s", rls_cluster_session_errmsg(s->ss));
            rc = got;
            break;
        }
        if (got == 1 && !timed && rls_cluster_session_answered(s->ss)) {
            rc = s_advance(s);      /* lock-step: the agent has answered */
            if (rc != RLS_OK)
                break;
        }

        now = rls_transport_now_ms();
        if (timed && (double)now >= next_ms) {
            rc = s_advance(s);
            if (rc != RLS_OK)
                break;
            next_ms += period_ms;
            if (next_ms < (double)now - 1000.0)     /* far behind: do not race to catch up */
                next_ms = (double)now + period_ms;
        }
        if (!timed && rls_cluster_session_has_agent(s->ss) && s->p.action_timeout_ms > 0 &&
            !rls_cluster_session_answered(s->ss) && now >= s->state_ms + s->p.action_timeout_ms) {
            rc = s_advance(s);  /* the agent is silent: keep its last replicas */
            if (rc != RLS_OK)
                break;
        }
        rls_cluster_session_heartbeat(s->ss);
    }
    return rc;
}
