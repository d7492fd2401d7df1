/* cli_keys.c - the control channel's security options (cli_keys.h). */
#include "cli_keys.h"

#include <stdio.h>
#include <string.h>

const char rls_cli_keys_server_usage[] =
    "  --curve-secret    this cluster's CURVE secret key file (required unless --insecure;\n"
    "                    `rlsched keygen --out server` makes server.key and server.pub)\n"
    "  --curve-allow     the agents' public keys admitted, one Z85 key per line, 'takeover'\n"
    "                    after a key lets it take a live lease (required unless --insecure)\n"
    "  --insecure        serve without authentication: anyone reaching the port may scale\n"
    "                    the cluster (logged as a warning at start-up)\n";

const char rls_cli_keys_client_usage[] =
    "  --curve-server    the cluster's CURVE public key file (required unless --insecure)\n"
    "  --curve-secret    this client's secret key file (required unless --insecure;\n"
    "                    `rlsched keygen --out agent`, agent.pub listed by the cluster)\n"
    "  --takeover        take the control lease even while another agent holds it\n"
    "  --insecure        connect without keys (plain TCP, logged as a warning)\n";

int rls_cli_keys_option(struct rls_cli_keys *k, int is_server, int argc, char **argv, int *i, const char *prog)
{
    const char *a = argv[*i];
    const char **dst = NULL;

    if (strcmp(a, "--insecure") == 0) {
        k->insecure = 1;
        return 1;
    }
    if (!is_server && strcmp(a, "--takeover") == 0) {
        k->takeover = 1;
        return 1;
    }
    if (strcmp(a, "--curve-secret") == 0)
        dst = &k->secret;
    else if (is_server && strcmp(a, "--curve-allow") == 0)
        dst = &k->allow;
    else if (!is_server && strcmp(a, "--curve-server") == 0)
        dst = &k->server;
    if (dst == NULL)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value (try --help)\n", prog, a);
        return -1;
    }
    *dst = argv[++*i];
    return 1;
}

int rls_cli_keys_apply(const struct rls_cli_keys *k, int is_server, struct rls_transport_params *tp,
                       const char *prog)
{
    if (is_server) {
        if (k->allow && !k->secret) {
            fprintf(stderr, "%s: --curve-allow needs --curve-secret\n", prog);
            return -1;
        }
        if (!k->insecure && (!k->secret || !k->allow)) {
            fprintf(stderr, "%s: the control channel needs keys (secure by default): run `rlsched keygen --out "
                    "server` and `rlsched keygen --out agent`, then pass --curve-secret server.key --curve-allow "
                    "agent.pub (the agents' public keys, one per line), or --insecure\n", prog);
            return -1;
        }
        if (k->insecure && !k->secret)
            fprintf(stderr, "%s: INSECURE: --insecure: no authentication on the control channel; any process "
                    "that reaches it can take control and scale every service\n", prog);
        else if (k->insecure && !k->allow)
            fprintf(stderr, "%s: INSECURE: --insecure without --curve-allow: any client holding the server's "
                    "public key is admitted\n", prog);
        tp->curve_secret_file = k->secret;
        tp->curve_allow_file = k->allow;
    } else {
        if (k->secret && !k->server) {
            fprintf(stderr, "%s: --curve-secret needs --curve-server\n", prog);
            return -1;
        }
        if (!k->insecure && (!k->server || !k->secret)) {
            fprintf(stderr, "%s: the control channel needs keys: make a pair with `rlsched keygen --out agent`, "
                    "list agent.pub in the cluster's --curve-allow file and pass --curve-server server.pub "
                    "--curve-secret agent.key (or --insecure)\n", prog);
            return -1;
        }
        if (k->insecure && !k->server)
            fprintf(stderr, "%s: INSECURE: --insecure: the control channel is plain TCP, not authenticated\n",
                    prog);
        tp->curve_server_file = k->server;
        tp->curve_secret_file = k->secret;
    }
    tp->insecure = k->insecure;
    return 0;
}
