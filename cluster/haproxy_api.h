/* haproxy_api.h - HAProxy's runtime API (the `stats socket PATH level admin`
 * unix socket, HAProxy 2.6 "management guide" section 9.3): one command per
 * connection, the answer read until HAProxy closes it. Plus the pure parts
 * the HAProxy cluster (cluster/haproxy.h) needs and the tests check on their
 * own: command formatting with names checked (no command injection through a
 * service name), the `show stat` CSV, the request log line the cluster's
 * HAProxy config writes, and the adaptive load-balancing weights.
 *
 *     char cmd[256], *reply = NULL;
 *     rls_haproxy_fmt_add_server(cmd, sizeof cmd, "api", "w3", "127.0.0.1", 41234, 0, 1);
 *     if (rls_haproxy_api_call("/tmp/x/admin.sock", cmd, 2000, &reply, &err) == RLS_OK &&
 *         rls_haproxy_reply_ok(reply)) ...
 *     free(reply);
 *
 * Library code: never prints.
 */
#ifndef RLS_HAPROXY_API_H
#define RLS_HAPROXY_API_H

#include <stddef.h>
#include <stdint.h>

#include "../env/status.h"

#define RLS_HAPROXY_NAME_MAX 64     /* backend and server names, with the NUL */

/* Sends cmd (one line, no newline) to the runtime API socket at sock_path and
 * reads the whole answer, waiting at most timeout_ms in all. On RLS_OK *reply
 * is an owned NUL-terminated string (free it); else *reply is NULL and err says
 * why: RLS_ERR_INVALID (NULL or multi-line cmd, path too long), RLS_ERR_IO
 * (connect, send, receive, timeout). The answer may still be HAProxy's
 * refusal: see rls_haproxy_reply_ok. */
int rls_haproxy_api_call(const char *sock_path, const char *cmd, int timeout_ms, char **reply,
                         struct rls_err *err);

/* 1 when name is a usable HAProxy backend or server name: 1..63 bytes of
 * letters, digits, '-', '_', '.'; else 0. */
int rls_haproxy_name_ok(const char *name);

/* 1 when a runtime API answer says the command worked: empty (blank lines
 * only), "New server registered." or "Server deleted."; 0 for anything else
 * (HAProxy's error text) and for NULL. */
int rls_haproxy_reply_ok(const char *reply);

/* The commands, written into buf (cap bytes) with a NUL. Each returns the
 * length, or 0 when a name fails rls_haproxy_name_ok, a number is out of
 * range or it does not fit.
 *   add server BE/SRV ADDR:PORT weight W maxconn M check inter 200 fastinter 100
 *       downinter 200 rise 1 fall 2 disabled        (port 1..65535, weight 0..256,
 *                                                     maxconn 1..100000; addr an IPv4 literal) */
size_t rls_haproxy_fmt_add_server(char *buf, size_t cap, const char *backend, const char *server,
                                  const char *addr, int port, int weight, int maxconn);

/* "VERB BE/SRV", VERB one of "enable server", "disable server", "enable health",
 * "del server", "shutdown sessions server" (anything else: 0). */
size_t rls_haproxy_fmt_server(char *buf, size_t cap, const char *verb, const char *backend, const char *server);

/* "set server BE/SRV weight W" (W 0..256). */
size_t rls_haproxy_fmt_set_weight(char *buf, size_t cap, const char *backend, const char *server, int weight);

/* "set server BE/SRV state S", S one of "ready", "drain", "maint" (else 0). */
size_t rls_haproxy_fmt_set_state(char *buf, size_t cap, const char *backend, const char *server,
                                 const char *state);

/* One row of `show stat` (a proxy's FRONTEND/BACKEND line or a server's). */
struct rls_haproxy_stat {
    char backend[RLS_HAPROXY_NAME_MAX];  /* pxname */
    char server[RLS_HAPROXY_NAME_MAX];   /* svname: a server, "FRONTEND" or "BACKEND" */
    char status[32];            /* "UP", "DOWN", "MAINT", "DRAIN", "no check", "UP 1/2", ... */
    char check_status[16];      /* "L7OK", "L4CON", "" (no check yet), ... */
    int64_t qcur;               /* requests queued now (-1 when the column is empty) */
    int64_t scur;               /* sessions now */
    int64_t stot;               /* sessions in all */
    int64_t weight;             /* effective weight (-1 when empty) */
    int64_t rtime_ms;           /* average response time of the last 1024 requests, ms (-1) */
};

/* Parses `show stat` CSV text (the "# pxname,svname,..." header, then one
 * row per line; columns found by name, so any HAProxy version's order works).
 * Fills out[0..cap) and returns the number of rows (may exceed cap), or
 * RLS_ERR_PARSE when the header or a needed column is missing. */
int32_t rls_haproxy_parse_stat(const char *text, struct rls_haproxy_stat *out, int32_t cap);

/* One request as the cluster's HAProxy logs it (log-format
 * "rlsreq %b %s %ST %Ta %Tw %Tc %Tr %ts"). */
struct rls_haproxy_logrec {
    char backend[RLS_HAPROXY_NAME_MAX];
    char server[RLS_HAPROXY_NAME_MAX];   /* "<NOSRV>" when none took it */
    int32_t status;             /* HTTP status sent to the client */
    int32_t ta_ms;              /* active time: request received to response sent, ms */
    int32_t tw_ms;              /* time in HAProxy's queues, ms (-1: never queued/aborted) */
    int32_t tc_ms;              /* connect time to the server, ms (-1) */
    int32_t tr_ms;              /* server response time, ms (-1) */
    char term[3];               /* the termination state, e.g. "--", "sQ", "SC" */
};

/* Parses one log datagram (len bytes, not NUL-terminated; a trailing newline
 * is allowed). Returns RLS_OK or RLS_ERR_PARSE (not an "rlsreq" line). */
int rls_haproxy_parse_log(const char *line, size_t len, struct rls_haproxy_logrec *out);

/* The adaptive rule: server i should take L_i = w_i / sum(w) x lambda of a
 * service's rate, w_i = 1 / latency_ms[i] (its measured mean service
 * latency). Round robin over HAProxy weights gives server i the share
 * weight_i / sum(weight), so weight_i = round(scale x n x w_i / sum(w)),
 * clamped to 1..256. A latency <= 0 (not measured yet) counts as the mean of
 * the measured ones (1 ms when none is). share[i] (may be NULL) gets
 * w_i / sum(w). scale: the weight of an average server (1..128; 32 is
 * usual). Returns RLS_OK, RLS_ERR_INVALID for NULL arrays, n < 1 or a bad
 * scale. */
int rls_haproxy_adaptive_weights(const double *latency_ms, int32_t n, int32_t scale, int32_t *weight,
                                 double *share);

#endif
