/* cmd_bench_agent.c - `rlsched bench agent`: the inference agent's
 * performance figures, as {"name","value","unit","baseline_name",
 * "baseline_value","ratio"} objects (one per line with --json, built by
 * bench_json.h: valid JSON, null for a missing number; a table otherwise);
 * every baseline is measured in the same run, an aim is only a reference;
 * tools/bench/AGENT_BENCH.md explains the method:
 *   - decision latency p50/p99 (features -> native forward of all services in
 *     one batch -> masked argmax -> OOD check -> fair projection -> safety
 *     filter) for 1, 100 and 1,000 services with the default checkpoint,
 *     against libtorch's forward pass of the same checkpoint and batch on one
 *     thread (rls_tnet_predict, no grad), measured in the same run;
 *     ratio = baseline / value (the speedup);
 *   - the native forward's effective GFLOP/s (2 x multiply-adds x rows / s),
 *     against libtorch's on the same batch; ratio = value / baseline;
 *   - the control loop's round trip over ZeroMQ TCP loopback (state encoded,
 *     sent, decoded, decided, actions encoded and sent back) p50/p99 against a
 *     bare request/reply of the same sizes; ratio = value / baseline;
 *   - the real rlsched-agent's resident memory (VmRSS, VmHWM) while it runs
 *     a lock-step served simulator with the checkpoint, against the same
 *     binary run the same way without one (the HPA acts); ratio = value /
 *     baseline; the 20 MB aim is printed beside it as a reference.
 * Compiled into rlsched-train (libtorch); rlsched runs it for `bench agent`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rls_bench_agent(int argc, char **argv);

#ifndef RLS_WITH_TORCH

int rls_bench_agent(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched bench agent: this rlsched was built without libtorch (install libtorch-dev and rebuild)\n");
    return 1;
}

#else

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../agent/fairness.h"
#include "../agent/safety.h"
#include "../env/features.h"
#include "../env/protocol.h"
#include "../env/scenario.h"
#include "../env/served.h"
#include "../env/sim.h"
#include "../env/status.h"
#include "../env/transport.h"
#include "../policies/checkpoint.h"
#include "../policies/learned.h"
#include "../policies/mlp.h"
#include "../policies/policy.h"
#include "../trainer/torch_shim.h"
#include "bench_json.h"

#define S_PROG "rlsched bench agent"
#define S_DEFAULT_CKPT "/policies/default.h5"
#define S_AIM_RSS_MB 20.0
#define S_MAX_FIG 32

struct s_figure {
    char name[96];
    double value;
    const char *unit;
    char baseline_name[96];
    double baseline_value;      /* measured in the same run */
    double ratio;
    const char *reference_name; /* an aim shown beside it, or NULL */
    double reference_value;
};

struct s_figs {
    struct s_figure f[S_MAX_FIG];
    int n;
};

static void s_add(struct s_figs *fs, const char *name, double value, const char *unit,
                  const char *bname, double bvalue, double ratio)
{
    if (fs->n >= S_MAX_FIG)
        return;
    struct s_figure *f = &fs->f[fs->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = value;
    f->unit = unit;
    snprintf(f->baseline_name, sizeof f->baseline_name, "%s", bname);
    f->baseline_value = bvalue;
    f->ratio = ratio;
    f->reference_name = NULL;
    f->reference_value = NAN;
}

/* Sets a reference (an aim, not measured) on the last figure added. */
static void s_set_reference(struct s_figs *fs, const char *name, double value)
{
    if (fs->n < 1)
        return;
    fs->f[fs->n - 1].reference_name = name;
    fs->f[fs->n - 1].reference_value = value;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int s_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and returns its q-quantile (nearest rank). */
static double s_pct(double *v, int n, double q)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, s_cmp_d);
    int i = (int)ceil(q * n) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

/* ------------------------------------------------------------------ decisions */

/* Everything one decision needs for a cluster of S services. */
struct s_dec {
    struct rls_scenario *sc;
    struct rls_sim *sim;
    struct rls_policy *pol;
    struct rls_features *feat;
    struct rls_fair *fair;
    struct rls_safety *safety;
    const struct rls_checkpoint *ck;   /* borrowed */
    int32_t S, T;
    float *obs;
    uint8_t *row_ood;
    int32_t *desired, *current, *granted, *out, *mins, *maxs;
    uint8_t *place;
    uint32_t *reasons;
    struct rls_fair_service *fsvc;
    struct rls_fair_tenant *ften;
    struct rls_fair_tenant_result *fres;
    int64_t step;
};

static void s_dec_free(struct s_dec *d)
{
    rls_policy_destroy(&d->pol);
    rls_features_destroy(&d->feat);
    rls_fair_destroy(&d->fair);
    rls_safety_destroy(&d->safety);
    rls_sim_destroy(&d->sim);
    rls_scenario_destroy(&d->sc);
    free(d->obs);
    free(d->row_ood);
    free(d->desired);
    free(d->current);
    free(d->granted);
    free(d->out);
    free(d->mins);
    free(d->maxs);
    free(d->place);
    free(d->reasons);
    free(d->fsvc);
    free(d->ften);
    free(d->fres);
    memset(d, 0, sizeof *d);
}

/* A scenario of S services (rls_scenario_new's defaults, one pool sized to
 * hold them, up to 4 tenants), a simulator run for `warm` steps to give the
 * states real load, and the decision pipeline around the checkpoint. */
static int s_dec_init(struct s_dec *d, const struct rls_checkpoint *ck, const struct rls_scenario *base,
                      int32_t S, int32_t warm, struct rls_err *err)
{
    int rc = RLS_OK;
    memset(d, 0, sizeof *d);
    d->ck = ck;
    if (base) {   /* a given scenario (copied) */
        if (!(d->sc = rls_scenario_copy(base)))
            return rls_err_set(err, RLS_ERR_NOMEM, S_PROG ": out of memory");
        S = base->n_services;
        d->T = base->n_tenants;
    } else {
        d->T = S < 4 ? S : 4;
        if (!(d->sc = rls_scenario_new(1, d->T, S)))
            return rls_err_set(err, RLS_ERR_NOMEM, S_PROG ": scenario of %d services: out of memory", (int)S);
        d->sc->pools[0].count = 8 + S / 2;
        d->sc->pools[0].min_on = 2;
        for (int32_t i = 0; i < S; i++)
            d->sc->services[i].tenant = i % d->T;
        snprintf(d->sc->name, sizeof d->sc->name, "bench-%d", (int)S);
    }
    d->S = S;
    if ((rc = rls_scenario_validate(d->sc, err)) != RLS_OK)
        goto done;
    if (!(d->sim = rls_sim_new(d->sc, err))) {
        rc = err->status;
        goto done;
    }
    if ((rc = rls_sim_reset(d->sim, 1)) != RLS_OK) {
        rc = rls_err_set(err, rc, S_PROG ": sim reset: %s", rls_sim_errmsg(d->sim));
        goto done;
    }
    if (!(d->pol = rls_learned_from_checkpoint(ck, "default.h5", d->sc, err))) {
        rc = err->status;
        goto done;
    }
    if (!(d->feat = rls_features_new(d->sc, 20, err))) {
        rc = err->status;
        goto done;
    }
    struct rls_fair_params fp = rls_fair_default_params();
    if (!(d->fair = rls_fair_new(&fp, err))) {
        rc = err->status;
        goto done;
    }
    size_t s = (size_t)S;
    d->obs = malloc(sizeof(float) * s * RLS_ENV_N_FEATURES);
    d->row_ood = malloc(s);
    d->desired = malloc(sizeof(int32_t) * s);
    d->current = malloc(sizeof(int32_t) * s);
    d->granted = malloc(sizeof(int32_t) * s);
    d->out = malloc(sizeof(int32_t) * s);
    d->mins = malloc(sizeof(int32_t) * s);
    d->maxs = malloc(sizeof(int32_t) * s);
    d->place = malloc(s);
    d->reasons = malloc(sizeof(uint32_t) * s);
    d->fsvc = malloc(sizeof *d->fsvc * s);
    d->ften = malloc(sizeof *d->ften * (size_t)d->T);
    d->fres = malloc(sizeof *d->fres * (size_t)d->T);
    if (!d->obs || !d->row_ood || !d->desired || !d->current || !d->granted || !d->out || !d->mins ||
        !d->maxs || !d->place || !d->reasons || !d->fsvc || !d->ften || !d->fres) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, S_PROG ": out of memory");
        goto done;
    }
    for (int32_t i = 0; i < S; i++) {
        d->mins[i] = d->sc->services[i].min_replicas;
        d->maxs[i] = d->sc->services[i].max_replicas;
    }
    struct rls_safety_params sp = rls_safety_default_params();
    if (!(d->safety = rls_safety_new(&sp, S, d->mins, d->maxs, err))) {
        rc = err->status;
        goto done;
    }
    /* real states: run the simulator with the policy's own choices */
    for (int32_t t = 0; t < warm; t++) {
        struct rls_policy_input in;
        memset(&in, 0, sizeof in);
        in.scenario = d->sc;
        in.step = t;
        in.time_s = rls_sim_time_s(d->sim);
        in.services = rls_sim_services(d->sim);
        in.nodes = rls_sim_nodes(d->sim);
        in.n_nodes = rls_sim_n_nodes(d->sim);
        if ((rc = rls_policy_decide(d->pol, &in, d->desired, d->place)) != RLS_OK) {
            rc = rls_err_set(err, rc, S_PROG ": policy: %s", rls_policy_errmsg(d->pol));
            goto done;
        }
        if ((rc = rls_sim_step(d->sim, d->desired, d->place)) != RLS_OK) {
            rc = rls_err_set(err, rc, S_PROG ": sim step: %s", rls_sim_errmsg(d->sim));
            goto done;
        }
    }
done:
    if (rc != RLS_OK)
        s_dec_free(d);
    return rc;
}

/* One decision, as the agent makes it (agent/agent.c s_on_state without the
 * HPA fallback's own decision, the metrics and the recording). obs is left
 * holding the raw features. Returns RLS_OK or the policy's status. */
static int s_decide(struct s_dec *d, const struct rls_svc_state *svc, const struct rls_node_state *nodes,
                    int32_t n_nodes, double time_s)
{
    struct rls_policy_input in;
    memset(&in, 0, sizeof in);
    in.scenario = d->sc;
    in.step = d->step++;
    in.time_s = time_s;
    in.services = svc;
    in.nodes = nodes;
    in.n_nodes = n_nodes;
    int rc = rls_policy_decide(d->pol, &in, d->desired, d->place);
    if (rc != RLS_OK)
        return rc;
    /* as agent/agent.c: the OOD check reads the features the policy computed */
    const float *obs = rls_learned_last_obs(d->pol);
    if (!obs) {
        rls_features_compute(d->feat, svc, nodes, n_nodes, time_s, d->obs);
        obs = d->obs;
    }
    int32_t n_ood = 0;
    uint32_t mask = RLS_FALLBACK_BIT(rls_safety_check_ood(d->safety, obs, d->ck->obs_mean, d->ck->obs_std,
                                                          d->S, RLS_ENV_N_FEATURES, d->row_ood, &n_ood));
    rls_safety_fallback_update(d->safety, mask);
    struct rls_fair_problem pb;
    struct rls_fair_result fr;
    memset(&fr, 0, sizeof fr);
    fr.granted = d->granted;
    fr.tenants = d->fres;
    rls_fair_problem_from_scenario(d->sc, d->desired, d->fsvc, d->ften, &pb);
    pb.cpu = 0.0;
    pb.mem_gb = 0.0;
    for (int32_t j = 0; j < n_nodes; j++) {
        if (nodes[j].status == RLS_NODE_FAILED || nodes[j].pool < 0 || nodes[j].pool >= d->sc->n_pools)
            continue;
        pb.cpu += d->sc->pools[nodes[j].pool].cpu;
        pb.mem_gb += d->sc->pools[nodes[j].pool].mem_gb;
    }
    if (n_nodes <= 0) {
        pb.cpu = rls_scenario_total_cpu(d->sc);
        pb.mem_gb = rls_scenario_total_mem_gb(d->sc);
    }
    if (rls_fair_project(d->fair, &pb, &fr) != RLS_OK)
        memcpy(d->granted, d->desired, sizeof(int32_t) * (size_t)d->S);
    for (int32_t i = 0; i < d->S; i++)
        d->current[i] = svc[i].desired;
    return rls_safety_apply(d->safety, time_s, d->current, d->granted, d->out, d->reasons);
}

/* libtorch's network of ck (weights copied). NULL with err. */
static struct rls_tnet *s_torch_net(const struct rls_checkpoint *ck, struct rls_err *err)
{
    struct rls_tnet *net = rls_tnet_new(ck->n_layers, ck->sizes);
    if (!net) {
        rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": libtorch: %s", rls_torch_errmsg());
        return NULL;
    }
    for (int32_t l = 0; l < ck->n_layers; l++)
        if (rls_tnet_set_layer(net, l, ck->weight[l], ck->bias[l]) != RLS_OK) {
            rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": libtorch layer %d: %s", (int)l, rls_torch_errmsg());
            rls_tnet_destroy(&net);
            return NULL;
        }
    return net;
}

/* Decision latency, native forward and libtorch forward at S services. */
static int s_bench_decisions(struct s_figs *fs, const struct rls_checkpoint *ck, struct rls_tnet *net,
                             int32_t S, int reps, struct rls_err *err)
{
    struct s_dec d;
    struct rls_mlp *mlp = NULL;
    double *t_dec = NULL, *t_nat = NULL, *t_tor = NULL;
    float *xn = NULL, *q = NULL;
    const int32_t F = RLS_ENV_N_FEATURES;
    int rc = s_dec_init(&d, ck, NULL, S, 40, err);
    if (rc != RLS_OK)
        return rc;
    t_dec = malloc(sizeof(double) * (size_t)reps);
    t_nat = malloc(sizeof(double) * (size_t)reps);
    t_tor = malloc(sizeof(double) * (size_t)reps);
    xn = malloc(sizeof(float) * (size_t)S * (size_t)F);
    q = malloc(sizeof(float) * (size_t)S * (size_t)ck->sizes[ck->n_layers]);
    if (!t_dec || !t_nat || !t_tor || !xn || !q) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, S_PROG ": out of memory");
        goto done;
    }
    if (!(mlp = rls_mlp_new(ck, S, err))) {
        rc = err->status;
        goto done;
    }
    const struct rls_svc_state *svc = rls_sim_services(d.sim);
    const struct rls_node_state *nodes = rls_sim_nodes(d.sim);
    int32_t n_nodes = rls_sim_n_nodes(d.sim);
    double time_s = rls_sim_time_s(d.sim);
    int warm = reps / 10 + 2;
    for (int r = -warm; r < reps; r++) {
        double t0 = s_now();
        if ((rc = s_decide(&d, svc, nodes, n_nodes, time_s)) != RLS_OK) {
            rc = rls_err_set(err, rc, S_PROG ": decision at %d services failed", (int)S);
            goto done;
        }
        if (r >= 0)
            t_dec[r] = s_now() - t0;
    }
    /* the same observation batch for both forward passes */
    for (int32_t i = 0; i < S; i++)
        for (int32_t j = 0; j < F; j++)
            xn[i * F + j] = (d.obs[i * F + j] - ck->obs_mean[j]) / ck->obs_std[j];
    for (int r = -warm; r < reps; r++) {
        double t0 = s_now();
        rls_mlp_forward(mlp, d.obs, S, q);
        double t1 = s_now();
        if (r >= 0)
            t_nat[r] = t1 - t0;
    }
    for (int r = -warm; r < reps; r++) {
        double t0 = s_now();
        if (rls_tnet_predict(net, xn, S, q) != RLS_OK) {
            rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": libtorch forward: %s", rls_torch_errmsg());
            goto done;
        }
        double t1 = s_now();
        if (r >= 0)
            t_tor[r] = t1 - t0;
    }
    double dp50 = s_pct(t_dec, reps, 0.5) * 1e6, dp99 = s_pct(t_dec, reps, 0.99) * 1e6;
    double np50 = s_pct(t_nat, reps, 0.5);
    double tp50 = s_pct(t_tor, reps, 0.5) * 1e6, tp99 = s_pct(t_tor, reps, 0.99) * 1e6;
    double flop = 2.0 * (double)rls_mlp_flops(mlp) * (double)S;
    char n1[96], n2[96];
    snprintf(n1, sizeof n1, "agent_decision_p50_us_%d", (int)S);
    snprintf(n2, sizeof n2, "libtorch_forward_p50_us_%d", (int)S);
    s_add(fs, n1, dp50, "us", n2, tp50, tp50 / dp50);
    snprintf(n1, sizeof n1, "agent_decision_p99_us_%d", (int)S);
    snprintf(n2, sizeof n2, "libtorch_forward_p99_us_%d", (int)S);
    s_add(fs, n1, dp99, "us", n2, tp99, tp99 / dp99);
    snprintf(n1, sizeof n1, "native_forward_gflops_%d", (int)S);
    snprintf(n2, sizeof n2, "libtorch_forward_gflops_%d", (int)S);
    double ng = flop / np50 * 1e-9, tg = flop / (tp50 * 1e-6) * 1e-9;
    s_add(fs, n1, ng, "GFLOP/s", n2, tg, ng / tg);
done:
    rls_mlp_destroy(&mlp);
    free(t_dec);
    free(t_nat);
    free(t_tor);
    free(xn);
    free(q);
    s_dec_free(&d);
    return rc;
}

/* ----------------------------------------------------------------- round trip */

struct s_rt {
    const char *endpoint;
    struct s_dec *d;           /* NULL: bare echo of `reply` */
    const struct rls_proto_buf *reply;
    int ok;                    /* 1 when the agent side ended cleanly */
    char msg[RLS_ERRMSG_MAX + 64];
};

/* The agent side: a client that says "hi", then answers every message until
 * one of a single byte "q". */
static void *s_rt_agent(void *arg)
{
    struct s_rt *rt = arg;
    struct rls_err err = {0};
    struct rls_transport_params tp = rls_transport_default_params();
    tp.insecure = 1;    /* a loopback benchmark in one process: plain TCP */
    struct rls_transport *t = rls_transport_client_new(rt->endpoint, &tp, &err);
    struct rls_proto_buf in = {0}, outb = {0};
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    if (!t) {
        snprintf(rt->msg, sizeof rt->msg, "%s", err.msg);
        return NULL;
    }
    if (rls_transport_send(t, NULL, "hi", 2, 5000) != RLS_OK) {
        snprintf(rt->msg, sizeof rt->msg, "%s", rls_transport_errmsg(t));
        goto done;
    }
    for (;;) {
        int got = rls_transport_recv(t, NULL, &in, 10000);
        if (got != 1) {
            snprintf(rt->msg, sizeof rt->msg, "agent side: recv: %s", got == 0 ? "timed out" : rls_transport_errmsg(t));
            goto done;
        }
        if (in.len == 1 && in.data[0] == 'q')
            break;
        const void *data = rt->reply->data;
        size_t len = rt->reply->len;
        if (rt->d) {
            if (rls_proto_decode(in.data, in.len, &m, &err) != RLS_OK) {
                snprintf(rt->msg, sizeof rt->msg, "agent side: decode: %s", err.msg);
                goto done;
            }
            const struct rls_proto_state *st = &m.state;
            if (s_decide(rt->d, st->services, st->nodes, st->n_nodes, st->info.time_s) != RLS_OK) {
                snprintf(rt->msg, sizeof rt->msg, "agent side: decision failed");
                goto done;
            }
            struct rls_proto_actions ac = {rt->d->S, rt->d->out, rt->d->place};
            if (rls_proto_encode_actions(&outb, m.seq + 1, rls_proto_now_ns(), m.seq, &ac, NULL, &err) != RLS_OK) {
                snprintf(rt->msg, sizeof rt->msg, "agent side: encode: %s", err.msg);
                goto done;
            }
            data = outb.data;
            len = outb.len;
        }
        if (rls_transport_send(t, NULL, data, len, 5000) != RLS_OK) {
            snprintf(rt->msg, sizeof rt->msg, "agent side: send: %s", rls_transport_errmsg(t));
            goto done;
        }
    }
    rt->ok = 1;
done:
    rls_proto_msg_clear(&m);
    rls_proto_buf_free(&in);
    rls_proto_buf_free(&outb);
    rls_transport_destroy(&t);
    return NULL;
}

/* Round trips of `req` answered by the agent side (d) or a bare echo of
 * `reply` (d NULL): times[reps] in seconds. */
static int s_rt_run(struct s_dec *d, const struct rls_proto_buf *req, const struct rls_proto_buf *reply,
                    double *times, int reps, struct rls_err *err)
{
    struct rls_transport_params tp = rls_transport_default_params();
    tp.insecure = 1;    /* a loopback benchmark in one process: plain TCP */
    struct rls_transport *srv = rls_transport_server_new("tcp://127.0.0.1:*", &tp, err);
    struct rls_transport_peer peer;
    struct rls_proto_buf in = {0};
    struct s_rt rt;
    pthread_t th;
    int rc = RLS_OK, started = 0;
    if (!srv)
        return err->status;
    memset(&rt, 0, sizeof rt);
    rt.endpoint = rls_transport_endpoint(srv);
    rt.d = d;
    rt.reply = reply;
    if (pthread_create(&th, NULL, s_rt_agent, &rt) != 0) {
        rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": pthread_create failed");
        goto done;
    }
    started = 1;
    memset(&peer, 0, sizeof peer);
    if (rls_transport_recv(srv, &peer, &in, 10000) != 1) {
        rc = rls_err_set(err, RLS_ERR_IO, S_PROG ": round trip: no agent side (%s)", rt.msg);
        goto done;
    }
    int warm = reps / 10 + 5;
    for (int r = -warm; r < reps; r++) {
        double t0 = s_now();
        if (rls_transport_send(srv, &peer, req->data, req->len, 5000) != RLS_OK ||
            rls_transport_recv(srv, NULL, &in, 10000) != 1) {
            rc = rls_err_set(err, RLS_ERR_IO, S_PROG ": round trip: %s %s", rls_transport_errmsg(srv), rt.msg);
            goto done;
        }
        if (r >= 0)
            times[r] = s_now() - t0;
    }
done:
    if (srv && started)
        rls_transport_send(srv, &peer, "q", 1, 1000);
    if (started)
        pthread_join(th, NULL);
    if (rc == RLS_OK && !rt.ok)
        rc = rls_err_set(err, RLS_ERR_IO, S_PROG ": round trip: %s", rt.msg);
    rls_proto_buf_free(&in);
    rls_transport_destroy(&srv);
    return rc;
}

/* The default scenario's state message, through the decision loop and bare. */
static int s_bench_rtt(struct s_figs *fs, const struct rls_checkpoint *ck, int reps, struct rls_err *err)
{
    struct rls_scenario *sc = NULL;
    struct rls_sim *sim = NULL;
    struct s_dec d;
    struct rls_proto_buf req = {0}, reply = {0};
    double *tl = malloc(sizeof(double) * (size_t)reps), *tb = malloc(sizeof(double) * (size_t)reps);
    int rc = RLS_OK, have_d = 0;
    const char *y = rls_scenario_default_yaml();
    if (!tl || !tb) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, S_PROG ": out of memory");
        goto done;
    }
    if ((rc = rls_scenario_parse(y, strlen(y), "default", &sc, err)) != RLS_OK)
        goto done;
    /* the decision pipeline for the default scenario */
    if ((rc = s_dec_init(&d, ck, sc, 0, 0, err)) != RLS_OK)
        goto done;
    have_d = 1;
    /* a real state of the default scenario */
    if (!(sim = rls_sim_new(sc, err))) {
        rc = err->status;
        goto done;
    }
    if ((rc = rls_sim_reset(sim, 1)) != RLS_OK) {
        rc = rls_err_set(err, rc, S_PROG ": sim reset: %s", rls_sim_errmsg(sim));
        goto done;
    }
    for (int t = 0; t < 40 && rc == RLS_OK; t++) {
        for (int32_t i = 0; i < d.S; i++) {
            d.desired[i] = rls_sim_services(sim)[i].desired;
            d.place[i] = RLS_PLACE_SPREAD;
        }
        rc = rls_sim_step(sim, d.desired, d.place);
    }
    if (rc != RLS_OK) {
        rc = rls_err_set(err, rc, S_PROG ": sim step: %s", rls_sim_errmsg(sim));
        goto done;
    }
    struct rls_proto_state st;
    memset(&st, 0, sizeof st);
    st.info = *rls_sim_last(sim);
    st.info.time_s = rls_sim_time_s(sim);
    st.n_services = rls_sim_n_services(sim);
    st.services = (struct rls_svc_state *)rls_sim_services(sim);
    st.n_nodes = rls_sim_n_nodes(sim);
    st.nodes = (struct rls_node_state *)rls_sim_nodes(sim);
    if ((rc = rls_proto_encode_state(&req, 1, rls_proto_now_ns(), &st, err)) != RLS_OK)
        goto done;
    struct rls_proto_actions ac = {d.S, d.desired, d.place};
    if ((rc = rls_proto_encode_actions(&reply, 2, rls_proto_now_ns(), 1, &ac, NULL, err)) != RLS_OK)
        goto done;
    /* interleave the two so that machine noise hits both alike */
    int half = reps / 2 > 0 ? reps / 2 : 1;
    int nl = 0, nb = 0;
    for (int pass = 0; pass < 2 && nl < reps; pass++) {
        int k = pass == 0 ? half : reps - half;
        if (k <= 0)
            continue;
        if ((rc = s_rt_run(NULL, &req, &reply, tb + nb, k, err)) != RLS_OK)
            goto done;
        nb += k;
        if ((rc = s_rt_run(&d, &req, &reply, tl + nl, k, err)) != RLS_OK)
            goto done;
        nl += k;
    }
    double lp50 = s_pct(tl, nl, 0.5) * 1e6, lp99 = s_pct(tl, nl, 0.99) * 1e6;
    double bp50 = s_pct(tb, nb, 0.5) * 1e6, bp99 = s_pct(tb, nb, 0.99) * 1e6;
    char nbuf[96];
    snprintf(nbuf, sizeof nbuf, "loop_rtt_p50_us_%zuB", req.len);
    s_add(fs, nbuf, lp50, "us", "zmq_bare_rtt_p50_us", bp50, lp50 / bp50);
    snprintf(nbuf, sizeof nbuf, "loop_rtt_p99_us_%zuB", req.len);
    s_add(fs, nbuf, lp99, "us", "zmq_bare_rtt_p99_us", bp99, lp99 / bp99);
done:
    if (have_d)
        s_dec_free(&d);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
    rls_proto_buf_free(&req);
    rls_proto_buf_free(&reply);
    free(tl);
    free(tb);
    return rc;
}

/* ----------------------------------------------------------------- memory */

static void *s_served_thread(void *arg)
{
    rls_served_run(arg);
    return NULL;
}

/* VmRSS and VmHWM of pid in kB; 0 when unreadable. */
static void s_read_status(pid_t pid, long *rss_kb, long *hwm_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            *rss_kb = v;
        else if (sscanf(line, "VmHWM: %ld", &v) == 1)
            *hwm_kb = v;
    }
    fclose(f);
}

/* The rlsched-agent binary next to this executable, into buf. */
static int s_agent_path(char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(buf, len, "%s/rlsched-agent", self);
    return access(buf, X_OK) == 0 ? 0 : -1;
}

/* Runs the real rlsched-agent against a fresh lock-step served simulator of
 * the default scenario for `steps` decisions, with the checkpoint ckpt_path
 * or, when NULL, without one (the HPA acts), and reports its last VmRSS and
 * VmHWM in kB before it exits. Returns RLS_OK, or an error in err. */
static int s_agent_memory(const char *ckpt_path, int steps, long *rss_out, long *hwm_out, struct rls_err *err)
{
    char agent[PATH_MAX + 32], steps_s[32];
    struct rls_scenario *sc = NULL;
    struct rls_served *srv = NULL;
    pthread_t th;
    int rc = RLS_OK, started = 0;
    pid_t pid = -1;
    long rss = 0, hwm = 0;
    const char *y = rls_scenario_default_yaml();
    if (s_agent_path(agent, sizeof agent) != 0)
        return rls_err_set(err, RLS_ERR_IO, S_PROG ": no rlsched-agent next to this program (%s)", agent);
    if ((rc = rls_scenario_parse(y, strlen(y), "default", &sc, err)) != RLS_OK)
        return rc;
    struct rls_served_params sp = rls_served_default_params();
    sp.scenario = sc;
    sp.speed = 0;
    sp.transport.insecure = 1;  /* loopback, the agent started here with --insecure */
    if (!(srv = rls_served_new("tcp://127.0.0.1:*", &sp, err))) {
        rc = err->status;
        goto done;
    }
    if (pthread_create(&th, NULL, s_served_thread, srv) != 0) {
        rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": pthread_create failed");
        goto done;
    }
    started = 1;
    snprintf(steps_s, sizeof steps_s, "%d", steps);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        if (ckpt_path)
            execl(agent, agent, "--connect", rls_served_endpoint(srv), "--policy", ckpt_path, "--steps", steps_s,
                  "--timeout", "30", "--quiet", "--insecure", (char *)NULL);
        else
            execl(agent, agent, "--connect", rls_served_endpoint(srv), "--steps", steps_s, "--timeout", "30",
                  "--quiet", "--insecure", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    for (;;) {
        long r = 0, h = 0;
        s_read_status(pid, &r, &h);
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (r > 0) {   /* read while alive: the last values before it exits */
            rss = r;
            hwm = h;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    pid = -1;
    int64_t done_steps = rls_served_stats(srv).actions;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || rss <= 0) {
        rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": %s exited with status %d after %" PRId64 " actions",
                         agent, WIFEXITED(status) ? WEXITSTATUS(status) : -1, done_steps);
        goto done;
    }
    if (done_steps < steps / 2) {
        rc = rls_err_set(err, RLS_ERR_EXTERNAL, S_PROG ": the agent answered only %" PRId64 " of %d states",
                         done_steps, steps);
        goto done;
    }
    *rss_out = rss;
    *hwm_out = hwm;
done:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (started) {
        rls_served_stop(srv);
        pthread_join(th, NULL);
    }
    rls_served_destroy(&srv);
    rls_scenario_destroy(&sc);
    return rc;
}

/* The agent's memory with the checkpoint against the same agent without one
 * (HPA only: the process, ZeroMQ, the protocol and the HPA fallback), both
 * measured here; the 20 MB aim is a reference. */
static int s_bench_memory(struct s_figs *fs, const char *ckpt_path, int steps, struct rls_err *err)
{
    long rss = 0, hwm = 0, base_rss = 0, base_hwm = 0;
    int rc = s_agent_memory(NULL, steps, &base_rss, &base_hwm, err);
    if (rc == RLS_OK)
        rc = s_agent_memory(ckpt_path, steps, &rss, &hwm, err);
    if (rc != RLS_OK)
        return rc;
    s_add(fs, "agent_rss_mb", (double)rss / 1024.0, "MB", "agent_hpa_only_rss_mb", (double)base_rss / 1024.0,
          (double)rss / (double)base_rss);
    s_set_reference(fs, "aim_rss_mb", S_AIM_RSS_MB);
    s_add(fs, "agent_peak_rss_mb", (double)hwm / 1024.0, "MB", "agent_hpa_only_peak_rss_mb",
          (double)base_hwm / 1024.0, (double)hwm / (double)base_hwm);
    s_set_reference(fs, "aim_rss_mb", S_AIM_RSS_MB);
    return RLS_OK;
}

/* ------------------------------------------------------------------ output */

static void s_print(const struct s_figs *fs, int json)
{
    if (!json)
        printf("%-32s %12s %-8s %-30s %12s %8s\n", "name", "value", "unit", "baseline", "baseline", "ratio");
    for (int i = 0; i < fs->n; i++) {
        const struct s_figure *f = &fs->f[i];
        if (json) {
            if (rls_bench_json_print(f->name, f->value, f->unit, f->baseline_name, f->baseline_value, f->ratio,
                                     f->reference_name, f->reference_value) != 0)
                fprintf(stderr, S_PROG ": out of memory printing %s\n", f->name);
        } else {
            printf("%-32s %12.4g %-8s %-30s %12.4g %8.3g\n", f->name, f->value, f->unit, f->baseline_name,
                   f->baseline_value, f->ratio);
            if (f->reference_name)
                printf("%-32s %12s %-8s %-30s %12.4g\n", "", "", "  ref:", f->reference_name, f->reference_value);
        }
    }
    if (!json)
        printf("ratio: latency and GFLOP/s = speedup over libtorch (> 1: faster); round trip = loop / bare "
               "(aim <= 1.5); memory = with checkpoint / HPA only (ref: the 20 MB aim)\n");
    fflush(stdout);
}

static void s_usage(FILE *f)
{
    fprintf(f, "usage: rlsched bench agent [--json] [--quick] [--policy CHECKPOINT.h5]\n"
               "  decision latency (1, 100, 1000 services) against libtorch, native GFLOP/s,\n"
               "  ZeroMQ loop round trip against a bare request/reply, rlsched-agent's memory\n");
}

int rls_bench_agent(int argc, char **argv)
{
    int json = 0, quick = 0, ret = 1;
    char ckpt_path[PATH_MAX];
    struct rls_checkpoint *ck = NULL;
    struct rls_tnet *net = NULL;
    struct rls_err err = {0};
    struct s_figs fs;
    memset(&fs, 0, sizeof fs);
    snprintf(ckpt_path, sizeof ckpt_path, "%s%s", RLS_SOURCE_DIR, S_DEFAULT_CKPT);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
            snprintf(ckpt_path, sizeof ckpt_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, S_PROG ": unexpected argument '%s' (rlsched bench --help)\n", argv[i]);
            return 2;
        }
    }
    if (rls_checkpoint_load(ckpt_path, &ck, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    if (rls_torch_setup(1, 1, NULL, 0) != RLS_OK) {
        fprintf(stderr, S_PROG ": libtorch setup: %s\n", rls_torch_errmsg());
        goto done;
    }
    if (!(net = s_torch_net(ck, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    const int32_t sizes[3] = {1, 100, 1000};
    const int reps_full[3] = {5000, 1000, 200}, reps_quick[3] = {50, 20, 5};
    for (int k = 0; k < 3; k++)
        if (s_bench_decisions(&fs, ck, net, sizes[k], quick ? reps_quick[k] : reps_full[k], &err) != RLS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            goto done;
        }
    if (s_bench_rtt(&fs, ck, quick ? 40 : 4000, &err) != RLS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    if (s_bench_memory(&fs, ckpt_path, quick ? 50 : 300, &err) != RLS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    s_print(&fs, json);
    ret = 0;
done:
    rls_tnet_destroy(&net);
    rls_checkpoint_destroy(&ck);
    return ret;
}

#endif
