/* cluster_session.h - the cluster side of the wire protocol (agent/PROTOCOL.md)
 * with one agent, shared by every program that plays the cluster: the served
 * simulator (env/served.h) and the local process cluster (cluster/local.h).
 * It binds the server socket (env/transport.h), keeps the control lease
 * (exactly one agent in charge, below), answers hello with the cluster
 * description and the lease, checks
 * and clamps actions, acks them, refuses what a cluster does not take (each
 * refusal answered with an error message, counted and logged), and sends
 * heartbeats. The program keeps its own moves: what a state holds, what
 * applying actions or a reset means, and when a step is taken.
 *
 *     struct rls_cluster_session_params p = rls_cluster_session_default_params();
 *     p.cluster = sc;                     // borrowed: outlives the session
 *     p.ops.send_state = my_send_state;   // calls rls_cluster_session_send_state
 *     p.ops.apply_actions = my_apply;  p.ops.ctx = me;
 *     struct rls_cluster_session *ss = rls_cluster_session_new("tcp://127.0.0.1:*", &p, &err);
 *     for (;;) {
 *         rls_cluster_session_poll(ss, 100);  // one message, handled
 *         ... on a step: rls_cluster_session_new_state(ss); my_send_state(me); ...
 *         rls_cluster_session_heartbeat(ss);
 *     }
 *     rls_cluster_session_destroy(&ss);
 *
 * The lease (agent/PROTOCOL.md, "Security"): the first agent's hello gets it
 * (a lease id); every message from its holder renews it; it lapses after
 * lease_ms without one. While it is live, a hello from another connection is
 * refused (error -7 "lease held ... standby") unless it comes from the same
 * CURVE key as the holder (the agent reconnected) or asks takeover from a key
 * the allow file lists with "takeover". A lapsed lease goes to the next hello.
 * Every grant, takeover and refusal is logged. Only the holder's actions and
 * resets are taken: anyone else's are refused and change nothing.
 *
 * Messages (what rls_cluster_session_poll does with each):
 *   hello{role != "cluster"}  -> the lease rule above, then hello{role:
 *                                cluster, software, cluster, scenario_yaml,
 *                                lease_id, lease_ms}, then ops.send_state
 *   actions{re: seq}          -> ops.apply_actions with desired clamped to each
 *                                service's [min, max], then ack{re} (its note
 *                                says what was clamped); or an error: -7 no
 *                                hello yet or late (re is an older state), -5
 *                                unknown re or wrong service count
 *   reset{seed}               -> ops.reset (after the hello check, -7), or
 *                                error -8 when ops.reset is NULL
 *   heartbeat, ack            -> nothing;  error from the agent -> logged
 *   state, hello{cluster}     -> error -1 (wrong direction); other types -1
 *   undecodable               -> error (the transport's), counted
 * Every message the session sends carries seq = the state in force
 * (rls_cluster_session_new_state counts them from 0). A send to the agent that
 * fails drops the agent (a new hello brings it back).
 *
 * One thread uses the handle; rls_cluster_session_stats may be read from any.
 * Library code: never prints; log lines go to params.log.
 */
#ifndef RLS_CLUSTER_SESSION_H
#define RLS_CLUSTER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "scenario.h"
#include "status.h"
#include "transport.h"

/* Receives one log line (no newline); ctx is rls_cluster_session_params.log_ctx. */
typedef void (*rls_cluster_session_log_fn)(void *ctx, const char *line);

/* The cluster's own moves, called from rls_cluster_session_poll on the thread
 * that polls. ctx is passed to each. */
struct rls_cluster_session_ops {
    /* Sends the state in force to the agent (rls_cluster_session_send_state);
     * called once a new agent's hello was answered. Required. */
    void (*send_state)(void *ctx);
    /* Applies actions that answer the state in force: desired[n_services]
     * already clamped to each service's [min_replicas, max_replicas];
     * placement[n_services] (enum rls_placement) or NULL when the agent sent
     * none. Both borrowed for the call. Called before the ack goes. Required. */
    void (*apply_actions)(void *ctx, const int32_t *desired, const uint8_t *placement);
    /* Starts a new episode with m->seed for the agent `from` (the hello check
     * is done): answers it (rls_cluster_session_ack with re = m->seq, or
     * rls_cluster_session_refuse) and publishes the episode's first state.
     * Returns RLS_OK, or a status that the cluster cannot go on with
     * (rls_cluster_session_poll returns it). NULL: every reset is refused
     * with RLS_ERR_UNSUPPORTED (a real cluster has no episodes). */
    int (*reset)(void *ctx, const struct rls_transport_peer *from, const struct rls_proto_msg *m);
    void *ctx;
};

struct rls_cluster_session_params {
    const struct rls_scenario *cluster;  /* the description hello carries; its services'
                                            [min, max] replicas bound the actions (required;
                                            borrowed: it must outlive the session) */
    const char *software;       /* hello.software, copied, at most RLS_NAME_MAX - 1 bytes
                                   ("rlsched VERSION") */
    int send_scenario_yaml;     /* 1: hello also carries the description as YAML (when it
                                   fits RLS_PROTO_MAX_YAML) (1) */
    int heartbeat_ms;           /* heartbeat to the agent when nothing was sent for this
                                   long, ms (1000) */
    int send_timeout_ms;        /* longest a send may block, ms (200) */
    int lease_ms;               /* the agent's lease lapses after this long without a message
                                   from it, ms (45000: the agent's stale_after_s) */
    rls_cluster_session_log_fn log;  /* refusals, agents, socket trouble; NULL = nowhere (NULL) */
    void *log_ctx;              /* passed to log (NULL) */
    struct rls_cluster_session_ops ops;     /* the cluster's moves (all NULL: set them) */
    struct rls_transport_params transport;  /* sockets, CURVE (rls_transport_default_params) */
};

/* Counters since rls_cluster_session_new. */
struct rls_cluster_session_stats {
    int64_t states;             /* state messages sent */
    int64_t actions;            /* actions accepted (applied and acked) */
    int64_t refused;            /* messages refused with an error reply, undecodable ones
                                   (rls_transport_refused) included */
    int64_t agents;             /* hellos from agents that were answered (lease holders) */
    int64_t leases;             /* leases granted (first agent, lapses, takeovers) */
    int64_t takeovers;          /* leases taken from a live holder (same key or takeover) */
    int64_t lease_refused;      /* hellos refused because another agent holds the lease */
};

struct rls_cluster_session;

/* The defaults above (cluster NULL and ops unset: the caller sets them). */
struct rls_cluster_session_params rls_cluster_session_default_params(void);

/* Binds endpoint ("tcp://127.0.0.1:5555"; port "*" picks one) with
 * p->transport and makes the hello (with the YAML when asked). The state in
 * force is seq 0, with no agent. Returns an owned handle
 * (rls_cluster_session_destroy) or NULL with err: RLS_ERR_INVALID (NULL
 * endpoint, cluster, send_state or apply_actions; heartbeat_ms < 1;
 * send_timeout_ms < 0; lease_ms < 1), RLS_ERR_NOMEM, or the transport's status
 * naming the endpoint or key file (RLS_ERR_INVALID: no keys and not
 * p->transport.insecure). */
struct rls_cluster_session *rls_cluster_session_new(const char *endpoint,
                                                    const struct rls_cluster_session_params *p,
                                                    struct rls_err *err);

/* Closes the socket (messages not yet sent are dropped), frees *s and sets
 * it to NULL; NULL is a no-op. */
void rls_cluster_session_destroy(struct rls_cluster_session **s);

/* The endpoint bound, with the port picked. Owned by s; "" for NULL. */
const char *rls_cluster_session_endpoint(const struct rls_cluster_session *s);

/* Why the last rls_cluster_session_poll gave up on the socket; "" when it
 * did not (cleared by each poll). Never NULL. */
const char *rls_cluster_session_errmsg(const struct rls_cluster_session *s);

/* Waits up to timeout_ms (0: does not wait) for one message from any peer and
 * handles it as the header says, calling ops. Returns 1 when a message was
 * handled (refusals included), 0 when none came, an undecodable one was
 * refused, or the socket failed (logged; after a failure it pauses 10 ms);
 * RLS_ERR_IO with errmsg when the socket failed more than 50 times in a row;
 * ops.reset's status when that is not RLS_OK; RLS_ERR_INVALID for NULL. */
int rls_cluster_session_poll(struct rls_cluster_session *s, int timeout_ms);

/* Makes a new state the state in force: its seq is the previous one + 1 and
 * it has no actions yet. Returns the new seq (0 for NULL). Call it for every
 * state the cluster makes (a step, a reset), before sending it. */
int64_t rls_cluster_session_new_state(struct rls_cluster_session *s);

/* The seq of the state in force (0 for NULL). */
int64_t rls_cluster_session_seq(const struct rls_cluster_session *s);

/* 1 when actions for the state in force were accepted, else 0 (and for NULL). */
int rls_cluster_session_answered(const struct rls_cluster_session *s);

/* 1 when an agent is connected (holds the lease, said hello and was not
 * dropped), else 0. */
int rls_cluster_session_has_agent(const struct rls_cluster_session *s);

/* The agent's address for logs; "none" without an agent. Owned by s. */
const char *rls_cluster_session_agent_name(const struct rls_cluster_session *s);

/* The id of the lease in force (1, 2, ... in grant order), 0 before the
 * first hello (and for NULL). */
int64_t rls_cluster_session_lease_id(const struct rls_cluster_session *s);

/* Sends *st (borrowed) to the agent as the state in force (seq and ts_ns
 * are set here). Returns RLS_OK (counted in stats.states), RLS_ERR_STATE
 * without an agent, or the transport's status (the agent is dropped). */
int rls_cluster_session_send_state(struct rls_cluster_session *s, const struct rls_proto_state *st);

/* Sends ack{re, note} (note NULL: none) to `to`; to the agent, a failure
 * drops it. Returns RLS_OK or the transport's status. */
int rls_cluster_session_ack(struct rls_cluster_session *s, const struct rls_transport_peer *to, int64_t re,
                            const char *note);

/* Refuses a message of `to`: sends error{re, code, message} (failing to send
 * it is not an error), counts it in stats.refused and logs "refused from
 * PEER: message". */
void rls_cluster_session_refuse(struct rls_cluster_session *s, const struct rls_transport_peer *to, int64_t re,
                                int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sends a heartbeat to the agent when nothing went to it for heartbeat_ms.
 * Returns 1 when one was sent, 0 when none was due (or no agent), or the
 * transport's status (the agent is dropped). */
int rls_cluster_session_heartbeat(struct rls_cluster_session *s);

/* Milliseconds until rls_cluster_session_heartbeat has one to send: 0 when
 * due now, INT64_MAX without an agent (or for NULL). For a poll's timeout. */
int64_t rls_cluster_session_heartbeat_in_ms(const struct rls_cluster_session *s);

/* The counters (zeroes for NULL); safe from any thread. */
struct rls_cluster_session_stats rls_cluster_session_stats(const struct rls_cluster_session *s);

#endif
