/* transport.h - the ZeroMQ sockets that carry protocol messages (protocol.h):
 * the cluster side is a server (ROUTER, binds), the agent a client (DEALER,
 * connects). One protocol message is one ZeroMQ frame.
 *
 * Each handle owns its own ZeroMQ context (unless given one). Linger is 0 (destroy never
 * blocks), ZMQ_MAXMSGSIZE drops (and disconnects) a peer that sends more than
 * the protocol limit, the client sets ZMQ_IMMEDIATE (nothing is queued for a
 * cluster that is not there, so a send times out instead of delivering stale
 * actions later) and reconnects with ZeroMQ's own backoff (ZMQ_RECONNECT_IVL
 * doubling up to ZMQ_RECONNECT_IVL_MAX).
 *
 * CURVE (encryption and authentication) is on by default: a server needs its
 * secret key and a file of allowed client public keys, and runs a ZAP handler
 * (a thread on inproc://zeromq.zap.01 of its context) that refuses any other
 * client; a client needs the server's public key and its own secret key.
 * Without them rls_transport_*_new fails, unless params.insecure is set (the
 * operator's explicit --insecure: plain TCP, anyone who reaches the port is
 * admitted) or the endpoint is inproc:// (in-process, unreachable from
 * outside). Keys are files holding one Z85 line (zmq_z85_encode, 40
 * characters) after '#' comment lines; rls_transport_keygen writes them
 * (agent/PROTOCOL.md, "Security", is the file format). The server tags each
 * message with the sender's public key (rls_transport_peer.key).
 *
 *     struct rls_transport_params p = rls_transport_default_params();
 *     struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &p, &err);
 *     struct rls_transport *cli = rls_transport_client_new(rls_transport_endpoint(srv), &p, &err);
 *     rls_transport_send_msg(cli, NULL, &hello, 1000);
 *     rls_transport_recv_msg(srv, &peer, &msg, 1000, &err);   // 1: got one
 *
 * A handle is used from one thread at a time (ZeroMQ sockets are not thread safe).
 */
#ifndef RLS_TRANSPORT_H
#define RLS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "status.h"

#define RLS_TRANSPORT_KEY_Z85 40    /* characters of a Z85 CURVE key */

struct rls_transport_params {
    int64_t max_message_bytes;      /* ZMQ_MAXMSGSIZE, bytes (RLS_PROTO_MAX_BYTES) */
    int reconnect_ivl_ms;           /* client: first reconnect delay, ms (100) */
    int reconnect_ivl_max_ms;       /* client: reconnect backoff cap, ms (5000) */
    int handshake_ms;               /* ZMQ_HANDSHAKE_IVL: a connection that has not
                                       finished its handshake by then is dropped, ms (5000) */
    /* CURVE. Server: curve_secret_file and curve_allow_file are required
     * (unless insecure). Client: curve_server_file and curve_secret_file are
     * required (unless insecure). With insecure set, keys that are given are
     * still used (server without an allow file: any client with the server key;
     * client without a secret: a fresh key pair per handle). */
    const char *curve_secret_file;  /* own secret key file (NULL) */
    const char *curve_server_file;  /* client: the server's public key file (NULL) */
    const char *curve_allow_file;   /* server: allowed client public keys, one Z85 per line,
                                       optionally followed by the word "takeover"
                                       (rls_transport_key_can_take_over); '#' comments (NULL) */
    int insecure;                   /* 1: the operator's explicit opt-out: no keys needed,
                                       plain TCP/IPC when none are given (0) */
    void *context;                  /* a ZeroMQ context to use (borrowed; it must outlive the
                                       handle), for inproc between handles; NULL = the handle's
                                       own. A CURVE server with an allow file needs a context no
                                       other such server uses (one ZAP endpoint per context). */
};

/* The defaults above (no CURVE). */
struct rls_transport_params rls_transport_default_params(void);

/* Who sent a message to a server (a ROUTER routing id). */
struct rls_transport_peer {
    uint8_t id[255];
    uint8_t len;            /* bytes of id; 0 = none */
    char address[64];       /* the peer's IP address for logs ("" when unknown) */
    char key[RLS_TRANSPORT_KEY_Z85 + 1];  /* the peer's CURVE public key (Z85) when the
                                             server's ZAP handler admitted it, else "" */
};

/* The peer's address for logs, or "peer" when unknown (never NULL). */
const char *rls_transport_peer_name(const struct rls_transport_peer *p);

/* 1 if a and b are the same connection (same ZeroMQ routing id), else 0. */
int rls_transport_peer_equal(const struct rls_transport_peer *a, const struct rls_transport_peer *b);

struct rls_transport;

/* A server bound to endpoint ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:*" for
 * an ephemeral port, "inproc://name", "ipc://path"). p NULL = defaults.
 * Returns an owned handle (rls_transport_destroy) or NULL with err naming the
 * endpoint or key file: RLS_ERR_INVALID when a tcp/ipc server has no secret
 * key or no allow file and p->insecure is 0 (a client: no server key or no
 * secret key). */
struct rls_transport *rls_transport_server_new(const char *endpoint,
                                               const struct rls_transport_params *p,
                                               struct rls_err *err);

/* A client connected to endpoint (the connection is made in the background
 * and remade after a loss). Same returns as rls_transport_server_new. An
 * inproc endpoint reaches a server of the same ZeroMQ context only: give both
 * handles the same params.context. */
struct rls_transport *rls_transport_client_new(const char *endpoint,
                                               const struct rls_transport_params *p,
                                               struct rls_err *err);

/* Closes the socket (pending messages are dropped), stops the ZAP thread,
 * frees *t and sets it to NULL; NULL is a no-op. */
void rls_transport_destroy(struct rls_transport **t);

/* The last error message ("" if none), never NULL. */
const char *rls_transport_errmsg(const struct rls_transport *t);

/* The endpoint bound or connected to; for a server bound to port "*" the
 * port picked ("tcp://127.0.0.1:41234"). Never NULL; owned by t. */
const char *rls_transport_endpoint(const struct rls_transport *t);

/* Sends one message of len bytes. Server: `to` is the peer to reply to
 * (from a recv); client: `to` is ignored (NULL). Waits up to timeout_ms
 * (< 0: forever) for room. Returns RLS_OK, or RLS_ERR_IO with errmsg
 * ("send to peer 1.2.3.4: peer gone", "send: timed out after 1000 ms, not
 * connected"), RLS_ERR_RANGE (larger than max_message_bytes). */
int rls_transport_send(struct rls_transport *t, const struct rls_transport_peer *to,
                       const void *data, size_t len, int timeout_ms);

/* Receives one message into `into` (its memory is reused; caller frees it
 * with rls_proto_buf_free), waiting up to timeout_ms (< 0: forever; 0: poll).
 * Server: *from (may be NULL) gets the sender. Returns 1 with a message, 0 on
 * timeout or when a signal interrupted the wait, or a negative status with
 * errmsg (RLS_ERR_PARSE: a message of the wrong frame shape, dropped). */
int rls_transport_recv(struct rls_transport *t, struct rls_transport_peer *from,
                       struct rls_proto_buf *into, int timeout_ms);

/* Encodes msg (rls_proto_encode) and sends it. Returns as rls_transport_send,
 * or the encoder's status (errmsg names the field). */
int rls_transport_send_msg(struct rls_transport *t, const struct rls_transport_peer *to,
                           const struct rls_proto_msg *msg, int timeout_ms);

/* Receives and decodes one message into *msg (cleared first; caller clears
 * it). A message that does not decode is answered with an "error" message to
 * its sender (code and text of the decode failure) and counted
 * (rls_transport_refused). Returns 1 with a valid message, 0 on timeout, or
 * a negative status with err (may be NULL) and errmsg saying what was refused
 * and from whom ("refused from 127.0.0.1: state.services.ready[3]: expected
 * an integer, got a string"): the caller logs it and goes on. */
int rls_transport_recv_msg(struct rls_transport *t, struct rls_transport_peer *from,
                           struct rls_proto_msg *msg, int timeout_ms, struct rls_err *err);

/* 1 when t runs CURVE (encrypted, peers authenticated), else 0 (and for NULL). */
int rls_transport_is_secure(const struct rls_transport *t);

/* 1 when the Z85 public key z85 is in the server's allow file followed by the
 * word "takeover" (such an agent may take a live lease, agent/PROTOCOL.md),
 * else 0 (and for NULL or ""). */
int rls_transport_key_can_take_over(const struct rls_transport *t, const char *z85);

/* Messages refused by rls_transport_recv_msg so far; client handshakes the
 * ZAP handler denied so far (server with an allow file; 0 otherwise). */
int64_t rls_transport_refused(const struct rls_transport *t);
int64_t rls_transport_auth_denied(const struct rls_transport *t);

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC): what the transport's
 * timeouts, and the programs built on it, measure time with. */
int64_t rls_transport_now_ms(void);

/* Writes a new CURVE key pair (zmq_curve_keypair): public_path gets the
 * public key (mode 0644), secret_path the secret key (mode 0600), each one
 * Z85 line after a '#' comment line. overwrite 0: neither file may exist.
 * Returns RLS_OK, RLS_ERR_STATE (a file exists and overwrite is 0), RLS_ERR_IO
 * or RLS_ERR_EXTERNAL (libzmq built without CURVE), with err naming the file. */
int rls_transport_keygen(const char *public_path, const char *secret_path, int overwrite,
                         struct rls_err *err);

/* Reads the first Z85 key line of a key file (lines starting with '#' and
 * blank lines are skipped) into z85 (NUL-terminated). Returns RLS_OK,
 * RLS_ERR_IO (unreadable) or RLS_ERR_PARSE (no valid key), err naming the file. */
int rls_transport_read_key(const char *path, char z85[RLS_TRANSPORT_KEY_Z85 + 1],
                           struct rls_err *err);

#endif
