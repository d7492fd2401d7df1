/* rls_test_keys.h - CURVE keys for the tests that open the control channel
 * (secure by default, agent/PROTOCOL.md "Security"): a temporary directory
 * with a server key pair and four agent key pairs, and an allow file listing
 * "agent" and "agent3", and "agent2" with the word "takeover"; "stranger" is
 * not listed. Header-only (static functions) so each test executable has its
 * own copy.
 *
 *     struct rls_test_keys k;
 *     if (rls_test_keys_make(&k) != 0) fail();
 *     struct rls_transport_params sp = rls_transport_default_params();
 *     rls_test_keys_server(&k, &sp);             // secret + allow file
 *     rls_test_keys_client(&k, k.agent_sec, &cp);  // server public + own secret
 *     ...
 *     rls_test_keys_remove(&k);
 */
#ifndef RLS_TEST_KEYS_H
#define RLS_TEST_KEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/transport.h"

struct rls_test_keys {
    char dir[64];
    char srv_pub[128], srv_sec[128];
    char agent_pub[128], agent_sec[128];        /* listed */
    char agent2_pub[128], agent2_sec[128];      /* listed with "takeover" */
    char agent3_pub[128], agent3_sec[128];      /* listed, no takeover */
    char stranger_pub[128], stranger_sec[128];  /* not listed */
    char allow[128];
    char agent_z85[RLS_TRANSPORT_KEY_Z85 + 1], agent2_z85[RLS_TRANSPORT_KEY_Z85 + 1];
};

/* Makes the directory, the keys and the allow file. Returns 0, or -1 with a
 * line on stderr. */
static inline int rls_test_keys_make(struct rls_test_keys *k)
{
    struct rls_err err = { 0 };
    char z3[RLS_TRANSPORT_KEY_Z85 + 1];
    FILE *f = NULL;
    struct { char *pub, *sec; const char *name; } pairs[] = {
        { k->srv_pub, k->srv_sec, "server" },     { k->agent_pub, k->agent_sec, "agent" },
        { k->agent2_pub, k->agent2_sec, "agent2" }, { k->agent3_pub, k->agent3_sec, "agent3" },
        { k->stranger_pub, k->stranger_sec, "stranger" },
    };

    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/rls_keys_XXXXXX");
    if (mkdtemp(k->dir) == NULL) {
        fprintf(stderr, "rls_test_keys_make: mkdtemp failed\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        snprintf(pairs[i].pub, 128, "%s/%s.pub", k->dir, pairs[i].name);
        snprintf(pairs[i].sec, 128, "%s/%s.key", k->dir, pairs[i].name);
        if (rls_transport_keygen(pairs[i].pub, pairs[i].sec, 0, &err) != RLS_OK) {
            fprintf(stderr, "rls_test_keys_make: %s\n", err.msg);
            return -1;
        }
    }
    snprintf(k->allow, sizeof k->allow, "%s/agents.allow", k->dir);
    if (rls_transport_read_key(k->agent_pub, k->agent_z85, &err) != RLS_OK ||
        rls_transport_read_key(k->agent2_pub, k->agent2_z85, &err) != RLS_OK ||
        rls_transport_read_key(k->agent3_pub, z3, &err) != RLS_OK || (f = fopen(k->allow, "w")) == NULL) {
        fprintf(stderr, "rls_test_keys_make: %s\n", err.msg);
        return -1;
    }
    fprintf(f, "# agents admitted to the control channel\n%s\n%s takeover\n%s\n", k->agent_z85, k->agent2_z85, z3);
    fclose(f);
    return 0;
}

/* Removes the files and the directory. */
static inline void rls_test_keys_remove(struct rls_test_keys *k)
{
    const char *files[] = { k->srv_pub, k->srv_sec, k->agent_pub, k->agent_sec, k->agent2_pub, k->agent2_sec,
                            k->agent3_pub, k->agent3_sec, k->stranger_pub, k->stranger_sec, k->allow };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (files[i][0] != '\0')
            unlink(files[i]);
    if (k->dir[0] != '\0')
        rmdir(k->dir);
}

/* The cluster side: the server's secret key and the allow file (borrowed). */
static inline void rls_test_keys_server(const struct rls_test_keys *k, struct rls_transport_params *p)
{
    p->curve_secret_file = k->srv_sec;
    p->curve_allow_file = k->allow;
}

/* A client: the server's public key and the secret key file `secret` (borrowed). */
static inline void rls_test_keys_client(const struct rls_test_keys *k, const char *secret, struct rls_transport_params *p)
{
    p->curve_server_file = k->srv_pub;
    p->curve_secret_file = secret;
}

#endif
