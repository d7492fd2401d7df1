/* test_fairness.c - the fair projection of wished replicas: contention cases
 * built by hand (guarantees before sharing, weighted max-min, work
 * conservation, the DRF paper's example, caps, per-node fit), Jain's index,
 * infeasible mins and guarantees, bad input, and invariants over thousands
 * of random instances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "agent/fairness.h"

#define MAX_S 32
#define MAX_T 8
#define MAX_N 8

struct fx {
    struct rls_fair_service sv[MAX_S];
    struct rls_fair_tenant tn[MAX_T];
    double node_cpu[MAX_N];
    double node_mem[MAX_N];
    struct rls_fair_problem pb;
    int32_t granted[MAX_S];
    struct rls_fair_tenant_result tr[MAX_T];
    struct rls_fair_result res;
};

static void s_init(struct fx *x, double cpu, double mem_gb)
{
    memset(x, 0, sizeof *x);
    x->pb.services = x->sv;
    x->pb.tenants = x->tn;
    x->pb.cpu = cpu;
    x->pb.mem_gb = mem_gb;
    x->res.granted = x->granted;
    x->res.tenants = x->tr;
}

static void s_tenant(struct fx *x, double weight, int32_t guarantee, int32_t cap)
{
    struct rls_fair_tenant *t = &x->tn[x->pb.n_tenants++];
    t->weight = weight;
    t->guaranteed_replicas = guarantee;
    t->max_replicas = cap;
}

static void s_service(struct fx *x, int32_t tenant, int32_t wish, int32_t min, int32_t max, double cpu,
                      double mem_gb)
{
    struct rls_fair_service *s = &x->sv[x->pb.n_services++];
    s->tenant = tenant;
    s->wish = wish;
    s->min_replicas = min;
    s->max_replicas = max;
    s->cpu = cpu;
    s->mem_gb = mem_gb;
}

static void s_project(struct fx *x)
{
    struct rls_fair *f = rls_fair_new(NULL, NULL);
    assert_non_null(f);
    int rc = rls_fair_project(f, &x->pb, &x->res);
    if (rc != RLS_OK)
        fail_msg("project: %s", rls_fair_errmsg(f));
    rls_fair_destroy(&f);
    assert_null(f);
}

/* The rule: no tenant below its guarantee while another is above its
 * share (its entitlement). */
static void s_assert_no_guarantee_victim(const struct fx *x)
{
    for (int32_t t = 0; t < x->pb.n_tenants; t++) {
        if (!x->tr[t].below_guarantee)
            continue;
        for (int32_t u = 0; u < x->pb.n_tenants; u++)
            if (u != t && x->tr[u].dominant_share > x->tr[u].entitlement + 1e-9)
                fail_msg("tenant %d is below its guarantee while tenant %d has %.4f > entitlement %.4f", t, u,
                         x->tr[u].dominant_share, x->tr[u].entitlement);
    }
}

static void test_wishes_that_fit_are_granted_unchanged(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 32, 64);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 2, 0, 0);
    s_service(&x, 0, 3, 1, 10, 1.0, 2.0);
    s_service(&x, 1, 5, 0, 10, 2.0, 4.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 3);
    assert_int_equal(x.granted[1], 5);
    assert_int_equal(x.res.changed, 0);
    assert_int_equal(x.res.flags & RLS_FAIR_F_CONTENDED, 0);
    assert_true(x.tr[0].satisfied && x.tr[1].satisfied);
    assert_true(fabs(x.res.jain - 1.0) < 1e-12);
    assert_true(fabs(x.res.cpu - 13.0) < 1e-12);
    assert_true(fabs(x.res.mem_gb - 26.0) < 1e-12);
    /* a wish outside [min, max] is clamped (and so counts as changed) */
    x.sv[0].wish = 0;
    x.sv[1].wish = 99;
    s_project(&x);
    assert_int_equal(x.granted[0], 1);
    assert_int_equal(x.granted[1], 10);
    assert_int_equal(x.res.n_changed, 2);
}

/* Weights 2:1:1, everyone wants more than there is: 40 cores go 20:10:10. */
static void test_weights_2_1_1_split_contended_capacity_2_1_1(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 40, 1000);
    s_tenant(&x, 2, 0, 0);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 1, 0, 0);
    for (int32_t t = 0; t < 3; t++)
        s_service(&x, t, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 20);
    assert_int_equal(x.granted[1], 10);
    assert_int_equal(x.granted[2], 10);
    assert_true(x.res.flags & RLS_FAIR_F_CONTENDED);
    assert_int_equal(x.res.changed, 1);
    assert_true(fabs(x.tr[0].dominant_share - 0.5) < 1e-12);
    assert_true(fabs(x.tr[0].entitlement - 0.5) < 1e-12);
    assert_true(fabs(x.tr[1].entitlement - 0.25) < 1e-12);
    assert_true(fabs(x.res.jain - 1.0) < 1e-12);
    assert_true(x.res.cpu <= 40.0);
}

/* Inside a tenant, replicas go in proportion to the services' wishes. */
static void test_within_tenant_split_follows_wishes(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 40, 1000);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 30, 0, 100, 1.0, 1.0);
    s_service(&x, 0, 10, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 15);
    assert_int_equal(x.granted[1], 5);
    assert_int_equal(x.granted[2], 20);
}

/* Work conservation: a tenant wanting less than its share gets all of it and
 * the others split what it leaves. */
static void test_tenant_wanting_less_gets_all_and_rest_is_redistributed(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 30, 1000);
    for (int32_t t = 0; t < 3; t++)
        s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 4, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 2, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 4);
    assert_int_equal(x.granted[1], 13);
    assert_int_equal(x.granted[2], 13);
    assert_true(x.tr[0].satisfied);
    assert_false(x.tr[1].satisfied);
    assert_true(fabs(x.res.cpu - 30.0) < 1e-12);
    /* the entitlement counts only the tenants that want something: 1/3 each;
     * the two unsatisfied ones got 13/30 > 1/3, the satisfied one counts 1 */
    assert_true(fabs(x.res.jain - 1.0) < 1e-12);
}

/* Ghodsi et al., "Dominant Resource Fairness" (NSDI 2011), section 4: 9 CPUs
 * and 18 GB; user A's tasks need <1 CPU, 4 GB>, B's <3 CPU, 1 GB>. DRF gives
 * A 3 tasks <3 CPU, 12 GB> and B 2 tasks <6 CPU, 2 GB>: both dominant shares 2/3. */
static void test_drf_paper_example_equalizes_dominant_shares(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 9, 18);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 100, 0, 100, 1.0, 4.0);
    s_service(&x, 1, 100, 0, 100, 3.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 3);
    assert_int_equal(x.granted[1], 2);
    assert_true(fabs(x.tr[0].dominant_share - 2.0 / 3.0) < 1e-12);
    assert_true(fabs(x.tr[1].dominant_share - 2.0 / 3.0) < 1e-12);
    assert_true(fabs(x.tr[0].mem_gb - 12.0) < 1e-12);
    assert_true(fabs(x.tr[1].cpu - 6.0) < 1e-12);
    assert_true(fabs(x.res.jain - 1.0) < 1e-12);

    /* CPU-only max-min (drf = 0) ignores memory: A 4 tasks (4 CPU, 16 GB),
     * B 1 (3 CPU): equal CPU shares until B's next task no longer fits. */
    struct rls_fair_params p = rls_fair_default_params();
    p.drf = 0;
    struct rls_fair *f = rls_fair_new(&p, NULL);
    assert_non_null(f);
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_OK);
    assert_int_equal(x.granted[0], 4);
    assert_int_equal(x.granted[1], 1);
    rls_fair_destroy(&f);
}

/* Guarantees come before weighted sharing: with weights 4:1 a naive weighted
 * split of 20 replicas is 16:4, below B's guarantee of 10. */
static void test_guarantee_is_met_before_weighted_sharing(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 20, 1000);
    s_tenant(&x, 4, 0, 0);
    s_tenant(&x, 1, 10, 0);
    s_service(&x, 0, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[1], 10);
    assert_int_equal(x.granted[0], 10);
    assert_false(x.tr[1].below_guarantee);
    assert_int_equal(x.tr[1].guarantee, 10);
    assert_true(fabs(x.tr[1].entitlement - 0.5) < 1e-12);  /* max(1/5, 10/20) */
    assert_true(fabs(x.tr[0].entitlement - 0.8) < 1e-12);
    assert_int_equal(x.res.flags & RLS_FAIR_F_GUARANTEES_INFEASIBLE, 0);
    s_assert_no_guarantee_victim(&x);

    /* three tenants, one with a guarantee of half the cluster: the other two
     * share the rest equally, nobody is below a guarantee */
    s_init(&x, 24, 1000);
    s_tenant(&x, 1, 12, 0);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 1, 0, 0);
    for (int32_t t = 0; t < 3; t++)
        s_service(&x, t, 50, 0, 50, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 12);
    assert_int_equal(x.granted[1], 6);
    assert_int_equal(x.granted[2], 6);
    s_assert_no_guarantee_victim(&x);

    /* a guarantee larger than the wish only guarantees the wish */
    s_init(&x, 10, 1000);
    s_tenant(&x, 1, 8, 0);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 3, 0, 50, 1.0, 1.0);
    s_service(&x, 1, 50, 0, 50, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 3);
    assert_int_equal(x.granted[1], 7);
    assert_int_equal(x.tr[0].guarantee, 3);
}

/* A guaranteed share of the dominant resource works like a replica guarantee. */
static void test_guaranteed_share_is_met_before_weighted_sharing(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 20, 40);
    s_tenant(&x, 9, 0, 0);
    s_tenant(&x, 1, 0, 0);
    x.tn[1].guaranteed_share = 0.3;   /* memory dominates: 2 GB of 40 per replica */
    s_service(&x, 0, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 0.5, 2.0);
    s_project(&x);
    /* B gets 6 replicas (12 GB = 0.3) first, then A (dominant CPU) the CPU
     * left: 20 - 3 = 17 cores, with 17 GB of the 28 left */
    assert_int_equal(x.granted[1], 6);
    assert_int_equal(x.granted[0], 17);
    assert_true(fabs(x.tr[1].dominant_share - 0.3) < 1e-12);
    assert_false(x.tr[1].below_guarantee);
    s_assert_no_guarantee_victim(&x);
}

static void test_tenant_caps_are_respected(void **state)
{
    (void)state;
    struct fx x;
    /* plenty of room: only the cap binds, split within the tenant by wish */
    s_init(&x, 100, 1000);
    s_tenant(&x, 1, 0, 6);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 8, 0, 20, 1.0, 1.0);
    s_service(&x, 0, 4, 0, 20, 1.0, 1.0);
    s_service(&x, 1, 9, 0, 20, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0] + x.granted[1], 6);
    assert_int_equal(x.granted[0], 4);
    assert_int_equal(x.granted[1], 2);
    assert_int_equal(x.granted[2], 9);
    assert_true(x.res.flags & RLS_FAIR_F_CAPPED);
    assert_true(x.tr[0].satisfied);   /* it got all its cap allows */
    assert_int_equal(x.tr[0].demand, 6);
    assert_int_equal(x.res.changed, 1);

    /* under contention the capped tenant's unused share goes to the other */
    s_init(&x, 30, 1000);
    s_tenant(&x, 1, 0, 5);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 5);
    assert_int_equal(x.granted[1], 25);

    /* a guarantee above the cap is limited by the cap; mins above it are kept */
    s_init(&x, 30, 1000);
    s_tenant(&x, 1, 20, 5);
    s_service(&x, 0, 100, 7, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 7);
    assert_true(x.res.flags & RLS_FAIR_F_MINS_OVER_CAP);
}

/* Mins come first, even for a tenant with a tiny weight. */
static void test_service_mins_are_granted_first(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 10, 1000);
    s_tenant(&x, 100, 0, 0);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 50, 0, 50, 1.0, 1.0);
    s_service(&x, 1, 50, 3, 50, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[1], 3);
    assert_int_equal(x.granted[0], 7);
    assert_int_equal(x.res.flags & RLS_FAIR_F_MINS_INFEASIBLE, 0);
}

static void test_per_node_fit_respects_fragmentation(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 8, 64);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 5, 0, 10, 2.5, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 3);   /* 7.5 of 8 cores by totals */
    x.pb.n_nodes = 2;
    x.pb.node_cpu = x.node_cpu;
    x.pb.node_mem_gb = x.node_mem;
    x.node_cpu[0] = x.node_cpu[1] = 4.0;
    x.node_mem[0] = x.node_mem[1] = 32.0;
    s_project(&x);
    assert_int_equal(x.granted[0], 2);   /* one 2.5-core replica per 4-core node */
    /* the small replicas of another tenant still use the gaps */
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 1, 10, 0, 10, 0.5, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 2);
    assert_int_equal(x.granted[1], 6);
    assert_true(x.res.cpu <= 8.0 + 1e-9);
}

/* Jain's index by hand: (sum x)^2 / (n sum x^2). */
static void test_jain_index_matches_hand_computed_values(void **state)
{
    (void)state;
    const double equal[3] = {0.7, 0.7, 0.7};
    const double one_takes_all[4] = {1, 0, 0, 0};
    const double half[2] = {1.0, 0.5};
    assert_true(fabs(rls_fair_jain(equal, 3) - 1.0) < 1e-12);
    assert_true(fabs(rls_fair_jain(one_takes_all, 4) - 0.25) < 1e-12);
    assert_true(fabs(rls_fair_jain(half, 2) - 0.9) < 1e-12);   /* 2.25 / 2.5 */
    assert_true(fabs(rls_fair_jain(NULL, 0) - 1.0) < 1e-12);

    /* in a projection: A (weight 1) is guaranteed 30 of 40 cores, B (weight
     * 3) gets the 10 left. Entitlements: A max(1/4, 3/4) = 3/4, B 3/4.
     * Terms: A 0.75 / 0.75 = 1, B 0.25 / 0.75 = 1/3; J = (4/3)^2 / (2 (1 + 1/9)) = 0.8 */
    struct fx x;
    s_init(&x, 40, 1000);
    s_tenant(&x, 1, 30, 0);
    s_tenant(&x, 3, 0, 0);
    s_service(&x, 0, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 30);
    assert_int_equal(x.granted[1], 10);
    assert_true(fabs(x.tr[1].normalized - 1.0 / 3.0) < 1e-12);
    assert_true(fabs(x.tr[1].jain_term - 1.0 / 3.0) < 1e-12);
    assert_true(fabs(x.tr[0].jain_term - 1.0) < 1e-12);
    assert_true(fabs(x.res.jain - 0.8) < 1e-12);
}

/* Guarantees summing to twice the capacity: shared in proportion to the
 * guarantees (each tenant reaches the same fraction), the same on every
 * call, and flagged with a message naming a tenant. */
static void test_infeasible_guarantees_are_shared_deterministically_and_reported(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 10, 1000);
    s_tenant(&x, 1, 8, 0);
    s_tenant(&x, 1, 12, 0);
    s_service(&x, 0, 100, 0, 100, 1.0, 1.0);
    s_service(&x, 1, 100, 0, 100, 1.0, 1.0);
    s_project(&x);
    assert_int_equal(x.granted[0], 4);
    assert_int_equal(x.granted[1], 6);
    assert_true(x.res.flags & RLS_FAIR_F_GUARANTEES_INFEASIBLE);
    assert_true(x.tr[0].below_guarantee && x.tr[1].below_guarantee);
    assert_non_null(strstr(x.res.msg, "tenant 0"));
    int32_t first[2] = {x.granted[0], x.granted[1]};
    double jain = x.res.jain;
    for (int k = 0; k < 5; k++) {
        s_project(&x);
        assert_int_equal(x.granted[0], first[0]);
        assert_int_equal(x.granted[1], first[1]);
        assert_true(x.res.jain == jain);
    }
}

static void test_infeasible_mins_are_reported(void **state)
{
    (void)state;
    struct fx x;
    s_init(&x, 5, 1000);
    s_tenant(&x, 1, 0, 0);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 4, 4, 10, 1.0, 1.0);
    s_service(&x, 1, 4, 4, 10, 1.0, 1.0);
    s_project(&x);
    assert_true(x.res.flags & RLS_FAIR_F_MINS_INFEASIBLE);
    assert_int_equal(x.granted[0] + x.granted[1], 5);
    assert_non_null(strstr(x.res.msg, "min replicas"));
}

static void test_bad_input_is_refused_naming_the_field(void **state)
{
    (void)state;
    struct fx x;
    struct rls_fair *f = rls_fair_new(NULL, NULL);
    assert_non_null(f);
    s_init(&x, 10, 10);
    s_tenant(&x, 1, 0, 0);
    s_service(&x, 0, 1, 0, 5, 1.0, 1.0);
    s_service(&x, 3, 1, 0, 5, 1.0, 1.0);
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_fair_errmsg(f), "services[1].tenant"));
    x.sv[1].tenant = 0;
    x.sv[1].cpu = -1;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_fair_errmsg(f), "services[1].cpu"));
    x.sv[1].cpu = 1;
    x.tn[0].weight = 0;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_fair_errmsg(f), "tenants[0].weight"));
    x.tn[0].weight = 1;
    x.pb.cpu = NAN;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_RANGE);
    x.pb.cpu = 10;
    x.pb.n_nodes = 2;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_INVALID);
    x.pb.n_nodes = 0;
    x.sv[0].min_replicas = 6;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_ERR_RANGE);
    x.sv[0].min_replicas = 0;
    assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_OK);
    assert_string_equal(rls_fair_errmsg(f), "");
    assert_int_equal(rls_fair_project(f, NULL, &x.res), RLS_ERR_INVALID);
    rls_fair_destroy(&f);
    rls_fair_destroy(&f);   /* NULL-safe */

    struct rls_fair_params p = rls_fair_default_params();
    struct rls_err err = {0};
    p.fit_tolerance = -1;
    assert_null(rls_fair_new(&p, &err));
    assert_non_null(strstr(err.msg, "fit_tolerance"));
}

static void test_problem_from_scenario_copies_limits_and_capacity(void **state)
{
    (void)state;
    struct rls_scenario *sc = rls_scenario_new(1, 2, 3);
    assert_non_null(sc);
    sc->tenants[0].weight = 2;
    sc->tenants[1].guaranteed_replicas = 4;
    sc->tenants[1].max_replicas = 9;
    sc->services[2].tenant = 1;
    sc->services[2].min_replicas = 1;
    sc->services[2].max_replicas = 7;
    sc->services[2].cpu = 0.5;
    sc->services[2].mem_gb = 1.5;
    int32_t wishes[3] = {2, 3, 100};
    struct rls_fair_service sv[3];
    struct rls_fair_tenant tn[2];
    struct rls_fair_problem pb;
    assert_int_equal(rls_fair_problem_from_scenario(sc, wishes, sv, tn, &pb), RLS_OK);
    assert_int_equal(pb.n_services, 3);
    assert_int_equal(pb.n_tenants, 2);
    assert_true(pb.cpu == rls_scenario_total_cpu(sc));
    assert_true(pb.mem_gb == rls_scenario_total_mem_gb(sc));
    assert_true(tn[0].weight == 2);
    assert_int_equal(tn[1].guaranteed_replicas, 4);
    assert_int_equal(tn[1].max_replicas, 9);
    assert_int_equal(sv[2].tenant, 1);
    assert_int_equal(sv[2].wish, 100);
    assert_int_equal(sv[2].max_replicas, 7);
    assert_true(sv[2].cpu == 0.5 && sv[2].mem_gb == 1.5);
    int32_t granted[3];
    struct rls_fair_result res = {.granted = granted};
    struct rls_fair *f = rls_fair_new(NULL, NULL);
    assert_int_equal(rls_fair_project(f, &pb, &res), RLS_OK);
    assert_int_equal(granted[2], 7);   /* clamped to the service's max */
    rls_fair_destroy(&f);
    assert_int_equal(rls_fair_problem_from_scenario(sc, NULL, sv, tn, &pb), RLS_ERR_INVALID);
    rls_scenario_destroy(&sc);
}

/* ---- random instances ---- */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static int32_t s_int(int32_t lo, int32_t hi)   /* [lo, hi] */
{
    return lo + (int32_t)(s_next() % (uint64_t)(hi - lo + 1));
}

static double s_size(void)   /* 0.25 .. 4 in quarters */
{
    return 0.25 * (double)s_int(1, 16);
}

static int32_t s_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void s_random_instance(struct fx *x, int homogeneous, int with_extras)
{
    int32_t nt = s_int(1, 5);
    int32_t ns = s_int(1, 12);
    double c = s_size();
    double m = s_size();
    s_init(x, 0, 0);
    for (int32_t t = 0; t < nt; t++) {
        s_tenant(x, 0.5 * (double)s_int(1, 6), with_extras ? s_int(0, 6) : 0,
                 with_extras && s_int(0, 2) == 0 ? s_int(1, 20) : 0);
        if (with_extras && s_int(0, 4) == 0)
            x->tn[t].guaranteed_share = 0.05 * (double)s_int(0, 6);
    }
    for (int32_t i = 0; i < ns; i++) {
        int32_t mn = with_extras ? s_int(0, 2) : 0;
        int32_t mx = s_int(mn > 1 ? mn : 1, 20);
        s_service(x, s_int(0, nt - 1), s_int(-2, 25), mn, mx, homogeneous ? c : s_size(),
                  homogeneous ? m : s_size());
    }
    x->pb.cpu = (double)s_int(0, 80);
    x->pb.mem_gb = (double)s_int(0, 160);
    if (with_extras && s_int(0, 2) == 0) {
        x->pb.n_nodes = s_int(1, MAX_N);
        x->pb.node_cpu = x->node_cpu;
        x->pb.node_mem_gb = x->node_mem;
        double tc = 0, tm = 0;
        for (int32_t j = 0; j < x->pb.n_nodes; j++) {
            x->node_cpu[j] = (double)s_int(0, 16);
            x->node_mem[j] = (double)s_int(0, 32);
            tc += x->node_cpu[j];
            tm += x->node_mem[j];
        }
        x->pb.cpu = tc;
        x->pb.mem_gb = tm;
    }
}

/* Capacity, wishes, mins, caps, guarantees (when they surely fit),
 * determinism, work conservation and Jain's range, over 3000 instances. */
static void test_random_instances_keep_the_invariants(void **state)
{
    (void)state;
    struct rls_fair *f = rls_fair_new(NULL, NULL);
    struct rls_fair *g = rls_fair_new(NULL, NULL);
    assert_non_null(f);
    assert_non_null(g);
    int contended = 0, guaranteed_checked = 0;
    for (int it = 0; it < 3000; it++) {
        struct fx x;
        s_random_instance(&x, 0, 1);
        assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_OK);
        const struct rls_fair_problem *pb = &x.pb;
        double cpu = 0, mem = 0;
        int64_t reps[MAX_T] = {0}, mins[MAX_T] = {0};
        double mins_cpu[MAX_T] = {0}, mins_mem[MAX_T] = {0}, big_cpu[MAX_T] = {0}, big_mem[MAX_T] = {0};
        int fits_all = 1;
        double wc = 0, wm = 0;
        for (int32_t i = 0; i < pb->n_services; i++) {
            const struct rls_fair_service *sv = &pb->services[i];
            int32_t w = s_clamp(sv->wish, sv->min_replicas, sv->max_replicas);
            assert_true(x.granted[i] >= 0);
            assert_true(x.granted[i] <= w);
            if (!(x.res.flags & RLS_FAIR_F_MINS_INFEASIBLE))
                assert_true(x.granted[i] >= sv->min_replicas);
            cpu += x.granted[i] * sv->cpu;
            mem += x.granted[i] * sv->mem_gb;
            wc += w * sv->cpu;
            wm += w * sv->mem_gb;
            reps[sv->tenant] += x.granted[i];
            mins[sv->tenant] += sv->min_replicas;
            mins_cpu[sv->tenant] += sv->min_replicas * sv->cpu;
            mins_mem[sv->tenant] += sv->min_replicas * sv->mem_gb;
            if (sv->cpu > big_cpu[sv->tenant])
                big_cpu[sv->tenant] = sv->cpu;
            if (sv->mem_gb > big_mem[sv->tenant])
                big_mem[sv->tenant] = sv->mem_gb;
        }
        assert_true(cpu <= pb->cpu + 1e-6);
        assert_true(mem <= pb->mem_gb + 1e-6);
        assert_true(fabs(cpu - x.res.cpu) < 1e-6);
        for (int32_t t = 0; t < pb->n_tenants; t++) {
            assert_int_equal(reps[t], x.tr[t].granted);
            if (pb->tenants[t].max_replicas > 0) {
                int64_t cap = pb->tenants[t].max_replicas > mins[t] ? pb->tenants[t].max_replicas : mins[t];
                assert_true(reps[t] <= cap);
                if (x.tr[t].wished > cap)
                    fits_all = 0;
            }
        }
        if (pb->n_nodes == 0 && fits_all && wc <= pb->cpu && wm <= pb->mem_gb) {
            for (int32_t i = 0; i < pb->n_services; i++)
                assert_int_equal(x.granted[i], s_clamp(pb->services[i].wish, pb->services[i].min_replicas,
                                                       pb->services[i].max_replicas));
        } else {
            contended++;
        }
        /* guarantees surely fit: mins plus guarantees at the tenant's largest replica */
        if (pb->n_nodes == 0) {
            double gc = 0, gm = 0;
            int shares = 0;
            for (int32_t t = 0; t < pb->n_tenants; t++) {
                int64_t g = x.tr[t].guarantee;
                gc += mins_cpu[t] > g * big_cpu[t] ? mins_cpu[t] : g * big_cpu[t];
                gm += mins_mem[t] > g * big_mem[t] ? mins_mem[t] : g * big_mem[t];
                shares |= pb->tenants[t].guaranteed_share > 0;
            }
            if (!shares && gc <= pb->cpu && gm <= pb->mem_gb) {
                guaranteed_checked++;
                assert_int_equal(x.res.flags & RLS_FAIR_F_GUARANTEES_INFEASIBLE, 0);
                for (int32_t t = 0; t < pb->n_tenants; t++)
                    assert_true(reps[t] >= x.tr[t].guarantee);
            }
            /* work conservation: a service short of its wish is stopped by its
             * tenant's cap or because one more replica does not fit */
            for (int32_t i = 0; i < pb->n_services; i++) {
                const struct rls_fair_service *sv = &pb->services[i];
                int32_t w = s_clamp(sv->wish, sv->min_replicas, sv->max_replicas);
                int32_t t = sv->tenant;
                int capped = pb->tenants[t].max_replicas > 0 && reps[t] >= x.tr[t].demand;
                if (x.granted[i] < w && !capped)
                    assert_true(cpu + sv->cpu > pb->cpu + 1e-9 || mem + sv->mem_gb > pb->mem_gb + 1e-9);
            }
        }
        assert_true(x.res.jain <= 1.0 + 1e-12);
        if (pb->n_tenants > 0)
            assert_true(x.res.jain >= 1.0 / pb->n_tenants - 1e-12);
        /* deterministic: a second handle (other scratch history) gives the same */
        int32_t again[MAX_S];
        struct rls_fair_result r2 = {.granted = again};
        assert_int_equal(rls_fair_project(g, &x.pb, &r2), RLS_OK);
        assert_memory_equal(again, x.granted, sizeof(int32_t) * (size_t)pb->n_services);
        assert_true(r2.jain == x.res.jain);
        assert_int_equal(r2.flags, x.res.flags);
    }
    /* the generator really exercised both paths */
    assert_true(contended > 300);
    assert_true(guaranteed_checked > 300);
    rls_fair_destroy(&f);
    rls_fair_destroy(&g);
}

/* With identical replicas and no guarantees or caps, progressive filling is
 * weighted max-min fair to within one replica: every tenant short of its
 * wish has a weighted share no more than one replica below any other's. */
static void test_random_homogeneous_instances_are_max_min_fair(void **state)
{
    (void)state;
    struct rls_fair *f = rls_fair_new(NULL, NULL);
    assert_non_null(f);
    int checked = 0;
    for (int it = 0; it < 2000; it++) {
        struct fx x;
        s_random_instance(&x, 1, 0);
        assert_int_equal(rls_fair_project(f, &x.pb, &x.res), RLS_OK);
        const struct rls_fair_service *sv = &x.pb.services[0];
        double d = fmax(x.pb.cpu > 0 ? sv->cpu / x.pb.cpu : 0, x.pb.mem_gb > 0 ? sv->mem_gb / x.pb.mem_gb : 0);
        for (int32_t u = 0; u < x.pb.n_tenants; u++) {
            if (x.tr[u].satisfied)
                continue;
            double ku = x.tr[u].dominant_share / x.pb.tenants[u].weight;
            for (int32_t v = 0; v < x.pb.n_tenants; v++) {
                double kv = x.tr[v].dominant_share / x.pb.tenants[v].weight;
                /* v's last replica was granted while v's key was <= u's key */
                assert_true(kv - d / x.pb.tenants[v].weight <= ku + 1e-9);
                checked++;
            }
        }
    }
    assert_true(checked > 500);
    rls_fair_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wishes_that_fit_are_granted_unchanged),
        cmocka_unit_test(test_weights_2_1_1_split_contended_capacity_2_1_1),
        cmocka_unit_test(test_within_tenant_split_follows_wishes),
        cmocka_unit_test(test_tenant_wanting_less_gets_all_and_rest_is_redistributed),
        cmocka_unit_test(test_drf_paper_example_equalizes_dominant_shares),
        cmocka_unit_test(test_guarantee_is_met_before_weighted_sharing),
        cmocka_unit_test(test_guaranteed_share_is_met_before_weighted_sharing),
        cmocka_unit_test(test_tenant_caps_are_respected),
        cmocka_unit_test(test_service_mins_are_granted_first),
        cmocka_unit_test(test_per_node_fit_respects_fragmentation),
        cmocka_unit_test(test_jain_index_matches_hand_computed_values),
        cmocka_unit_test(test_infeasible_guarantees_are_shared_deterministically_and_reported),
        cmocka_unit_test(test_infeasible_mins_are_reported),
        cmocka_unit_test(test_bad_input_is_refused_naming_the_field),
        cmocka_unit_test(test_problem_from_scenario_copies_limits_and_capacity),
        cmocka_unit_test(test_random_instances_keep_the_invariants),
        cmocka_unit_test(test_random_homogeneous_instances_are_max_min_fair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
