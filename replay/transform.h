/* transform.h - whole-file operations on replay files: merging several into
 * one, and relabelling the actions with a hindsight teacher.
 *
 * Hindsight relabelling (the method behind policies/default.h5, see
 * tools/experiments/README.md): every recorded step keeps its observation, and
 * its action becomes what a teacher that sees the episode's own future load
 * would have done: scale up to cover the peak load of the next cold start +
 * `lookahead_extra` steps (at `target_util`, or at the SLO by Erlang C: the
 * `teacher`), scale down only to what the peak
 * of the next `down_window` steps needs, always bin-pack. The learned policy
 * then imitates the teacher from present observations only (behaviour
 * cloning); the teacher's foresight is used for labels, never at run time.
 */
#ifndef RLS_REPLAY_TRANSFORM_H
#define RLS_REPLAY_TRANSFORM_H

#include <stdint.h>

#include "../env/status.h"

/* Concatenates the episodes of n_in replay files of the same shapes (services,
 * features, action space) into a new file `out` (written crash-safe like any
 * replay file; feature normalization recomputed over all rows). Metadata comes
 * from the first file; the behaviour policies of all are listed. Returns
 * RLS_OK or a negative status with err naming the file that failed. */
int rls_replay_merge(const char *out, const char *const *in, int n_in, struct rls_err *err);

enum rls_teacher {
    RLS_TEACHER_UTIL = 0,    /* replicas = ceil(peak load / target_util) */
    RLS_TEACHER_SLO = 1      /* replicas = rls_queueing_demand(peak rate + margin_sigmas *
                              * sqrt(peak rate / step_s)): the fewest that meet the SLO at
                              * the peak (Erlang C, as the oracle), plus a Poisson margin */
};

struct rls_relabel_params {
    double target_util;      /* load per replica the teacher aims at, 0..1 (0.88; util teacher) */
    int32_t lookahead_extra; /* scale-up look-ahead beyond the cold start, steps (8) */
    int32_t down_window;     /* scale-down keeps the peak of this many next steps (40) */
    enum rls_teacher teacher;  /* how a peak load becomes replicas (RLS_TEACHER_UTIL) */
    double margin_sigmas;    /* slo teacher: Poisson margin in standard deviations (2) */
};

/* Returns the defaults above. */
struct rls_relabel_params rls_relabel_default_params(void);

/* Reads `in`, writes `out` with every action replaced by the hindsight
 * teacher's (see the top of this file), everything else unchanged. Needs the
 * file's scenario (meta.scenario_yaml) for each service's replica limits and
 * cold start, and the `load` and `desired` features. Reports how many actions
 * changed in *changed and *total (may be NULL). Returns RLS_OK or a negative
 * status with err naming the file or field. */
int rls_replay_relabel(const char *in, const char *out, const struct rls_relabel_params *p,
                       int64_t *changed, int64_t *total, struct rls_err *err);

#endif
