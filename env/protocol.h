/* protocol.h - the wire protocol between a cluster and the agent: MessagePack
 * messages (one message = one MessagePack map) carried by env/transport.h.
 *
 * agent/PROTOCOL.md is the byte layout: every key, its MessagePack type, unit
 * and limit. Here are the C structs a message decodes into and the encoders.
 * Encoding uses msgpack-c's packer; decoding is a bounds-checked pull reader
 * over the bytes (msgpack-c's unpacker allocates count * 24 bytes on the word
 * of an array header, so a 5-byte hostile message could ask for 100 GB).
 *
 *     struct rls_proto_buf buf = {0};
 *     rls_proto_encode_state(&buf, seq, rls_proto_now_ns(), &st, &err);
 *     ... send buf.data, buf.len ...
 *     struct rls_proto_msg m = {0};
 *     if (rls_proto_decode(data, len, &m, &err) == RLS_OK && m.type == RLS_PROTO_STATE)
 *         ... m.state.services[i].ready ...
 *     rls_proto_msg_clear(&m);
 *     rls_proto_buf_free(&buf);
 *
 * Per-item data (services, nodes, tenants, pools) travels as columns: a map
 * {"n": N, "ready": [N integers], ...}, so a step of 1,000 services is one
 * array per field, not 1,000 maps with repeated keys.
 */
#ifndef RLS_PROTOCOL_H
#define RLS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "sim.h"
#include "status.h"

#define RLS_PROTO_VERSION 1                     /* the version this side speaks */
#define RLS_PROTO_MAX_BYTES (64 * 1024 * 1024)  /* largest message, bytes */
#define RLS_PROTO_MAX_SERVICES 100000           /* most services in a message */
#define RLS_PROTO_MAX_NODES 100000              /* most nodes in a message */
#define RLS_PROTO_MAX_TENANTS 100000            /* most tenants in a hello */
#define RLS_PROTO_MAX_POOLS 10000               /* most node pools in a hello */
#define RLS_PROTO_MAX_YAML (16 * 1024 * 1024)   /* longest scenario_yaml, bytes */
#define RLS_PROTO_MAX_VERSIONS 8                /* most entries in hello.versions */
#define RLS_PROTO_ROLE_MAX 16                   /* hello.role, bytes with the NUL */
#define RLS_PROTO_NOTE_MAX 256                  /* ack/actions note, bytes with the NUL */

enum rls_proto_type {
    RLS_PROTO_NONE = 0,
    RLS_PROTO_HELLO = 1,      /* versions, limits, cluster description */
    RLS_PROTO_STATE = 2,      /* one step's observation (cluster -> agent) */
    RLS_PROTO_ACTIONS = 3,    /* desired replicas and placement (agent -> cluster) */
    RLS_PROTO_ACK = 4,        /* a message was accepted */
    RLS_PROTO_ERROR = 5,      /* a message was refused, or a request failed */
    RLS_PROTO_HEARTBEAT = 6,  /* liveness, either way */
    RLS_PROTO_RESET = 7,      /* start a new episode with a seed (remote env backend) */
    RLS_PROTO_TYPE_COUNT = 8
};

/* The receiver's limits, announced in hello (the decoder enforces its own
 * compile-time limits above whatever a peer announces). */
struct rls_proto_limits {
    int64_t max_message_bytes;  /* largest message accepted, bytes (RLS_PROTO_MAX_BYTES) */
    int32_t max_services;       /* (RLS_PROTO_MAX_SERVICES) */
    int32_t max_nodes;          /* (RLS_PROTO_MAX_NODES) */
};

struct rls_proto_hello {
    char role[RLS_PROTO_ROLE_MAX];  /* "cluster" or "agent" (any name, 1..15 bytes) */
    char software[RLS_NAME_MAX];    /* e.g. "rlsched 0.1.0" ("" = not told) */
    int32_t n_versions;             /* protocol versions the sender speaks, 0..8 */
    uint32_t versions[RLS_PROTO_MAX_VERSIONS];
    struct rls_proto_limits limits;
    /* The cluster description: step, horizon, reward weights, pools, tenants
     * and services (every field but the loads, which stay the default synth).
     * NULL = none sent (the agent's hello). Decoded: owned by the message and
     * validated with rls_scenario_validate. Encoding: borrowed. */
    struct rls_scenario *cluster;
    /* The scenario as YAML (rls_scenario_write_yaml), for an exact copy with
     * its loads; NULL = none. Decoded: owned, NUL-terminated. Encoding: borrowed. */
    char *scenario_yaml;
    size_t scenario_yaml_len;       /* bytes, without the NUL */
    /* The control lease (agent/PROTOCOL.md, "Security"). Agent: takeover 1
     * asks for a live lease held by another agent (granted only to a key the
     * cluster lists with "takeover"). Cluster: the lease granted to the
     * receiver, lease_id (>= 1, 0 = none) and lease_ms (it lapses after this
     * long without a message from its holder). Sent always; 0 = none. */
    int32_t takeover;               /* 0 or 1 */
    int64_t lease_id;
    int64_t lease_ms;
};

/* One step's observation. Each array is [n_services] or [n_nodes]; decoded:
 * owned by the message; encoding: borrowed (e.g. the simulator's views). */
struct rls_proto_state {
    struct rls_step_info info;          /* cluster-wide figures of the step */
    int32_t n_services;
    struct rls_svc_state *services;     /* [n_services] */
    int32_t has_dist;                   /* 1: services[].dist was sent (the step model's
                                           latency distribution); 0: dist is all zero */
    double *latency_ms;                 /* [n_services][3] measured p50, p95, p99 response
                                           time, ms; NULL = not sent */
    int32_t n_nodes;
    struct rls_node_state *nodes;       /* [n_nodes] */
    double *node_cpu;                   /* [n_nodes] capacity, cores; NULL = the pool's */
    double *node_mem_gb;                /* [n_nodes] capacity, GiB; NULL with node_cpu */
};

struct rls_proto_actions {
    int32_t n_services;
    int32_t *desired;       /* [n_services] wanted replicas, >= 0 */
    uint8_t *placement;     /* [n_services] enum rls_placement; NULL = spread for all */
};

/* A decoded message. Only the part for `type` is filled; the rest is zero. */
struct rls_proto_msg {
    int32_t type;           /* enum rls_proto_type */
    uint32_t version;       /* "v" as received (RLS_PROTO_VERSION) */
    int64_t seq;            /* sender's sequence number (state: one per step), >= 0 */
    int64_t ts_ns;          /* sender's clock when sent, ns since the Unix epoch (0 = not told) */
    int64_t re;             /* actions/ack/error: seq of the message answered, -1 = none */
    struct rls_proto_hello hello;
    struct rls_proto_state state;
    struct rls_proto_actions actions;
    int32_t code;           /* error: an enum rls_status (negative) */
    char message[RLS_ERRMSG_MAX];  /* error: one line */
    char note[RLS_PROTO_NOTE_MAX]; /* actions/ack: free text ("fallback: stale state") */
    uint64_t seed;          /* reset: the episode's seed */
};

/* A growable output buffer. Start with {0}; encoders replace its contents and
 * keep the memory for the next message. */
struct rls_proto_buf {
    uint8_t *data;
    size_t len;             /* bytes of the last encoded message */
    size_t cap;
};

/* Frees buf's memory and zeroes it; NULL is a no-op. */
void rls_proto_buf_free(struct rls_proto_buf *buf);

/* Encodes msg (by msg->type; version is always RLS_PROTO_VERSION) into out.
 * The encoder checks what the decoder checks (counts, ranges, NaN, string
 * lengths), so what it sends is accepted. Returns RLS_OK; RLS_ERR_INVALID
 * (NULL argument, unknown type), RLS_ERR_RANGE (a field out of range, message
 * larger than RLS_PROTO_MAX_BYTES) or RLS_ERR_NOMEM, with err naming the
 * field ("state.services.ready[3]: -1 out of range"); out->len is then 0. */
int rls_proto_encode(struct rls_proto_buf *out, const struct rls_proto_msg *msg,
                     struct rls_err *err);

/* Shorthands for rls_proto_encode; same returns. */
int rls_proto_encode_hello(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                           const struct rls_proto_hello *hello, struct rls_err *err);
int rls_proto_encode_state(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                           const struct rls_proto_state *state, struct rls_err *err);
/* note may be NULL. */
int rls_proto_encode_actions(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                             const struct rls_proto_actions *actions, const char *note,
                             struct rls_err *err);
int rls_proto_encode_ack(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                         const char *note, struct rls_err *err);
/* message is cut to RLS_ERRMSG_MAX - 1 bytes (on a UTF-8 boundary). */
int rls_proto_encode_error(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, int64_t re,
                           int32_t code, const char *message, struct rls_err *err);
int rls_proto_encode_heartbeat(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns,
                               struct rls_err *err);
int rls_proto_encode_reset(struct rls_proto_buf *out, int64_t seq, int64_t ts_ns, uint64_t seed,
                           struct rls_err *err);

/* Decodes and validates one message of len bytes. out must be zeroed ({0})
 * or hold an earlier decoded message: it is cleared first. Unknown keys (at
 * any level) are skipped; everything else is checked: a map at the top with
 * "v" == RLS_PROTO_VERSION and a known "type", every field's type and range,
 * counts within the limits above, columns of equal length, no NaN/infinity,
 * no bytes after the message.
 * Returns RLS_OK with out filled (caller owns it: rls_proto_msg_clear), or
 *   RLS_ERR_VERSION  "v" missing or not RLS_PROTO_VERSION,
 *   RLS_ERR_PARSE    not MessagePack, truncated, trailing bytes, a wrong
 *                    type, a missing field, unknown message type,
 *   RLS_ERR_RANGE    a value, count or size out of range,
 *   RLS_ERR_NOMEM / RLS_ERR_INVALID (NULL argument),
 * with err naming the field ("state.services.ready[3]: expected an integer,
 * got a string") and out cleared. Never reads outside buf. */
int rls_proto_decode(const void *buf, size_t len, struct rls_proto_msg *out, struct rls_err *err);

/* Frees what a decoded message owns and zeroes it; NULL is a no-op. Do not
 * call on a message whose pointers are borrowed (one built for encoding). */
void rls_proto_msg_clear(struct rls_proto_msg *msg);

/* Cross-checks a decoded state or actions message against the cluster of the
 * hello: same number of services, node pools that exist, desired within
 * [min, max] (actions). Returns RLS_OK or RLS_ERR_RANGE with err naming the
 * field. */
int rls_proto_check_state(const struct rls_proto_state *st, const struct rls_scenario *cluster,
                          struct rls_err *err);
int rls_proto_check_actions(const struct rls_proto_actions *a, const struct rls_scenario *cluster,
                            struct rls_err *err);

/* "hello", "state", ... (static; "unknown" for other values). */
const char *rls_proto_type_name(int type);

/* The current time, ns since the Unix epoch (CLOCK_REALTIME), for ts_ns. */
int64_t rls_proto_now_ns(void);

#endif
