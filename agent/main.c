/* main.c - `rlsched-agent`: the inference agent as a small binary (no
 * libtorch): parses the options, runs the control loop of agent/agent.h and
 * prints its events, one line each on stderr with a UTC timestamp. Signals
 * only set flags: SIGTERM/SIGINT stop the loop (the replay file is committed
 * and closed), SIGHUP reloads the checkpoint (a bad file keeps the old one).
 * Exit status: 0 stopped cleanly, 1 failure (no cluster before --timeout, a
 * bad metrics address...), 2 usage error.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "agent.h"
#include "../env/hpa_manifest.h"
#include "../tools/cli.h"

#ifndef RLS_VERSION
#define RLS_VERSION "0.0.0"
#endif

#define S_PROG "rlsched-agent"

static struct rls_agent *volatile s_agent = NULL;

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: " S_PROG " --connect tcp://HOST:PORT [--policy policy.h5] [--fairness on|off]\n"
            "                     [--dry-run] [--record out.h5] [--episode-steps N]\n"
            "                     [--metrics [HOST:]PORT] [--max-step N] [--stale-after S]\n"
            "                     --curve-server server.pub --curve-secret agent.key [--curve-public F]\n"
            "                     [--takeover] [--insecure] [--steps N] [--timeout S] [--quiet]\n"
            "\n"
            "Connects to a cluster that speaks the rlsched wire protocol (agent/PROTOCOL.md) and\n"
            "scales its services with a trained checkpoint: features, native forward pass, fair\n"
            "projection across tenants, safety filter, actions. The HPA baseline acts while the\n"
            "state is stale, the checkpoint did not load or the inputs are out of distribution.\n"
            "  --connect       the cluster's endpoint (required)\n"
            "  --policy        checkpoint (.h5); missing or bad: the HPA acts, the agent runs on\n"
            "  --fairness      on (default): project the wishes onto a fair allocation; off\n"
            "  --dry-run       shadow mode: the HPA acts, the policy's choices are logged\n"
            "  --hpa-manifest  autoscaling/v2 HorizontalPodAutoscaler manifests (by\n"
            "                  scaleTargetRef.name) the fallback HPA runs instead of its defaults\n"
            "  --record        write the transitions seen to this replay file (trains with\n"
            "                  `rlsched train`)\n"
            "  --episode-steps recorded episode length in steps (default: the cluster's horizon)\n"
            "  --metrics       serve Prometheus metrics on http://HOST:PORT/metrics (HOST\n"
            "                  defaults to 127.0.0.1)\n"
            "  --max-step      at most N replicas added or removed per service and step\n"
            "                  (default: up max(4, 100%%), down max(1, 50%%))\n"
            "  --stale-after   state older than S seconds is stale: fall back, re-send hello (45)\n"
            "  --curve-server  the cluster's CURVE public key file (required unless --insecure)\n"
            "  --curve-secret  this agent's CURVE secret key file (required unless --insecure;\n"
            "                  `rlsched keygen --out agent` makes agent.key and agent.pub; the\n"
            "                  cluster admits the keys listed in its --curve-allow file)\n"
            "  --curve-public  this agent's public key file, checked against --curve-secret\n"
            "  --takeover      take the cluster's control lease even while another agent holds\n"
            "                  it (only if the cluster lists this key with 'takeover')\n"
            "  --insecure      connect without keys (plain TCP, logged as a warning)\n"
            "  --steps         stop after N decisions (default: run until SIGTERM/SIGINT)\n"
            "  --timeout       exit 1 when the cluster has been silent for S seconds (default:\n"
            "                  keep reconnecting forever)\n"
            "  --quiet         only warnings and errors\n"
            "Signals: SIGTERM/SIGINT stop cleanly (replay file closed), SIGHUP reloads --policy.\n"
            "Exit status: 0 stopped, 1 failure, 2 usage error.\n");
}

/* ---- logging: one line per event, UTC timestamp ---- */

struct s_log_ctx {
    int min_level;
};

static void s_log(void *ctx, int level, const char *line)
{
    const struct s_log_ctx *lc = ctx;
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    static const char *const names[4] = {"debug", "info", "warn", "error"};
    if (level < lc->min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ " S_PROG " %s: %s\n", stamp, ts.tv_nsec / 1000000L,
            names[level >= 0 && level <= 3 ? level : 1], line);
    fflush(stderr);
}

/* ---- signals: flags only ---- */

static void s_on_stop(int sig)
{
    (void)sig;
    rls_agent_stop(s_agent);
}

static void s_on_hup(int sig)
{
    (void)sig;
    rls_agent_request_reload(s_agent);
}

static int s_install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: a wait is cut short and the loop sees the flag */
    return sigaction(sig, &sa, NULL);
}

/* ---- argument parsing ---- */

static int s_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    if (!s || !*s || *s == ' ')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int s_parse_secs(const char *s, double lo, double *out)
{
    char *end = NULL;
    if (!s || !*s || *s == ' ')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > 1e9)
        return -1;
    *out = v;
    return 0;
}

/* The public key derived from the secret key file must equal the public key
 * file's. Returns 0 when they match, -1 with a message otherwise. */
static int s_check_curve_pair(const char *secret_path, const char *public_path)
{
    char sec[RLS_TRANSPORT_KEY_Z85 + 1], pub[RLS_TRANSPORT_KEY_Z85 + 1], derived[RLS_TRANSPORT_KEY_Z85 + 1];
    struct rls_err err = {0};
    if (rls_transport_read_key(public_path, pub, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": --curve-public: %s\n", err.msg);
        return -1;
    }
    if (!secret_path)
        return 0;   /* checked for form only; the transport reads the secret itself */
    if (rls_transport_read_key(secret_path, sec, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": --curve-secret: %s\n", err.msg);
        return -1;
    }
    if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0) {
        fprintf(stderr, S_PROG ": --curve-public %s is not the public key of --curve-secret %s\n", public_path,
                secret_path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct rls_agent_params p = rls_agent_default_params();
    struct s_log_ctx lc = {RLS_AGENT_LOG_INFO};
    struct rls_err err = {0};
    struct rls_agent *a = NULL;
    const char *curve_public = NULL;
    int quiet = 0, ret = 1;

    if (rls_cli_split_eq(&argc, &argv) != 0) {
        fprintf(stderr, S_PROG ": out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(o, "--version") == 0) {
            printf(S_PROG " " RLS_VERSION "\n");
            return 0;
        }
        if (strcmp(o, "--dry-run") == 0) {
            p.dry_run = 1;
            continue;
        }
        if (strcmp(o, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (strcmp(o, "--insecure") == 0) {
            p.transport.insecure = 1;
            continue;
        }
        if (strcmp(o, "--takeover") == 0) {
            p.takeover = 1;
            continue;
        }
        if (strncmp(o, "--", 2) != 0) {
            fprintf(stderr, S_PROG ": unexpected argument '%s' (try --help)\n", o);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value (try --help)\n", o);
            return 2;
        }
        const char *v = argv[++i];
        int64_t n = 0;
        double d = 0;
        if (strcmp(o, "--connect") == 0) {
            if (!*v) {
                fprintf(stderr, S_PROG ": --connect: empty endpoint\n");
                return 2;
            }
            p.connect = v;
        } else if (strcmp(o, "--policy") == 0) {
            p.policy_path = v;
        } else if (strcmp(o, "--fairness") == 0) {
            if (strcmp(v, "on") == 0)
                p.fairness = 1;
            else if (strcmp(v, "off") == 0)
                p.fairness = 0;
            else {
                fprintf(stderr, S_PROG ": --fairness '%s': expected on or off\n", v);
                return 2;
            }
        } else if (strcmp(o, "--record") == 0) {
            p.record_path = v;
        } else if (strcmp(o, "--hpa-manifest") == 0) {
            p.hpa_manifest = v;
        } else if (strcmp(o, "--episode-steps") == 0) {
            if (s_parse_i64(v, 1, INT32_MAX, &n) != 0) {
                fprintf(stderr, S_PROG ": --episode-steps '%s': expected an integer from 1\n", v);
                return 2;
            }
            p.episode_steps = (int32_t)n;
        } else if (strcmp(o, "--metrics") == 0) {
            p.metrics_addr = v;
        } else if (strcmp(o, "--max-step") == 0) {
            if (s_parse_i64(v, 1, INT32_MAX, &n) != 0) {
                fprintf(stderr, S_PROG ": --max-step '%s': expected an integer from 1\n", v);
                return 2;
            }
            p.safety.max_step_up = (int32_t)n;
            p.safety.max_step_down = (int32_t)n;
            p.safety.max_step_up_frac = 0.0;
            p.safety.max_step_down_frac = 0.0;
        } else if (strcmp(o, "--stale-after") == 0) {
            if (s_parse_secs(v, 0.001, &d) != 0) {
                fprintf(stderr, S_PROG ": --stale-after '%s': expected seconds > 0\n", v);
                return 2;
            }
            p.safety.stale_after_s = d;
        } else if (strcmp(o, "--curve-server") == 0) {
            p.transport.curve_server_file = v;
        } else if (strcmp(o, "--curve-secret") == 0) {
            p.transport.curve_secret_file = v;
        } else if (strcmp(o, "--curve-public") == 0) {
            curve_public = v;
        } else if (strcmp(o, "--steps") == 0) {
            if (s_parse_i64(v, 1, INT64_MAX / 2, &n) != 0) {
                fprintf(stderr, S_PROG ": --steps '%s': expected an integer from 1\n", v);
                return 2;
            }
            p.max_steps = n;
        } else if (strcmp(o, "--timeout") == 0) {
            if (s_parse_secs(v, 0.001, &d) != 0) {
                fprintf(stderr, S_PROG ": --timeout '%s': expected seconds > 0\n", v);
                return 2;
            }
            p.timeout_s = d;
        } else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", o);
            return 2;
        }
    }
    if (!p.connect) {
        fprintf(stderr, S_PROG ": --connect is required (try --help)\n");
        return 2;
    }
    if ((p.transport.curve_secret_file || curve_public) && !p.transport.curve_server_file) {
        fprintf(stderr, S_PROG ": --curve-secret and --curve-public need --curve-server\n");
        return 2;
    }
    if (!p.transport.insecure && (!p.transport.curve_server_file || !p.transport.curve_secret_file)) {
        fprintf(stderr, S_PROG ": the control channel needs keys: make a pair with `rlsched keygen --out agent`, "
                "list agent.pub in the cluster's --curve-allow file and pass --curve-server server.pub "
                "--curve-secret agent.key (or --insecure)\n");
        return 2;
    }
    if (p.record_path) {
        char why[512];
        if (rls_cli_check_writable(p.record_path, why, sizeof why) != 0) {
            fprintf(stderr, S_PROG ": --record: %s\n", why);
            return 1;
        }
    }
    if (p.hpa_manifest) {
        /* refuse a bad manifest now, not at the cluster's hello */
        struct rls_hpa_spec *specs = calloc(RLS_HPA_MAX_DOCS, sizeof *specs);
        int32_t n_specs = 0;
        struct rls_err merr = {0};
        int mrc = specs ? rls_hpa_manifest_load(p.hpa_manifest, specs, RLS_HPA_MAX_DOCS, &n_specs, &merr)
                        : rls_err_set(&merr, RLS_ERR_NOMEM, "out of memory");
        free(specs);
        if (mrc != RLS_OK) {
            fprintf(stderr, S_PROG ": --hpa-manifest: %s\n", merr.msg);
            return mrc == RLS_ERR_IO || mrc == RLS_ERR_NOMEM ? 1 : 2;
        }
    }
    if (curve_public && s_check_curve_pair(p.transport.curve_secret_file, curve_public) != 0)
        return 2;
    if (quiet)
        lc.min_level = RLS_AGENT_LOG_WARN;
    else if (p.dry_run)
        lc.min_level = RLS_AGENT_LOG_DEBUG;   /* shadow mode logs the policy's would-be actions */
    p.log = s_log;
    p.log_ctx = &lc;
    /* the hello re-handshake follows the staleness threshold when that is short */
    if (p.safety.stale_after_s < p.hello_retry_s)
        p.hello_retry_s = p.safety.stale_after_s;

    a = rls_agent_new(&p, &err);
    if (!a) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        return 1;
    }
    s_agent = a;
    if (p.transport.insecure && !p.transport.curve_server_file)
        s_log(&lc, RLS_AGENT_LOG_WARN, "INSECURE: --insecure: the control channel is plain TCP, not encrypted, "
              "and the cluster cannot tell this agent from any other process");
    if (s_install(SIGTERM, s_on_stop) != 0 || s_install(SIGINT, s_on_stop) != 0 ||
        s_install(SIGHUP, s_on_hup) != 0) {
        fprintf(stderr, S_PROG ": cannot install signal handlers: %s\n", strerror(errno));
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    ret = rls_agent_run(a) == RLS_OK ? 0 : 1;
done:
    /* no handler may touch the agent while it is freed */
    s_install(SIGTERM, SIG_IGN);
    s_install(SIGINT, SIG_IGN);
    s_install(SIGHUP, SIG_IGN);
    s_agent = NULL;
    rls_agent_destroy(&a);   /* commits the open episode, closes the replay file */
    return ret;
}
