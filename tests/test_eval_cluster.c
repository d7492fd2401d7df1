/* test_eval_cluster.c - the evaluation runner on an environment instead of an
 * owned simulator (rls_eval_params.env), driven over real ZeroMQ loopback
 * sockets against the served simulator (env/served.h) on its own thread:
 * the same policy, scenario and seed give the same metrics through the
 * remote backend as on a local simulator (the backend is exact), runs in
 * turn on one env each start from a reset, `rlsched eval --cluster` writes
 * the same JSON as the library on a local simulator, and clairvoyant
 * policies and steps past the cluster's horizon are refused with a clear
 * message. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "env/env.h"
#include "env/remote.h"
#include "env/scenario.h"
#include "env/served.h"
#include "rls_test_keys.h"

static struct rls_test_keys g_keys;     /* the control channel's keys (main) */
#include "eval/eval.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "policies/policy.h"

#define HORIZON 150
#define SEED 7

/* ---------------------------------------------------------------------------
 * A served simulator (lock-step) on a thread. */

struct s_server {
    struct rls_served *s;
    pthread_t thread;
    int running;
    int rc;
};

static void *s_server_main(void *arg)
{
    struct s_server *srv = arg;
    srv->rc = rls_served_run(srv->s);
    return NULL;
}

static void s_server_start(struct s_server *srv, const struct rls_scenario *sc)
{
    struct rls_served_params p = rls_served_default_params();
    struct rls_err err = {0};

    memset(srv, 0, sizeof *srv);
    p.scenario = sc;
    p.speed = 0.0;
    p.seed = 99;                /* not the eval seed: the reset must set it */
    p.heartbeat_ms = 200;
    rls_test_keys_server(&g_keys, &p.transport);
    srv->s = rls_served_new("tcp://127.0.0.1:*", &p, &err);
    if (!srv->s)
        fail_msg("rls_served_new: %s", err.msg);
    assert_int_equal(pthread_create(&srv->thread, NULL, s_server_main, srv), 0);
    srv->running = 1;
}

static void s_server_stop(struct s_server *srv)
{
    if (srv->running) {
        rls_served_stop(srv->s);
        pthread_join(srv->thread, NULL);
        srv->running = 0;
        assert_int_equal(srv->rc, RLS_OK);
    }
    rls_served_destroy(&srv->s);
}

static struct rls_scenario *s_default(void)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    if (rls_scenario_load("default", &sc, &err) != RLS_OK)
        fail_msg("default scenario: %s", err.msg);
    sc->horizon_steps = HORIZON;
    return sc;
}

/* An env on the served cluster, as `rlsched eval --cluster` builds it. */
static struct rls_env *s_cluster_env(const struct s_server *srv)
{
    struct rls_err err = {0};
    struct rls_env *env = NULL;
    struct rls_remote_params rp = rls_remote_default_params();
    rls_test_keys_client(&g_keys, g_keys.agent_sec, &rp.transport);
    struct rls_remote *rc = rls_remote_new(rls_served_endpoint(srv->s), &rp, &err);
    if (!rc)
        fail_msg("rls_remote_new: %s", err.msg);
    struct rls_env_params ep = rls_env_default_params();
    ep.terminate_steps = 0;
    env = rls_env_new_with_backend(&ep, &rls_remote_backend_ops, rc, &err);
    if (!env)
        fail_msg("rls_env_new_with_backend: %s", err.msg);
    return env;
}

/* Runs spec for HORIZON steps on env (or, env NULL, a local simulator of sc). */
static void s_run(const char *spec, const struct rls_scenario *sc, struct rls_env *env,
                  int record, struct rls_eval_result *out)
{
    struct rls_err err = {0};
    struct rls_policy *p = rls_policy_new(spec, sc, &err);
    if (!p)
        fail_msg("%s: %s", spec, err.msg);
    struct rls_eval_params ep = rls_eval_default_params();
    ep.scenario = env ? NULL : sc;
    ep.env = env;
    ep.seed = SEED;
    ep.steps = HORIZON;
    ep.record = record;
    ep.name = spec;
    int rc = rls_eval_run(&ep, p, out, &err);
    rls_policy_destroy(&p);
    if (rc != RLS_OK)
        fail_msg("%s on %s: %s", spec, env ? "the cluster" : "the simulator", err.msg);
}

static void s_assert_same_el(const struct rls_elasticity *a, const struct rls_elasticity *b)
{
    assert_true(a->theta_u == b->theta_u && a->theta_o == b->theta_o);
    assert_true(a->tau_u == b->tau_u && a->tau_o == b->tau_o && a->upsilon == b->upsilon);
}

/* Every metric equal (bit for bit: the remote backend is exact). */
static void s_assert_same(const struct rls_eval_result *a, const struct rls_eval_result *b)
{
    assert_int_equal(a->steps, b->steps);
    assert_int_equal(a->n_services, b->n_services);
    assert_int_equal(a->n_tenants, b->n_tenants);
    assert_true(a->requests > 0.0);
    assert_true(a->cost_usd == b->cost_usd);
    assert_true(a->node_hours == b->node_hours);
    assert_true(a->replica_hours == b->replica_hours);
    assert_true(a->requests == b->requests);
    assert_true(a->slo_violation_pct == b->slo_violation_pct);
    assert_true(a->dropped_pct == b->dropped_pct);
    assert_true(a->p95_ms == b->p95_ms);
    assert_true(a->p99_ms == b->p99_ms);
    assert_int_equal(a->scale_actions, b->scale_actions);
    assert_true(a->mean_utilization == b->mean_utilization);
    assert_true(a->jain_fairness == b->jain_fairness);
    s_assert_same_el(&a->elasticity, &b->elasticity);
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_eval_service *x = &a->services[i], *y = &b->services[i];
        assert_string_equal(x->name, y->name);
        assert_true(x->requests == y->requests && x->p95_ms == y->p95_ms);
        assert_true(x->slo_violation_pct == y->slo_violation_pct);
        assert_int_equal(x->scale_actions, y->scale_actions);
        s_assert_same_el(&x->elasticity, &y->elasticity);
    }
    for (int32_t k = 0; k < a->n_tenants; k++) {
        assert_true(a->tenants[k].cost_usd == b->tenants[k].cost_usd);
        assert_true(a->tenants[k].good == b->tenants[k].good);
    }
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_hpa_on_a_served_cluster_matches_the_local_simulator(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default();
    struct s_server srv;
    struct rls_eval_result local, remote, other;
    memset(&local, 0, sizeof local);
    memset(&remote, 0, sizeof remote);
    memset(&other, 0, sizeof other);
    s_server_start(&srv, sc);
    struct rls_env *env = s_cluster_env(&srv);

    /* another policy first on the same env: the hpa run must start afresh */
    s_run("static:2", sc, env, 0, &other);
    s_run("hpa", sc, env, 1, &remote);
    s_run("hpa", sc, NULL, 1, &local);
    s_assert_same(&remote, &local);
    assert_true(other.cost_usd != remote.cost_usd);   /* the runs really differ */

    /* the per-step records too, the node strings left empty */
    int64_t nrec = remote.steps * remote.n_services;
    for (int64_t j = 0; j < nrec; j++) {
        const struct rls_eval_record *x = &remote.records[j], *y = &local.records[j];
        assert_true(x->time_s == y->time_s && x->rate_rps == y->rate_rps);
        assert_true(x->arrival_rps == y->arrival_rps && x->served_rps == y->served_rps);
        assert_true(x->p95_ms == y->p95_ms || (isnan(x->p95_ms) && isnan(y->p95_ms)));
        assert_int_equal(x->ready, y->ready);
        assert_int_equal(x->desired, y->desired);
        assert_int_equal(x->demand, y->demand);
        assert_string_equal(rls_eval_record_nodes(&remote, j), "");
    }
    assert_true(rls_served_stats(srv.s).episodes >= 3);  /* the first one + two resets */

    rls_eval_result_clear(&local);
    rls_eval_result_clear(&remote);
    rls_eval_result_clear(&other);
    rls_env_destroy(&env);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

static void test_oracle_is_refused_on_an_env(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_default();
    struct s_server srv;
    struct rls_err err = {0};
    struct rls_eval_result r;
    s_server_start(&srv, sc);
    struct rls_env *env = s_cluster_env(&srv);
    struct rls_policy *p = rls_policy_new("oracle", sc, &err);
    assert_non_null(p);

    struct rls_eval_params ep = rls_eval_default_params();
    ep.env = env;
    ep.seed = SEED;
    ep.steps = 10;
    assert_int_equal(rls_eval_run(&ep, p, &r, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "clairvoyant"));
    assert_non_null(strstr(err.msg, "oracle"));
    rls_eval_result_clear(&r);
    assert_int_equal(rls_served_stats(srv.s).steps, 0);  /* refused before any step */

    /* steps past the cluster's horizon: refused, not truncated halfway */
    rls_policy_destroy(&p);
    p = rls_policy_new("hpa", sc, &err);
    assert_non_null(p);
    ep.steps = HORIZON + 1;
    assert_int_equal(rls_eval_run(&ep, p, &r, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "horizon"));
    rls_eval_result_clear(&r);

    rls_policy_destroy(&p);
    rls_env_destroy(&env);
    s_server_stop(&srv);
    rls_scenario_destroy(&sc);
}

/* Reads a whole file; NULL if it cannot. */
static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = n >= 0 ? calloc((size_t)n + 1, 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void test_cli_eval_cluster_writes_the_local_json(void **state)
{
    (void)state;
    char bin[1024], cmd[8192], dir[] = "/tmp/rls_eval_cluster.XXXXXX", cli_json[1100],
         lib_json[1100], errf[1100];
    snprintf(bin, sizeof bin, "%s/rlsched", RLS_BINARY_DIR);
    if (access(bin, X_OK) != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    snprintf(cli_json, sizeof cli_json, "%s/cli.json", dir);
    snprintf(lib_json, sizeof lib_json, "%s/lib.json", dir);
    snprintf(errf, sizeof errf, "%s/err", dir);
    struct rls_scenario *sc = s_default();
    struct s_server srv;
    struct rls_err err = {0};
    s_server_start(&srv, sc);

    snprintf(cmd, sizeof cmd,
             "'%s' eval --cluster %s --curve-server '%s' --curve-secret '%s' --policy hpa,static:3 --seed %d "
             "--json '%s' >/dev/null 2>'%s'",
             bin, rls_served_endpoint(srv.s), g_keys.srv_pub, g_keys.agent_sec, SEED, cli_json, errf);
    int rc = system(cmd);
    char *msg = s_slurp(errf);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", cmd, rc, msg ? msg : "");
    free(msg);

    /* oracle and hpa-tuned are refused with a usage error naming them */
    snprintf(cmd, sizeof cmd, "'%s' eval --cluster %s --policy hpa,oracle >/dev/null 2>'%s'", bin,
             rls_served_endpoint(srv.s), errf);
    rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    msg = s_slurp(errf);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "oracle"));
    assert_non_null(strstr(msg, "live cluster"));
    free(msg);
    /* --scenario with --cluster: usage error */
    snprintf(cmd, sizeof cmd, "'%s' eval --cluster %s --scenario default >/dev/null 2>'%s'", bin,
             rls_served_endpoint(srv.s), errf);
    rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    s_server_stop(&srv);

    /* the same two runs on a local simulator, written by the same writer
     * (cost_vs_oracle left unset: null, as with --cluster) */
    struct rls_eval_result res[2];
    memset(res, 0, sizeof res);
    s_run("hpa", sc, NULL, 0, &res[0]);
    s_run("static:3", sc, NULL, 0, &res[1]);
    assert_int_equal(rls_report_json_write(lib_json, res, 2, rls_metrics_slo_budget_pct(sc), &err),
                     RLS_OK);
    char *a = s_slurp(cli_json), *b = s_slurp(lib_json);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(strstr(a, "\"cost_vs_oracle\": null"));
    assert_string_equal(a, b);
    free(a);
    free(b);
    rls_eval_result_clear(&res[0]);
    rls_eval_result_clear(&res[1]);
    unlink(cli_json);
    unlink(lib_json);
    unlink(errf);
    rmdir(dir);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hpa_on_a_served_cluster_matches_the_local_simulator),
        cmocka_unit_test(test_oracle_is_refused_on_an_env),
        cmocka_unit_test(test_cli_eval_cluster_writes_the_local_json),
    };
    if (rls_test_keys_make(&g_keys) != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rls_test_keys_remove(&g_keys);
    return rc;
}
