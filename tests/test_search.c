/* test_search.c - the reward-driven stage in the simulator (trainer/search.h):
 * it finds a cheaper operating point where one exists, never returns worse
 * than the start, is deterministic, and refuses bad parameters. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "env/env.h"
#include "env/scenario.h"
#include "policies/checkpoint.h"
#include "trainer/search.h"

/* A one-layer checkpoint whose biases prefer `delta` (spread) by 1 logit over
 * every other action, in every state. */
static struct rls_checkpoint *s_prefers(int32_t delta)
{
    int32_t sizes[2] = {RLS_ENV_N_FEATURES, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    assert_non_null(ck);
    snprintf(ck->algorithm, sizeof(ck->algorithm), "bc");
    for (int32_t j = 0; j < ck->n_deltas; j++)
        if (ck->deltas[j] == delta)
            ck->bias[0][j * 2] = 1.0f;
    return ck;
}

/* Two services at a constant 40 rps (4-5 replicas' worth), starting at 12. */
static struct rls_scenario *s_scenario(void)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 2);   /* 1 pool, 1 tenant, 2 services */
    assert_non_null(sc);
    sc->pools[0].count = 8;
    sc->horizon_steps = 120;
    for (int i = 0; i < 2; i++) {
        snprintf(sc->services[i].name, sizeof sc->services[i].name, "s%d", i);
        sc->services[i].load.kind = RLS_LOAD_CONST;
        sc->services[i].load.peak_rps = 40.0;
        sc->services[i].capacity_rps = 10.0;
        sc->services[i].initial_replicas = 12;
        sc->services[i].min_replicas = 1;
        sc->services[i].max_replicas = 30;
    }
    return sc;
}

static struct rls_search_params s_params(void)
{
    struct rls_search_params p = rls_search_default_params();
    p.iterations = 4;
    p.population = 8;
    p.elite = 2;
    p.controller.hold_steps = 0;
    p.ood = 0;     /* a hand-made network has no training statistics to guard */
    return p;
}

static void test_search_finds_the_cheaper_operating_point(void **state)
{
    /* on the default scenario the network scales up (+1) whatever the load:
       the search can make holding and scaling down likelier and save */
    struct rls_checkpoint *ck = s_prefers(1);
    struct rls_scenario *sc = NULL;
    struct rls_search_params p = s_params();
    struct rls_search_report rep;
    struct rls_err err;
    (void)state;
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    struct rls_search_task task = {sc, 1, 1440};
    assert_int_equal(rls_search_run(ck, &task, 1, &p, &rep, &err), RLS_OK);
    assert_true(fabs(rep.j_initial - 1.0) < 1e-9);
    assert_true(rep.j_best < 0.8);
    assert_true(rep.cost_best < 0.8 * rep.cost_initial);
    assert_true(rep.violation_best <= rep.violation_initial + 1.0);
    assert_int_equal(rep.evaluations, 1 + p.iterations * p.population - 1);
    /* the checkpoint now holds the best candidate: +1 is no longer the choice */
    int32_t best = 0;
    for (int32_t a = 1; a < ck->n_actions; a++)
        if (ck->bias[0][a] > ck->bias[0][best])
            best = a;
    assert_true(ck->deltas[best / ck->n_placements] <= 0);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_search_never_returns_worse_and_is_deterministic(void **state)
{
    struct rls_checkpoint *a = s_prefers(0), *b = s_prefers(0);
    struct rls_scenario *sc = s_scenario();
    struct rls_search_task task = {sc, 3, 60};
    struct rls_search_params p = s_params();
    struct rls_search_report ra, rb;
    struct rls_err err;
    (void)state;
    p.iterations = 2;
    p.lambda = 1000.0;   /* any extra violation is ruinous: the start may stay best */
    assert_int_equal(rls_search_run(a, &task, 1, &p, &ra, &err), RLS_OK);
    assert_int_equal(rls_search_run(b, &task, 1, &p, &rb, &err), RLS_OK);
    assert_true(ra.j_best <= ra.j_initial);
    assert_true(ra.j_best == rb.j_best);
    for (int32_t k = 0; k < ra.n_offsets; k++)
        assert_true(ra.offsets[k] == rb.offsets[k]);
    assert_memory_equal(a->bias[0], b->bias[0], (size_t)a->n_actions * sizeof(float));
    rls_checkpoint_destroy(&a);
    rls_checkpoint_destroy(&b);
    rls_scenario_destroy(&sc);
}

static void test_search_refuses_bad_parameters(void **state)
{
    struct rls_checkpoint *ck = s_prefers(0);
    struct rls_scenario *sc = s_scenario();
    struct rls_search_task task = {sc, 1, 10};
    struct rls_search_params p;
    struct rls_err err;
    float before = ck->bias[0][0];
    (void)state;
    p = s_params();
    p.elite = 9;
    assert_int_equal(rls_search_run(ck, &task, 1, &p, NULL, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "elite"));
    p = s_params();
    p.sigma = 0.0;
    assert_int_equal(rls_search_run(ck, &task, 1, &p, NULL, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "sigma"));
    p = s_params();
    p.lambda = NAN;
    assert_int_equal(rls_search_run(ck, &task, 1, &p, NULL, &err), RLS_ERR_RANGE);
    p = s_params();
    assert_int_equal(rls_search_run(ck, &task, 0, &p, NULL, &err), RLS_ERR_INVALID);
    assert_true(ck->bias[0][0] == before);   /* a refused search changes nothing */
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_finds_the_cheaper_operating_point),
        cmocka_unit_test(test_search_never_returns_worse_and_is_deterministic),
        cmocka_unit_test(test_search_refuses_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
