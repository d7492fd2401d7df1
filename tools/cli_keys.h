/* cli_keys.h - the control channel's security options, shared by every
 * command that opens it: the cluster side (sim serve, cluster local) and the
 * clients (eval --cluster, record --cluster), and `rlsched keygen`.
 *
 * Secure by default (agent/PROTOCOL.md, "Security"): a cluster needs
 * --curve-secret and --curve-allow, a client --curve-server and
 * --curve-secret, unless the operator says --insecure (logged loudly).
 *
 *     struct rls_cli_keys k = {0};
 *     for (...) { int r = rls_cli_keys_option(&k, 1, argc, argv, &i, PROG);
 *                 if (r < 0) return 2;  if (r > 0) continue;  ... }
 *     if (rls_cli_keys_apply(&k, 1, &params.transport, PROG) != 0) return 2;
 */
#ifndef RLS_CLI_KEYS_H
#define RLS_CLI_KEYS_H

#include "../env/transport.h"

struct rls_cli_keys {
    const char *secret;     /* --curve-secret: own secret key file */
    const char *server;     /* --curve-server: the cluster's public key file (clients) */
    const char *allow;      /* --curve-allow: allowed agent public keys (cluster side) */
    int insecure;           /* --insecure */
    int takeover;           /* --takeover (clients): ask for a live lease */
};

/* Usage lines for the options (each ends with a newline). */
extern const char rls_cli_keys_server_usage[];
extern const char rls_cli_keys_client_usage[];

/* When argv[*i] is one of the options for this side (is_server 1: --curve-secret,
 * --curve-allow, --insecure; 0: --curve-server, --curve-secret, --insecure,
 * --takeover), stores it in *k and moves *i past its value. Returns 1 when
 * consumed, 0 when argv[*i] is something else, -1 (one line printed on stderr
 * as "PROG: ...") when its value is missing. */
int rls_cli_keys_option(struct rls_cli_keys *k, int is_server, int argc, char **argv, int *i, const char *prog);

/* Checks *k for this side and sets tp's key files and insecure flag. Keys
 * missing without --insecure: one line on stderr saying how to make them,
 * returns -1. With --insecure: one "INSECURE" warning line on stderr, returns
 * 0. Otherwise returns 0 silently. */
int rls_cli_keys_apply(const struct rls_cli_keys *k, int is_server, struct rls_transport_params *tp,
                       const char *prog);

/* `rlsched keygen --out PREFIX [--force]` (tools/cmd_keygen.c). */
int rls_cmd_keygen(int argc, char **argv);

#endif
