/* served.h - the simulator served as a live cluster over the wire protocol
 * (agent/PROTOCOL.md): it binds a server socket (env/transport.h), answers an
 * agent's hello with the cluster description, publishes one `state` per step
 * and applies the `actions` that answer it with rls_sim_step.
 *
 *     struct rls_served_params p = rls_served_default_params();
 *     p.scenario = sc;  p.speed = 0;                     // lock-step
 *     struct rls_served *s = rls_served_new("tcp://127.0.0.1:*", &p, &err);
 *     ... rls_served_endpoint(s) is the port picked ...
 *     rls_served_run(s);              // until rls_served_stop(s) (any thread,
 *     rls_served_destroy(&s);         // or a signal handler) or max_steps
 *
 * The control loop (one thread owns the handle while it runs):
 * - speed > 0 (real time, accelerated): a step every step_s / speed seconds of
 *   wall time. Actions answering the state in force (actions.re == its seq)
 *   become the desired replicas of the next step; none in time: the cluster
 *   keeps the previous desired replicas, as a real cluster would. The clock
 *   runs whether or not an agent is connected.
 * - speed 0 (lock-step, "as fast as the agent answers"): the step is taken as
 *   soon as the actions for the state in force arrive; with action_timeout_ms
 *   > 0 a silent agent's step is taken after that long with the previous
 *   desired replicas; 0 waits for the agent (the remote env backend's mode).
 *   No agent connected: nothing moves.
 *
 * Messages (one agent at a time: the holder of the control lease, see
 * env/cluster_session.h and agent/PROTOCOL.md "Security"):
 *   hello{role != "cluster"}  -> hello{role: cluster, cluster, scenario_yaml,
 *                                lease_id, lease_ms}, then the state in force;
 *                                or error -7 while another agent holds the lease
 *   actions{re: seq}          -> ack{re: seq} (desired outside [min, max] are
 *                                clamped and the ack's note says so), or an
 *                                error: -7 late (re is an older state) or no
 *                                hello yet, -5 wrong service count or unknown re
 *   reset{seed}               -> ack{re: reset.seq}, then the new episode's
 *                                first state (or error{re} if it fails)
 *   heartbeat, ack            -> nothing;  error from the agent -> logged
 *   state, hello{cluster}     -> error -1 (wrong direction)
 *   undecodable               -> error (the transport's), counted
 * Every refusal is answered, counted and logged; the loop keeps serving.
 *
 * State seq numbers count states since the server started (every step and
 * every reset makes a new one), so actions answer exactly one state across
 * episodes; state.step.step is the step within the episode and
 * state.step.time_s the simulator's clock (rls_sim_time_s, also right after a
 * reset). A heartbeat goes to the agent when nothing was sent for
 * heartbeat_ms; a send to an agent that has gone drops it (a new hello
 * brings it back). Steps past the horizon keep going (loads wrap); the
 * horizon only tells an env when to truncate.
 */
#ifndef RLS_SERVED_H
#define RLS_SERVED_H

#include <stdint.h>

#include "scenario.h"
#include "status.h"
#include "transport.h"

/* Receives one log line (no newline); ctx is rls_served_params.log_ctx. */
typedef void (*rls_served_log_fn)(void *ctx, const char *line);

struct rls_served_params {
    const struct rls_scenario *scenario;   /* the cluster (required; copied) */
    double speed;               /* simulated seconds per wall second; a step every
                                   step_s / speed s; 0 = lock-step (0) */
    uint64_t seed;              /* seed of the first episode (1) */
    int64_t max_steps;          /* rls_served_run returns after this many steps in all,
                                   0 = until stopped (0) */
    int action_timeout_ms;      /* lock-step: take the step without actions after this
                                   long, ms; 0 = wait for the agent (0) */
    int heartbeat_ms;           /* heartbeat to the agent when nothing was sent for this
                                   long, ms (1000) */
    int lease_ms;               /* the agent's control lease lapses after this long without
                                   a message from it, ms (45000) */
    int64_t log_every;          /* a log line every this many steps, 0 = none (0) */
    rls_served_log_fn log;      /* where log lines go (refusals, agents, progress);
                                   NULL = nowhere (NULL) */
    void *log_ctx;              /* passed to log (NULL) */
    int send_scenario_yaml;     /* 1: hello carries the scenario as YAML (1) */
    struct rls_transport_params transport;  /* sockets, CURVE: keys required unless
                                               transport.insecure (rls_transport_default_params) */
};

/* Counters since rls_served_new; readable from any thread while it runs. */
struct rls_served_stats {
    int64_t steps;              /* steps taken, all episodes */
    int64_t episodes;           /* episodes started (the first one and every reset) */
    int64_t states;             /* state messages sent */
    int64_t actions;            /* actions accepted */
    int64_t missed;             /* steps taken without actions for their state */
    int64_t refused;            /* messages refused with an error reply (undecodable ones
                                   included) */
    int64_t agents;             /* hellos from agents that were answered */
    int64_t leases;             /* control leases granted */
    int64_t takeovers;          /* leases taken from a live holder */
    int64_t lease_refused;      /* hellos refused: another agent holds the lease */
};

struct rls_served;

/* The defaults above (scenario NULL: the caller must set it). */
struct rls_served_params rls_served_default_params(void);

/* Builds the simulator, resets it with p->seed and binds endpoint
 * ("tcp://127.0.0.1:5555"; port "*" picks a free one). Returns an owned
 * handle (rls_served_destroy) or NULL with err naming the scenario field,
 * trace file, endpoint or key file. */
struct rls_served *rls_served_new(const char *endpoint, const struct rls_served_params *p,
                                  struct rls_err *err);

/* Frees *s (closes the socket) and sets it to NULL; NULL is a no-op. Not
 * while rls_served_run is running on another thread. */
void rls_served_destroy(struct rls_served **s);

/* The endpoint bound, with the port picked ("tcp://127.0.0.1:41234"). Owned by s. */
const char *rls_served_endpoint(const struct rls_served *s);

/* The last error message ("" if none), never NULL. */
const char *rls_served_errmsg(const struct rls_served *s);

/* Runs the control loop until rls_served_stop or p.max_steps steps. Returns
 * RLS_OK when stopped that way; RLS_ERR_IO when the socket fails (errmsg);
 * RLS_ERR_INVALID for NULL. Bad messages never end it. */
int rls_served_run(struct rls_served *s);

/* Asks rls_served_run to return (within about 100 ms). Safe from any thread
 * and from a signal handler. NULL is a no-op. */
void rls_served_stop(struct rls_served *s);

/* The counters (zeroes for NULL). */
struct rls_served_stats rls_served_stats(const struct rls_served *s);

#endif
