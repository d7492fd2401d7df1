/* test_protocol.c - the wire messages (env/protocol.h): every type round
 * trips, a simulator's state maps 1:1, unknown fields are skipped, and every
 * kind of bad input (wrong types, versions, counts, NaN, truncation at every
 * byte, trailing bytes, random mutations) is refused with the field named and
 * without a crash or a leak. Bad inputs are made with msgpack-c itself: a
 * valid message is unpacked into msgpack-c's object tree, changed, re-packed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "env/protocol.h"
#include "env/queueing.h"
#include "env/sim.h"

/* --- fixtures ------------------------------------------------------------- */

struct fx {
    struct rls_scenario *sc;
    struct rls_sim *sim;
    struct rls_proto_buf buf;
    char *yaml;
    size_t yaml_len;
};

static int s_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct rls_err err = { 0 };
    FILE *ms = NULL;

    assert_non_null(f);
    assert_int_equal(rls_scenario_load("default", &f->sc, &err), RLS_OK);
    f->sim = rls_sim_new(f->sc, &err);
    assert_non_null(f->sim);
    assert_int_equal(rls_sim_reset(f->sim, 7), RLS_OK);
    ms = open_memstream(&f->yaml, &f->yaml_len);
    assert_non_null(ms);
    assert_int_equal(rls_scenario_write_yaml(f->sc, ms), RLS_OK);
    fclose(ms);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    struct fx *f = *state;
    rls_sim_destroy(&f->sim);
    rls_scenario_destroy(&f->sc);
    rls_proto_buf_free(&f->buf);
    free(f->yaml);
    free(f);
    return 0;
}

/* The simulator's current step as a state message (arrays borrowed). */
static struct rls_proto_state s_sim_state(struct rls_sim *sim)
{
    struct rls_proto_state st;
    memset(&st, 0, sizeof st);
    st.info = *rls_sim_last(sim);
    st.n_services = rls_sim_n_services(sim);
    st.services = (struct rls_svc_state *)rls_sim_services(sim);
    st.has_dist = 1;
    st.n_nodes = rls_sim_n_nodes(sim);
    st.nodes = (struct rls_node_state *)rls_sim_nodes(sim);
    return st;
}

static void s_step(struct rls_sim *sim, uint64_t *rng)
{
    int32_t n = rls_sim_n_services(sim);
    int32_t *desired = calloc((size_t)n, sizeof *desired);
    uint8_t *place = calloc((size_t)n, sizeof *place);
    const struct rls_scenario *sc = rls_sim_scenario(sim);
    assert_non_null(desired);
    assert_non_null(place);
    for (int32_t i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
        desired[i] = (int32_t)((*rng >> 33) % (uint64_t)(sc->services[i].max_replicas + 1));
        place[i] = (uint8_t)((*rng >> 20) & 1);
    }
    assert_int_equal(rls_sim_step(sim, desired, place), RLS_OK);
    free(desired);
    free(place);
}

static void s_assert_svc_equal(const struct rls_svc_state *a, const struct rls_svc_state *b, int dist)
{
    assert_true(a->rate_rps == b->rate_rps);
    assert_true(a->arrival_rps == b->arrival_rps);
    assert_true(a->served_rps == b->served_rps);
    assert_true(a->dropped_rps == b->dropped_rps);
    assert_true(a->backlog == b->backlog);
    assert_true(a->utilization == b->utilization);
    assert_true(a->frac_over_slo == b->frac_over_slo);
    if (dist) {
        assert_true(a->dist.p_wait == b->dist.p_wait);
        assert_true(a->dist.theta == b->dist.theta);
        assert_true(a->dist.mu == b->dist.mu);
        assert_true(a->dist.p_shift == b->dist.p_shift);
        assert_true(a->dist.shift_s == b->dist.shift_s);
        assert_true(a->dist.shift_span_s == b->dist.shift_span_s);
    }
    assert_int_equal(a->ready, b->ready);
    assert_int_equal(a->starting, b->starting);
    assert_int_equal(a->pending, b->pending);
    assert_int_equal(a->desired, b->desired);
    assert_int_equal(a->change, b->change);
    assert_int_equal(a->killed, b->killed);
}

static void s_assert_info_equal(const struct rls_step_info *a, const struct rls_step_info *b)
{
    assert_int_equal(a->step, b->step);
    assert_true(a->time_s == b->time_s);
    assert_true(a->cost_usd == b->cost_usd);
    assert_true(a->replica_seconds == b->replica_seconds);
    assert_int_equal(a->nodes_on, b->nodes_on);
    assert_int_equal(a->nodes_failed, b->nodes_failed);
    assert_int_equal(a->failures, b->failures);
    assert_true(a->arrivals == b->arrivals);
    assert_true(a->served == b->served);
    assert_true(a->dropped == b->dropped);
    assert_true(a->over_slo == b->over_slo);
    assert_true(a->churn == b->churn);
}

/* --- msgpack-c object tree helpers ---------------------------------------- */

static msgpack_object *s_get(msgpack_object *map, const char *key)
{
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    fail_msg("no key %s", key);
    return NULL;
}

/* Walks "a.b.c" through nested maps. */
static msgpack_object *s_at(msgpack_object *root, const char *path)
{
    char buf[128], *save = NULL;
    msgpack_object *o = root;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
        o = s_get(o, tok);
    return o;
}

static msgpack_object s_unpack(const struct rls_proto_buf *b, msgpack_unpacked *u)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, (const char *)b->data, b->len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b->len);
    return u->data;
}

/* Packs obj (msgpack-c) and decodes it with rls_proto_decode. */
static int s_decode_obj(const msgpack_object *obj, struct rls_proto_msg *m, struct rls_err *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, *obj), 0);
    rc = rls_proto_decode(sb.data, sb.size, m, err);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void s_expect(int rc, int want, const struct rls_err *err, const char *substr)
{
    if (rc != want || strstr(err->msg, substr) == NULL)
        fail_msg("got %d '%s', want %d with '%s'", rc, err->msg, want, substr);
    assert_int_equal(err->status, want);
}

/* --- round trips ----------------------------------------------------------- */

static void test_state_of_a_running_simulator_round_trips_field_for_field(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    uint64_t rng = 42;
    int64_t seen_starting = 0, seen_backlog = 0;

    for (int step = 0; step < 120; step++) {
        struct rls_proto_state st;
        double *lat = NULL;
        s_step(f->sim, &rng);
        st = s_sim_state(f->sim);
        if (step % 2 == 1) {  /* measured quantiles on odd steps, none on even */
            lat = calloc((size_t)st.n_services * 3, sizeof *lat);
            assert_non_null(lat);
            for (int32_t i = 0; i < st.n_services; i++) {
                lat[3 * i + 0] = 1000 * rls_queueing_quantile(&st.services[i].dist, 0.50);
                lat[3 * i + 1] = 1000 * rls_queueing_quantile(&st.services[i].dist, 0.95);
                lat[3 * i + 2] = 1000 * rls_queueing_quantile(&st.services[i].dist, 0.99);
            }
            st.latency_ms = lat;
        }
        if (rls_proto_encode_state(&f->buf, 1000 + step, 123456789 + step, &st, &err) != RLS_OK)
            fail_msg("step %d: %s", step, err.msg);
        assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
        assert_int_equal(m.type, RLS_PROTO_STATE);
        assert_int_equal(m.version, RLS_PROTO_VERSION);
        assert_int_equal(m.seq, 1000 + step);
        assert_int_equal(m.ts_ns, 123456789 + step);
        s_assert_info_equal(&m.state.info, &st.info);
        assert_int_equal(m.state.n_services, st.n_services);
        assert_int_equal(m.state.has_dist, 1);
        for (int32_t i = 0; i < st.n_services; i++) {
            s_assert_svc_equal(&m.state.services[i], &st.services[i], 1);
            seen_starting += st.services[i].starting;
            seen_backlog += st.services[i].backlog > 0;
        }
        if (lat != NULL) {
            assert_non_null(m.state.latency_ms);
            assert_memory_equal(m.state.latency_ms, lat, (size_t)st.n_services * 3 * sizeof *lat);
        } else {
            assert_null(m.state.latency_ms);
        }
        assert_int_equal(m.state.n_nodes, st.n_nodes);
        for (int32_t i = 0; i < st.n_nodes; i++) {
            assert_int_equal(m.state.nodes[i].pool, st.nodes[i].pool);
            assert_int_equal(m.state.nodes[i].status, st.nodes[i].status);
            assert_true(m.state.nodes[i].timer_s == st.nodes[i].timer_s);
            assert_true(m.state.nodes[i].cpu_used == st.nodes[i].cpu_used);
            assert_true(m.state.nodes[i].mem_used == st.nodes[i].mem_used);
            assert_int_equal(m.state.nodes[i].replicas, st.nodes[i].replicas);
        }
        assert_null(m.state.node_cpu);
        assert_int_equal(rls_proto_check_state(&m.state, f->sc, &err), RLS_OK);
        free(lat);
    }
    /* the run went through cold starts and backlogs, not just a calm cluster */
    assert_true(seen_starting > 0);
    assert_true(seen_backlog > 0);
    rls_proto_msg_clear(&m);
}

static void test_hello_carries_a_cluster_description_that_rebuilds_the_scenario(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    struct rls_proto_hello h;
    struct rls_scenario *from_yaml = NULL;
    const struct rls_scenario *sc = f->sc, *got;

    memset(&h, 0, sizeof h);
    snprintf(h.role, sizeof h.role, "cluster");
    snprintf(h.software, sizeof h.software, "rlsched test");
    h.n_versions = 1;
    h.versions[0] = RLS_PROTO_VERSION;
    h.cluster = f->sc;
    h.scenario_yaml = f->yaml;
    h.scenario_yaml_len = f->yaml_len;
    assert_int_equal(rls_proto_encode_hello(&f->buf, 0, 5, &h, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_HELLO);
    assert_string_equal(m.hello.role, "cluster");
    assert_string_equal(m.hello.software, "rlsched test");
    assert_int_equal(m.hello.n_versions, 1);
    assert_int_equal(m.hello.versions[0], RLS_PROTO_VERSION);
    assert_int_equal(m.hello.limits.max_services, RLS_PROTO_MAX_SERVICES);
    assert_int_equal(m.hello.limits.max_message_bytes, RLS_PROTO_MAX_BYTES);
    got = m.hello.cluster;
    assert_non_null(got);
    assert_string_equal(got->name, sc->name);
    assert_true(got->step_s == sc->step_s);
    assert_int_equal(got->horizon_steps, sc->horizon_steps);
    assert_true(got->node_idle_s == sc->node_idle_s);
    assert_true(got->reward.slo == sc->reward.slo && got->reward.churn == sc->reward.churn);
    assert_int_equal(got->n_pools, sc->n_pools);
    for (int32_t i = 0; i < sc->n_pools; i++)
        assert_memory_equal(&got->pools[i], &sc->pools[i], sizeof sc->pools[i]);
    assert_int_equal(got->n_tenants, sc->n_tenants);
    for (int32_t i = 0; i < sc->n_tenants; i++) {
        assert_string_equal(got->tenants[i].name, sc->tenants[i].name);
        assert_true(got->tenants[i].weight == sc->tenants[i].weight);
        assert_int_equal(got->tenants[i].guaranteed_replicas, sc->tenants[i].guaranteed_replicas);
        assert_int_equal(got->tenants[i].max_replicas, sc->tenants[i].max_replicas);
    }
    assert_int_equal(got->n_services, sc->n_services);
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *a = &got->services[i], *b = &sc->services[i];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->tenant, b->tenant);
        assert_true(a->capacity_rps == b->capacity_rps && a->service_time_ms == b->service_time_ms);
        assert_true(a->cpu == b->cpu && a->mem_gb == b->mem_gb && a->cold_start_s == b->cold_start_s);
        assert_int_equal(a->min_replicas, b->min_replicas);
        assert_int_equal(a->max_replicas, b->max_replicas);
        assert_int_equal(a->initial_replicas, b->initial_replicas);
        assert_true(a->slo_ms == b->slo_ms && a->slo_percentile == b->slo_percentile);
        assert_int_equal(a->queue_limit, b->queue_limit);
    }
    /* the YAML copy parses back to the same services and loads */
    assert_int_equal(m.hello.scenario_yaml_len, f->yaml_len);
    assert_int_equal(rls_scenario_parse(m.hello.scenario_yaml, m.hello.scenario_yaml_len, "hello",
                                        &from_yaml, &err), RLS_OK);
    assert_int_equal(from_yaml->n_services, sc->n_services);
    for (int32_t i = 0; i < sc->n_services; i++) {
        assert_int_equal(from_yaml->services[i].load.kind, sc->services[i].load.kind);
        assert_true(from_yaml->services[i].load.peak_rps == sc->services[i].load.peak_rps);
    }
    rls_scenario_destroy(&from_yaml);

    /* the agent's hello: no cluster, defaults for versions */
    memset(&h, 0, sizeof h);
    snprintf(h.role, sizeof h.role, "agent");
    assert_int_equal(rls_proto_encode_hello(&f->buf, 1, 0, &h, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_string_equal(m.hello.role, "agent");
    assert_null(m.hello.cluster);
    assert_null(m.hello.scenario_yaml);
    assert_int_equal(m.hello.n_versions, 1);
    rls_proto_msg_clear(&m);
}

static void test_actions_ack_error_heartbeat_reset_round_trip(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    int32_t n = f->sc->n_services;
    int32_t *desired = calloc((size_t)n, sizeof *desired);
    uint8_t *place = calloc((size_t)n, sizeof *place);
    struct rls_proto_actions a = { n, desired, NULL };
    char longmsg[2000];

    assert_non_null(desired);
    for (int32_t i = 0; i < n; i++) {
        desired[i] = f->sc->services[i].min_replicas + i % 2;
        place[i] = (uint8_t)(i % RLS_PLACE_COUNT);
    }
    /* without placement: spread for all */
    assert_int_equal(rls_proto_encode_actions(&f->buf, 9, 10, 8, &a, "fallback: stale", &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_ACTIONS);
    assert_int_equal(m.re, 8);
    assert_string_equal(m.note, "fallback: stale");
    assert_int_equal(m.actions.n_services, n);
    assert_memory_equal(m.actions.desired, desired, (size_t)n * sizeof *desired);
    assert_null(m.actions.placement);
    assert_int_equal(rls_proto_check_actions(&m.actions, f->sc, &err), RLS_OK);
    /* with placement */
    a.placement = place;
    assert_int_equal(rls_proto_encode_actions(&f->buf, 10, 11, 9, &a, NULL, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_non_null(m.actions.placement);
    assert_memory_equal(m.actions.placement, place, (size_t)n);
    assert_string_equal(m.note, "");
    /* beyond a service's max: decodes (it is well formed) but the cross-check names it */
    desired[1] = f->sc->services[1].max_replicas + 1;
    assert_int_equal(rls_proto_encode_actions(&f->buf, 11, 0, 10, &a, NULL, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    s_expect(rls_proto_check_actions(&m.actions, f->sc, &err), RLS_ERR_RANGE, &err,
             "actions.services.desired[1]");

    assert_int_equal(rls_proto_encode_ack(&f->buf, 12, 13, 11, "applied", &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_ACK);
    assert_int_equal(m.re, 11);
    assert_string_equal(m.note, "applied");

    /* an error message longer than the field is cut, still valid */
    memset(longmsg, 'x', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    assert_int_equal(rls_proto_encode_error(&f->buf, 13, 14, -1, RLS_ERR_PARSE, longmsg, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_ERROR);
    assert_int_equal(m.code, RLS_ERR_PARSE);
    assert_int_equal(m.re, -1);
    assert_int_equal(strlen(m.message), RLS_ERRMSG_MAX - 1);

    assert_int_equal(rls_proto_encode_heartbeat(&f->buf, 14, -5, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_HEARTBEAT);
    assert_int_equal(m.seq, 14);
    assert_int_equal(m.ts_ns, -5);

    assert_int_equal(rls_proto_encode_reset(&f->buf, 15, 0, UINT64_MAX, &err), RLS_OK);
    assert_int_equal(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_OK);
    assert_int_equal(m.type, RLS_PROTO_RESET);
    assert_true(m.seed == UINT64_MAX);

    for (int t = RLS_PROTO_HELLO; t < RLS_PROTO_TYPE_COUNT; t++)
        assert_string_not_equal(rls_proto_type_name(t), "unknown");
    assert_string_equal(rls_proto_type_name(99), "unknown");
    rls_proto_msg_clear(&m);
    free(desired);
    free(place);
}

static void test_encoded_messages_are_standard_msgpack_for_msgpack_c(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    msgpack_unpacked u;
    msgpack_object top;

    assert_int_equal(rls_proto_encode_state(&f->buf, 3, 4, &st, &err), RLS_OK);
    top = s_unpack(&f->buf, &u);
    assert_int_equal(s_at(&top, "v")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(s_at(&top, "v")->via.u64, RLS_PROTO_VERSION);
    assert_int_equal(s_at(&top, "services.n")->via.u64, (uint64_t)st.n_services);
    assert_int_equal(s_at(&top, "services.ready")->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(s_at(&top, "services.ready")->via.array.size, (uint32_t)st.n_services);
    assert_int_equal(s_at(&top, "services.ready")->via.array.ptr[0].via.u64, (uint64_t)st.services[0].ready);
    assert_int_equal(s_at(&top, "services.arrival_rps")->via.array.ptr[0].type, MSGPACK_OBJECT_FLOAT64);
    assert_int_equal(s_at(&top, "nodes.status")->via.array.size, (uint32_t)st.n_nodes);
    msgpack_unpacked_destroy(&u);
}

/* --- forward compatibility --------------------------------------------------- */

static void test_unknown_keys_at_every_level_are_skipped(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    msgpack_object top;

    assert_int_equal(rls_proto_encode_state(&f->buf, 3, 4, &st, &err), RLS_OK);
    top = s_unpack(&f->buf, &u);
    /* re-pack the message with extra keys: a nested map at the top, an
     * integer key, a new column per service, a new field of the step */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, top.via.map.size + 2);
    msgpack_pack_str_with_body(&pk, "future", 6);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_bin_with_body(&pk, "xyz", 3);
    msgpack_pack_int(&pk, 7);
    msgpack_pack_ext_with_body(&pk, "ab", 2, 5);
    msgpack_pack_int(&pk, 42);
    msgpack_pack_float(&pk, 1.5f);
    for (uint32_t i = 0; i < top.via.map.size; i++) {
        msgpack_object_kv *kv = &top.via.map.ptr[i];
        msgpack_pack_object(&pk, kv->key);
        if (kv->key.via.str.size == 8 && memcmp(kv->key.via.str.ptr, "services", 8) == 0) {
            msgpack_object *svc = &kv->val;
            msgpack_pack_map(&pk, svc->via.map.size + 1);
            for (uint32_t j = 0; j < svc->via.map.size; j++) {
                msgpack_pack_object(&pk, svc->via.map.ptr[j].key);
                msgpack_pack_object(&pk, svc->via.map.ptr[j].val);
            }
            msgpack_pack_str_with_body(&pk, "gpu_util", 8);
            msgpack_pack_array(&pk, 2);
            msgpack_pack_str_with_body(&pk, "not", 3);
            msgpack_pack_map(&pk, 0);
        } else if (kv->key.via.str.size == 4 && memcmp(kv->key.via.str.ptr, "step", 4) == 0) {
            msgpack_object *s = &kv->val;
            msgpack_pack_map(&pk, s->via.map.size + 1);
            msgpack_pack_str_with_body(&pk, "carbon_g", 8);
            msgpack_pack_double(&pk, 3.0);
            for (uint32_t j = 0; j < s->via.map.size; j++) {
                msgpack_pack_object(&pk, s->via.map.ptr[j].key);
                msgpack_pack_object(&pk, s->via.map.ptr[j].val);
            }
        } else {
            msgpack_pack_object(&pk, kv->val);
        }
    }
    assert_int_equal(rls_proto_decode(sb.data, sb.size, &m, &err), RLS_OK);
    assert_int_equal(m.seq, 3);
    assert_int_equal(m.state.n_services, st.n_services);
    for (int32_t i = 0; i < st.n_services; i++)
        s_assert_svc_equal(&m.state.services[i], &st.services[i], 1);
    s_assert_info_equal(&m.state.info, &st.info);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    rls_proto_msg_clear(&m);
}

/* --- bad input ----------------------------------------------------------------- */

/* Encodes the current state, applies `change` to its object tree, decodes
 * and checks the refusal. */
typedef void (*s_change_fn)(msgpack_object *top, msgpack_zone *z);

static void s_refused(struct fx *f, s_change_fn change, int want, const char *substr)
{
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    msgpack_unpacked u;
    msgpack_object top;

    assert_int_equal(rls_proto_encode_state(&f->buf, 3, 4, &st, &err), RLS_OK);
    top = s_unpack(&f->buf, &u);
    change(&top, u.zone);
    s_expect(s_decode_obj(&top, &m, &err), want, &err, substr);
    /* a refused message leaves nothing behind */
    assert_int_equal(m.type, 0);
    assert_null(m.state.services);
    msgpack_unpacked_destroy(&u);
}

static void s_ready3_string(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = &s_at(top, "services.ready")->via.array.ptr[3];
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = "three";
    o->via.str.size = 5;
}
static void s_ready1_float(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = &s_at(top, "services.ready")->via.array.ptr[1];
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = 2.0;
}
static void s_arrival0_nil(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_at(top, "services.arrival_rps")->via.array.ptr[0].type = MSGPACK_OBJECT_NIL;
}
static void s_util2_nan(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = &s_at(top, "services.utilization")->via.array.ptr[2];
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = NAN;
}
static void s_util0_above_one(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = &s_at(top, "services.utilization")->via.array.ptr[0];
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = 1.5;
}
static void s_version2(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_at(top, "v")->via.u64 = 2;
}
static void s_version_string(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = s_at(top, "v");
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = "1";
    o->via.str.size = 1;
}
static void s_type_bogus(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = s_at(top, "type");
    o->via.str.ptr = "bogus";
    o->via.str.size = 5;
}
static void s_n_negative(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = s_at(top, "services.n");
    o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o->via.i64 = -1;
}
static void s_n_huge(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_at(top, "nodes.n")->via.u64 = 4000000000ull;
}
static void s_column_short(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_at(top, "services.backlog")->via.array.size -= 1;
}
static void s_column_is_map(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = s_at(top, "nodes.pool");
    o->type = MSGPACK_OBJECT_MAP;
    o->via.map.size = 0;
}
static void s_status_out_of_range(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_at(top, "nodes.status")->via.array.ptr[0].via.u64 = 9;
}
static void s_ready_too_big_for_int32(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = &s_at(top, "services.ready")->via.array.ptr[0];
    o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o->via.u64 = 1ull << 40;
}
static void s_drop_key(msgpack_object *top, const char *map_path, const char *key)
{
    msgpack_object *map = *map_path ? s_at(top, map_path) : top;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.via.str.size == strlen(key) && memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0) {
            map->via.map.ptr[i] = map->via.map.ptr[map->via.map.size - 1];
            map->via.map.size--;
            return;
        }
    }
    fail_msg("no key %s", key);
}
static void s_missing_ready(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_drop_key(top, "services", "ready");
}
static void s_missing_v(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_drop_key(top, "", "v");
}
static void s_missing_nodes(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_drop_key(top, "", "nodes");
}
static void s_missing_one_of_a_group(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_drop_key(top, "services", "theta");
}
static void s_duplicate_column(msgpack_object *top, msgpack_zone *z)
{
    msgpack_object *svc = s_at(top, "services");
    msgpack_object_kv *kv = msgpack_zone_malloc(z, (svc->via.map.size + 1) * sizeof *kv);
    memcpy(kv, svc->via.map.ptr, svc->via.map.size * sizeof *kv);
    kv[svc->via.map.size] = kv[1];
    svc->via.map.ptr = kv;
    svc->via.map.size++;
}
static void s_top_is_array(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    top->type = MSGPACK_OBJECT_ARRAY;
    top->via.array.size = 0;
}
static void s_seq_negative(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *o = s_at(top, "seq");
    o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o->via.i64 = -7;
}

static void test_each_bad_field_is_refused_with_the_field_named(void **state)
{
    struct fx *f = *state;
    s_refused(f, s_ready3_string, RLS_ERR_PARSE, "state.services.ready[3]: expected an integer, got a string");
    s_refused(f, s_ready1_float, RLS_ERR_PARSE, "state.services.ready[1]: expected an integer, got a float");
    s_refused(f, s_arrival0_nil, RLS_ERR_PARSE, "state.services.arrival_rps[0]: expected a number, got nil");
    s_refused(f, s_util2_nan, RLS_ERR_RANGE, "state.services.utilization[2]: NaN not allowed");
    s_refused(f, s_util0_above_one, RLS_ERR_RANGE, "state.services.utilization[0]: 1.5 out of range");
    s_refused(f, s_version2, RLS_ERR_VERSION, "v: protocol version 2 not supported");
    s_refused(f, s_version_string, RLS_ERR_VERSION, "v: expected an integer protocol version, got a string");
    s_refused(f, s_missing_v, RLS_ERR_VERSION, "v: missing");
    s_refused(f, s_type_bogus, RLS_ERR_PARSE, "type: unknown message type 'bogus'");
    s_refused(f, s_n_negative, RLS_ERR_RANGE, "state.services.n: -1 out of range");
    s_refused(f, s_n_huge, RLS_ERR_RANGE, "state.nodes.n: 4000000000 rows, more than the limit");
    s_refused(f, s_column_short, RLS_ERR_PARSE, "state.services.backlog");
    s_refused(f, s_column_is_map, RLS_ERR_PARSE, "state.nodes.pool: expected an array, got a map");
    s_refused(f, s_status_out_of_range, RLS_ERR_RANGE, "state.nodes.status[0]: 9 out of range");
    s_refused(f, s_ready_too_big_for_int32, RLS_ERR_RANGE, "state.services.ready[0]");
    s_refused(f, s_missing_ready, RLS_ERR_PARSE, "state.services.ready: missing");
    s_refused(f, s_missing_nodes, RLS_ERR_PARSE, "state.nodes: missing");
    s_refused(f, s_missing_one_of_a_group, RLS_ERR_PARSE, "theta");
    s_refused(f, s_duplicate_column, RLS_ERR_PARSE, "duplicate key");
    s_refused(f, s_top_is_array, RLS_ERR_PARSE, "message: expected a map, got an array");
    s_refused(f, s_seq_negative, RLS_ERR_RANGE, "state.seq: -7 out of range");
}

static void test_hostile_headers_are_refused_without_allocating_their_claim(void **state)
{
    (void)state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    /* an array of 4 billion items in 5 bytes (msgpack-c would try to allocate ~100 GB) */
    static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    /* a map whose one key is a string of 4 GB */
    static const uint8_t str32[] = { 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 'v' };
    /* {"v":1,"type":"actions","seq":0,"re":0,"services":{"desired": array32 of 2^31}} */
    static const uint8_t cols[] = { 0x85, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e',
                                    0xa7, 'a', 'c', 't', 'i', 'o', 'n', 's', 0xa3, 's', 'e', 'q', 0x00,
                                    0xa2, 'r', 'e', 0x00, 0xa8, 's', 'e', 'r', 'v', 'i', 'c', 'e', 's',
                                    0x81, 0xa7, 'd', 'e', 's', 'i', 'r', 'e', 'd', 0xdd, 0x80, 0, 0, 0, 1 };
    static const uint8_t badbyte[] = { 0x81, 0xc1, 0x01 };

    s_expect(rls_proto_decode(arr32, sizeof arr32, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    s_expect(rls_proto_decode(str32, sizeof str32, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    s_expect(rls_proto_decode(cols, sizeof cols, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    s_expect(rls_proto_decode(badbyte, sizeof badbyte, &m, &err), RLS_ERR_PARSE, &err, "0xc1");
    s_expect(rls_proto_decode("", 0, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    s_expect(rls_proto_decode(NULL, 0, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    s_expect(rls_proto_decode(arr32, RLS_PROTO_MAX_BYTES + (size_t)1, &m, &err), RLS_ERR_RANGE, &err,
             "more than the limit");
}

static void test_a_real_array_over_the_service_limit_is_refused(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    int32_t n = RLS_PROTO_MAX_SERVICES + 1;
    int32_t *desired = calloc((size_t)n, sizeof *desired);
    struct rls_proto_actions a = { n, desired, NULL };
    msgpack_sbuffer sb;
    msgpack_packer pk;

    assert_non_null(desired);
    /* the encoder will not make it ... */
    s_expect(rls_proto_encode_actions(&f->buf, 1, 0, 0, &a, NULL, &err), RLS_ERR_RANGE, &err,
             "actions.services.n");
    assert_int_equal(f->buf.len, 0);
    /* ... and the decoder refuses one made by hand */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, "actions", 7);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "re", 2);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_str_with_body(&pk, "services", 8);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "desired", 7);
    msgpack_pack_array(&pk, (size_t)n);
    for (int32_t i = 0; i < n; i++)
        msgpack_pack_int(&pk, 1);
    s_expect(rls_proto_decode(sb.data, sb.size, &m, &err), RLS_ERR_RANGE, &err,
             "actions.services.desired: 100001 entries, more than the limit 100000");
    msgpack_sbuffer_destroy(&sb);
    free(desired);
}

static void test_the_encoder_refuses_what_the_decoder_would(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    struct rls_svc_state *copy = malloc((size_t)st.n_services * sizeof *copy);
    struct rls_proto_hello h;

    assert_non_null(copy);
    memcpy(copy, st.services, (size_t)st.n_services * sizeof *copy);
    st.services = copy;
    copy[2].backlog = NAN;
    s_expect(rls_proto_encode_state(&f->buf, 0, 0, &st, &err), RLS_ERR_RANGE, &err,
             "state.services.backlog[2]: NaN not allowed");
    copy[2].backlog = 0;
    copy[1].ready = -3;
    s_expect(rls_proto_encode_state(&f->buf, 0, 0, &st, &err), RLS_ERR_RANGE, &err,
             "state.services.ready[1]: -3 out of range");
    assert_int_equal(f->buf.len, 0);
    copy[1].ready = 1;
    st.info.time_s = INFINITY;
    s_expect(rls_proto_encode_state(&f->buf, 0, 0, &st, &err), RLS_ERR_RANGE, &err,
             "state.step.time_s: infinity not allowed");
    free(copy);

    memset(&h, 0, sizeof h);
    s_expect(rls_proto_encode_hello(&f->buf, 0, 0, &h, &err), RLS_ERR_RANGE, &err, "hello.role");
    snprintf(h.role, sizeof h.role, "agent");
    h.n_versions = 9;
    s_expect(rls_proto_encode_hello(&f->buf, 0, 0, &h, &err), RLS_ERR_RANGE, &err, "hello.versions");
}

static void test_a_hello_whose_cluster_breaks_scenario_rules_is_refused(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    struct rls_scenario *bad = rls_scenario_copy(f->sc);
    struct rls_proto_hello h;

    assert_non_null(bad);
    bad->services[0].tenant = bad->n_tenants + 3;  /* in range for the wire, not for the cluster */
    memset(&h, 0, sizeof h);
    snprintf(h.role, sizeof h.role, "cluster");
    h.cluster = bad;
    assert_int_equal(rls_proto_encode_hello(&f->buf, 0, 0, &h, &err), RLS_OK);
    s_expect(rls_proto_decode(f->buf.data, f->buf.len, &m, &err), RLS_ERR_RANGE, &err, "hello.cluster: ");
    assert_null(m.hello.cluster);
    rls_scenario_destroy(&bad);
}

/* Every strict prefix of a valid message is refused; so is any extra byte. */
static void s_prefixes(struct rls_proto_buf *b)
{
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 };
    uint8_t *copy = NULL;

    for (size_t len = 0; len < b->len; len++) {
        /* a copy of exactly len bytes, so ASan sees any read past it */
        copy = malloc(len > 0 ? len : 1);
        assert_non_null(copy);
        memcpy(copy, b->data, len);
        int rc = rls_proto_decode(copy, len, &m, &err);
        if (rc == RLS_OK)
            fail_msg("prefix of %zu of %zu bytes accepted", len, b->len);
        assert_true(err.msg[0] != '\0');
        free(copy);
    }
    copy = malloc(b->len + 1);
    assert_non_null(copy);
    memcpy(copy, b->data, b->len);
    copy[b->len] = 0x00;
    s_expect(rls_proto_decode(copy, b->len + 1, &m, &err), RLS_ERR_PARSE, &err,
             "1 trailing bytes after the message");
    free(copy);
}

static void test_every_truncation_and_trailing_garbage_is_refused(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    struct rls_proto_hello h;
    int32_t desired[3] = { 1, 2, 3 };
    struct rls_proto_actions a = { 3, desired, NULL };

    struct rls_proto_msg m = { 0 };

    assert_int_equal(rls_proto_encode_state(&f->buf, 3, 4, &st, &err), RLS_OK);
    s_prefixes(&f->buf);
    /* a cut inside the last column names it */
    s_expect(rls_proto_decode(f->buf.data, f->buf.len - 3, &m, &err), RLS_ERR_PARSE, &err,
             "state.nodes.replicas");
    s_expect(rls_proto_decode(f->buf.data, f->buf.len - 3, &m, &err), RLS_ERR_PARSE, &err, "truncated");
    memset(&h, 0, sizeof h);
    snprintf(h.role, sizeof h.role, "cluster");
    h.cluster = f->sc;
    assert_int_equal(rls_proto_encode_hello(&f->buf, 0, 0, &h, &err), RLS_OK);
    s_prefixes(&f->buf);
    assert_int_equal(rls_proto_encode_actions(&f->buf, 0, 0, 0, &a, "x", &err), RLS_OK);
    s_prefixes(&f->buf);
    assert_int_equal(rls_proto_encode_error(&f->buf, 0, 0, 0, -4, "bad", &err), RLS_OK);
    s_prefixes(&f->buf);
    assert_int_equal(rls_proto_encode_heartbeat(&f->buf, 0, 0, &err), RLS_OK);
    s_prefixes(&f->buf);
}

/* Random byte flips, insertions and deletions of valid messages: decode
 * never crashes, reads out of bounds or leaks; when it accepts, what it
 * accepted re-encodes and decodes to the same message type. */
static void test_random_mutations_never_crash_and_accepted_ones_re_encode(void **state)
{
    struct fx *f = *state;
    struct rls_err err = { 0 };
    struct rls_proto_msg m = { 0 }, m2 = { 0 };
    struct rls_proto_buf base[4] = { { 0 } }, out = { 0 };
    struct rls_proto_state st = s_sim_state(f->sim);
    struct rls_proto_hello h;
    int32_t desired[4] = { 1, 0, 2, 3 };
    uint8_t place[4] = { 0, 1, 1, 0 };
    struct rls_proto_actions a = { 4, desired, place };
    uint64_t rng = 12345;
    int accepted = 0, refused = 0;

    memset(&h, 0, sizeof h);
    snprintf(h.role, sizeof h.role, "cluster");
    h.cluster = f->sc;
    assert_int_equal(rls_proto_encode_state(&base[0], 3, 4, &st, &err), RLS_OK);
    assert_int_equal(rls_proto_encode_hello(&base[1], 0, 0, &h, &err), RLS_OK);
    assert_int_equal(rls_proto_encode_actions(&base[2], 5, 0, 3, &a, "n", &err), RLS_OK);
    assert_int_equal(rls_proto_encode_ack(&base[3], 6, 0, 5, "ok", &err), RLS_OK);

    for (int it = 0; it < 4000; it++) {
        const struct rls_proto_buf *b = &base[it % 4];
        size_t len = b->len;
        uint8_t *buf = malloc(len + 8);
        int flips;
        assert_non_null(buf);
        memcpy(buf, b->data, len);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        flips = 1 + (int)((rng >> 60) & 3);
        for (int k = 0; k < flips; k++) {
            size_t pos;
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            pos = (size_t)((rng >> 16) % len);
            switch ((rng >> 8) & 3) {
            case 0: buf[pos] ^= (uint8_t)(1u << ((rng >> 40) & 7)); break;   /* bit flip */
            case 1: buf[pos] = (uint8_t)(rng >> 48); break;                  /* random byte */
            case 2: buf[pos] = (uint8_t)(0xc0 + ((rng >> 48) & 0x1f)); break; /* a type byte */
            default:                                                          /* delete */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            }
        }
        if (rls_proto_decode(buf, len, &m, &err) == RLS_OK) {
            accepted++;
            if (rls_proto_encode(&out, &m, &err) != RLS_OK)
                fail_msg("iteration %d: accepted but does not re-encode: %s", it, err.msg);
            assert_int_equal(rls_proto_decode(out.data, out.len, &m2, &err), RLS_OK);
            assert_int_equal(m2.type, m.type);
            assert_int_equal(m2.seq, m.seq);
        } else {
            refused++;
            assert_true(err.msg[0] != '\0');
            assert_true(err.status < 0);
        }
        free(buf);
    }
    /* both outcomes happen: flips in values pass, flips in structure do not */
    assert_true(accepted > 50);
    assert_true(refused > 500);
    rls_proto_msg_clear(&m);
    rls_proto_msg_clear(&m2);
    for (int i = 0; i < 4; i++)
        rls_proto_buf_free(&base[i]);
    rls_proto_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_of_a_running_simulator_round_trips_field_for_field, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hello_carries_a_cluster_description_that_rebuilds_the_scenario, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_actions_ack_error_heartbeat_reset_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_encoded_messages_are_standard_msgpack_for_msgpack_c, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys_at_every_level_are_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_each_bad_field_is_refused_with_the_field_named, s_setup, s_teardown),
        cmocka_unit_test(test_hostile_headers_are_refused_without_allocating_their_claim),
        cmocka_unit_test_setup_teardown(test_a_real_array_over_the_service_limit_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_the_encoder_refuses_what_the_decoder_would, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_hello_whose_cluster_breaks_scenario_rules_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_and_trailing_garbage_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_random_mutations_never_crash_and_accepted_ones_re_encode, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
