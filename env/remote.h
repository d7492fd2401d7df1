/* remote.h - an env backend (env.h, struct rls_env_backend_ops) for any
 * cluster that speaks the wire protocol (agent/PROTOCOL.md), as Park does for
 * real systems: the same gym-like env, the same features and reward, driven
 * over ZeroMQ instead of by a simulator in the process.
 *
 *     struct rls_env_params ep = rls_env_default_params();
 *     struct rls_env *env = rls_remote_env_new("tcp://127.0.0.1:5555", &ep, &err);
 *     rls_env_reset(env, seed, obs);  ...  rls_env_step(env, action, &r);
 *
 * or, with non-default timeouts or CURVE keys:
 *     struct rls_remote *rc = rls_remote_new(endpoint, &rp, &err);
 *     env = rls_env_new_with_backend(&ep, &rls_remote_backend_ops, rc, &err);  // env owns rc
 *
 * The backend connects (client side; CURVE keys are required unless
 * transport.insecure, see transport.h), says hello and builds its scenario from
 * the cluster's hello (step, horizon, reward weights, pools, tenants,
 * services). reset(seed) sends `reset` and waits for its ack and then the
 * first state (a cluster that cannot reset answers error -8: the next state
 * it publishes starts the episode and the seed is ignored). step sends
 * `actions` answering the state in force, waits for the ack and then the next
 * state (the newest, if the cluster has published more than one meanwhile:
 * a live cluster does not wait). Actions the cluster calls late (error -7)
 * are counted and the next state taken; any other error reply fails the step
 * with the cluster's message. The views (services, nodes, last step) are the
 * last state received. Against the served simulator in lock-step (served.h,
 * speed 0) the trajectory is exactly the local simulator's for the same seed
 * and actions.
 *
 * Nothing waits forever: a cluster that sends nothing at all (not even a
 * heartbeat) for timeout_ms, or no answer within step_timeout_ms, makes
 * reset/step return RLS_ERR_IO with a message naming the endpoint and what
 * was awaited; the next reset/step tries again on the same socket (ZeroMQ
 * reconnects in the background).
 */
#ifndef RLS_REMOTE_H
#define RLS_REMOTE_H

#include <stdint.h>

#include "env.h"
#include "scenario.h"
#include "status.h"
#include "transport.h"

struct rls_remote_params {
    int connect_timeout_ms;     /* the cluster's hello must arrive within this, ms (5000) */
    int timeout_ms;             /* reset/step fail when the cluster sends nothing for this
                                   long, ms (5000); its heartbeats count */
    int step_timeout_ms;        /* reset/step fail when their state has not come after this
                                   long in all, ms (60000; a real-time cluster steps every
                                   step_s / speed seconds) */
    struct rls_transport_params transport;  /* sockets, CURVE: curve_server_file and
                                               curve_secret_file are required unless
                                               transport.insecure (rls_transport_default_params) */
    int takeover;               /* 1: the hello asks to take the control lease from a live
                                   holder (agent/PROTOCOL.md, "Security") (0) */
    int require_reset;          /* 1: a cluster that cannot start an episode on request (a
                                   live one answers reset with "unsupported") makes reset
                                   fail, for runs that must be reproducible (eval); 0: its
                                   next state starts the episode (record) (0) */
};

struct rls_remote;

/* The defaults above. */
struct rls_remote_params rls_remote_default_params(void);

/* Connects to a cluster at endpoint ("tcp://127.0.0.1:5555"), says hello and
 * waits for the cluster's hello. p NULL = defaults. Returns an owned handle
 * (rls_remote_destroy, or give it to rls_env_new_with_backend with
 * rls_remote_backend_ops, which then owns it) or NULL with err: RLS_ERR_IO
 * (no answer within connect_timeout_ms: "cluster tcp://...: no hello within
 * 5000 ms (not running, wrong port or CURVE keys?)"), the cluster's error, or
 * RLS_ERR_PARSE/RANGE (its hello had no valid cluster description). */
struct rls_remote *rls_remote_new(const char *endpoint, const struct rls_remote_params *p,
                                  struct rls_err *err);

/* Closes the socket, frees *r and sets it to NULL; NULL is a no-op. */
void rls_remote_destroy(struct rls_remote **r);

/* The ops table: self is a struct rls_remote (freed by ops->destroy). */
extern const struct rls_env_backend_ops rls_remote_backend_ops;

/* rls_remote_new(endpoint, NULL) + rls_env_new_with_backend(p, ...): an env
 * on the cluster at endpoint. p NULL = rls_env_default_params(). Returns an
 * owned env (rls_env_destroy) or NULL with err. */
struct rls_env *rls_remote_env_new(const char *endpoint, const struct rls_env_params *p,
                                   struct rls_err *err);

/* The cluster's description from its hello (owned by r, valid until destroy). */
const struct rls_scenario *rls_remote_scenario(const struct rls_remote *r);

/* The scenario as YAML from the cluster's hello (owned by r), NULL if it sent none. */
const char *rls_remote_scenario_yaml(const struct rls_remote *r);

/* The last error message ("" if none), never NULL. */
const char *rls_remote_errmsg(const struct rls_remote *r);

/* Steps whose actions the cluster called late (error -7) so far. */
int64_t rls_remote_late(const struct rls_remote *r);

#endif
