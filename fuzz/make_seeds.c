/* make_seeds.c - writes the seed corpora of fuzz/corpus/ with the project's own
 * encoders: protocol messages of every type (a hello with the default cluster,
 * a state and actions from a real simulator step, ...), the default scenario
 * as YAML, and a small checkpoint (the replay seeds come from `rlsched record`,
 * the trace seeds are hand-written: fuzz/README.md).
 * usage: make_seeds OUT_DIR   (OUT_DIR/protocol, OUT_DIR/scenario and
 * OUT_DIR/checkpoint must exist). Built by `tools/fuzz.sh --seeds`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/protocol.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "policies/checkpoint.h"

static int s_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    FILE *f = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char dir[900];
    struct rls_err err = {0};
    struct rls_scenario *sc = NULL;
    struct rls_sim *sim = NULL;
    struct rls_proto_buf buf = {0};
    struct rls_proto_hello hello;
    struct rls_proto_state st;
    struct rls_proto_actions act;
    struct rls_checkpoint *ck = NULL;
    int32_t desired[64], sizes[3];
    uint8_t placement[64];
    int i, n, rc = 1;
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds OUT_DIR\n");
        return 2;
    }
    if (rls_scenario_load("default", &sc, &err) != RLS_OK || !(sim = rls_sim_new(sc, &err)) ||
        rls_sim_reset(sim, 1) != RLS_OK)
        goto done;
    n = sc->n_services < 64 ? sc->n_services : 64;
    for (i = 0; i < n; i++) {
        desired[i] = sc->services[i].min_replicas + 1;
        placement[i] = (uint8_t)(i % 2);
    }
    if (rls_sim_step(sim, desired, placement) != RLS_OK)
        goto done;

    /* protocol: one message of each type */
    memset(&hello, 0, sizeof hello);
    snprintf(hello.role, sizeof hello.role, "cluster");
    snprintf(hello.software, sizeof hello.software, "rlsched fuzz");
    hello.n_versions = 1;
    hello.versions[0] = RLS_PROTO_VERSION;
    hello.limits.max_message_bytes = RLS_PROTO_MAX_BYTES;
    hello.limits.max_services = RLS_PROTO_MAX_SERVICES;
    hello.limits.max_nodes = RLS_PROTO_MAX_NODES;
    hello.cluster = sc;
    hello.lease_id = 1;
    hello.lease_ms = 5000;
    snprintf(dir, sizeof dir, "%s/protocol", argv[1]);
    if (rls_proto_encode_hello(&buf, 0, 1, &hello, &err) != RLS_OK ||
        s_write(dir, "hello_cluster", buf.data, buf.len))
        goto done;
    hello.cluster = NULL;
    snprintf(hello.role, sizeof hello.role, "agent");
    hello.takeover = 1;
    hello.lease_id = 0;
    hello.lease_ms = 0;
    if (rls_proto_encode_hello(&buf, 0, 1, &hello, &err) != RLS_OK ||
        s_write(dir, "hello_agent", buf.data, buf.len))
        goto done;
    memset(&st, 0, sizeof st);
    st.info = *rls_sim_last(sim);
    st.n_services = sc->n_services;
    st.services = (struct rls_svc_state *)rls_sim_services(sim);
    st.has_dist = 1;
    st.n_nodes = (int32_t)rls_scenario_total_nodes(sc);
    st.nodes = (struct rls_node_state *)rls_sim_nodes(sim);
    if (rls_proto_encode_state(&buf, 1, 2, &st, &err) != RLS_OK ||
        s_write(dir, "state", buf.data, buf.len))
        goto done;
    memset(&act, 0, sizeof act);
    act.n_services = n;
    act.desired = desired;
    act.placement = placement;
    if (rls_proto_encode_actions(&buf, 2, 3, 1, &act, "fallback: stale state", &err) != RLS_OK ||
        s_write(dir, "actions", buf.data, buf.len))
        goto done;
    if (rls_proto_encode_ack(&buf, 3, 4, 2, "ok", &err) != RLS_OK ||
        s_write(dir, "ack", buf.data, buf.len) ||
        rls_proto_encode_error(&buf, 4, 5, 3, RLS_ERR_RANGE, "state.services.ready[3]: out of range",
                               &err) != RLS_OK ||
        s_write(dir, "error", buf.data, buf.len) ||
        rls_proto_encode_heartbeat(&buf, 5, 6, &err) != RLS_OK ||
        s_write(dir, "heartbeat", buf.data, buf.len) ||
        rls_proto_encode_reset(&buf, 6, 7, 42, &err) != RLS_OK ||
        s_write(dir, "reset", buf.data, buf.len))
        goto done;

    /* scenario: the default one as YAML */
    snprintf(dir, sizeof dir, "%s/scenario", argv[1]);
    if (s_write(dir, "default.yaml", rls_scenario_default_yaml(), strlen(rls_scenario_default_yaml())))
        goto done;

    /* checkpoint: a small network with this build's features and actions */
    snprintf(dir, sizeof dir, "%s/checkpoint/small.h5", argv[1]);
    {
        /* the feature count is the number of comma-separated feature names */
        struct rls_checkpoint *probe = rls_checkpoint_new(1, (int32_t[]){1, 18}, &err);
        const char *p = NULL;
        if (!probe)
            goto done;
        sizes[0] = 1;
        for (p = probe->feature_names; *p; p++)
            sizes[0] += *p == ',';
        rls_checkpoint_destroy(&probe);
    }
    sizes[1] = 8;
    sizes[2] = 18;
    if (!(ck = rls_checkpoint_new(2, sizes, &err)))
        goto done;
    for (i = 0; i < sizes[1] * sizes[0]; i++)
        ck->weight[0][i] = (float)((i % 7) - 3) * 0.1f;
    snprintf(ck->algorithm, sizeof ck->algorithm, "bc");
    if (rls_checkpoint_save(ck, dir, &err) != RLS_OK)
        goto done;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "make_seeds: %s\n", err.msg);
    rls_checkpoint_destroy(&ck);
    rls_proto_buf_free(&buf);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
    return rc;
}
