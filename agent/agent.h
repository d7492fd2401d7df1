/* agent.h - the inference agent's control loop as a library: connect to a
 * cluster over the wire protocol (env/protocol.h, env/transport.h), and for
 * every state the cluster sends compute the training features, run the
 * checkpoint's native forward pass (policies/learned.h), project the wishes
 * onto a fair allocation (agent/fairness.h), filter them (agent/safety.h),
 * answer with actions, record the transition (replay/replay.h) and update
 * the Prometheus metrics (agent/metrics.h). The HPA baseline acts instead of
 * the policy when the state is stale, the checkpoint did not load, the policy
 * failed or its inputs are out of the training distribution. agent/AGENT.md
 * describes the loop, the fallbacks and the log lines.
 *
 *     struct rls_agent_params p = rls_agent_default_params();
 *     p.connect = "tcp://127.0.0.1:5555";
 *     p.policy_path = "policies/default.h5";
 *     struct rls_agent *a = rls_agent_new(&p, &err);
 *     rls_agent_run(a);             // until rls_agent_stop, max_steps or timeout_s
 *     rls_agent_destroy(&a);        // commits the episode being recorded, closes the file
 *
 * The library never prints: each event (connected, fallback entered or left,
 * checkpoint reloaded, a refused message, ...) is one line handed to
 * params.log, without a timestamp (the caller adds one).
 */
#ifndef RLS_AGENT_H
#define RLS_AGENT_H

#include <stdint.h>

#include "../env/status.h"
#include "../env/transport.h"
#include "safety.h"

/* Levels of the lines given to params.log. */
enum rls_agent_log_level {
    RLS_AGENT_LOG_DEBUG = 0,    /* per-step detail (shadow mode's would-be actions) */
    RLS_AGENT_LOG_INFO = 1,     /* events: connected, hello, fallback left, reload, episode saved */
    RLS_AGENT_LOG_WARN = 2,     /* something went wrong and the agent copes: fallback entered,
                                   stale state, refused message, bad checkpoint */
    RLS_AGENT_LOG_ERROR = 3     /* the run stops (no cluster before the timeout, replay I/O) */
};

/* Receives one event line (no newline, no timestamp). Called from the thread
 * running rls_agent_run / rls_agent_new / rls_agent_reload. */
typedef void (*rls_agent_log_fn)(void *ctx, int level, const char *line);

struct rls_agent_params {
    const char *connect;        /* cluster endpoint, "tcp://HOST:PORT" (required; copied) */
    const char *policy_path;    /* checkpoint .h5 (copied); NULL or one that fails to load:
                                   the HPA acts (fallback reason no_checkpoint) (NULL) */
    int fairness;               /* 1: project the wishes onto a fair allocation (1) */
    int dry_run;                /* 1: shadow mode, the HPA acts and the policy's would-be
                                   actions are logged (level DEBUG) (0) */
    const char *record_path;    /* replay file to write (copied), NULL = no recording (NULL) */
    int32_t episode_steps;      /* recorded episode length, steps; 0 = the cluster's
                                   horizon_steps (0) */
    const char *metrics_addr;   /* "127.0.0.1:9464", "[::1]:9464" or "9464" (loopback); port 0
                                   picks one (rls_agent_metrics_port); NULL = no server (NULL) */
    struct rls_safety_params safety; /* the safety filter and fallback thresholds
                                   (rls_safety_default_params; stale_after_s also paces the
                                   hello re-handshake) */
    struct rls_transport_params transport; /* sockets and CURVE (rls_transport_default_params);
                                   the key file paths are copied; curve_server_file and
                                   curve_secret_file are required unless transport.insecure */
    int takeover;               /* 1: the hello asks to take the cluster's control lease from
                                   a live holder (granted only to a key the cluster lists with
                                   "takeover"; agent/PROTOCOL.md, "Security") (0) */
    int64_t max_steps;          /* stop after this many decisions (actions sent); 0 = never (0) */
    double timeout_s;           /* stop with RLS_ERR_IO when no message came from the cluster for
                                   this long (from the start or the last message), s; 0 = keep
                                   retrying forever (0) */
    double hello_retry_s;       /* first wait before re-sending hello when the cluster is silent,
                                   s; doubles up to hello_retry_max_s (1) */
    double hello_retry_max_s;   /* (5) */
    int32_t poll_ms;            /* longest wait for a message before checking flags and
                                   clocks, ms (100) */
    const char *hpa_manifest;   /* autoscaling/v2 HorizontalPodAutoscaler manifests the fallback
                                   HPA runs, by scaleTargetRef.name (env/hpa_manifest.h;
                                   copied); NULL = the HPA's defaults (NULL) */
    rls_agent_log_fn log;       /* event lines; NULL = none (NULL) */
    void *log_ctx;              /* passed to log (NULL) */
};

/* The defaults above. */
struct rls_agent_params rls_agent_default_params(void);

/* Counters of one agent (monotonic since rls_agent_new). */
struct rls_agent_stats {
    int64_t hellos;             /* cluster hellos accepted */
    int64_t states;             /* state messages accepted */
    int64_t refused;            /* messages refused (decode errors, states that do not match the
                                   cluster, messages before a hello) */
    int64_t cluster_errors;     /* error messages received from the cluster */
    int64_t decisions;          /* actions sent */
    int64_t send_failures;      /* actions that could not be sent (cluster gone) */
    int64_t policy_decisions;   /* decisions where the policy acted */
    int64_t fallback_decisions; /* decisions where the HPA acted (shadow mode included) */
    int64_t fallback_by_reason[RLS_FALLBACK_COUNT]; /* decisions per fallback reason
                                   (index NONE: the policy's) */
    int64_t stale_events;       /* times the cluster went silent past stale_after_s */
    int64_t fair_contended;     /* decisions where the fair projection changed the wishes */
    int64_t reloads_ok, reloads_failed;
    int64_t recorded_steps;     /* transitions committed or buffered in the replay file */
    int64_t recorded_episodes;  /* episodes committed */
    int checkpoint_loaded;      /* 1 while a checkpoint is loaded */
    enum rls_fallback_reason last_reason; /* verdict of the last decision */
    double last_jain;           /* Jain's index of the last decision (1 without contention) */
};

struct rls_agent;

/* Creates an agent: copies p, loads the checkpoint (a missing or bad file is
 * not an error: the event is logged and the HPA acts), starts the metrics
 * server and creates the client socket (the connection is made in the
 * background; the hello is sent by rls_agent_run). Returns an owned handle
 * (rls_agent_destroy) or NULL with err for bad parameters (no endpoint, bad
 * safety params, a metrics address that does not parse or cannot be bound,
 * an unreadable CURVE key file). */
struct rls_agent *rls_agent_new(const struct rls_agent_params *p, struct rls_err *err);

/* Runs the control loop in the calling thread until rls_agent_stop is
 * called (RLS_OK), max_steps decisions were sent (RLS_OK), or no message came
 * from the cluster for timeout_s (RLS_ERR_IO, errmsg "no cluster at ..."). A
 * replay write failure stops the recording (logged; committed episodes stay)
 * but not the control loop. The episode being recorded is committed before
 * it returns. Pending reload requests are served in this
 * thread. Returns RLS_ERR_INVALID for NULL a, RLS_ERR_STATE when called twice. */
int rls_agent_run(struct rls_agent *a);

/* Asks a running loop to stop within poll_ms. Only stores to an atomic flag:
 * safe from a signal handler and from any thread. NULL is a no-op. */
void rls_agent_stop(struct rls_agent *a);

/* Asks the loop to reload the checkpoint from params.policy_path at its next
 * turn (SIGHUP). Only stores to an atomic flag (signal handler safe). */
void rls_agent_request_reload(struct rls_agent *a);

/* Reloads the checkpoint now, atomically: path (NULL = params.policy_path) is
 * loaded and built into a new policy for the current cluster first; only when
 * that succeeds does it replace the old one (the path becomes the one the
 * next reload uses). A bad file keeps the old policy and logs one line. Call
 * from the thread that runs the loop, or while it is not running. Returns
 * RLS_OK, or the load's status with err naming the file. */
int rls_agent_reload(struct rls_agent *a, const char *path, struct rls_err *err);

/* Commits the episode being recorded, closes the replay file, stops the
 * metrics server, closes the socket, frees *a and sets it to NULL; NULL is a
 * no-op. Must not run while rls_agent_run does. */
void rls_agent_destroy(struct rls_agent **a);

/* The counters (a snapshot; safe while running, values may be a step
 * apart). Zeroes *out for NULL a. */
void rls_agent_get_stats(const struct rls_agent *a, struct rls_agent_stats *out);

/* The name of the policy in use ("hpa (no checkpoint)" or the checkpoint
 * path), never NULL; owned by a, valid until the next load. */
const char *rls_agent_policy_name(const struct rls_agent *a);

/* The port the metrics server listens on, 0 without one. */
uint16_t rls_agent_metrics_port(const struct rls_agent *a);

/* The agent's metrics registry (agent/metrics.h), e.g. to render it;
 * borrowed, valid until rls_agent_destroy. NULL for NULL a. */
struct rls_metrics;
struct rls_metrics *rls_agent_metrics(const struct rls_agent *a);

/* The last error message ("" if none), never NULL. */
const char *rls_agent_errmsg(const struct rls_agent *a);

#endif
