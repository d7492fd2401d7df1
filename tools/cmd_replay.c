/* cmd_replay.c - `rlsched replay info FILE [--json]`: summarizes a replay
 * file (episodes, transitions, shapes, behaviour policies, rewards, the action
 * histogram, feature means, fingerprint); `rlsched replay recover FILE` rolls
 * back a commit interrupted by a crash (the reader does it too). The file is
 * read chunk-wise, so files larger than RAM work. Bad input: one line on
 * stderr naming the file and dataset, exit 1 (2 for usage errors).
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../replay/replay.h"
#include "../replay/transform.h"

#define S_PROG "rlsched replay"
#define S_MAX_POLICIES 64
#define S_INFO_CACHE_BYTES (64LL << 20)

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched replay info FILE [--json]\n"
            "       rlsched replay recover FILE\n"
            "       rlsched replay merge --out OUT IN1 IN2 ...\n"
            "       rlsched replay relabel IN --out OUT [--target-util U] [--lookahead-extra N]\n"
            "                                           [--down-window N] [--teacher util|slo]\n"
            "                                           [--margin SIGMAS]\n"
            "\n"
            "  info     summarize a replay file (replay/FORMAT.md); --json prints one JSON object\n"
            "  recover  roll back a commit a crash interrupted (FILE.journal); reading does it too\n"
            "  merge    concatenate the episodes of files with the same shapes into one\n"
            "  relabel  replace every action by the hindsight teacher's (replay/transform.h):\n"
            "           up to the peak load of the next cold start + N steps (8) at\n"
            "           utilization U (0.88), down only to the peak of the next N steps (40),\n"
            "           bin-packed; observations are unchanged. --teacher slo: replicas from\n"
            "           the SLO (Erlang C, as the oracle) at the peak + SIGMAS (2) Poisson sigmas\n");
}

struct s_stats {
    double sum, min, max;
    int64_t n;
};

static void s_stat_add(struct s_stats *s, double v)
{
    if (s->n == 0 || v < s->min)
        s->min = v;
    if (s->n == 0 || v > s->max)
        s->max = v;
    s->sum += v;
    s->n++;
}

/* A JSON number, or null for NaN / infinity (a corrupt-but-readable value
 * must not make the output invalid JSON or drop its member). New reference. */
static json_t *s_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *s_stat_json(const struct s_stats *s)
{
    return json_pack("{s:o,s:o,s:o,s:I}", "mean", s_num(s->n ? s->sum / (double)s->n : 0.0), "min",
                     s_num(s->n ? s->min : 0.0), "max", s_num(s->n ? s->max : 0.0), "n", (json_int_t)s->n);
}

static int s_info(const char *path, int as_json)
{
    struct rls_err err = {0};
    struct rls_replay_reader_params p = rls_replay_reader_default_params();
    struct rls_replay_reader *r = NULL;
    int64_t *hist = NULL;
    char pol_names[S_MAX_POLICIES][64];
    int64_t pol_eps[S_MAX_POLICIES];
    int n_pol = 0, ret = 1;
    struct s_stats rew = {0}, srew = {0};
    int64_t n_term = 0, n_trunc = 0;
    json_t *root = NULL;
    char *names = NULL;
    p.cache_bytes = S_INFO_CACHE_BYTES;
    r = rls_replay_reader_open(path, &p, &err);
    if (!r) {
        fprintf(stderr, S_PROG " info: %s\n", err.msg);
        return 1;
    }
    const struct rls_replay_meta *m = rls_replay_reader_meta(r);
    int32_t S = m->n_services, A = m->n_actions, F = m->n_features, NP = m->n_placements, ND = m->n_deltas;
    hist = calloc((size_t)A, sizeof *hist);
    if (!hist) {
        fprintf(stderr, S_PROG " info: out of memory\n");
        goto done;
    }
    for (int64_t i = 0; i < rls_replay_reader_n_episodes(r); i++) {
        struct rls_replay_episode_info ei;
        struct rls_replay_episode e;
        rls_replay_reader_episode_info(r, i, &ei);
        int k = 0;
        while (k < n_pol && strcmp(pol_names[k], ei.policy) != 0)
            k++;
        if (k == n_pol && n_pol < S_MAX_POLICIES) {
            snprintf(pol_names[k], sizeof pol_names[k], "%s", ei.policy);
            pol_eps[k] = 0;
            n_pol++;
        }
        if (k < n_pol)
            pol_eps[k]++;
        if (rls_replay_reader_read_episode(r, i, &e) != RLS_OK) {
            fprintf(stderr, S_PROG " info: %s\n", rls_replay_reader_errmsg(r));
            goto done;
        }
        for (int64_t t = 0; t < e.steps; t++) {
            s_stat_add(&rew, e.rewards[t]);
            n_term += e.terminations[t] != 0;
            n_trunc += e.truncations[t] != 0;
            for (int32_t s = 0; s < S; s++) {
                s_stat_add(&srew, e.service_rewards[t * S + s]);
                hist[e.actions[t * S + s]]++;
            }
        }
        rls_replay_episode_free(&e);
    }
    names = strdup(m->feature_names ? m->feature_names : "");
    if (!names) {
        fprintf(stderr, S_PROG " info: out of memory\n");
        goto done;
    }
    const char *fname[512];
    int n_names = 0;
    for (char *tok = strtok(names, ","); tok && n_names < 512; tok = strtok(NULL, ","))
        fname[n_names++] = tok;

    if (as_json) {
        root = json_object();
        json_t *pols = json_object(), *deltas = json_array(), *hist_j = json_array(), *feats = json_array();
        for (int k = 0; k < n_pol; k++)
            json_object_set_new(pols, pol_names[k], json_integer(pol_eps[k]));
        for (int32_t d = 0; d < ND; d++) {
            json_t *row = json_array();
            json_array_append_new(deltas, json_integer(m->deltas[d]));
            for (int32_t pl = 0; pl < NP; pl++)
                json_array_append_new(row, json_integer(hist[d * NP + pl]));
            json_array_append_new(hist_j, row);
        }
        for (int32_t f = 0; f < F; f++)
            json_array_append_new(feats, json_pack("{s:s,s:o,s:o}", "name", f < n_names ? fname[f] : "",
                                                   "mean", s_num((double)m->obs_mean[f]), "std",
                                                   s_num((double)m->obs_std[f])));
        json_object_set_new(root, "file", json_string(path));
        json_object_set_new(root, "format_version", json_integer(RLS_REPLAY_FORMAT_VERSION));
        json_object_set_new(root, "episodes", json_integer(rls_replay_reader_n_episodes(r)));
        json_object_set_new(root, "steps", json_integer(rls_replay_reader_n_steps(r)));
        json_object_set_new(root, "transitions", json_integer(rls_replay_reader_n_transitions(r)));
        json_object_set_new(root, "n_services", json_integer(S));
        json_object_set_new(root, "n_features", json_integer(F));
        json_object_set_new(root, "n_actions", json_integer(A));
        json_object_set_new(root, "n_placements", json_integer(NP));
        json_object_set_new(root, "deltas", deltas);
        json_object_set_new(root, "scenario", json_string(m->scenario_name));
        json_object_set_new(root, "trace", json_string(m->trace));
        json_object_set_new(root, "behavior", json_string(m->behavior));
        json_object_set_new(root, "epsilon", s_num(m->epsilon));
        json_object_set_new(root, "policies", pols);
        json_object_set_new(root, "reward", s_stat_json(&rew));
        json_object_set_new(root, "service_reward", s_stat_json(&srew));
        json_object_set_new(root, "terminated", json_integer(n_term));
        json_object_set_new(root, "truncated", json_integer(n_trunc));
        json_object_set_new(root, "action_histogram", hist_j);
        json_object_set_new(root, "features", feats);
        json_object_set_new(root, "fingerprint", json_string(rls_replay_reader_fingerprint(r)));
        json_object_set_new(root, "checksums", json_string(rls_replay_reader_checksums(r) ? "verified" : "none"));
        json_object_set_new(root, "created", json_string(m->created));
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text) {
            fprintf(stderr, S_PROG " info: out of memory\n");
            goto done;
        }
        printf("%s\n", text);
        free(text);
    } else {
        printf("file          %s\n", path);
        printf("format        rlsched-replay v%d, created %s\n", RLS_REPLAY_FORMAT_VERSION, m->created);
        printf("episodes      %" PRId64 " (%" PRId64 " steps, %" PRId64 " transitions; %" PRId64
               " terminated, %" PRId64 " truncated)\n", rls_replay_reader_n_episodes(r),
               rls_replay_reader_n_steps(r), rls_replay_reader_n_transitions(r), n_term, n_trunc);
        printf("shapes        S=%d services, F=%d features, A=%d actions (%d deltas x %d placements)\n", S, F, A,
               ND, NP);
        printf("scenario      %s%s%s\n", m->scenario_name, m->trace[0] ? ", trace " : "", m->trace);
        printf("behavior      %s\n", m->behavior);
        printf("policies     ");
        for (int k = 0; k < n_pol; k++)
            printf(" %s: %" PRId64 " episodes%s", pol_names[k], pol_eps[k], k + 1 < n_pol ? "," : "");
        printf("\n");
        printf("reward        mean %.5f, min %.5f, max %.5f (global, per step)\n", rew.n ? rew.sum / (double)rew.n : 0.0,
               rew.min, rew.max);
        printf("svc reward    mean %.5f, min %.5f, max %.5f (per service and step)\n",
               srew.n ? srew.sum / (double)srew.n : 0.0, srew.min, srew.max);
        printf("actions       delta   spread  binpack   (transitions)\n");
        for (int32_t d = 0; d < ND; d++) {
            printf("              %+5d", m->deltas[d]);
            for (int32_t pl = 0; pl < NP; pl++)
                printf(" %8" PRId64, hist[d * NP + pl]);
            printf("\n");
        }
        printf("features      %-28s %12s %12s\n", "name", "mean", "std");
        for (int32_t f = 0; f < F; f++)
            printf("              %-28s %12.5g %12.5g\n", f < n_names ? fname[f] : "?", (double)m->obs_mean[f],
                   (double)m->obs_std[f]);
        printf("fingerprint   %s\n", rls_replay_reader_fingerprint(r));
        printf("checksums     %s\n", rls_replay_reader_checksums(r) ? "verified"
               : "none (written before checksums: data not verified; re-record to add them)");
    }
    ret = 0;
done:
    json_decref(root);
    free(names);
    free(hist);
    rls_replay_reader_close(&r);
    return ret;
}

int rls_cmd_replay(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, S_PROG ": which subcommand? (info, recover, merge, relabel; try --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "info") == 0) {
        const char *file = NULL;
        int as_json = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                as_json = 1;
            else if (argv[i][0] == '-' && argv[i][1]) {
                fprintf(stderr, S_PROG " info: unknown option '%s' (try --help)\n", argv[i]);
                return 2;
            } else if (!file)
                file = argv[i];
            else {
                fprintf(stderr, S_PROG " info: one FILE only (got '%s' too)\n", argv[i]);
                return 2;
            }
        }
        if (!file) {
            fprintf(stderr, S_PROG " info: FILE is required (try --help)\n");
            return 2;
        }
        return s_info(file, as_json);
    }
    if (strcmp(argv[1], "recover") == 0) {
        struct rls_err err = {0};
        int rolled = 0;
        if (argc != 3) {
            fprintf(stderr, S_PROG " recover: exactly one FILE (try --help)\n");
            return 2;
        }
        if (rls_replay_recover(argv[2], &rolled, &err) != RLS_OK) {
            fprintf(stderr, S_PROG " recover: %s\n", err.msg);
            return 1;
        }
        /* Nothing rolled back says nothing about the file: refuse one that is
         * not a readable replay file (missing, junk, truncated). */
        struct rls_replay_reader *check = rls_replay_reader_open(argv[2], NULL, &err);
        if (!check) {
            fprintf(stderr, S_PROG " recover: %s\n", err.msg);
            return 1;
        }
        rls_replay_reader_close(&check);
        printf("%s: %s\n", argv[2], rolled ? "rolled back the interrupted commit" : "nothing to recover");
        return 0;
    }
    if (strcmp(argv[1], "merge") == 0) {
        const char *out = NULL;
        const char **in = calloc((size_t)argc, sizeof *in);
        int n_in = 0, rc;
        struct rls_err err = {0};
        if (!in) {
            fprintf(stderr, S_PROG " merge: out of memory\n");
            return 1;
        }
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
                out = argv[++i];
            else if (argv[i][0] == '-' && argv[i][1]) {
                fprintf(stderr, S_PROG " merge: unknown option '%s' (try --help)\n", argv[i]);
                free(in);
                return 2;
            } else
                in[n_in++] = argv[i];
        }
        if (!out || n_in < 1) {
            fprintf(stderr, S_PROG " merge: --out OUT and at least one input are required\n");
            free(in);
            return 2;
        }
        rc = rls_replay_merge(out, in, n_in, &err);
        free(in);
        if (rc != RLS_OK) {
            fprintf(stderr, S_PROG " merge: %s\n", err.msg);
            return 1;
        }
        printf("merged %d files -> %s\n", n_in, out);
        return 0;
    }
    if (strcmp(argv[1], "relabel") == 0) {
        const char *in = NULL, *out = NULL;
        struct rls_relabel_params p = rls_relabel_default_params();
        struct rls_err err = {0};
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i];
            if (a[0] == '-' && a[1] && i + 1 >= argc) {
                fprintf(stderr, S_PROG " relabel: %s needs a value\n", a);
                return 2;
            }
            if (strcmp(a, "--out") == 0)
                out = argv[++i];
            else if (strcmp(a, "--target-util") == 0) {
                if (rls_cli_parse_double(argv[++i], 1e-12, 1.0, &p.target_util) != 0) {
                    fprintf(stderr, S_PROG " relabel: --target-util '%s': expected 0 < U <= 1\n", argv[i]);
                    return 2;
                }
            } else if (strcmp(a, "--teacher") == 0) {
                i++;
                if (strcmp(argv[i], "util") == 0)
                    p.teacher = RLS_TEACHER_UTIL;
                else if (strcmp(argv[i], "slo") == 0)
                    p.teacher = RLS_TEACHER_SLO;
                else {
                    fprintf(stderr, S_PROG " relabel: --teacher '%s': expected util or slo\n", argv[i]);
                    return 2;
                }
            } else if (strcmp(a, "--margin") == 0) {
                if (rls_cli_parse_double(argv[++i], 0.0, 100.0, &p.margin_sigmas) != 0) {
                    fprintf(stderr, S_PROG " relabel: --margin '%s': expected 0 <= SIGMAS <= 100\n", argv[i]);
                    return 2;
                }
            } else if (strcmp(a, "--lookahead-extra") == 0 || strcmp(a, "--down-window") == 0) {
                uint64_t v = 0;
                if (rls_cli_parse_u64(argv[++i], 100000, &v) != 0 || v < (a[2] == 'l' ? 0u : 1u)) {
                    fprintf(stderr, S_PROG " relabel: %s '%s': expected a step count\n", a, argv[i]);
                    return 2;
                }
                if (a[2] == 'l')
                    p.lookahead_extra = (int32_t)v;
                else
                    p.down_window = (int32_t)v;
            } else if (a[0] == '-' && a[1]) {
                fprintf(stderr, S_PROG " relabel: unknown option '%s' (try --help)\n", a);
                return 2;
            } else if (!in)
                in = a;
            else {
                fprintf(stderr, S_PROG " relabel: one input only (got '%s' too)\n", a);
                return 2;
            }
        }
        if (!in || !out) {
            fprintf(stderr, S_PROG " relabel: IN and --out OUT are required\n");
            return 2;
        }
        int64_t changed = 0, total = 0;
        if (rls_replay_relabel(in, out, &p, &changed, &total, &err) != RLS_OK) {
            fprintf(stderr, S_PROG " relabel: %s\n", err.msg);
            return 1;
        }
        printf("relabelled %s -> %s: %lld of %lld actions changed\n", in, out, (long long)changed,
               (long long)total);
        return 0;
    }
    fprintf(stderr, S_PROG ": unknown subcommand '%s' (info, recover, merge, relabel)\n", argv[1]);
    return 2;
}
