/* agent.c - the inference agent's control loop (agent.h): hello, then for
 * every state: features -> policy (native forward pass) and HPA -> fallback
 * verdict -> fair projection -> safety filter -> actions -> replay record ->
 * metrics. One thread runs the loop; signals only set atomic flags.
 *
 * The recorder drives an rls_env over a "live" backend whose views are the
 * last state received, so the recorded observations, masks and rewards are
 * computed by the very code `rlsched record` uses (env.c), step by step: a
 * state that answers our previous actions is one env step.
 */
#include "agent.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../env/action_map.h"
#include "../env/env.h"
#include "../env/features.h"
#include "../env/protocol.h"
#include "../policies/checkpoint.h"
#include "../policies/learned.h"
#include "../policies/policy.h"
#include "../replay/replay.h"
#include "fairness.h"
#include "metrics.h"

#ifdef RLS_VERSION
#define S_VERSION RLS_VERSION
#else
#define S_VERSION "0.0.0"
#endif

#define S_HISTORY_LEN 20        /* arrival history of the features (the env's default) */
#define S_LINE_MAX 1024         /* longest log line, bytes */
#define S_SEND_TIMEOUT_MS 200   /* an actions or hello send waits at most this long */
#define S_SOFTWARE "rlsched-agent 0.1.0"

/* ---------------------------------------------------------------------------
 * State. */

/* Everything that depends on the cluster's description (rebuilt when a hello
 * describes a different cluster). */
struct s_cluster {
    struct rls_scenario *sc;        /* owned, from the hello */
    char *yaml;                     /* the hello's scenario_yaml (owned) or NULL */
    struct rls_policy *pol;         /* the checkpoint's policy, NULL without one */
    struct rls_policy *hpa;         /* the fallback */
    struct rls_features *feat;      /* the policy's features, for the OOD check */
    struct rls_safety *safety;
    struct rls_fair *fair;
    struct rls_env *env;            /* recorder (NULL when not recording) */
    int32_t S, T;
    int64_t step;                   /* decisions since built: the HPA's clock */
    float *obs;                     /* [S, F] */
    int32_t *pol_desired, *hpa_desired, *granted, *out, *current, *mins, *maxs;
    uint8_t *pol_place, *hpa_place, *row_ood;
    uint32_t *reasons;
    struct rls_fair_service *fsvc;  /* [S] */
    struct rls_fair_tenant *ften;   /* [T] */
    struct rls_fair_tenant_result *fres; /* [T] */
    /* recorder buffers */
    int32_t nd, A;
    float *rec_obs;                 /* [S, F] observation of the state last decided */
    uint8_t *rec_mask;              /* [S, A] its flat mask */
    uint8_t *emask;                 /* [S, nd + 2] env mask scratch */
    int32_t *rec_act;               /* [S] flat action sent for it */
    int32_t *rec_desired;           /* [S] desired sent */
    uint8_t *rec_place;             /* [S] placement sent */
    float *srew;                    /* [S] */
};

/* The metric series ids (negative = not created). */
struct s_metric_ids {
    int32_t states, refused, decisions, latency, fb_entries, fb_active, jain, contended;
    int32_t stale, recorded, send_fail, cluster_err, ckpt_loaded, hellos;
    int32_t fallback[RLS_FALLBACK_COUNT];
    int32_t safety[RLS_SAFE_N_FLAGS];
    int32_t scale[3];               /* up, down, hold */
    int32_t reload[2];              /* ok, failed */
    int32_t fam_desired, fam_share, fam_entitle, fam_granted;
    int32_t n_svc_series, n_ten_series;
    int32_t *desired;               /* [n_svc_series] */
    int32_t *share, *entitle, *granted; /* [n_ten_series] */
};

struct rls_agent {
    struct rls_agent_params p;
    char *connect, *policy_path, *record_path, *metrics_addr, *hpa_manifest;
    char *curve_secret, *curve_server, *curve_allow;
    struct rls_transport *t;
    struct rls_metrics *m;
    struct s_metric_ids mid;
    struct rls_checkpoint *ck;      /* the loaded checkpoint (NULL: none) */
    struct s_cluster *cl;           /* NULL before the first hello */
    struct rls_proto_msg rx;        /* receive buffer */
    struct rls_proto_msg st;        /* the last state (owned arrays) */
    int have_state;
    /* recording */
    struct rls_replay_writer *w;
    int rec_disabled;
    int rec_open;                   /* an episode is open in w and cl->env */
    int rec_acted;                  /* rec_act holds the actions for rec_acted_seq */
    int64_t rec_acted_seq, rec_ep_steps;
    uint64_t rec_seed;
    int32_t rec_S;                  /* services of the file */
    /* loop */
    atomic_int stop_flag, reload_flag, running;
    int64_t tx_seq;
    int stale;                      /* the cluster went silent (logged once) */
    int unreachable_logged, policy_err_logged, fair_err_logged, send_fail_logged;
    enum rls_fallback_reason last_reason;
    int have_reason;
    double last_state_mono;         /* monotonic s of the last state */
    double last_hello_mono;         /* monotonic s of the last cluster hello */
    int64_t last_seq;
    int have_seq;
    int have_sent;                  /* last_actions answer the state last_seq */
    struct rls_proto_buf last_actions; /* the encoded actions last sent */
    int64_t resent;                 /* repeated states answered with the same actions */
    pthread_mutex_t lock;           /* guards stats */
    struct rls_agent_stats stats;
    char policy_name[RLS_PATH_MAX + 32];
    char err[RLS_ERRMSG_MAX];
};

/* ---------------------------------------------------------------------------
 * Small helpers. */

static double s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double s_real(void)
{
    return (double)rls_proto_now_ns() * 1e-9;
}

static void s_log(struct rls_agent *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_log(struct rls_agent *a, int level, const char *fmt, ...)
{
    char line[S_LINE_MAX];
    va_list ap;
    if (!a->p.log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    a->p.log(a->p.log_ctx, level, line);
}

static char *s_dup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void s_lock(struct rls_agent *a)
{
    pthread_mutex_lock(&a->lock);
}

static void s_unlock(struct rls_agent *a)
{
    pthread_mutex_unlock(&a->lock);
}

static void s_minc(struct rls_agent *a, int32_t id)
{
    if (id >= 0)
        rls_metrics_inc(a->m, id);
}

static void s_mset(struct rls_agent *a, int32_t id, double v)
{
    if (id >= 0)
        rls_metrics_set(a->m, id, v);
}

static void s_set_policy_name(struct rls_agent *a)
{
    if (a->ck && a->policy_path)
        snprintf(a->policy_name, sizeof a->policy_name, "%s", a->policy_path);
    else
        snprintf(a->policy_name, sizeof a->policy_name, "hpa (no checkpoint)");
}

/* ---------------------------------------------------------------------------
 * The live env backend for the recorder: its views are the agent's last
 * state; reset and step only count (the state was installed before). */

struct s_live {
    struct rls_agent *a;    /* borrowed */
    const struct rls_scenario *sc; /* borrowed: the cluster's, which outlives the env */
    int64_t steps;
    int64_t horizon;
};

static int s_live_reset(void *self, uint64_t seed)
{
    (void)seed;
    ((struct s_live *)self)->steps = 0;
    return RLS_OK;
}

static int s_live_step(void *self, const int32_t *desired, const uint8_t *placement)
{
    (void)desired;
    (void)placement;
    ((struct s_live *)self)->steps++;
    return RLS_OK;
}

static const struct rls_scenario *s_live_scenario(const void *self)
{
    return ((const struct s_live *)self)->sc;
}

static const struct rls_svc_state *s_live_services(const void *self)
{
    return ((const struct s_live *)self)->a->st.state.services;
}

static const struct rls_node_state *s_live_nodes(const void *self, int32_t *n)
{
    const struct rls_agent *a = ((const struct s_live *)self)->a;
    if (n)
        *n = a->st.state.n_nodes;
    return a->st.state.nodes;
}

static const struct rls_step_info *s_live_last(const void *self)
{
    return &((const struct s_live *)self)->a->st.state.info;
}

static int64_t s_live_steps(const void *self)
{
    return ((const struct s_live *)self)->steps;
}

static int64_t s_live_horizon(const void *self)
{
    return ((const struct s_live *)self)->horizon;
}

static double s_live_time_s(const void *self)
{
    return ((const struct s_live *)self)->a->st.state.info.time_s;
}

static const char *s_live_errmsg(const void *self)
{
    (void)self;
    return "";
}

static void s_live_destroy(void *self)
{
    free(self);
}

static const struct rls_env_backend_ops s_live_ops = {
    .name = "live",
    .reset = s_live_reset,
    .step = s_live_step,
    .scenario = s_live_scenario,
    .services = s_live_services,
    .nodes = s_live_nodes,
    .last = s_live_last,
    .steps = s_live_steps,
    .horizon = s_live_horizon,
    .time_s = s_live_time_s,
    .errmsg = s_live_errmsg,
    .destroy = s_live_destroy,
};

/* ---------------------------------------------------------------------------
 * Metrics. */

static int s_metrics_setup(struct rls_agent *a, struct rls_err *err)
{
    struct s_metric_ids *id = &a->mid;
    const char *reasons[RLS_FALLBACK_COUNT];
    const char *flags[RLS_SAFE_N_FLAGS];
    static const char *const dirs[3] = {"up", "down", "hold"};
    static const char *const results[2] = {"ok", "failed"};
    int32_t n_buckets = 0;
    const double *buckets = rls_metrics_latency_buckets(&n_buckets);
    static const char *const svc_label[1] = {"service"};
    static const char *const ten_label[1] = {"tenant"};

    for (int i = 0; i < RLS_FALLBACK_COUNT; i++)
        reasons[i] = rls_safety_reason_str((enum rls_fallback_reason)i);
    for (int i = 0; i < RLS_SAFE_N_FLAGS; i++)
        flags[i] = rls_safety_flag_str(i);
    a->m = rls_metrics_new(NULL, err);
    if (!a->m)
        return err ? err->status : RLS_ERR_NOMEM;
    (void)rls_metrics_process(a->m);    /* process_*: skipped where /proc is missing */
    (void)rls_metrics_build_info(a->m, "rlsched_build_info", S_VERSION);
    id->states = rls_metrics_counter(a->m, "rlsched_agent_states_total",
                                     "State messages accepted from the cluster.");
    id->refused = rls_metrics_counter(a->m, "rlsched_agent_messages_refused_total",
                                      "Messages refused: malformed, not matching the cluster, or before a hello.");
    id->hellos = rls_metrics_counter(a->m, "rlsched_agent_hellos_total", "Cluster hellos accepted.");
    id->cluster_err = rls_metrics_counter(a->m, "rlsched_agent_cluster_errors_total",
                                          "Error messages received from the cluster.");
    id->decisions = rls_metrics_counter(a->m, "rlsched_agent_decisions_total",
                                        "Decisions made (actions sent).");
    id->send_fail = rls_metrics_counter(a->m, "rlsched_agent_action_send_failures_total",
                                        "Actions that could not be sent (cluster gone).");
    id->latency = rls_metrics_histogram(a->m, "rlsched_agent_decision_latency_seconds",
                                        "State received to actions sent, fairness and safety included, seconds.",
                                        buckets, n_buckets);
    rls_metrics_counter_vec(a->m, "rlsched_agent_fallback_decisions_total",
                            "Decisions by fallback verdict (none: the policy acted).", "reason",
                            RLS_FALLBACK_COUNT, reasons, id->fallback);
    id->fb_entries = rls_metrics_counter(a->m, "rlsched_agent_fallback_entries_total",
                                         "Times the agent started falling back to the HPA.");
    id->fb_active = rls_metrics_gauge(a->m, "rlsched_agent_fallback_active",
                                      "1 while the HPA acts instead of the policy.");
    rls_metrics_counter_vec(a->m, "rlsched_agent_safety_adjustments_total",
                            "Service wishes changed by the safety filter, by rule.", "rule",
                            RLS_SAFE_N_FLAGS, flags, id->safety);
    rls_metrics_counter_vec(a->m, "rlsched_agent_scale_actions_total",
                            "Per-service actions sent, by direction against the target in force.",
                            "direction", 3, dirs, id->scale);
    id->jain = rls_metrics_gauge(a->m, "rlsched_agent_fairness_jain_ratio",
                                 "Jain's index over the tenants at the last decision (1 = fair).");
    id->contended = rls_metrics_counter(a->m, "rlsched_agent_fairness_contended_total",
                                        "Decisions where the wishes did not fit and were projected.");
    id->stale = rls_metrics_counter(a->m, "rlsched_agent_stale_events_total",
                                    "Times the cluster's state went stale.");
    rls_metrics_counter_vec(a->m, "rlsched_agent_checkpoint_reloads_total",
                            "Checkpoint reloads (SIGHUP), by result.", "result", 2, results, id->reload);
    id->ckpt_loaded = rls_metrics_gauge(a->m, "rlsched_agent_checkpoint_loaded",
                                        "1 while a checkpoint is loaded.");
    id->recorded = rls_metrics_counter(a->m, "rlsched_agent_recorded_steps_total",
                                       "Transitions written to the replay file.");
    id->fam_desired = rls_metrics_family(a->m, RLS_METRIC_GAUGE, "rlsched_agent_desired_replicas",
                                         "Replicas asked for at the last decision.", 1, svc_label,
                                         NULL, 0);
    id->fam_granted = rls_metrics_family(a->m, RLS_METRIC_GAUGE, "rlsched_agent_tenant_granted_replicas",
                                         "Replicas the fair projection granted the tenant.", 1,
                                         ten_label, NULL, 0);
    id->fam_share = rls_metrics_family(a->m, RLS_METRIC_GAUGE, "rlsched_agent_tenant_share_ratio",
                                       "The tenant's dominant share of the cluster at the last decision.",
                                       1, ten_label, NULL, 0);
    id->fam_entitle = rls_metrics_family(a->m, RLS_METRIC_GAUGE, "rlsched_agent_tenant_entitlement_ratio",
                                         "The tenant's entitled share (weight share raised to its guarantee).",
                                         1, ten_label, NULL, 0);
    if (id->states < 0 || id->refused < 0 || id->decisions < 0 || id->latency < 0 ||
        id->fb_entries < 0 || id->fam_entitle < 0 || id->fam_desired < 0) {
        return rls_err_set(err, RLS_ERR_INVALID, "metrics: %s", rls_metrics_errmsg(a->m));
    }
    return RLS_OK;
}

/* Per-service and per-tenant series, made once for the first cluster. */
static void s_metrics_cluster(struct rls_agent *a, const struct rls_scenario *sc)
{
    struct s_metric_ids *id = &a->mid;
    if (id->desired || id->share)
        return;
    id->desired = malloc((size_t)sc->n_services * sizeof *id->desired);
    id->share = malloc((size_t)(sc->n_tenants > 0 ? sc->n_tenants : 1) * sizeof *id->share);
    id->entitle = malloc((size_t)(sc->n_tenants > 0 ? sc->n_tenants : 1) * sizeof *id->entitle);
    id->granted = malloc((size_t)(sc->n_tenants > 0 ? sc->n_tenants : 1) * sizeof *id->granted);
    if (!id->desired || !id->share || !id->entitle || !id->granted)
        return;
    for (int32_t i = 0; i < sc->n_services; i++) {
        const char *v[1] = {sc->services[i].name};
        id->desired[i] = rls_metrics_series(a->m, id->fam_desired, v);
        if (id->desired[i] < 0) {
            s_log(a, RLS_AGENT_LOG_WARN, "metrics: per-service series stop at service %d: %s", (int)i,
                  rls_metrics_errmsg(a->m));
            break;
        }
        id->n_svc_series = i + 1;
    }
    for (int32_t t = 0; t < sc->n_tenants; t++) {
        const char *v[1] = {sc->tenants[t].name};
        id->share[t] = rls_metrics_series(a->m, id->fam_share, v);
        id->entitle[t] = rls_metrics_series(a->m, id->fam_entitle, v);
        id->granted[t] = rls_metrics_series(a->m, id->fam_granted, v);
        if (id->share[t] < 0 || id->entitle[t] < 0 || id->granted[t] < 0)
            break;
        id->n_ten_series = t + 1;
    }
}

/* ---------------------------------------------------------------------------
 * Parameters and lifecycle. */

struct rls_agent_params rls_agent_default_params(void)
{
    struct rls_agent_params p;
    memset(&p, 0, sizeof p);
    p.fairness = 1;
    p.safety = rls_safety_default_params();
    p.transport = rls_transport_default_params();
    p.hello_retry_s = 1.0;
    p.hello_retry_max_s = 5.0;
    p.poll_ms = 100;
    return p;
}

/* "HOST:PORT", "[V6]:PORT" or "PORT" into host (NULL = loopback) and port. */
static int s_parse_addr(const char *s, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    const char *ps = colon ? colon + 1 : s;
    char *end = NULL;
    host[0] = '\0';
    if (colon) {
        const char *h = s;
        size_t n = (size_t)(colon - s);
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
            h++;
            n -= 2;
        }
        if (n == 0 || n >= host_len)
            return -1;
        memcpy(host, h, n);
        host[n] = '\0';
    }
    if (!*ps || *ps == '-' || *ps == '+')
        return -1;
    unsigned long v = strtoul(ps, &end, 10);
    if (*end || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int s_load_checkpoint(const char *path, struct rls_checkpoint **out, struct rls_err *err)
{
    *out = NULL;
    if (!path)
        return rls_err_set(err, RLS_ERR_INVALID, "no checkpoint given");
    return rls_checkpoint_load(path, out, err);
}

struct rls_agent *rls_agent_new(const struct rls_agent_params *p, struct rls_err *err)
{
    struct rls_agent *a = NULL;
    struct rls_err e2;
    if (!p || !p->connect || !*p->connect) {
        rls_err_set(err, RLS_ERR_INVALID, "agent: no cluster endpoint (--connect)");
        return NULL;
    }
    if (rls_safety_params_check(&p->safety, err) != RLS_OK)
        return NULL;
    if (p->poll_ms < 1 || p->poll_ms > 60000 || !(p->hello_retry_s > 0) ||
        !(p->hello_retry_max_s >= p->hello_retry_s) || !(p->timeout_s >= 0) || p->max_steps < 0 ||
        p->episode_steps < 0) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "agent: poll_ms must be 1..60000, hello_retry_s > 0 and <= hello_retry_max_s, "
                    "timeout_s, max_steps and episode_steps >= 0");
        return NULL;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        rls_err_set(err, RLS_ERR_NOMEM, "agent: out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    a->p = *p;
    memset(&a->mid, 0xff, sizeof a->mid);   /* every id -1 */
    a->mid.desired = a->mid.share = a->mid.entitle = a->mid.granted = NULL;
    a->mid.n_svc_series = a->mid.n_ten_series = 0;
    a->connect = s_dup(p->connect);
    a->policy_path = s_dup(p->policy_path);
    a->record_path = s_dup(p->record_path);
    a->metrics_addr = s_dup(p->metrics_addr);
    a->hpa_manifest = s_dup(p->hpa_manifest);
    a->curve_secret = s_dup(p->transport.curve_secret_file);
    a->curve_server = s_dup(p->transport.curve_server_file);
    a->curve_allow = s_dup(p->transport.curve_allow_file);
    if (!a->connect || (p->policy_path && !a->policy_path) || (p->record_path && !a->record_path) ||
        (p->metrics_addr && !a->metrics_addr) || (p->hpa_manifest && !a->hpa_manifest) || (p->transport.curve_secret_file && !a->curve_secret) ||
        (p->transport.curve_server_file && !a->curve_server) ||
        (p->transport.curve_allow_file && !a->curve_allow)) {
        rls_err_set(err, RLS_ERR_NOMEM, "agent: out of memory");
        goto fail;
    }
    a->p.connect = a->connect;
    a->p.policy_path = a->policy_path;
    a->p.record_path = a->record_path;
    a->p.metrics_addr = a->metrics_addr;
    a->p.hpa_manifest = a->hpa_manifest;
    a->p.transport.curve_secret_file = a->curve_secret;
    a->p.transport.curve_server_file = a->curve_server;
    a->p.transport.curve_allow_file = a->curve_allow;
    a->stats.last_reason = RLS_FALLBACK_NO_STATE;
    a->stats.last_jain = 1.0;

    if (s_metrics_setup(a, err) != RLS_OK)
        goto fail;
    if (a->metrics_addr) {
        char host[128];
        uint16_t port = 0;
        if (s_parse_addr(a->metrics_addr, host, sizeof host, &port) != 0) {
            rls_err_set(err, RLS_ERR_INVALID,
                        "agent: metrics address '%s': expected HOST:PORT, [V6]:PORT or PORT", a->metrics_addr);
            goto fail;
        }
        if (rls_metrics_serve(a->m, host[0] ? host : NULL, port, err) != RLS_OK)
            goto fail;
        s_log(a, RLS_AGENT_LOG_INFO, "metrics: serving http://%s%s%s:%u/metrics",
              strchr(host[0] ? host : "127.0.0.1", ':') ? "[" : "", host[0] ? host : "127.0.0.1",
              strchr(host[0] ? host : "127.0.0.1", ':') ? "]" : "", (unsigned)rls_metrics_port(a->m));
    }

    /* the checkpoint: a bad one is not an error, the HPA acts */
    if (a->policy_path) {
        rls_err_clear(&e2);
        if (s_load_checkpoint(a->policy_path, &a->ck, &e2) != RLS_OK) {
            s_log(a, RLS_AGENT_LOG_WARN, "checkpoint: %s; the HPA acts (fallback no_checkpoint)", e2.msg);
        } else {
            s_log(a, RLS_AGENT_LOG_INFO,
                  "checkpoint: loaded %s (%s, %d layers, %" PRId64 " steps, trained on '%s')",
                  a->policy_path, a->ck->algorithm[0] ? a->ck->algorithm : "unknown algorithm",
                  (int)a->ck->n_layers, a->ck->steps,
                  a->ck->scenario_name[0] ? a->ck->scenario_name : "?");
        }
    } else {
        s_log(a, RLS_AGENT_LOG_WARN, "checkpoint: none given; the HPA acts (fallback no_checkpoint)");
    }
    a->stats.checkpoint_loaded = a->ck != NULL;
    s_mset(a, a->mid.ckpt_loaded, a->ck ? 1.0 : 0.0);
    s_set_policy_name(a);

    a->t = rls_transport_client_new(a->connect, &a->p.transport, err);
    if (!a->t)
        goto fail;
    return a;
fail:
    rls_agent_destroy(&a);
    return NULL;
}

static void s_cluster_destroy(struct s_cluster **pc)
{
    struct s_cluster *c = pc ? *pc : NULL;
    if (!c)
        return;
    rls_env_destroy(&c->env);
    rls_policy_destroy(&c->pol);
    rls_policy_destroy(&c->hpa);
    rls_features_destroy(&c->feat);
    rls_safety_destroy(&c->safety);
    rls_fair_destroy(&c->fair);
    rls_scenario_destroy(&c->sc);
    free(c->yaml);
    free(c->obs);
    free(c->pol_desired);
    free(c->hpa_desired);
    free(c->granted);
    free(c->out);
    free(c->current);
    free(c->mins);
    free(c->maxs);
    free(c->pol_place);
    free(c->hpa_place);
    free(c->row_ood);
    free(c->reasons);
    free(c->fsvc);
    free(c->ften);
    free(c->fres);
    free(c->rec_obs);
    free(c->rec_mask);
    free(c->emask);
    free(c->rec_act);
    free(c->rec_desired);
    free(c->rec_place);
    free(c->srew);
    free(c);
    *pc = NULL;
}

/* ---------------------------------------------------------------------------
 * Recording. */

static void s_rec_fail(struct rls_agent *a, const char *what)
{
    struct rls_err e2;
    s_log(a, RLS_AGENT_LOG_ERROR, "record: %s: %s; recording stopped (committed episodes stay in %s)",
          what, a->w ? rls_replay_writer_errmsg(a->w) : "", a->record_path);
    rls_replay_writer_close(&a->w, &e2);
    a->rec_disabled = 1;
    a->rec_open = 0;
    a->rec_acted = 0;
}

/* Commits the open episode (or drops it when it has no step). */
static void s_rec_end(struct rls_agent *a)
{
    struct s_cluster *c = a->cl;
    if (!a->rec_open || !a->w)
        return;
    a->rec_open = 0;
    a->rec_acted = 0;
    if (a->rec_ep_steps == 0) {
        rls_replay_writer_abort_episode(a->w);
        return;
    }
    if (rls_replay_writer_end_episode(a->w, c->rec_obs, c->rec_mask) != RLS_OK) {
        s_rec_fail(a, "end of episode");
        return;
    }
    s_lock(a);
    a->stats.recorded_episodes++;
    s_unlock(a);
    s_log(a, RLS_AGENT_LOG_INFO, "record: episode of %" PRId64 " steps committed to %s (%" PRId64
          " episodes, %" PRId64 " steps in all)", a->rec_ep_steps, a->record_path,
          rls_replay_writer_n_episodes(a->w), rls_replay_writer_n_steps(a->w));
}

/* The flat mask [S, A] of the env's current state into c->rec_mask. */
static int s_rec_mask(struct s_cluster *c)
{
    if (rls_env_action_mask(c->env, c->emask) != RLS_OK)
        return RLS_ERR_STATE;
    return rls_action_mask_flatten(c->emask, c->S, c->nd, RLS_ENV_N_PLACEMENTS, c->rec_mask);
}

/* Opens the replay file for the cluster c (first hello). */
static void s_rec_open(struct rls_agent *a)
{
    struct s_cluster *c = a->cl;
    struct rls_replay_meta meta;
    struct rls_err e2;
    memset(&meta, 0, sizeof meta);
    if (!a->record_path || a->rec_disabled || a->w || !c->env)
        return;
    meta.n_services = c->S;
    meta.n_features = RLS_ENV_N_FEATURES;
    meta.n_deltas = c->nd;
    memcpy(meta.deltas, rls_env_deltas(c->env), (size_t)c->nd * sizeof *meta.deltas);
    meta.n_placements = RLS_ENV_N_PLACEMENTS;
    meta.n_actions = c->A;
    snprintf(meta.scenario_name, sizeof meta.scenario_name, "%s", c->sc->name);
    meta.scenario_yaml = c->yaml ? s_dup(c->yaml) : rls_scenario_to_yaml(c->sc, NULL);
    snprintf(meta.trace, sizeof meta.trace, "live:%s", a->connect);
    snprintf(meta.behavior, sizeof meta.behavior, "rlsched-agent %.200s%s%s, fallback hpa",
             a->policy_name, a->p.dry_run ? " (dry run)" : "", a->p.fairness ? ", fair" : "");
    meta.epsilon = 0.0;
    const struct rls_space *os = rls_env_observation_space(c->env);
    if (os && os->kind == RLS_SPACE_BOX && os->size == (int64_t)c->S * RLS_ENV_N_FEATURES) {
        meta.obs_low = malloc(RLS_ENV_N_FEATURES * sizeof *meta.obs_low);
        meta.obs_high = malloc(RLS_ENV_N_FEATURES * sizeof *meta.obs_high);
        if (meta.obs_low && meta.obs_high) {
            memcpy(meta.obs_low, os->low, RLS_ENV_N_FEATURES * sizeof *meta.obs_low);
            memcpy(meta.obs_high, os->high, RLS_ENV_N_FEATURES * sizeof *meta.obs_high);
        }
    }
    rls_err_clear(&e2);
    a->w = rls_replay_writer_open(a->record_path, &meta, &e2);
    rls_replay_meta_clear(&meta);
    if (!a->w) {
        s_log(a, RLS_AGENT_LOG_ERROR, "record: %s; recording disabled", e2.msg);
        a->rec_disabled = 1;
        return;
    }
    a->rec_S = c->S;
    s_log(a, RLS_AGENT_LOG_INFO, "record: writing transitions to %s (%d services, episodes of %" PRId64
          " steps)", a->record_path, (int)c->S, rls_env_horizon(c->env));
}

/* Before deciding on the state just installed (seq): a state that answers
 * our actions for seq - 1 is one env step, recorded; anything else ends the
 * episode. Then an episode is opened on this state if none is. */
static void s_rec_before(struct rls_agent *a, int64_t seq)
{
    struct s_cluster *c = a->cl;
    struct rls_step_result r;
    if (!a->w || !c || !c->env)
        return;
    if (a->rec_open && a->rec_acted && seq == a->rec_acted_seq + 1) {
        if (rls_env_step_replicas(c->env, c->rec_desired, c->rec_place, &r) != RLS_OK) {
            s_log(a, RLS_AGENT_LOG_WARN, "record: %s; episode ended", rls_env_errmsg(c->env));
            s_rec_end(a);
        } else {
            for (int32_t i = 0; i < c->S; i++)
                c->srew[i] = (float)r.service_reward[i];
            struct rls_replay_info info = {
                .cost_usd = r.info->cost_usd, .arrivals = r.info->arrivals, .served = r.info->served,
                .dropped = r.info->dropped, .over_slo = r.info->over_slo, .nodes_on = r.info->nodes_on};
            if (rls_replay_writer_add_step(a->w, c->rec_obs, c->rec_act, r.reward, c->srew, c->rec_mask,
                                           r.terminated, r.truncated) != RLS_OK ||
                rls_replay_writer_add_info(a->w, &info) != RLS_OK) {
                s_rec_fail(a, "add step");
                return;
            }
            a->rec_ep_steps++;
            s_lock(a);
            a->stats.recorded_steps++;
            s_unlock(a);
            s_minc(a, a->mid.recorded);
            memcpy(c->rec_obs, r.obs, (size_t)c->S * RLS_ENV_N_FEATURES * sizeof *c->rec_obs);
            s_rec_mask(c);
            if (r.terminated || r.truncated)
                s_rec_end(a);
        }
    } else if (a->rec_open) {
        s_rec_end(a);   /* a gap: the transition is unknown */
    }
    a->rec_acted = 0;
    if (!a->w || a->rec_open)
        return;
    if (rls_env_reset(c->env, a->rec_seed, c->rec_obs) != RLS_OK || s_rec_mask(c) != RLS_OK) {
        s_log(a, RLS_AGENT_LOG_WARN, "record: env reset: %s", rls_env_errmsg(c->env));
        return;
    }
    char pname[64];
    const char *base = strrchr(a->policy_name, '/');
    snprintf(pname, sizeof pname, "agent:%.50s", base ? base + 1 : a->policy_name);
    if (rls_replay_writer_begin_episode(a->w, a->rec_seed, pname) != RLS_OK) {
        s_rec_fail(a, "begin episode");
        return;
    }
    a->rec_seed++;
    a->rec_open = 1;
    a->rec_ep_steps = 0;
}

/* After deciding: the actions sent for the state seq, as flat indices (the
 * allowed action nearest to the replicas sent: rls_env_actions_from_targets,
 * the mapping `rlsched record` uses for a baseline's target). */
static void s_rec_after(struct rls_agent *a, int64_t seq, const uint8_t *placement)
{
    struct s_cluster *c = a->cl;
    if (!a->w || !a->rec_open || !c->env)
        return;
    for (int32_t i = 0; i < c->S; i++)
        c->rec_place[i] = placement[i] < RLS_ENV_N_PLACEMENTS ? placement[i] : (uint8_t)RLS_PLACE_SPREAD;
    if (rls_env_action_mask(c->env, c->emask) != RLS_OK ||
        rls_env_actions_from_targets(c->env, c->emask, c->out, c->rec_place, c->rec_act, NULL) != RLS_OK) {
        s_log(a, RLS_AGENT_LOG_WARN, "record: %s; episode ended", rls_env_errmsg(c->env));
        s_rec_end(a);
        return;
    }
    memcpy(c->rec_desired, c->out, (size_t)c->S * sizeof *c->rec_desired);
    a->rec_acted = 1;
    a->rec_acted_seq = seq;
}

/* ---------------------------------------------------------------------------
 * The cluster: built from a hello. */

/* 1 when a and b describe the same services, tenants and pools (limits and
 * sizes), so everything built for a serves b. */
static int s_same_cluster(const struct rls_scenario *a, const struct rls_scenario *b)
{
    if (a->n_services != b->n_services || a->n_tenants != b->n_tenants || a->n_pools != b->n_pools ||
        a->step_s != b->step_s)
        return 0;
    for (int32_t i = 0; i < a->n_services; i++) {
        const struct rls_service_spec *x = &a->services[i], *y = &b->services[i];
        if (strcmp(x->name, y->name) != 0 || x->tenant != y->tenant || x->min_replicas != y->min_replicas ||
            x->max_replicas != y->max_replicas || x->cpu != y->cpu || x->mem_gb != y->mem_gb ||
            x->capacity_rps != y->capacity_rps)
            return 0;
    }
    for (int32_t t = 0; t < a->n_tenants; t++) {
        const struct rls_tenant *x = &a->tenants[t], *y = &b->tenants[t];
        if (strcmp(x->name, y->name) != 0 || x->weight != y->weight ||
            x->guaranteed_replicas != y->guaranteed_replicas || x->max_replicas != y->max_replicas)
            return 0;
    }
    for (int32_t k = 0; k < a->n_pools; k++)
        if (a->pools[k].count != b->pools[k].count || a->pools[k].cpu != b->pools[k].cpu ||
            a->pools[k].mem_gb != b->pools[k].mem_gb)
            return 0;
    return 1;
}

/* Builds the policy of the checkpoint ck for c's scenario (NULL on failure,
 * logged). */
static struct rls_policy *s_build_policy(struct rls_agent *a, const struct rls_checkpoint *ck,
                                         const char *name, const struct rls_scenario *sc,
                                         struct rls_err *err)
{
    (void)a;
    if (!ck)
        return NULL;
    return rls_learned_from_checkpoint(ck, name, sc, err);
}

/* Takes ownership of sc and yaml. Returns the new cluster or NULL (logged). */
static struct s_cluster *s_cluster_new(struct rls_agent *a, struct rls_scenario *sc, char *yaml)
{
    struct rls_err e2;
    struct s_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        rls_scenario_destroy(&sc);
        free(yaml);
        s_log(a, RLS_AGENT_LOG_ERROR, "hello: out of memory");
        return NULL;
    }
    c->sc = sc;
    c->yaml = yaml;
    c->S = sc->n_services;
    c->T = sc->n_tenants;
    size_t S = (size_t)c->S, T = (size_t)(c->T > 0 ? c->T : 1);
    rls_err_clear(&e2);
    /* the fallback runs the operator's HPA manifests when given */
    if (a->hpa_manifest) {
        char names[256] = "";
        size_t at = 0;
        if (rls_scenario_apply_hpa_manifest(sc, a->hpa_manifest, &e2) != RLS_OK)
            goto fail;
        for (int32_t i = 0; i < sc->n_services && at + 2 < sizeof names; i++)
            if (sc->services[i].hpa.present) {
                int w = snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "",
                                 sc->services[i].name);
                at += w > 0 ? (size_t)w : 0;
            }
        s_log(a, RLS_AGENT_LOG_INFO, "hpa: the fallback runs the manifests of %s for %s",
              a->hpa_manifest, names);
    }
    c->hpa = rls_policy_new("hpa", sc, &e2);
    if (!c->hpa)
        goto fail;
    c->feat = rls_features_new(sc, S_HISTORY_LEN, &e2);
    if (!c->feat)
        goto fail;
    c->mins = malloc(S * sizeof *c->mins);
    c->maxs = malloc(S * sizeof *c->maxs);
    if (!c->mins || !c->maxs)
        goto nomem;
    for (size_t i = 0; i < S; i++) {
        c->mins[i] = sc->services[i].min_replicas;
        c->maxs[i] = sc->services[i].max_replicas;
    }
    c->safety = rls_safety_new(&a->p.safety, c->S, c->mins, c->maxs, &e2);
    if (!c->safety)
        goto fail;
    c->fair = rls_fair_new(NULL, &e2);
    if (!c->fair)
        goto fail;
    c->obs = malloc(S * RLS_ENV_N_FEATURES * sizeof *c->obs);
    c->pol_desired = malloc(S * sizeof(int32_t));
    c->hpa_desired = malloc(S * sizeof(int32_t));
    c->granted = malloc(S * sizeof(int32_t));
    c->out = malloc(S * sizeof(int32_t));
    c->current = malloc(S * sizeof(int32_t));
    c->pol_place = malloc(S);
    c->hpa_place = malloc(S);
    c->row_ood = malloc(S);
    c->reasons = malloc(S * sizeof(uint32_t));
    c->fsvc = malloc(S * sizeof *c->fsvc);
    c->ften = malloc(T * sizeof *c->ften);
    c->fres = malloc(T * sizeof *c->fres);
    if (!c->obs || !c->pol_desired || !c->hpa_desired || !c->granted || !c->out || !c->current ||
        !c->pol_place || !c->hpa_place || !c->row_ood || !c->reasons || !c->fsvc || !c->ften || !c->fres)
        goto nomem;
    if (a->ck) {
        c->pol = s_build_policy(a, a->ck, a->policy_path, sc, &e2);
        if (!c->pol)
            s_log(a, RLS_AGENT_LOG_WARN, "checkpoint: %s does not fit this cluster: %s; the HPA acts",
                  a->policy_path, e2.msg);
    }
    if (a->record_path && !a->rec_disabled) {
        struct rls_env_params ep = rls_env_default_params();
        struct s_live *live = calloc(1, sizeof *live);
        if (!live)
            goto nomem;
        live->a = a;
        live->sc = sc;
        live->horizon = a->p.episode_steps > 0 ? a->p.episode_steps : sc->horizon_steps;
        ep.reward = &sc->reward;
        c->env = rls_env_new_with_backend(&ep, &s_live_ops, live, &e2);   /* owns live */
        if (!c->env) {
            s_log(a, RLS_AGENT_LOG_ERROR, "record: %s; recording disabled", e2.msg);
            a->rec_disabled = 1;
        } else {
            c->nd = rls_env_n_deltas(c->env);
            c->A = c->nd * RLS_ENV_N_PLACEMENTS;
            c->rec_obs = malloc(S * RLS_ENV_N_FEATURES * sizeof *c->rec_obs);
            c->rec_mask = malloc(S * (size_t)c->A);
            c->emask = malloc(S * (size_t)(c->nd + RLS_ENV_N_PLACEMENTS));
            c->rec_act = malloc(S * sizeof(int32_t));
            c->rec_desired = malloc(S * sizeof(int32_t));
            c->rec_place = malloc(S);
            c->srew = malloc(S * sizeof(float));
            if (!c->rec_obs || !c->rec_mask || !c->emask || !c->rec_act || !c->rec_desired ||
                !c->rec_place || !c->srew)
                goto nomem;
        }
    }
    return c;
nomem:
    rls_err_set(&e2, RLS_ERR_NOMEM, "out of memory");
fail:
    s_log(a, RLS_AGENT_LOG_ERROR, "hello: cannot set up for cluster '%s': %s", sc->name, e2.msg);
    s_cluster_destroy(&c);
    return NULL;
}

static void s_send_hello(struct rls_agent *a)
{
    struct rls_proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = RLS_PROTO_HELLO;
    m.seq = ++a->tx_seq;
    m.ts_ns = rls_proto_now_ns();
    snprintf(m.hello.role, sizeof m.hello.role, "agent");
    snprintf(m.hello.software, sizeof m.hello.software, "%s", S_SOFTWARE);
    m.hello.n_versions = 1;
    m.hello.versions[0] = RLS_PROTO_VERSION;
    m.hello.limits.max_message_bytes = RLS_PROTO_MAX_BYTES;
    m.hello.limits.max_services = RLS_PROTO_MAX_SERVICES;
    m.hello.limits.max_nodes = RLS_PROTO_MAX_NODES;
    m.hello.takeover = a->p.takeover ? 1 : 0;
    if (rls_transport_send_msg(a->t, NULL, &m, S_SEND_TIMEOUT_MS) != RLS_OK) {
        if (!a->unreachable_logged)
            s_log(a, RLS_AGENT_LOG_WARN, "connect: cluster at %s not reachable (%s); retrying with backoff",
                  a->connect, rls_transport_errmsg(a->t));
        a->unreachable_logged = 1;
    }
}

static void s_on_hello(struct rls_agent *a, struct rls_proto_msg *msg)
{
    struct rls_scenario *sc = msg->hello.cluster;
    char *yaml = msg->hello.scenario_yaml;
    if (strcmp(msg->hello.role, "cluster") != 0 || !sc) {
        s_log(a, RLS_AGENT_LOG_WARN, "hello: from a '%s' %s; ignored", msg->hello.role,
              sc ? "" : "without a cluster description");
        s_lock(a);
        a->stats.refused++;
        s_unlock(a);
        s_minc(a, a->mid.refused);
        return;
    }
    a->last_hello_mono = s_mono();
    if (msg->hello.lease_id > 0)
        s_log(a, RLS_AGENT_LOG_INFO, "lease %" PRId64 " from the cluster at %s: this agent is in charge (renewed by "
              "every message, lapses after %" PRId64 " ms of silence)", msg->hello.lease_id, a->connect,
              msg->hello.lease_ms);
    msg->hello.cluster = NULL;   /* taken */
    msg->hello.scenario_yaml = NULL;
    msg->hello.scenario_yaml_len = 0;
    a->unreachable_logged = 0;
    s_lock(a);
    a->stats.hellos++;
    s_unlock(a);
    s_minc(a, a->mid.hellos);
    if (a->cl && s_same_cluster(a->cl->sc, sc)) {
        /* nothing changes: a state that answers our last actions still
         * continues the recorded episode (s_rec_before checks the seq) */
        s_log(a, RLS_AGENT_LOG_DEBUG, "hello: cluster '%s' at %s again (%s), same description",
              sc->name, a->connect, msg->hello.software[0] ? msg->hello.software : "?");
        rls_scenario_destroy(&sc);
        free(yaml);
        return;
    }
    if (a->cl && a->w && sc->n_services != a->rec_S) {
        s_log(a, RLS_AGENT_LOG_WARN,
              "record: the cluster now has %d services, the file %d; recording stopped (%s is complete)",
              (int)sc->n_services, (int)a->rec_S, a->record_path);
        struct rls_err e2;
        rls_replay_writer_close(&a->w, &e2);
        a->rec_disabled = 1;
    }
    s_rec_end(a);           /* another cluster: the episode ends here */
    s_cluster_destroy(&a->cl);
    a->have_seq = 0;
    a->have_sent = 0;
    a->have_state = 0;
    rls_proto_msg_clear(&a->st);
    a->cl = s_cluster_new(a, sc, yaml);
    if (!a->cl)
        return;
    int64_t nodes = rls_scenario_total_nodes(a->cl->sc);
    s_log(a, RLS_AGENT_LOG_INFO,
          "hello: cluster '%s' at %s (%s): %d services, %d tenants, %" PRId64 " nodes, step %g s; "
          "policy %s%s, fairness %s",
          a->cl->sc->name, a->connect, msg->hello.software[0] ? msg->hello.software : "?",
          (int)a->cl->S, (int)a->cl->T, nodes, a->cl->sc->step_s,
          a->cl->pol ? a->policy_name : "hpa (no checkpoint)", a->p.dry_run ? " in shadow mode" : "",
          a->p.fairness ? "on" : "off");
    s_metrics_cluster(a, a->cl->sc);
    s_rec_open(a);
}

/* ---------------------------------------------------------------------------
 * One decision. */

/* Usable capacity: nodes that are not failed (their own capacity when sent,
 * else their pool's); the pools' totals when no node was sent. */
static void s_capacity(const struct rls_scenario *sc, const struct rls_proto_state *st, double *cpu,
                       double *mem)
{
    *cpu = 0.0;
    *mem = 0.0;
    if (st->n_nodes <= 0) {
        *cpu = rls_scenario_total_cpu(sc);
        *mem = rls_scenario_total_mem_gb(sc);
        return;
    }
    for (int32_t j = 0; j < st->n_nodes; j++) {
        const struct rls_node_state *n = &st->nodes[j];
        if (n->status == RLS_NODE_FAILED || n->pool < 0 || n->pool >= sc->n_pools)
            continue;
        *cpu += st->node_cpu ? st->node_cpu[j] : sc->pools[n->pool].cpu;
        *mem += st->node_mem_gb ? st->node_mem_gb[j] : sc->pools[n->pool].mem_gb;
    }
}

static void s_note_for(struct rls_agent *a, enum rls_fallback_reason reason, char *note, size_t len)
{
    if (a->p.dry_run)
        snprintf(note, len, "shadow: hpa acts; policy %s",
                 reason == RLS_FALLBACK_NONE ? "ok" : rls_safety_reason_str(reason));
    else if (reason == RLS_FALLBACK_NONE)
        snprintf(note, len, "policy");
    else
        snprintf(note, len, "fallback: %s", rls_safety_reason_str(reason));
}

/* The detail of a fallback verdict for the log line. */
static void s_reason_detail(struct rls_agent *a, enum rls_fallback_reason r, int32_t n_ood, char *buf,
                            size_t len)
{
    struct s_cluster *c = a->cl;
    switch (r) {
    case RLS_FALLBACK_NO_CHECKPOINT:
        snprintf(buf, len, "%s", a->ck ? "the checkpoint does not fit this cluster" : "no checkpoint loaded");
        break;
    case RLS_FALLBACK_STALE_STATE:
        snprintf(buf, len, "%s", rls_safety_errmsg(c->safety));
        break;
    case RLS_FALLBACK_POLICY_ERROR:
        snprintf(buf, len, "%s", c->pol ? rls_policy_errmsg(c->pol) : "");
        break;
    case RLS_FALLBACK_OOD_INPUT: {
        int32_t first = -1;
        for (int32_t i = 0; i < c->S && first < 0; i++)
            if (c->row_ood[i])
                first = i;
        snprintf(buf, len, "%d of %d services out of the training distribution (first '%s')", (int)n_ood,
                 (int)c->S, first >= 0 ? c->sc->services[first].name : "?");
        break;
    }
    case RLS_FALLBACK_RECOVERING:
        snprintf(buf, len, "causes cleared, waiting for %d clean decisions", (int)a->p.safety.recover_steps);
        break;
    default:
        buf[0] = '\0';
    }
}

/* Appends " name:n" pairs of v[S] to buf (cut with "..." when long). */
static void s_list(const struct s_cluster *c, const int32_t *v, char *buf, size_t len)
{
    size_t at = strlen(buf);
    for (int32_t i = 0; i < c->S && at + 1 < len; i++) {
        int n = snprintf(buf + at, len - at, " %s:%d", c->sc->services[i].name, (int)v[i]);
        if (n < 0 || (size_t)n >= len - at) {
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        at += (size_t)n;
    }
}

static void s_on_state(struct rls_agent *a, struct rls_proto_msg *msg, double t_rx)
{
    struct s_cluster *c = a->cl;
    struct rls_err e2;
    rls_err_clear(&e2);
    if (!c) {
        s_lock(a);
        a->stats.refused++;
        s_unlock(a);
        s_minc(a, a->mid.refused);
        s_log(a, RLS_AGENT_LOG_WARN, "state seq %" PRId64 " before a cluster hello; sending hello", msg->seq);
        s_send_hello(a);
        return;
    }
    if (rls_proto_check_state(&msg->state, c->sc, &e2) != RLS_OK) {
        struct rls_proto_msg em;
        memset(&em, 0, sizeof em);
        em.type = RLS_PROTO_ERROR;
        em.seq = ++a->tx_seq;
        em.ts_ns = rls_proto_now_ns();
        em.re = msg->seq;
        em.code = e2.status;
        snprintf(em.message, sizeof em.message, "%s", e2.msg);
        rls_transport_send_msg(a->t, NULL, &em, S_SEND_TIMEOUT_MS);
        s_lock(a);
        a->stats.refused++;
        s_unlock(a);
        s_minc(a, a->mid.refused);
        s_log(a, RLS_AGENT_LOG_WARN, "state seq %" PRId64 " refused: %s", msg->seq, e2.msg);
        return;
    }
    /* the same state again (the cluster re-sent it, e.g. after a hello): the
     * same answer, without deciding twice; it is not fresh */
    if (a->have_seq && a->have_sent && msg->seq == a->last_seq) {
        a->resent++;
        if (rls_transport_send(a->t, NULL, a->last_actions.data, a->last_actions.len, S_SEND_TIMEOUT_MS) !=
            RLS_OK)
            s_log(a, RLS_AGENT_LOG_DEBUG, "repeated state seq %" PRId64 ": answer not sent: %s", msg->seq,
                  rls_transport_errmsg(a->t));
        return;
    }
    /* install the state */
    rls_proto_msg_clear(&a->st);
    a->st = *msg;
    memset(msg, 0, sizeof *msg);
    a->have_state = 1;
    int64_t seq = a->st.seq;
    const struct rls_proto_state *st = &a->st.state;
    double now_mono = s_mono();
    if (a->stale) {
        s_log(a, RLS_AGENT_LOG_INFO, "state: back from %s (seq %" PRId64 ") after %.1f s", a->connect, seq,
              now_mono - a->last_state_mono);
        a->stale = 0;
    }
    if (a->have_seq && seq < a->last_seq) {
        /* the cluster started over: forget the arrival history */
        s_log(a, RLS_AGENT_LOG_INFO, "state: seq went back from %" PRId64 " to %" PRId64
              " (the cluster restarted); history reset", a->last_seq, seq);
        rls_features_reset(c->feat);
        if (c->pol)
            rls_policy_reset(c->pol, c->sc);
        rls_policy_reset(c->hpa, c->sc);
        c->step = 0;
    }
    a->last_seq = seq;
    a->have_seq = 1;
    a->last_state_mono = now_mono;
    s_lock(a);
    a->stats.states++;
    s_unlock(a);
    s_minc(a, a->mid.states);

    s_rec_before(a, seq);

    /* the verdict's causes */
    double state_t = a->st.ts_ns > 0 ? (double)a->st.ts_ns * 1e-9 : NAN;
    uint32_t mask = RLS_FALLBACK_BIT(rls_safety_check_state(c->safety, (uint64_t)seq, state_t, s_real()));
    struct rls_policy_input in;
    memset(&in, 0, sizeof in);
    in.scenario = c->sc;
    in.step = c->step;
    in.time_s = st->info.time_s;
    in.services = st->services;
    in.nodes = st->nodes;
    in.n_nodes = st->n_nodes;
    int32_t n_ood = 0;
    if (c->pol) {
        if (rls_policy_decide(c->pol, &in, c->pol_desired, c->pol_place) != RLS_OK) {
            mask |= RLS_FALLBACK_BIT(RLS_FALLBACK_POLICY_ERROR);
            if (!a->policy_err_logged)
                s_log(a, RLS_AGENT_LOG_WARN, "policy: %s", rls_policy_errmsg(c->pol));
            a->policy_err_logged = 1;
        } else {
            a->policy_err_logged = 0;
        }
        /* the features the policy just computed (computing them again would
         * also push the trend history twice) */
        const float *obs = rls_learned_last_obs(c->pol);
        if (!obs) {
            rls_features_compute(c->feat, st->services, st->nodes, st->n_nodes, st->info.time_s, c->obs);
            obs = c->obs;
        }
        mask |= RLS_FALLBACK_BIT(rls_safety_check_ood(c->safety, obs, a->ck->obs_mean, a->ck->obs_std,
                                                      c->S, RLS_ENV_N_FEATURES, c->row_ood, &n_ood));
    } else {
        mask |= RLS_FALLBACK_BIT(RLS_FALLBACK_NO_CHECKPOINT);
    }
    if (rls_policy_decide(c->hpa, &in, c->hpa_desired, c->hpa_place) != RLS_OK) {
        s_log(a, RLS_AGENT_LOG_WARN, "hpa: %s; keeping the targets in force", rls_policy_errmsg(c->hpa));
        for (int32_t i = 0; i < c->S; i++) {
            c->hpa_desired[i] = st->services[i].desired;
            c->hpa_place[i] = RLS_PLACE_SPREAD;
        }
    }
    enum rls_fallback_reason reason = rls_safety_fallback_update(c->safety, mask);
    int use_policy = reason == RLS_FALLBACK_NONE && !a->p.dry_run;
    const int32_t *wish = use_policy ? c->pol_desired : c->hpa_desired;
    const uint8_t *place = use_policy ? c->pol_place : c->hpa_place;

    /* fairness */
    struct rls_fair_result fr;
    memset(&fr, 0, sizeof fr);
    fr.granted = c->granted;
    fr.tenants = c->fres;
    fr.jain = 1.0;
    int fair_ran = 0;
    if (a->p.fairness) {
        struct rls_fair_problem pb;
        rls_fair_problem_from_scenario(c->sc, wish, c->fsvc, c->ften, &pb);
        for (int32_t t = 0; t < c->T; t++)
            if (!(c->ften[t].weight > 0))
                c->ften[t].weight = 1e-6;   /* the protocol allows weight 0: last in line */
        s_capacity(c->sc, st, &pb.cpu, &pb.mem_gb);
        if (rls_fair_project(c->fair, &pb, &fr) == RLS_OK) {
            fair_ran = 1;
            a->fair_err_logged = 0;
        } else {
            if (!a->fair_err_logged)
                s_log(a, RLS_AGENT_LOG_WARN, "fairness: %s; wishes passed unprojected", rls_fair_errmsg(c->fair));
            a->fair_err_logged = 1;
        }
    }
    if (!fair_ran)
        memcpy(c->granted, wish, (size_t)c->S * sizeof *c->granted);

    /* safety, on the cluster's clock */
    for (int32_t i = 0; i < c->S; i++)
        c->current[i] = st->services[i].desired;
    rls_safety_apply(c->safety, st->info.time_s, c->current, c->granted, c->out, c->reasons);

    /* send */
    struct rls_proto_msg am;
    memset(&am, 0, sizeof am);
    am.type = RLS_PROTO_ACTIONS;
    am.seq = ++a->tx_seq;
    am.ts_ns = rls_proto_now_ns();
    am.re = seq;
    am.actions.n_services = c->S;
    am.actions.desired = c->out;
    am.actions.placement = (uint8_t *)place;
    s_note_for(a, reason, am.note, sizeof am.note);
    int sent = 0;
    a->have_sent = 0;
    if (rls_proto_encode(&a->last_actions, &am, &e2) != RLS_OK)
        s_log(a, RLS_AGENT_LOG_ERROR, "actions for seq %" PRId64 ": %s", seq, e2.msg);
    else if (rls_transport_send(a->t, NULL, a->last_actions.data, a->last_actions.len, S_SEND_TIMEOUT_MS) ==
             RLS_OK)
        sent = a->have_sent = 1;
    double latency = s_mono() - t_rx;

    /* account */
    s_lock(a);
    if (sent) {
        a->stats.decisions++;
        if (use_policy)
            a->stats.policy_decisions++;
        else
            a->stats.fallback_decisions++;
        a->stats.fallback_by_reason[reason]++;
        if (fair_ran && (fr.flags & RLS_FAIR_F_CONTENDED))
            a->stats.fair_contended++;
    } else {
        a->stats.send_failures++;
    }
    a->stats.last_reason = reason;
    a->stats.last_jain = fair_ran ? fr.jain : 1.0;
    s_unlock(a);
    if (!sent) {
        s_minc(a, a->mid.send_fail);
        if (!a->send_fail_logged)
            s_log(a, RLS_AGENT_LOG_WARN, "actions for seq %" PRId64 " not sent: %s", seq,
                  rls_transport_errmsg(a->t));
        a->send_fail_logged = 1;
    } else {
        a->send_fail_logged = 0;
        s_minc(a, a->mid.decisions);
        s_minc(a, a->mid.fallback[reason]);
        rls_metrics_observe(a->m, a->mid.latency, latency);
        s_mset(a, a->mid.fb_active, reason != RLS_FALLBACK_NONE ? 1.0 : 0.0);
        s_mset(a, a->mid.fb_entries, (double)rls_safety_fallback_entries(c->safety));
        for (int32_t i = 0; i < c->S; i++) {
            int dir = c->out[i] > c->current[i] ? 0 : c->out[i] < c->current[i] ? 1 : 2;
            s_minc(a, a->mid.scale[dir]);
            for (int b = 0; b < RLS_SAFE_N_FLAGS; b++)
                if (c->reasons[i] & (1u << b))
                    s_minc(a, a->mid.safety[b]);
            if (i < a->mid.n_svc_series)
                s_mset(a, a->mid.desired[i], c->out[i]);
        }
        if (fair_ran) {
            s_mset(a, a->mid.jain, fr.jain);
            if (fr.flags & RLS_FAIR_F_CONTENDED)
                s_minc(a, a->mid.contended);
            for (int32_t t = 0; t < c->T && t < a->mid.n_ten_series; t++) {
                s_mset(a, a->mid.share[t], c->fres[t].dominant_share);
                s_mset(a, a->mid.entitle[t], c->fres[t].entitlement);
                s_mset(a, a->mid.granted[t], c->fres[t].granted);
            }
        }
    }

    /* events */
    if (!a->have_reason || reason != a->last_reason) {
        char detail[RLS_ERRMSG_MAX];
        s_reason_detail(a, reason, n_ood, detail, sizeof detail);
        if (reason == RLS_FALLBACK_NONE) {
            if (a->have_reason)
                s_log(a, RLS_AGENT_LOG_INFO, "policy: %s acts again (seq %" PRId64 ")", a->policy_name, seq);
            else
                s_log(a, RLS_AGENT_LOG_INFO, "policy: %s acts%s (seq %" PRId64 ")", a->policy_name,
                      a->p.dry_run ? " in shadow mode, the HPA decides" : "", seq);
        } else if (reason == RLS_FALLBACK_RECOVERING) {
            s_log(a, RLS_AGENT_LOG_INFO, "fallback: recovering (seq %" PRId64 "): %s", seq, detail);
        } else {
            s_log(a, RLS_AGENT_LOG_WARN, "fallback: %s (seq %" PRId64 "): %s; the HPA acts",
                  rls_safety_reason_str(reason), seq, detail);
        }
        a->last_reason = reason;
        a->have_reason = 1;
    }
    if (fair_ran && fr.msg[0] && (fr.flags & (RLS_FAIR_F_GUARANTEES_INFEASIBLE | RLS_FAIR_F_MINS_INFEASIBLE)))
        s_log(a, RLS_AGENT_LOG_DEBUG, "fairness (seq %" PRId64 "): %s", seq, fr.msg);
    if (a->p.dry_run && c->pol && a->p.log) {
        char line[S_LINE_MAX];
        snprintf(line, sizeof line, "shadow seq %" PRId64 ": policy%s would set", seq,
                 reason == RLS_FALLBACK_NONE ? "" : " (itself in fallback)");
        s_list(c, c->pol_desired, line, sizeof line / 2);
        size_t at = strlen(line);
        snprintf(line + at, sizeof line - at, "; hpa sets");
        s_list(c, c->out, line, sizeof line);
        a->p.log(a->p.log_ctx, RLS_AGENT_LOG_DEBUG, line);
    }
    if (sent)
        s_rec_after(a, seq, place);
    c->step++;
}

/* ---------------------------------------------------------------------------
 * The loop. */

static void s_on_stale(struct rls_agent *a, double now_mono)
{
    struct s_cluster *c = a->cl;
    a->stale = 1;
    s_lock(a);
    a->stats.stale_events++;
    a->stats.last_reason = RLS_FALLBACK_STALE_STATE;
    s_unlock(a);
    s_minc(a, a->mid.stale);
    /* the verdict changes now, so the first states back are "recovering" */
    rls_safety_fallback_update(c->safety, RLS_FALLBACK_BIT(RLS_FALLBACK_STALE_STATE));
    s_mset(a, a->mid.fb_active, 1.0);
    s_mset(a, a->mid.fb_entries, (double)rls_safety_fallback_entries(c->safety));
    a->last_reason = RLS_FALLBACK_STALE_STATE;
    a->have_reason = 1;
    s_log(a, RLS_AGENT_LOG_WARN,
          "fallback: stale_state: no state from %s for %.1f s (stale after %g s); the HPA acts once state "
          "returns, re-sending hello", a->connect, now_mono - a->last_state_mono, a->p.safety.stale_after_s);
    s_rec_end(a);
}

static void s_handle(struct rls_agent *a, struct rls_proto_msg *msg, double t_rx)
{
    switch (msg->type) {
    case RLS_PROTO_HELLO:
        s_on_hello(a, msg);
        break;
    case RLS_PROTO_STATE:
        s_on_state(a, msg, t_rx);
        break;
    case RLS_PROTO_ERROR:
        s_lock(a);
        a->stats.cluster_errors++;
        s_unlock(a);
        s_minc(a, a->mid.cluster_err);
        s_log(a, RLS_AGENT_LOG_WARN, "cluster error (re %" PRId64 "): %s: %s", msg->re,
              rls_status_str(msg->code), msg->message);
        break;
    case RLS_PROTO_ACK:
    case RLS_PROTO_HEARTBEAT:
        break;
    default:
        s_log(a, RLS_AGENT_LOG_DEBUG, "ignored a '%s' message from the cluster", rls_proto_type_name(msg->type));
        break;
    }
}

int rls_agent_run(struct rls_agent *a)
{
    int rc = RLS_OK;
    struct rls_err e2;
    if (!a)
        return RLS_ERR_INVALID;
    if (atomic_exchange(&a->running, 1)) {
        snprintf(a->err, sizeof a->err, "agent: already running");
        return RLS_ERR_STATE;
    }
    double retry = a->p.hello_retry_s;
    double t0 = s_mono();
    double last_rx = t0;
    double next_hello = t0;
    s_log(a, RLS_AGENT_LOG_INFO, "connect: %s (policy %s%s, fairness %s%s%s)", a->connect, a->policy_name,
          a->p.dry_run ? ", dry run" : "", a->p.fairness ? "on" : "off", a->record_path ? ", recording to " : "",
          a->record_path ? a->record_path : "");
    while (!atomic_load(&a->stop_flag)) {
        if (atomic_exchange(&a->reload_flag, 0)) {
            rls_err_clear(&e2);
            rls_agent_reload(a, NULL, &e2);
        }
        if (a->p.max_steps > 0 && a->stats.decisions >= a->p.max_steps) {
            s_log(a, RLS_AGENT_LOG_INFO, "stop: %" PRId64 " decisions made", a->stats.decisions);
            break;
        }
        double now = s_mono();
        /* say hello until a cluster answers, and again when it falls silent */
        double heard = a->have_state ? a->last_state_mono : a->last_hello_mono;
        int silent = !a->cl || a->stale || now - heard > a->p.safety.stale_after_s;
        if (silent && now >= next_hello) {
            s_send_hello(a);
            next_hello = now + retry;
            retry = fmin(2.0 * retry, a->p.hello_retry_max_s);
        }
        int wait_ms = a->p.poll_ms;
        if (silent) {
            double until = (next_hello - now) * 1000.0;
            if (until < wait_ms)
                wait_ms = until > 1.0 ? (int)until : 1;
        }
        rls_err_clear(&e2);
        int got = rls_transport_recv_msg(a->t, NULL, &a->rx, wait_ms, &e2);
        now = s_mono();
        if (got == 1) {
            last_rx = now;
            if (a->rx.type == RLS_PROTO_HELLO || a->rx.type == RLS_PROTO_STATE)
                retry = a->p.hello_retry_s;
            s_handle(a, &a->rx, now);
            rls_proto_msg_clear(&a->rx);
        } else if (got < 0) {
            last_rx = now;   /* the cluster is there, if confused */
            s_lock(a);
            a->stats.refused++;
            s_unlock(a);
            s_minc(a, a->mid.refused);
            s_log(a, RLS_AGENT_LOG_WARN, "%s", rls_transport_errmsg(a->t));
        }
        if (a->cl && a->have_state && !a->stale && now - a->last_state_mono > a->p.safety.stale_after_s) {
            s_on_stale(a, now);
            next_hello = now;
            retry = a->p.hello_retry_s;
        }
        if (a->p.timeout_s > 0 && now - last_rx > a->p.timeout_s) {
            snprintf(a->err, sizeof a->err, "no cluster at %s answered for %.1f s (timeout %g s)", a->connect,
                     now - last_rx, a->p.timeout_s);
            s_log(a, RLS_AGENT_LOG_ERROR, "stop: %s", a->err);
            rc = RLS_ERR_IO;
            break;
        }
    }
    if (atomic_load(&a->stop_flag))
        s_log(a, RLS_AGENT_LOG_INFO, "stop: asked to stop after %" PRId64 " decisions", a->stats.decisions);
    s_rec_end(a);
    if (a->w)
        s_log(a, RLS_AGENT_LOG_INFO, "record: %s holds %" PRId64 " episodes, %" PRId64 " steps", a->record_path,
              rls_replay_writer_n_episodes(a->w), rls_replay_writer_n_steps(a->w));
    atomic_store(&a->running, 0);
    return rc;
}

void rls_agent_stop(struct rls_agent *a)
{
    if (a)
        atomic_store(&a->stop_flag, 1);
}

void rls_agent_request_reload(struct rls_agent *a)
{
    if (a)
        atomic_store(&a->reload_flag, 1);
}

int rls_agent_reload(struct rls_agent *a, const char *path, struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_policy *pol = NULL;
    char *new_path = NULL;
    int rc;
    if (!a)
        return rls_err_set(err, RLS_ERR_INVALID, "agent: NULL");
    if (!path)
        path = a->policy_path;
    if (!path) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "reload: no checkpoint path given");
        goto fail;
    }
    rc = s_load_checkpoint(path, &ck, err);
    if (rc != RLS_OK)
        goto fail;
    if (a->cl) {
        pol = s_build_policy(a, ck, path, a->cl->sc, err);
        if (!pol) {
            rc = err && err->status ? err->status : RLS_ERR_INVALID;
            goto fail;
        }
    }
    new_path = s_dup(path);
    if (!new_path) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "reload: out of memory");
        goto fail;
    }
    /* swap: nothing below fails */
    rls_checkpoint_destroy(&a->ck);
    a->ck = ck;
    ck = NULL;
    if (a->cl) {
        rls_policy_destroy(&a->cl->pol);
        a->cl->pol = pol;
        pol = NULL;
    }
    free(a->policy_path);
    a->policy_path = new_path;
    a->p.policy_path = new_path;
    s_set_policy_name(a);
    s_lock(a);
    a->stats.reloads_ok++;
    a->stats.checkpoint_loaded = 1;
    s_unlock(a);
    s_minc(a, a->mid.reload[0]);
    s_mset(a, a->mid.ckpt_loaded, 1.0);
    s_log(a, RLS_AGENT_LOG_INFO, "reload: checkpoint %s loaded (%s, %" PRId64 " steps)", a->policy_path,
          a->ck->algorithm[0] ? a->ck->algorithm : "unknown algorithm", a->ck->steps);
    return RLS_OK;
fail:
    rls_checkpoint_destroy(&ck);
    rls_policy_destroy(&pol);
    s_lock(a);
    a->stats.reloads_failed++;
    s_unlock(a);
    s_minc(a, a->mid.reload[1]);
    s_log(a, RLS_AGENT_LOG_WARN, "reload: %s; keeping %s", err ? err->msg : "failed", a->policy_name);
    return rc;
}

void rls_agent_destroy(struct rls_agent **pa)
{
    struct rls_agent *a = pa ? *pa : NULL;
    struct rls_err e2;
    if (!a)
        return;
    s_rec_end(a);
    if (a->w)
        rls_replay_writer_close(&a->w, &e2);
    s_cluster_destroy(&a->cl);
    rls_transport_destroy(&a->t);
    rls_metrics_destroy(&a->m);
    rls_checkpoint_destroy(&a->ck);
    rls_proto_msg_clear(&a->rx);
    rls_proto_msg_clear(&a->st);
    rls_proto_buf_free(&a->last_actions);
    free(a->mid.desired);
    free(a->mid.share);
    free(a->mid.entitle);
    free(a->mid.granted);
    free(a->connect);
    free(a->policy_path);
    free(a->record_path);
    free(a->hpa_manifest);
    free(a->metrics_addr);
    free(a->curve_secret);
    free(a->curve_server);
    free(a->curve_allow);
    pthread_mutex_destroy(&a->lock);
    free(a);
    *pa = NULL;
}

void rls_agent_get_stats(const struct rls_agent *a, struct rls_agent_stats *out)
{
    if (!out)
        return;
    if (!a) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock((pthread_mutex_t *)&a->lock);
    *out = a->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&a->lock);
}

const char *rls_agent_policy_name(const struct rls_agent *a)
{
    return a ? a->policy_name : "";
}

uint16_t rls_agent_metrics_port(const struct rls_agent *a)
{
    return a ? rls_metrics_port(a->m) : 0;
}

struct rls_metrics *rls_agent_metrics(const struct rls_agent *a)
{
    return a ? a->m : NULL;
}

const char *rls_agent_errmsg(const struct rls_agent *a)
{
    return a ? a->err : "";
}
