/* cmd_keygen.c - `rlsched keygen --out PREFIX [--force]`: writes a CURVE key
 * pair for the control channel, PREFIX.key (secret, mode 0600) and PREFIX.pub
 * (public), each a '#' comment line and one Z85 line (agent/PROTOCOL.md,
 * "Security"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_keys.h"

#define S_PROG "rlsched keygen"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched keygen --out PREFIX [--force]\n"
            "\n"
            "Writes a CURVE key pair for the control channel (agent/PROTOCOL.md, \"Security\"):\n"
            "PREFIX.key, the secret key (mode 0600, stays on this host), and PREFIX.pub, the\n"
            "public key (give it to the other side; a cluster's --curve-allow file lists its\n"
            "agents' .pub lines). Each file is a '#' comment line and one 40-character Z85 line.\n"
            "  --out    path prefix of the two files (required)\n"
            "  --force  overwrite existing files (default: refuse)\n");
}

int rls_cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0, ret = 1;
    char *pub = NULL, *sec = NULL;
    struct rls_err err = { 0 };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, S_PROG ": %s '%s' (try " S_PROG " --help)\n",
                    strcmp(a, "--out") == 0 ? "needs a value:" : "unknown option", a);
            return 2;
        }
    }
    if (out == NULL || out[0] == '\0') {
        fprintf(stderr, S_PROG ": --out PREFIX is required (writes PREFIX.key and PREFIX.pub)\n");
        return 2;
    }
    size_t n = strlen(out) + 5;
    pub = malloc(n);
    sec = malloc(n);
    if (pub == NULL || sec == NULL) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    snprintf(pub, n, "%s.pub", out);
    snprintf(sec, n, "%s.key", out);
    if (rls_transport_keygen(pub, sec, force, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s%s\n", err.msg, err.status == RLS_ERR_STATE ? " (--force overwrites)" : "");
        goto done;
    }
    printf("%s\n%s\n", sec, pub);
    ret = 0;
done:
    free(pub);
    free(sec);
    return ret;
}
