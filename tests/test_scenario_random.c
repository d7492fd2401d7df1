/* test_scenario_random.c - the random scenario generator: one seed gives one
 * scenario byte for byte, other seeds give others; 200 draws all validate,
 * read back from their YAML, run in the simulator, and keep every load finite,
 * non-negative and peaking at the drawn fraction of the service's capacity;
 * every synthetic shape and both tight and loose clusters occur; real windows
 * are cut from ../shared/traces when it is there (SKIPPED otherwise); the
 * `random:SEED` and `NAME:load-seed=N` names resolve through rls_scenario_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rls_test_skip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/scenario.h"
#include "env/scenario_random.h"
#include "env/sim.h"
#include "env/trace.h"

#define S_N_SEEDS 200
#define S_SIM_STEPS 300

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static char *s_yaml_of(const struct rls_scenario_random_params *p, uint64_t seed)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    int rc = rls_scenario_random(p, seed, &sc, &err);
    if (rc != RLS_OK)
        fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
    char *y = rls_scenario_to_yaml(sc, NULL);
    assert_non_null(y);
    rls_scenario_destroy(&sc);
    return y;
}

/* Runs the simulator for `steps` steps with a simple reactive rule, checks
 * every load over the whole horizon: finite, >= 0, and the episode's peak
 * of each service in [lo, hi] x max_replicas x capacity_rps (x 1 +- 1e-6).
 * Returns the cluster's load at the summed episode peaks: the larger of
 * demanded / available cores and memory (> 1: the peaks cannot all fit). */
static double s_run_and_check_loads(const struct rls_scenario *sc, int64_t steps, double lo,
                                    double hi)
{
    double demand_cpu = 0.0, demand_mem = 0.0;  /* sum of ceil(episode peak / capacity) x cpu, mem */
    struct rls_err err = {0};
    struct rls_sim *sim = rls_sim_new(sc, &err);
    int32_t *desired = NULL;
    if (sim == NULL)
        fail_msg("%s: rls_sim_new: %s", sc->name, err.msg);
    if (rls_sim_reset(sim, sc->seed) != RLS_OK)
        fail_msg("%s: reset: %s", sc->name, rls_sim_errmsg(sim));
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        double cap = (double)s->max_replicas * s->capacity_rps, m = 0.0;
        for (int64_t k = 0; k < sc->horizon_steps; k++) {
            double v = rls_sim_rate_at(sim, i, k);
            if (!isfinite(v) || v < 0.0)
                fail_msg("%s: service %d step %lld: rate %g", sc->name, (int)i, (long long)k, v);
            if (v > m)
                m = v;
        }
        demand_cpu += ceil(m / s->capacity_rps - 1e-9) * s->cpu;
        demand_mem += ceil(m / s->capacity_rps - 1e-9) * s->mem_gb;
        if (m > hi * cap * (1 + 1e-6) || m < lo * cap * (1 - 1e-6))
            fail_msg("%s: service %d (%s load): episode peak %g outside [%g, %g] x %g",
                     sc->name, (int)i, rls_scenario_load_kind_name(s->load.kind), m, lo, hi, cap);
    }
    desired = calloc((size_t)sc->n_services, sizeof *desired);
    assert_non_null(desired);
    for (int64_t k = 0; k < steps; k++) {
        for (int32_t i = 0; i < sc->n_services; i++)
            desired[i] = (int32_t)ceil(rls_sim_rate_at(sim, i, k) /
                                       (0.7 * sc->services[i].capacity_rps));
        if (rls_sim_step(sim, desired, NULL) != RLS_OK)
            fail_msg("%s: step %lld: %s", sc->name, (long long)k, rls_sim_errmsg(sim));
        const struct rls_step_info *info = rls_sim_last(sim);
        assert_non_null(info);
    }
    free(desired);
    rls_sim_destroy(&sim);
    /* the binding resource: demand over supply of cores or memory */
    return fmax(demand_cpu / rls_scenario_total_cpu(sc), demand_mem / rls_scenario_total_mem_gb(sc));
}

/* Writes YAML to a new /tmp file, loads it back; returns the loaded scenario. */
static struct rls_scenario *s_round_trip(const char *yaml)
{
    char path[] = "/tmp/rls_test_random_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    struct rls_scenario *back = NULL;
    struct rls_err err = {0};
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(yaml, f);
    assert_int_equal(fclose(f), 0);
    if (rls_scenario_load(path, &back, &err) != RLS_OK)
        fail_msg("reading back %s: %s", path, err.msg);
    unlink(path);
    return back;
}

/* ------------------------------------------------------------------------ */
/* tests                                                                    */

static void test_same_seed_gives_the_same_yaml_byte_for_byte(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 10; seed++) {
        char *a = s_yaml_of(NULL, seed), *b = s_yaml_of(NULL, seed);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

static void test_different_seeds_give_different_scenarios(void **state)
{
    char *y[20];
    (void)state;
    for (int i = 0; i < 20; i++)
        y[i] = s_yaml_of(NULL, (uint64_t)i + 1);
    for (int i = 0; i < 20; i++)
        for (int j = i + 1; j < 20; j++)
            assert_string_not_equal(y[i], y[j]);
    for (int i = 0; i < 20; i++)
        free(y[i]);
}

static void test_200_draws_validate_round_trip_and_run(void **state)
{
    struct rls_scenario_random_params p = rls_scenario_random_default_params();
    int shapes[5] = {0}, tight = 0, loose = 0, cold0 = 0, cold_long = 0, p99 = 0;
    int pools[4] = {0}, tenants[5] = {0}, min_svc = 100, max_svc = 0;
    (void)state;
    for (uint64_t seed = 1; seed <= S_N_SEEDS; seed++) {
        struct rls_scenario *sc = NULL;
        struct rls_err err = {0};
        if (rls_scenario_random(&p, seed, &sc, &err) != RLS_OK)
            fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
        assert_int_equal(rls_scenario_validate(sc, &err), RLS_OK);
        assert_int_equal(sc->horizon_steps, 5760);
        assert_true(sc->step_s == 15.0);
        assert_true(sc->n_pools >= 1 && sc->n_pools <= 3);
        assert_true(sc->n_tenants >= 1 && sc->n_tenants <= 4);
        assert_true(sc->n_services >= 2 && sc->n_services <= 10);
        pools[sc->n_pools]++;
        tenants[sc->n_tenants]++;
        min_svc = sc->n_services < min_svc ? sc->n_services : min_svc;
        max_svc = sc->n_services > max_svc ? sc->n_services : max_svc;
        for (int32_t k = 0; k < sc->n_pools; k++)
            assert_true(sc->pools[k].boot_s >= 30.0 * 0.99 && sc->pools[k].boot_s <= 300.0 * 1.01);
        for (int32_t i = 0; i < sc->n_services; i++) {
            const struct rls_service_spec *s = &sc->services[i];
            const struct rls_trace_synth_params *q = &s->load.synth;
            assert_true(s->cold_start_s >= 0.0 && s->cold_start_s <= 180.0 * 1.01);
            cold0 += s->cold_start_s == 0.0;
            cold_long += s->cold_start_s >= 90.0;
            p99 += s->slo_percentile > 0.98;
            assert_int_equal(s->load.kind, RLS_LOAD_SYNTH);  /* no library given */
            if (q->step_s == 1.0)
                shapes[4]++;                                  /* second-level spikes */
            else if (q->duration_s > 7 * 86400.0)
                shapes[0]++;                                  /* cycles */
            else if (q->trend_per_day != 0.0)
                shapes[1]++;                                  /* ramps */
            else if (q->outage_per_day >= 6.0)
                shapes[2]++;                                  /* on/off */
            else if (q->flash_per_day >= 2.0)
                shapes[3]++;                                  /* flash crowds */
            else
                fail_msg("seed %llu service %d: a load of no known shape",
                         (unsigned long long)seed, (int)i);
        }

        char *y = rls_scenario_to_yaml(sc, NULL);
        assert_non_null(y);
        struct rls_scenario *back = s_round_trip(y);
        char *y2 = rls_scenario_to_yaml(back, NULL);
        assert_non_null(y2);
        assert_string_equal(y, y2);
        free(y);
        free(y2);
        rls_scenario_destroy(&back);

        double use = s_run_and_check_loads(sc, S_SIM_STEPS, p.peak_frac_lo, p.peak_frac_hi);
        tight += use > 1.0 / 1.1;
        loose += use <= 1.0 / 1.2;
        rls_scenario_destroy(&sc);
    }
    print_message("200 draws: shapes cycle %d ramp %d on/off %d flash %d spikes %d; "
                  "tight %d loose %d; cold start 0: %d, >= 90 s: %d; p99 SLOs %d; "
                  "services %d..%d\n", shapes[0], shapes[1], shapes[2], shapes[3], shapes[4],
                  tight, loose, cold0, cold_long, p99, min_svc, max_svc);
    for (int k = 0; k < 5; k++)
        assert_true(shapes[k] >= 50);
    assert_true(tight >= 20);                 /* sometimes tight ... */
    assert_true(loose >= S_N_SEEDS / 2);      /* ... usually not saturated */
    assert_true(cold0 >= 20 && cold_long >= 20 && p99 >= 50);
    assert_true(pools[1] > 0 && pools[2] > 0 && pools[3] > 0);
    assert_true(tenants[1] > 0 && tenants[4] > 0);
    assert_int_equal(min_svc, 2);
    assert_int_equal(max_svc, 10);
}

static void test_params_are_checked(void **state)
{
    struct rls_scenario_random_params p = rls_scenario_random_default_params();
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    const char *files[] = {"/nonexistent/trace.csv"};
    (void)state;
    p.max_services = 1;  /* < min_services */
    assert_int_equal(rls_scenario_random(&p, 1, &sc, &err), RLS_ERR_INVALID);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "services"));
    p = rls_scenario_random_default_params();
    p.trace_files = files;
    p.n_trace_files = 1;
    p.real_prob = 1.0;
    assert_int_equal(rls_scenario_random(&p, 1, &sc, &err), RLS_ERR_IO);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "/nonexistent/trace.csv"));
}

static void test_random_name_resolves_through_scenario_load(void **state)
{
    struct rls_scenario *a = NULL, *b = NULL;
    struct rls_err err = {0};
    (void)state;
    unsetenv("RLS_TRACE_LIB");
    assert_int_equal(rls_scenario_load("random:7", &a, &err), RLS_OK);
    assert_int_equal(rls_scenario_random(NULL, 7, &b, &err), RLS_OK);
    char *ya = rls_scenario_to_yaml(a, NULL), *yb = rls_scenario_to_yaml(b, NULL);
    assert_string_equal(ya, yb);
    assert_string_equal(a->name, "random-7");
    assert_string_equal(a->source, "random:7");
    free(ya);
    free(yb);
    rls_scenario_destroy(&a);
    rls_scenario_destroy(&b);
    assert_int_equal(rls_scenario_load("random:x7", &a, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "random:SEED"));
    assert_int_equal(rls_scenario_load("random:", &a, &err), RLS_ERR_INVALID);
    setenv("RLS_TRACE_LIB", "/nonexistent-lib", 1);
    assert_int_equal(rls_scenario_load("random:7", &a, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, "RLS_TRACE_LIB"));
    unsetenv("RLS_TRACE_LIB");
    assert_null(a);
}

static void test_load_seed_perturbs_only_the_loads(void **state)
{
    struct rls_scenario *d = NULL, *z = NULL, *a = NULL, *a2 = NULL, *b = NULL;
    struct rls_err err = {0};
    (void)state;
    assert_int_equal(rls_scenario_load("default", &d, &err), RLS_OK);
    assert_int_equal(rls_scenario_load("default:load-seed=0", &z, &err), RLS_OK);
    assert_int_equal(rls_scenario_load("default:load-seed=7", &a, &err), RLS_OK);
    assert_int_equal(rls_scenario_load("default:load-seed=7", &a2, &err), RLS_OK);
    assert_int_equal(rls_scenario_load("default:load-seed=8", &b, &err), RLS_OK);
    char *yd = rls_scenario_to_yaml(d, NULL), *yz = rls_scenario_to_yaml(z, NULL);
    char *ya = rls_scenario_to_yaml(a, NULL), *ya2 = rls_scenario_to_yaml(a2, NULL);
    char *yb = rls_scenario_to_yaml(b, NULL);
    assert_string_equal(yd, yz);        /* 0: the loads as written */
    assert_string_equal(ya, ya2);       /* deterministic */
    assert_string_not_equal(yd, ya);
    assert_string_not_equal(ya, yb);
    assert_string_equal(a->name, "default-loads7");
    assert_int_equal(rls_scenario_validate(a, &err), RLS_OK);
    assert_int_equal(a->n_services, d->n_services);
    for (int32_t i = 0; i < d->n_services; i++) {
        const struct rls_service_spec *x = &d->services[i], *y = &a->services[i];
        assert_true(x->capacity_rps == y->capacity_rps && x->max_replicas == y->max_replicas);
        assert_true(x->load.seed != y->load.seed);
        assert_true(y->load.peak_rps >= 0.85 * x->load.peak_rps - 1e-9);
        assert_true(y->load.peak_rps <= 1.15 * x->load.peak_rps + 1e-9);
        double dh = fabs(y->load.synth.peak_hour - x->load.synth.peak_hour);
        assert_true(dh <= 2.0 + 1e-9 || dh >= 22.0 - 1e-9);
    }
    assert_true(d->pools[0].count == a->pools[0].count);
    s_run_and_check_loads(a, 200, 0.0, 1e9);
    rls_scenario_destroy(&b);
    assert_int_equal(rls_scenario_load("default:load-seed=x", &b, &err), RLS_ERR_INVALID);
    assert_int_equal(rls_scenario_load("random:3:load-seed=2", &b, &err), RLS_OK);
    assert_string_equal(b->name, "random-3-loads2");
    free(yd);
    free(yz);
    free(ya);
    free(ya2);
    free(yb);
    rls_scenario_destroy(&d);
    rls_scenario_destroy(&z);
    rls_scenario_destroy(&a);
    rls_scenario_destroy(&a2);
    rls_scenario_destroy(&b);
}

static void test_trace_library_lists_trace_files_only(void **state)
{
    char dir[] = "/tmp/rls_test_lib_XXXXXX", path[600];
    char **files = NULL;
    int32_t n = 0;
    struct rls_err err = {0};
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(rls_scenario_random_list_traces(dir, &files, &n, &err), RLS_ERR_NOTFOUND);
    const char *names[] = {"b.csv", "a.txt", "README.md", "c.trace", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("x\n", f);
        fclose(f);
    }
    assert_int_equal(rls_scenario_random_list_traces(dir, &files, &n, &err), RLS_OK);
    assert_int_equal(n, 3);
    assert_non_null(strstr(files[0], "/a.txt"));
    assert_non_null(strstr(files[1], "/b.csv"));
    assert_non_null(strstr(files[2], "/c.trace"));
    rls_scenario_random_free_list(&files, n);
    assert_null(files);
    assert_int_equal(rls_scenario_random_list_traces("/nonexistent-dir", &files, &n, &err),
                     RLS_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir"));
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_real_windows_from_the_shared_traces(void **state)
{
    struct stat st;
    struct rls_scenario_random_params p = rls_scenario_random_default_params();
    char **files = NULL;
    int32_t n = 0, real = 0, sped = 0, in_nab = 0;
    struct rls_err err = {0};
    (void)state;
    if (stat(RLS_TRACES_DIR "/nab", &st) != 0) {
        rls_test_skip_missing(RLS_TRACES_DIR "/nab");
    }
    assert_int_equal(rls_scenario_random_list_traces(RLS_TRACES_DIR ":" RLS_TRACES_DIR "/nab",
                                                     &files, &n, &err), RLS_OK);
    assert_true(n >= 8);
    p.trace_files = (const char *const *)files;
    p.n_trace_files = n;
    p.real_prob = 1.0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct rls_scenario *sc = NULL;
        if (rls_scenario_random(&p, seed, &sc, &err) != RLS_OK)
            fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
        for (int32_t i = 0; i < sc->n_services; i++) {
            const struct rls_load_spec *l = &sc->services[i].load;
            if (l->kind != RLS_LOAD_TRACE)
                continue;
            real++;
            sped += l->time_scale > 1.0;
            assert_true(l->path[0] == '/');
            assert_non_null(strstr(l->path, "/shared/traces/"));
            in_nab += strstr(l->path, "/shared/traces/nab/") != NULL;
        }
        char *y = rls_scenario_to_yaml(sc, NULL);
        struct rls_scenario *back = s_round_trip(y);
        char *y2 = rls_scenario_to_yaml(back, NULL);
        assert_string_equal(y, y2);
        free(y);
        free(y2);
        rls_scenario_destroy(&back);
        s_run_and_check_loads(sc, 100, p.peak_frac_lo, p.peak_frac_hi);
        char *again = s_yaml_of(&p, seed);
        char *first = rls_scenario_to_yaml(sc, NULL);
        assert_string_equal(first, again);
        free(again);
        free(first);
        rls_scenario_destroy(&sc);
    }
    print_message("real windows: %d loads (%d from nab/), %d of them sped up\n", (int)real,
                  (int)in_nab, (int)sped);
    assert_true(real >= 20);
    assert_true(sped >= 5);
    assert_true(in_nab >= 5 && real - in_nab >= 5);  /* both folders drawn from */
    rls_scenario_random_free_list(&files, n);
}

/* The skip of long-expired flash crowds in rls_trace_synth changes no sample:
 * the weighted sum below was computed with the code before the skip. */
static void test_synth_spikes_unchanged_by_the_expired_event_skip(void **state)
{
    struct rls_trace_synth_params p = rls_trace_synth_default_params();
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    double s = 0.0;
    (void)state;
    p.step_s = 1;
    p.duration_s = 86400;
    p.flash_per_day = 1000;
    p.flash_dur_s = 8;
    p.flash_mult = 20;
    p.noise = 0.2;
    assert_int_equal(rls_trace_synth(&p, 42, &t, &err), RLS_OK);
    assert_int_equal(t->n, 86400);
    for (int64_t i = 0; i < t->n; i++)
        s += t->rate[i] * (double)(i % 7 + 1);
    assert_true(fabs(s - 96684884.049071774) <= 1e-12 * 96684884.049071774);
    rls_trace_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_gives_the_same_yaml_byte_for_byte),
        cmocka_unit_test(test_different_seeds_give_different_scenarios),
        cmocka_unit_test(test_200_draws_validate_round_trip_and_run),
        cmocka_unit_test(test_params_are_checked),
        cmocka_unit_test(test_random_name_resolves_through_scenario_load),
        cmocka_unit_test(test_load_seed_perturbs_only_the_loads),
        cmocka_unit_test(test_trace_library_lists_trace_files_only),
        cmocka_unit_test(test_real_windows_from_the_shared_traces),
        cmocka_unit_test(test_synth_spikes_unchanged_by_the_expired_event_skip),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
