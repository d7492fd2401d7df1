/* test_scenario.c - the scenario module: the default scenario tells its story
 * (tenants compete for a cluster too small for every peak), the YAML writer
 * and reader round-trip every field, relative trace paths resolve against the
 * scenario's folder, and every kind of bad input is refused with the file,
 * the line and the field path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rls_test_skip.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/scenario.h"
#include "env/scenario_internal.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

/* Writes text to a new file under /tmp; path gets its name (caller unlinks). */
static void s_write_tmp(const char *text, char *path, size_t cap)
{
    int fd;
    FILE *f = NULL;
    snprintf(path, cap, "/tmp/rls_test_scenario_XXXXXX.yaml");
    fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* 1-based number of the first line of text that contains marker; 0 if none. */
static int s_line_of(const char *text, const char *marker)
{
    const char *hit = strstr(text, marker);
    int line = 1;
    if (hit == NULL)
        return 0;
    for (const char *p = text; p < hit; p++)
        line += *p == '\n';
    return line;
}

static void s_assert_same_synth(const struct rls_trace_synth_params *a,
                                const struct rls_trace_synth_params *b)
{
    assert_true(a->step_s == b->step_s);
    assert_true(a->duration_s == b->duration_s);
    assert_true(a->base_rps == b->base_rps);
    assert_true(a->diurnal_amp == b->diurnal_amp);
    assert_true(a->peak_hour == b->peak_hour);
    assert_true(a->weekly_amp == b->weekly_amp);
    assert_true(a->trend_per_day == b->trend_per_day);
    assert_true(a->noise == b->noise);
    assert_true(a->flash_per_day == b->flash_per_day);
    assert_true(a->flash_mult == b->flash_mult);
    assert_true(a->flash_dur_s == b->flash_dur_s);
    assert_true(a->outage_per_day == b->outage_per_day);
    assert_true(a->outage_dur_s == b->outage_dur_s);
    assert_true(a->start_epoch_s == b->start_epoch_s);
}

/* Every field but `source` equal (doubles bit for bit). */
static void s_assert_same(const struct rls_scenario *a, const struct rls_scenario *b)
{
    assert_string_equal(a->name, b->name);
    assert_true(a->step_s == b->step_s);
    assert_int_equal(a->horizon_steps, b->horizon_steps);
    assert_true(a->start_s == b->start_s);
    assert_true(a->start_jitter_s == b->start_jitter_s);
    assert_int_equal(a->poisson_noise, b->poisson_noise);
    assert_true(a->node_idle_s == b->node_idle_s);
    assert_true(a->seed == b->seed);
    assert_true(a->reward.cost == b->reward.cost);
    assert_true(a->reward.slo == b->reward.slo);
    assert_true(a->reward.drop == b->reward.drop);
    assert_true(a->reward.churn == b->reward.churn);
    assert_int_equal(a->n_pools, b->n_pools);
    for (int32_t i = 0; i < a->n_pools; i++) {
        const struct rls_node_pool *x = &a->pools[i], *y = &b->pools[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->count, y->count);
        assert_int_equal(x->min_on, y->min_on);
        assert_true(x->cpu == y->cpu);
        assert_true(x->mem_gb == y->mem_gb);
        assert_true(x->price_per_hour == y->price_per_hour);
        assert_true(x->boot_s == y->boot_s);
        assert_true(x->mtbf_h == y->mtbf_h);
        assert_true(x->repair_s == y->repair_s);
    }
    assert_int_equal(a->n_tenants, b->n_tenants);
    for (int32_t i = 0; i < a->n_tenants; i++) {
        const struct rls_tenant *x = &a->tenants[i], *y = &b->tenants[i];
        assert_string_equal(x->name, y->name);
        assert_true(x->weight == y->weight);
        assert_int_equal(x->guaranteed_replicas, y->guaranteed_replicas);
        assert_int_equal(x->max_replicas, y->max_replicas);
    }
    assert_int_equal(a->n_services, b->n_services);
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_service_spec *x = &a->services[i], *y = &b->services[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->tenant, y->tenant);
        assert_true(x->capacity_rps == y->capacity_rps);
        assert_true(x->service_time_ms == y->service_time_ms);
        assert_true(x->cpu == y->cpu);
        assert_true(x->mem_gb == y->mem_gb);
        assert_true(x->cold_start_s == y->cold_start_s);
        assert_int_equal(x->min_replicas, y->min_replicas);
        assert_int_equal(x->max_replicas, y->max_replicas);
        assert_int_equal(x->initial_replicas, y->initial_replicas);
        assert_true(x->slo_ms == y->slo_ms);
        assert_true(x->slo_percentile == y->slo_percentile);
        assert_int_equal(x->queue_limit, y->queue_limit);
        assert_int_equal(x->load.kind, y->load.kind);
        assert_string_equal(x->load.path, y->load.path);
        assert_string_equal(x->load.column, y->load.column);
        assert_true(x->load.peak_rps == y->load.peak_rps);
        assert_true(x->load.shift_s == y->load.shift_s);
        assert_true(x->load.time_scale == y->load.time_scale);
        assert_true(x->load.seed == y->load.seed);
        s_assert_same_synth(&x->load.synth, &y->load.synth);
    }
}

/* Writes sc to a real file and loads it back. */
static struct rls_scenario *s_round_trip(const struct rls_scenario *sc)
{
    char path[64];
    FILE *f = NULL;
    int fd;
    struct rls_scenario *back = NULL;
    struct rls_err err = {0};
    int rc;

    snprintf(path, sizeof path, "/tmp/rls_test_scenario_rt_XXXXXX.yaml");
    fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(rls_scenario_write_yaml(sc, f), RLS_OK);
    assert_int_equal(fclose(f), 0);
    rc = rls_scenario_load(path, &back, &err);
    if (rc != RLS_OK)
        fail_msg("reading back the written scenario: %s", err.msg);
    assert_string_equal(back->source, path);
    unlink(path);
    return back;
}

/* ------------------------------------------------------------------------ */
/* the default scenario                                                     */

static void test_default_parses_and_validates(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;

    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    assert_non_null(sc);
    assert_string_equal(sc->source, "default");
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_OK);
    /* the brief's numbers: one day of 15 s steps on 12 nodes x 8 cores */
    assert_true(sc->step_s == 15.0);
    assert_int_equal(sc->horizon_steps, 5760);
    assert_int_equal(sc->poisson_noise, 1);
    assert_int_equal(sc->n_pools, 1);
    assert_int_equal(sc->pools[0].count, 12);
    assert_true(rls_scenario_total_cpu(sc) == 96.0);
    assert_true(fabs(rls_scenario_max_cost_per_hour(sc) - 12 * 0.40) < 1e-12);
    /* the embedded text keeps its explanatory comments */
    assert_non_null(strstr(rls_scenario_default_yaml(), "# "));
    rls_scenario_destroy(&sc);
    assert_null(sc);
}

static void test_default_tenants_compete_for_too_few_cores(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    double demand = 0.0;
    int peak_hours[24] = {0}, distinct_hours = 0;
    (void)state;

    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    assert_true(sc->n_tenants >= 3);
    assert_true(sc->n_services >= 6);
    for (int32_t t = 0; t < sc->n_tenants; t++) {
        int services = 0;
        for (int32_t i = 0; i < sc->n_services; i++)
            services += sc->services[i].tenant == t;
        assert_true(services >= 1);  /* every tenant runs something */
    }
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        double need = ceil(s->load.peak_rps / s->capacity_rps);
        demand += need * s->cpu;
        assert_int_equal(s->load.kind, RLS_LOAD_SYNTH);
        /* each service alone can be served: its peak fits under max_replicas */
        assert_true(need <= s->max_replicas);
        /* the synthetic series covers the whole horizon */
        assert_true(s->load.synth.duration_s >= sc->horizon_steps * sc->step_s);
        for (int32_t j = 0; j < i; j++)
            assert_true(sc->services[j].load.seed != s->load.seed);
        if (peak_hours[(int)s->load.synth.peak_hour]++ == 0)
            distinct_hours++;
    }
    /* together they need more than the cluster has: tenants must compete */
    assert_true(demand > rls_scenario_total_cpu(sc));
    assert_true(fabs(rls_scenario_peak_demand_cpu(sc) - demand) < 1e-9);
    /* different shapes: the peaks fall at different hours */
    assert_true(distinct_hours >= 5);
    rls_scenario_destroy(&sc);
}

/* ------------------------------------------------------------------------ */
/* lifecycle and queries                                                    */

static void test_new_gives_documented_defaults(void **state)
{
    struct rls_scenario *sc = rls_scenario_new(1, 2, 3);
    struct rls_err err = {0};
    (void)state;

    assert_non_null(sc);
    assert_true(sc->step_s == 15.0);
    assert_true(sc->start_s == 0.0 && sc->start_jitter_s == 0.0);
    assert_int_equal(sc->poisson_noise, 1);
    assert_true(sc->node_idle_s == 60.0);
    assert_true(sc->seed == 1);
    assert_true(sc->reward.cost == 1.0 && sc->reward.slo == 4.0 && sc->reward.drop == 8.0 &&
                sc->reward.churn == 0.1);
    assert_int_equal(sc->pools[0].count, 8);
    assert_true(sc->pools[0].cpu == 8.0 && sc->pools[0].mem_gb == 32.0);
    assert_true(sc->pools[0].price_per_hour == 0.40);
    assert_true(sc->pools[0].boot_s == 90.0 && sc->pools[0].repair_s == 600.0);
    assert_int_equal(sc->pools[0].min_on, 0);
    assert_string_equal(sc->tenants[1].name, "t1");
    assert_true(sc->tenants[1].weight == 1.0);
    assert_int_equal(sc->tenants[1].guaranteed_replicas, 0);
    assert_string_equal(sc->services[2].name, "s2");
    assert_int_equal(sc->services[2].load.kind, RLS_LOAD_SYNTH);
    assert_true(sc->services[2].load.seed == 3);  /* service index + 1 */
    assert_true(sc->services[2].load.time_scale == 1.0);
    assert_true(sc->services[2].slo_percentile == 0.95);
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_OK);
    rls_scenario_destroy(&sc);
    assert_null(rls_scenario_new(-1, 1, 1));
}

static void test_copy_is_deep_and_destroy_is_null_safe(void **state)
{
    struct rls_scenario *sc = NULL, *c = NULL;
    struct rls_err err = {0};
    (void)state;

    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    c = rls_scenario_copy(sc);
    assert_non_null(c);
    s_assert_same(sc, c);
    assert_ptr_not_equal(c->services, sc->services);
    c->services[0].cpu = 3.0;
    snprintf(c->tenants[0].name, sizeof c->tenants[0].name, "changed");
    c->pools[0].count = 1;
    assert_true(sc->services[0].cpu == 1.0);
    assert_string_equal(sc->tenants[0].name, "shop");
    assert_int_equal(sc->pools[0].count, 12);
    rls_scenario_destroy(&c);
    rls_scenario_destroy(&c);  /* second call: no-op */
    rls_scenario_destroy(NULL);
    assert_null(c);
    rls_scenario_destroy(&sc);
}

static void test_totals_and_lookups(void **state)
{
    struct rls_scenario *sc = rls_scenario_new(2, 2, 2);
    (void)state;

    sc->pools[0].count = 3;
    sc->pools[0].cpu = 4;
    sc->pools[0].mem_gb = 16;
    sc->pools[0].price_per_hour = 0.25;
    sc->pools[1].count = 2;
    sc->pools[1].cpu = 16;
    sc->pools[1].mem_gb = 64;
    sc->pools[1].price_per_hour = 1.5;
    assert_true(rls_scenario_total_cpu(sc) == 3 * 4 + 2 * 16);
    assert_true(rls_scenario_total_mem_gb(sc) == 3 * 16 + 2 * 64);
    assert_true(rls_scenario_max_cost_per_hour(sc) == 3 * 0.25 + 2 * 1.5);
    assert_int_equal(rls_scenario_total_nodes(sc), 5);
    assert_int_equal(rls_scenario_find_service(sc, "s1"), 1);
    assert_int_equal(rls_scenario_find_service(sc, "nope"), -1);
    assert_int_equal(rls_scenario_find_tenant(sc, "t0"), 0);
    assert_int_equal(rls_scenario_find_tenant(sc, "t9"), -1);
    assert_int_equal(rls_scenario_find_tenant(NULL, "t0"), -1);
    rls_scenario_destroy(&sc);
}

static void test_validate_names_the_field(void **state)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 2);
    struct rls_err err = {0};
    (void)state;

    sc->services[1].tenant = 4;
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'services[1].tenant'"));
    sc->services[1].tenant = 0;
    sc->services[0].cpu = 9.0;  /* nodes have 8 cores */
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_ERR_INFEASIBLE);
    assert_non_null(strstr(err.msg, "'services[0].cpu'"));
    sc->services[0].cpu = 1.0;
    sc->services[0].load.synth.peak_hour = 24.0;
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "'services[0].load.synth.peak_hour'"));
    sc->services[0].load.synth.peak_hour = 3.0;
    snprintf(sc->services[1].name, sizeof sc->services[1].name, "s0");
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'services[1].name'"));
    snprintf(sc->services[1].name, sizeof sc->services[1].name, "s1");
    assert_int_equal(rls_scenario_validate(sc, &err), RLS_OK);
    rls_scenario_destroy(&sc);
}

/* ------------------------------------------------------------------------ */
/* write / parse round trip                                                 */

static void test_write_then_parse_round_trips_the_default(void **state)
{
    struct rls_scenario *sc = NULL, *back = NULL;
    struct rls_err err = {0};
    (void)state;

    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    back = s_round_trip(sc);
    s_assert_same(sc, back);
    rls_scenario_destroy(&back);
    rls_scenario_destroy(&sc);
}

static void test_write_then_parse_round_trips_odd_values(void **state)
{
    char dir[] = "/tmp/rls_test_scenario_dir_XXXXXX";
    char trace[RLS_PATH_MAX];
    struct rls_scenario *sc = rls_scenario_new(2, 3, 3), *back = NULL;
    struct rls_err err = {0};
    (void)state;

    assert_non_null(mkdtemp(dir));
    /* a real trace file whose name needs quoting in YAML */
    snprintf(trace, sizeof trace, "%s/we\"ird \\ name: #1.csv", dir);
    s_write_file(trace, "minute,count\n0,10\n1,12\n");

    snprintf(sc->name, sizeof sc->name, "rt-1.x_y");
    sc->step_s = 0.1 + 0.2;               /* 0.30000000000000004 */
    sc->horizon_steps = 12345;
    sc->start_s = 1.0 / 3.0;
    sc->start_jitter_s = 86400.0 * 3;
    sc->poisson_noise = 0;
    sc->node_idle_s = 1e-3;
    sc->seed = UINT64_MAX;
    sc->reward.churn = 1e-7;
    sc->reward.drop = 123456.789;
    sc->pools[1].count = 3;
    sc->pools[1].cpu = 64;
    sc->pools[1].mem_gb = 256 + 0.1 * 3;
    sc->pools[1].price_per_hour = 2.0 / 3.0;
    sc->pools[1].mtbf_h = 720.5;
    snprintf(sc->tenants[0].name, sizeof sc->tenants[0].name, "true");  /* needs quotes */
    snprintf(sc->tenants[1].name, sizeof sc->tenants[1].name, "9lives");
    sc->tenants[2].weight = 0.7;
    sc->tenants[2].max_replicas = 9;
    sc->tenants[2].guaranteed_replicas = 4;
    sc->services[0].tenant = 2;
    sc->services[0].cpu = 33.5;           /* fits only in pool 1 */
    sc->services[0].load.synth.peak_hour = 23.999;
    sc->services[0].load.synth.trend_per_day = -0.25;
    sc->services[0].load.synth.start_epoch_s = 1e9 + 0.5;
    sc->services[0].load.seed = 0;
    sc->services[1].tenant = 1;
    sc->services[1].load.kind = RLS_LOAD_TRACE;
    snprintf(sc->services[1].load.path, sizeof sc->services[1].load.path, "%s", trace);
    snprintf(sc->services[1].load.column, sizeof sc->services[1].load.column, "count \"x\"");
    sc->services[1].load.peak_rps = 0;
    sc->services[1].load.shift_s = 3600.25;
    sc->services[1].load.time_scale = 1e-3;
    sc->services[1].load.seed = 77;       /* unused by a trace, kept anyway */
    sc->services[1].load.synth.noise = 0.5;
    sc->services[2].load.kind = RLS_LOAD_CONST;
    sc->services[2].load.peak_rps = 7.125;
    snprintf(sc->services[2].load.path, sizeof sc->services[2].load.path, "left/over.csv");
    sc->services[2].min_replicas = 0;
    sc->services[2].initial_replicas = 5;
    sc->services[2].slo_percentile = 0.999;
    sc->services[2].queue_limit = 0;
    if (rls_scenario_validate(sc, &err) != RLS_OK)
        fail_msg("%s", err.msg);

    back = s_round_trip(sc);
    s_assert_same(sc, back);
    rls_scenario_destroy(&back);
    rls_scenario_destroy(&sc);
    unlink(trace);
    rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* trace paths                                                              */

static const char s_trace_scenario[] =
    "name: traced\n"
    "pools:\n"
    "  - {name: general}\n"
    "tenants:\n"
    "  - {name: shop}\n"
    "services:\n"
    "  - name: web\n"
    "    load:\n"
    "      kind: trace\n"
    "      path: data/load.csv\n"
    "      column: count\n"
    "      peak_rps: 300\n";

static void test_load_resolves_relative_trace_path_against_scenario_folder(void **state)
{
    char dir[] = "/tmp/rls_test_scenario_dir_XXXXXX";
    char sub[300], data[300], trace[300], yaml[300], rel[64], cwd[PATH_MAX];
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    struct stat st_made, st_found;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(data, sizeof data, "%s/sub/data", dir);
    snprintf(trace, sizeof trace, "%s/sub/data/load.csv", dir);
    snprintf(yaml, sizeof yaml, "%s/sub/scenario.yaml", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(data, 0700), 0);
    s_write_file(trace, "minute,count\n0,10\n1,12\n2,9\n");
    s_write_file(yaml, s_trace_scenario);
    assert_int_equal(stat(trace, &st_made), 0);

    /* by absolute path */
    if (rls_scenario_load(yaml, &sc, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sc->services[0].load.path[0], '/');
    assert_int_equal(stat(sc->services[0].load.path, &st_found), 0);
    assert_true(st_found.st_ino == st_made.st_ino && st_found.st_dev == st_made.st_dev);
    assert_string_equal(sc->services[0].load.column, "count");
    rls_scenario_destroy(&sc);

    /* by a path relative to the working folder: still the scenario's folder */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    snprintf(rel, sizeof rel, "sub/scenario.yaml");
    if (rls_scenario_load(rel, &sc, &err) != RLS_OK) {
        assert_int_equal(chdir(cwd), 0);
        fail_msg("%s", err.msg);
    }
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(sc->services[0].load.path[0], '/');
    assert_int_equal(stat(sc->services[0].load.path, &st_found), 0);
    assert_true(st_found.st_ino == st_made.st_ino);
    rls_scenario_destroy(&sc);

    /* parse (no file) keeps the path as written */
    assert_int_equal(rls_scenario_parse(s_trace_scenario, strlen(s_trace_scenario), "inline",
                                        &sc, &err),
                     RLS_OK);
    assert_string_equal(sc->services[0].load.path, "data/load.csv");
    rls_scenario_destroy(&sc);

    /* a missing trace file is named with the line of `path` */
    unlink(trace);
    assert_int_equal(rls_scenario_load(yaml, &sc, &err), RLS_ERR_IO);
    assert_null(sc);
    {
        char want[600];
        snprintf(want, sizeof want, "%s:%d: field 'services[0].load.path'", yaml,
                 s_line_of(s_trace_scenario, "path:"));
        assert_non_null(strstr(err.msg, want));
    }
    unlink(yaml);
    rmdir(data);
    rmdir(sub);
    rmdir(dir);
}

static void test_load_with_a_real_trace_file(void **state)
{
    char dir[] = "/tmp/rls_test_scenario_dir_XXXXXX";
    char real[512], link_path[256], yaml[256], text[1024];
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    struct stat st_real, st_found;
    (void)state;

    snprintf(real, sizeof real, "%s/worldcup98_requests_per_minute_0430_0630.csv", RLS_TRACES_DIR);
    if (stat(real, &st_real) != 0)
        rls_test_skip_missing(real);
    assert_non_null(mkdtemp(dir));
    snprintf(link_path, sizeof link_path, "%s/wc98.csv", dir);
    assert_int_equal(symlink(real, link_path), 0);
    snprintf(yaml, sizeof yaml, "%s/wc.yaml", dir);
    snprintf(text, sizeof text,
             "name: worldcup\npools: [{name: p}]\ntenants: [{name: fifa}]\n"
             "services:\n  - {name: site, load: {kind: trace, path: wc98.csv, peak_rps: 900}}\n");
    s_write_file(yaml, text);
    if (rls_scenario_load(yaml, &sc, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(stat(sc->services[0].load.path, &st_found), 0);
    assert_true(st_found.st_ino == st_real.st_ino);
    assert_true(sc->services[0].load.peak_rps == 900.0);
    rls_scenario_destroy(&sc);
    unlink(yaml);
    unlink(link_path);
    rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* bad input                                                                */

#define BASE                                                   \
    "name: tiny\n"                                             \
    "pools:\n"                                                 \
    "  - {name: general, count: 4, cpu: 8, mem_gb: 32}\n"      \
    "tenants:\n"                                               \
    "  - {name: shop}\n"                                       \
    "  - {name: media}\n"                                      \
    "services:\n"                                              \
    "  - name: web\n"                                          \
    "    tenant: shop\n"                                       \
    "    capacity_rps: 50\n"                                   \
    "    load: {kind: const, peak_rps: 100}\n"

struct s_bad {
    const char *what;
    const char *text;
    const char *marker;   /* the reported line is the first line holding this; NULL: line 1 */
    const char *field;    /* the field path in the message ("" for none) */
    int status;
    const char *also;     /* another substring the message must hold, or NULL */
};

static const struct s_bad s_bad_cases[] = {
    {"unknown field", BASE "  - name: api\n    cold_start: 30\n", "cold_start:",
     "services[1].cold_start", RLS_ERR_PARSE, "did you mean cold_start_s?"},
    {"unknown field, no near name", BASE "  - name: api\n    colour: red\n", "colour",
     "services[1].colour", RLS_ERR_PARSE, NULL},
    {"unknown top-level field", "horizon: 10\n" BASE, "horizon:", "horizon", RLS_ERR_PARSE,
     "did you mean horizon_steps?"},
    {"string where a number goes", BASE "  - name: api\n    capacity_rps: lots\n", "lots",
     "services[1].capacity_rps", RLS_ERR_PARSE, "expected a number"},
    {"quoted number", BASE "  - name: api\n    cpu: \"2\"\n", "cpu: \"2\"", "services[1].cpu",
     RLS_ERR_PARSE, "string"},
    {"list where a number goes", BASE "  - name: api\n    cpu: [1, 2]\n", "cpu: [",
     "services[1].cpu", RLS_ERR_PARSE, "got a list"},
    {"fraction where a whole number goes", BASE "  - name: api\n    max_replicas: 2.5\n",
     "max_replicas", "services[1].max_replicas", RLS_ERR_PARSE, NULL},
    {"negative cold start", BASE "  - name: api\n    cold_start_s: -5\n", "cold_start_s",
     "services[1].cold_start_s", RLS_ERR_RANGE, ">= 0"},
    {"negative price", "pools:\n  - {name: p, price_per_hour: -0.4}\n"
     "tenants: [{name: t}]\nservices: [{name: s}]\n", "price_per_hour", "pools[0].price_per_hour",
     RLS_ERR_RANGE, NULL},
    {"negative peak rate", BASE "  - name: api\n    load: {kind: const,\n      peak_rps: -1}\n",
     "peak_rps: -1", "services[1].load.peak_rps", RLS_ERR_RANGE, NULL},
    {"min above max", BASE "  - name: api\n    min_replicas: 9\n    max_replicas: 3\n",
     "max_replicas: 3", "services[1].max_replicas", RLS_ERR_INVALID, "min_replicas"},
    {"min_on above count", "pools:\n  - name: p\n    count: 2\n    min_on: 3\n"
     "tenants: [{name: t}]\nservices: [{name: s}]\n", "min_on", "pools[0].min_on", RLS_ERR_RANGE,
     NULL},
    {"percentile of 1", BASE "  - name: api\n    slo_percentile: 1\n", "slo_percentile",
     "services[1].slo_percentile", RLS_ERR_RANGE, NULL},
    {"zero step", "step_s: 0\n" BASE, "step_s", "step_s", RLS_ERR_RANGE, NULL},
    {"not a number", "step_s: nan\n" BASE, "step_s", "step_s", RLS_ERR_RANGE, "finite"},
    {"unknown tenant", BASE "  - name: api\n    tenant: shpo\n", "shpo", "services[1].tenant",
     RLS_ERR_INVALID, "did you mean shop?"},
    {"duplicate service name", BASE "  - name: web   # again\n", "# again", "services[1].name",
     RLS_ERR_INVALID, "duplicate"},
    {"duplicate tenant name", "pools: [{name: p}]\ntenants:\n  - {name: a}\n  - {name: a} #2\n"
     "services: [{name: s}]\n", "#2", "tenants[1].name", RLS_ERR_INVALID, NULL},
    {"field given twice", BASE "  - name: api\n    cpu: 1\n    cpu: 2\n", "cpu: 2",
     "services[1].cpu", RLS_ERR_PARSE, "twice"},
    {"bad name", BASE "  - name: my api\n", "my api", "services[1].name", RLS_ERR_INVALID, NULL},
    {"service without a name", BASE "  - tenant: media\n", "tenant: media", "services[1].name",
     RLS_ERR_INVALID, "missing"},
    {"replica fits on no node", BASE "  - name: api\n    cpu: 16\n", "cpu: 16",
     "services[1].cpu", RLS_ERR_INFEASIBLE, NULL},
    {"trace load without a path", BASE "  - name: api\n    load:\n      kind: trace\n",
     "load:\n      kind: trace", "services[1].load.path", RLS_ERR_INVALID, "file path"},
    {"unknown load kind", BASE "  - name: api\n    load: {kind: tracer}\n", "tracer",
     "services[1].load.kind", RLS_ERR_PARSE, "did you mean trace?"},
    {"YAML syntax error", BASE "  - name: api\n    cpu: 1: 2\n", "cpu: 1: 2", "",
     RLS_ERR_PARSE, "YAML syntax error"},
    {"YAML tab indentation", BASE "  - name: api\n\tcpu: 1\n", "\tcpu", "", RLS_ERR_PARSE,
     "YAML syntax error"},
    {"empty file", "", NULL, "", RLS_ERR_PARSE, "empty"},
    {"comments only", "# nothing here\n\n", NULL, "", RLS_ERR_PARSE, "empty"},
    {"a list, not a mapping", "- web\n- api\n", NULL, "", RLS_ERR_PARSE, "expected a mapping"},
    {"two documents", BASE "---\nname: other\n", "name: other", "", RLS_ERR_PARSE, "one YAML document"},
    {"no services", "pools: [{name: p}]\ntenants: [{name: t}]\n", NULL, "services",
     RLS_ERR_INVALID, "missing"},
    {"empty services list", "pools: [{name: p}]\ntenants: [{name: t}]\nservices: []\n",
     "services:", "services", RLS_ERR_INVALID, "empty"},
    {"huge horizon", "horizon_steps: 200000000\n" BASE, "horizon_steps", "horizon_steps",
     RLS_ERR_RANGE, NULL},
    {"horizon beyond 32 bits", "horizon_steps: 1e12\n" BASE, "horizon_steps", "horizon_steps",
     RLS_ERR_RANGE, NULL},
    {"huge node count", "pools:\n  - {name: p, count: 5000000}\n"
     "tenants: [{name: t}]\nservices: [{name: s}]\n", "count", "pools[0].count", RLS_ERR_RANGE,
     NULL},
    {"huge replica count", BASE "  - name: api\n    max_replicas: 2000000\n", "max_replicas",
     "services[1].max_replicas", RLS_ERR_RANGE, NULL},
    {"seed beyond 64 bits", "seed: 99999999999999999999999\n" BASE, "seed", "seed",
     RLS_ERR_RANGE, NULL},
    {"huge synthetic series", BASE "  - name: api\n    load:\n      kind: synth\n"
     "      synth: {step_s: 0.001, duration_s: 1e9}\n", "synth:",
     "services[1].load.synth.duration_s",
     RLS_ERR_RANGE, NULL},
};

static void test_bad_input_is_refused_with_file_line_and_field(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_bad_cases / sizeof s_bad_cases[0]; k++) {
        const struct s_bad *b = &s_bad_cases[k];
        char path[64], want[256];
        struct rls_scenario *sc = NULL;
        struct rls_err err = {0};
        int line = b->marker ? s_line_of(b->text, b->marker) : 1;
        int rc;

        assert_true(line > 0);
        s_write_tmp(b->text, path, sizeof path);
        sc = (struct rls_scenario *)&sc;  /* must come back NULL */
        rc = rls_scenario_load(path, &sc, &err);
        unlink(path);
        if (rc != b->status)
            fail_msg("%s: status %d (%s), want %d: %s", b->what, rc, rls_status_str(rc),
                     b->status, err.msg);
        assert_null(sc);
        assert_int_equal(err.status, rc);
        snprintf(want, sizeof want, "%s:%d: ", path, line);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            fail_msg("%s: message '%s' does not start with '%s'", b->what, err.msg, want);
        if (b->field[0] != '\0') {
            snprintf(want, sizeof want, "'%s'", b->field);
            if (strstr(err.msg, want) == NULL)
                fail_msg("%s: message '%s' does not name %s", b->what, err.msg, want);
        }
        if (b->also != NULL && strstr(err.msg, b->also) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", b->what, err.msg, b->also);
        if (strchr(err.msg, '\n') != NULL)
            fail_msg("%s: message spans lines", b->what);
    }
}

static void test_base_of_bad_cases_is_valid(void **state)
{
    /* so each bad case fails for its own reason, not the base's */
    static const char text[] = BASE "  - name: api\n    tenant: media\n";
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;

    if (rls_scenario_parse(text, strlen(text), "base", &sc, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sc->services[1].tenant, 1);
    assert_int_equal(sc->services[0].tenant, 0);
    rls_scenario_destroy(&sc);
}

static void test_missing_file_is_an_io_error(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;

    assert_int_equal(rls_scenario_load("/tmp/rls_no_such_scenario_file.yaml", &sc, &err),
                     RLS_ERR_IO);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "/tmp/rls_no_such_scenario_file.yaml"));
    assert_int_equal(rls_scenario_load("/tmp", &sc, &err), RLS_ERR_IO);
    assert_null(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_parses_and_validates),
        cmocka_unit_test(test_default_tenants_compete_for_too_few_cores),
        cmocka_unit_test(test_new_gives_documented_defaults),
        cmocka_unit_test(test_copy_is_deep_and_destroy_is_null_safe),
        cmocka_unit_test(test_totals_and_lookups),
        cmocka_unit_test(test_validate_names_the_field),
        cmocka_unit_test(test_write_then_parse_round_trips_the_default),
        cmocka_unit_test(test_write_then_parse_round_trips_odd_values),
        cmocka_unit_test(test_load_resolves_relative_trace_path_against_scenario_folder),
        cmocka_unit_test(test_load_with_a_real_trace_file),
        cmocka_unit_test(test_base_of_bad_cases_is_valid),
        cmocka_unit_test(test_bad_input_is_refused_with_file_line_and_field),
        cmocka_unit_test(test_missing_file_is_an_io_error),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
