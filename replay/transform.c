/* transform.c - merge replay files; relabel actions with the hindsight
 * teacher (transform.h). Both read episodes through the validating reader and
 * write through the crash-safe writer, so the output is a replay file like any
 * other. */
#include "transform.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../env/queueing.h"
#include "../env/scenario.h"
#include "replay.h"

/* Copies one episode (its steps, as they are or with new actions) into w. */
static int s_copy_episode(struct rls_replay_writer *w, const struct rls_replay_episode *e,
                          const struct rls_replay_episode_info *info, const int32_t *actions,
                          int32_t S, int32_t F, int32_t A)
{
    int rc = rls_replay_writer_begin_episode(w, info->seed, info->policy);
    for (int64_t t = 0; t < e->steps && rc == RLS_OK; t++)
        rc = rls_replay_writer_add_step(w, e->observations + (size_t)t * (size_t)S * (size_t)F,
                                        actions + (size_t)t * (size_t)S, (double)e->rewards[t],
                                        e->service_rewards + (size_t)t * (size_t)S,
                                        e->action_masks + (size_t)t * (size_t)S * (size_t)A,
                                        e->terminations[t], e->truncations[t]);
    if (rc == RLS_OK)
        rc = rls_replay_writer_end_episode(
            w, e->observations + (size_t)e->steps * (size_t)S * (size_t)F,
            e->action_masks + (size_t)e->steps * (size_t)S * (size_t)A);
    return rc;
}

/* The output is built under "OUT.part" and renamed when complete: a failure
 * leaves nothing under the final name. */
static void s_part_name(const char *out, char *buf, size_t len)
{
    snprintf(buf, len, "%s.part", out);
}

static void s_part_discard(const char *part)
{
    char journal[4200];
    unlink(part);
    snprintf(journal, sizeof journal, "%s.journal", part);
    unlink(journal);
}

static int s_part_commit(const char *part, const char *out, struct rls_err *err)
{
    if (rename(part, out) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot rename %s: %s", out, part, strerror(errno));
    return RLS_OK;
}

static int s_same_shapes(const struct rls_replay_meta *a, const struct rls_replay_meta *b)
{
    return a->n_services == b->n_services && a->n_features == b->n_features &&
           a->n_deltas == b->n_deltas && a->n_placements == b->n_placements &&
           memcmp(a->deltas, b->deltas, (size_t)a->n_deltas * sizeof a->deltas[0]) == 0;
}

int rls_replay_merge(const char *out, const char *const *in, int n_in, struct rls_err *err)
{
    struct rls_replay_reader **r = NULL;
    struct rls_replay_writer *w = NULL;
    struct rls_replay_meta meta;
    struct rls_replay_episode e;
    char part[4096] = "";
    int rc = RLS_OK;
    memset(&meta, 0, sizeof meta);
    memset(&e, 0, sizeof e);
    if (!out || !in || n_in < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "merge: need an output and at least one input");
    r = calloc((size_t)n_in, sizeof *r);
    if (!r)
        return rls_err_set(err, RLS_ERR_NOMEM, "merge: out of memory");
    struct rls_replay_reader_params rp = rls_replay_reader_default_params();
    rp.cache_bytes = 64 << 20;   /* episodes are read whole; nothing else is cached */
    for (int k = 0; k < n_in; k++) {
        r[k] = rls_replay_reader_open(in[k], &rp, err);
        if (!r[k]) {
            rc = err ? err->status : RLS_ERR_IO;
            goto done;
        }
        if (k > 0 && !s_same_shapes(rls_replay_reader_meta(r[0]), rls_replay_reader_meta(r[k]))) {
            rc = rls_err_set(err, RLS_ERR_INVALID,
                             "%s: shapes or action space differ from %s's (services, features, deltas)",
                             in[k], in[0]);
            goto done;
        }
    }
    if ((rc = rls_replay_meta_copy(&meta, rls_replay_reader_meta(r[0]))) != RLS_OK) {
        rls_err_set(err, rc, "merge: out of memory");
        goto done;
    }
    /* the behaviour policies of every input, as far as they fit */
    meta.behavior[0] = '\0';
    for (int k = 0; k < n_in; k++) {
        size_t used = strlen(meta.behavior);
        snprintf(meta.behavior + used, sizeof meta.behavior - used, "%s%s", k ? "; " : "",
                 rls_replay_reader_meta(r[k])->behavior);
    }
    snprintf(meta.trace, sizeof meta.trace, "merged from %d files", n_in);
    s_part_name(out, part, sizeof part);
    w = rls_replay_writer_open(part, &meta, err);
    if (!w) {
        rc = err ? err->status : RLS_ERR_IO;
        goto done;
    }
    int32_t S = meta.n_services, F = meta.n_features, A = meta.n_actions;
    for (int k = 0; k < n_in; k++) {
        for (int64_t i = 0; i < rls_replay_reader_n_episodes(r[k]); i++) {
            struct rls_replay_episode_info info;
            if ((rc = rls_replay_reader_episode_info(r[k], i, &info)) != RLS_OK ||
                (rc = rls_replay_reader_read_episode(r[k], i, &e)) != RLS_OK) {
                rls_err_set(err, rc, "%s: episode %lld: %s", in[k], (long long)i,
                            rls_replay_reader_errmsg(r[k]));
                goto done;
            }
            rc = s_copy_episode(w, &e, &info, e.actions, S, F, A);
            rls_replay_episode_free(&e);
            if (rc != RLS_OK) {
                rls_err_set(err, rc, "%s: %s", out, rls_replay_writer_errmsg(w));
                goto done;
            }
        }
    }
    rc = rls_replay_writer_close(&w, err);
    if (rc == RLS_OK)
        rc = s_part_commit(part, out, err);
done:
    if (w) {
        struct rls_err ignore;
        rls_replay_writer_close(&w, &ignore);
    }
    if (rc != RLS_OK && part[0])
        s_part_discard(part);
    rls_replay_episode_free(&e);
    for (int k = 0; r && k < n_in; k++)
        rls_replay_reader_close(&r[k]);
    free(r);
    rls_replay_meta_clear(&meta);
    return rc;
}

struct rls_relabel_params rls_relabel_default_params(void)
{
    struct rls_relabel_params p = {0.88, 8, 40, RLS_TEACHER_UTIL, 2.0};
    return p;
}

/* Index of `name` in the comma-separated list, or -1. */
static int s_feature_index(const char *names, const char *name)
{
    int idx = 0;
    size_t n = strlen(name);
    for (const char *p = names; p && *p; idx++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return idx;
        p = comma ? comma + 1 : NULL;
    }
    return -1;
}

/* The replicas the teacher gives service s for a peak load of `load` replicas'
 * worth (at least mn). */
static double s_need(const struct rls_service_spec *s, double step_s, const struct rls_relabel_params *p,
                     double load, double mn)
{
    double n;
    if (p->teacher == RLS_TEACHER_SLO) {
        double r = load * (s->capacity_rps > 0 ? s->capacity_rps : 1.0);
        n = (double)rls_queueing_demand(s, r + p->margin_sigmas * sqrt(r / step_s));
    } else {
        n = ceil(load / p->target_util);
    }
    return fmax(n, mn);
}

/* The teacher's actions for one episode: new[T, S]. */
static void s_teach(const struct rls_replay_episode *e, const struct rls_scenario *sc,
                    const struct rls_replay_meta *m, const struct rls_relabel_params *p, int iload,
                    int ides, int32_t *new_act)
{
    int32_t S = m->n_services, F = m->n_features, A = m->n_actions, P = m->n_placements;
    int64_t T = e->steps;
    int32_t zero = 0;
    for (int32_t j = 0; j < m->n_deltas; j++)
        if (m->deltas[j] == 0)
            zero = j;
    for (int32_t i = 0; i < S; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        double M = s->max_replicas > 0 ? (double)s->max_replicas : 1.0;
        double mn = (double)s->min_replicas;
        int64_t H = (int64_t)ceil(s->cold_start_s / sc->step_s) + p->lookahead_extra;
        int64_t DW = p->down_window, K = H > DW ? H : DW;
        for (int64_t t = 0; t < T; t++) {
            /* the peak load (in replicas) of the next H and DW observations */
            double fut = 0.0, up = mn, dn = mn;
            for (int64_t k = 1; k <= K; k++) {
                int64_t u = t + k < T ? t + k : T;
                double load = (double)e->observations[((size_t)u * (size_t)S + (size_t)i) * (size_t)F + (size_t)iload] * M;
                if (load > fut)
                    fut = load;
                if (k == H)
                    up = s_need(s, sc->step_s, p, fut, mn);
                if (k == DW)
                    dn = s_need(s, sc->step_s, p, fut, mn);
            }
            double d0 = rint((double)e->observations[((size_t)t * (size_t)S + (size_t)i) * (size_t)F + (size_t)ides] * M);
            double gap = d0 < up ? up - d0 : (d0 > dn ? dn - d0 : 0.0);
            const uint8_t *mask = e->action_masks + ((size_t)t * (size_t)S + (size_t)i) * (size_t)A;
            int32_t best = zero;
            if (gap > 0) {          /* the smallest allowed rise that covers the gap, else the largest */
                int32_t cover = -1, largest = zero;
                for (int32_t j = 0; j < m->n_deltas; j++) {
                    if (!mask[j * P + (P - 1)])
                        continue;
                    if (m->deltas[j] >= gap && (cover < 0 || m->deltas[j] < m->deltas[cover]))
                        cover = j;
                    if (m->deltas[j] > m->deltas[largest])
                        largest = j;
                }
                best = cover >= 0 ? cover : largest;
            } else if (gap < 0) {   /* the deepest allowed cut that stays above what is needed */
                for (int32_t j = 0; j < m->n_deltas; j++)
                    if (mask[j * P + (P - 1)] && m->deltas[j] >= gap && m->deltas[j] <= 0 &&
                        m->deltas[j] < m->deltas[best])
                        best = j;
            }
            new_act[(size_t)t * (size_t)S + (size_t)i] = best * P + (P - 1);   /* bin-pack */
        }
    }
}

int rls_replay_relabel(const char *in, const char *out, const struct rls_relabel_params *p_in,
                       int64_t *changed, int64_t *total, struct rls_err *err)
{
    struct rls_relabel_params p = p_in ? *p_in : rls_relabel_default_params();
    struct rls_replay_reader *r = NULL;
    struct rls_replay_writer *w = NULL;
    struct rls_scenario *sc = NULL;
    struct rls_replay_meta meta;
    struct rls_replay_episode e;
    int32_t *act = NULL;
    int64_t n_changed = 0, n_total = 0;
    char part[4096] = "";
    int rc = RLS_OK;
    memset(&meta, 0, sizeof meta);
    memset(&e, 0, sizeof e);
    if (!(p.target_util > 0.0 && p.target_util <= 1.0) || p.lookahead_extra < 0 || p.down_window < 1 ||
        (p.teacher != RLS_TEACHER_UTIL && p.teacher != RLS_TEACHER_SLO) ||
        !(p.margin_sigmas >= 0.0 && p.margin_sigmas <= 100.0))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "relabel: target_util must be in (0, 1], lookahead_extra >= 0, down_window >= 1, "
                           "teacher util or slo, margin_sigmas in [0, 100]");
    struct rls_replay_reader_params rp = rls_replay_reader_default_params();
    rp.cache_bytes = 64 << 20;
    r = rls_replay_reader_open(in, &rp, err);
    if (!r)
        return err ? err->status : RLS_ERR_IO;
    const struct rls_replay_meta *m = rls_replay_reader_meta(r);
    if (!m->scenario_yaml) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: /scenario_yaml: missing (needed for replica limits)", in);
        goto done;
    }
    if ((rc = rls_scenario_parse(m->scenario_yaml, strlen(m->scenario_yaml), in, &sc, err)) != RLS_OK)
        goto done;
    if (sc->n_services != m->n_services) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: scenario has %d services, the data %d", in,
                         (int)sc->n_services, (int)m->n_services);
        goto done;
    }
    int iload = s_feature_index(m->feature_names, "load"), ides = s_feature_index(m->feature_names, "desired");
    if (iload < 0 || ides < 0) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: feature_names: needs 'load' and 'desired'", in);
        goto done;
    }
    if ((rc = rls_replay_meta_copy(&meta, m)) != RLS_OK) {
        rls_err_set(err, rc, "relabel: out of memory");
        goto done;
    }
    size_t used = strlen(meta.behavior);
    if (p.teacher == RLS_TEACHER_SLO)
        snprintf(meta.behavior + used, sizeof meta.behavior - used,
                 " relabelled teacher=slo margin=%g H=cold+%d down=%d", p.margin_sigmas,
                 (int)p.lookahead_extra, (int)p.down_window);
    else
        snprintf(meta.behavior + used, sizeof meta.behavior - used, " relabelled U=%g H=cold+%d down=%d",
                 p.target_util, (int)p.lookahead_extra, (int)p.down_window);
    s_part_name(out, part, sizeof part);
    w = rls_replay_writer_open(part, &meta, err);
    if (!w) {
        rc = err ? err->status : RLS_ERR_IO;
        goto done;
    }
    for (int64_t i = 0; i < rls_replay_reader_n_episodes(r); i++) {
        struct rls_replay_episode_info info;
        if ((rc = rls_replay_reader_episode_info(r, i, &info)) != RLS_OK ||
            (rc = rls_replay_reader_read_episode(r, i, &e)) != RLS_OK) {
            rls_err_set(err, rc, "%s: episode %lld: %s", in, (long long)i, rls_replay_reader_errmsg(r));
            goto done;
        }
        size_t n = (size_t)e.steps * (size_t)m->n_services;
        int32_t *grown = realloc(act, (n ? n : 1) * sizeof *act);
        if (!grown) {
            rc = rls_err_set(err, RLS_ERR_NOMEM, "relabel: out of memory");
            goto done;
        }
        act = grown;
        s_teach(&e, sc, m, &p, iload, ides, act);
        for (size_t k = 0; k < n; k++)
            n_changed += act[k] != e.actions[k];
        n_total += (int64_t)n;
        rc = s_copy_episode(w, &e, &info, act, m->n_services, m->n_features, m->n_actions);
        rls_replay_episode_free(&e);
        if (rc != RLS_OK) {
            rls_err_set(err, rc, "%s: %s", out, rls_replay_writer_errmsg(w));
            goto done;
        }
    }
    rc = rls_replay_writer_close(&w, err);
    if (rc == RLS_OK)
        rc = s_part_commit(part, out, err);
    if (changed)
        *changed = n_changed;
    if (total)
        *total = n_total;
done:
    if (w) {
        struct rls_err ignore;
        rls_replay_writer_close(&w, &ignore);
    }
    if (rc != RLS_OK && part[0])
        s_part_discard(part);
    rls_replay_episode_free(&e);
    rls_replay_reader_close(&r);
    rls_scenario_destroy(&sc);
    rls_replay_meta_clear(&meta);
    free(act);
    return rc;
}
