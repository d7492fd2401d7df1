/* report.h - what `rlsched eval` writes: the aligned table, the JSON
 * document, the per-step decisions CSV and a hand-written SVG picture of
 * load, replicas and latency over time.
 *
 * Every file is written atomically: into a temporary file beside the target
 * (PATH.tmpXXXXXX), renamed over PATH only once complete, removed on any
 * failure, so no partial file ever sits under the final name.
 */
#ifndef RLS_REPORT_H
#define RLS_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "../env/status.h"
#include "eval.h"

/* Prints one aligned row per result (policy | cost $ | x oracle | SLO viol % |
 * drop % | p95 ms | p99 ms | actions | util % | Jain | under% | over%, with
 * "x oracle-b", the cost over the budget-aware oracle's, after "x oracle" when
 * a result of kind "oracle-budget" is among r) and a line naming the cheapest
 * result whose violations are within slo_budget_pct (or saying none is). */
void rls_report_table(FILE *f, const struct rls_eval_result *r, int n, double slo_budget_pct);

/* The index of the cheapest result with slo_violation_pct <= slo_budget_pct,
 * or -1 when none meets it. */
int rls_report_cheapest(const struct rls_eval_result *r, int n, double slo_budget_pct);

/* The index of the first result of kind "oracle-budget" (the reference of
 * cost_vs_oracle_budget), or -1 when none is among r[0..n). */
int rls_report_oracle_budget(const struct rls_eval_result *r, int n);

/* cost_usd / ref_cost_usd: 1 when both are 0, INFINITY when only ref is. */
double rls_report_cost_ratio(double cost_usd, double ref_cost_usd);

/* The JSON document: {scenario, seed, steps, step_s, slo_budget_pct,
 * cheapest_meeting_slo, oracle_budget, policies: [...]} (keys in
 * docs/METRICS.md; each policy has cost_vs_oracle_budget, null when no
 * oracle-budget result is among r). Non-finite numbers become
 * null. Returns a new reference (caller owns it, json_decref) or NULL on no
 * memory. */
json_t *rls_report_json(const struct rls_eval_result *r, int n, double slo_budget_pct);

/* rls_report_json written (indented) atomically to path. Returns RLS_OK,
 * RLS_ERR_NOMEM, or RLS_ERR_IO with err naming the path. */
int rls_report_json_write(const char *path, const struct rls_eval_result *r, int n,
                          double slo_budget_pct, struct rls_err *err);

/* The decisions CSV: header `policy,time_s,service,tenant,arrival_rps,
 * ready_replicas,starting_replicas,desired_replicas,served_rps,dropped_rps,
 * p95_ms,frac_over_slo,node,rate_rps,demand_replicas`, then one row per
 * result per step per service (node quoted). Every result must have been run
 * with record = 1. Returns RLS_OK, RLS_ERR_INVALID (no records), or
 * RLS_ERR_IO with err naming the path. */
int rls_report_csv_write(const char *path, const struct rls_eval_result *r, int n,
                         struct rls_err *err);

/* The SVG: a legend, then one row of three panels per service (load in rps;
 * ready replicas of each policy with the demanded replicas dashed; p95
 * latency of each policy against the SLO line), time in hours on the x axes,
 * at most 1000 points per line (bucket means; bucket maxima for latency).
 * Needs records as the CSV does. Returns RLS_OK, RLS_ERR_INVALID or
 * RLS_ERR_IO with err naming the path. */
int rls_report_svg_write(const char *path, const struct rls_eval_result *r, int n,
                         struct rls_err *err);

/* Opens a temporary file beside `path` for writing (tmp receives its name,
 * tmp_len >= strlen(path) + 12). Returns the stream or NULL with err naming
 * path. Finish with rls_report_commit. */
FILE *rls_report_open_tmp(const char *path, char *tmp, size_t tmp_len, struct rls_err *err);

/* Closes f and renames tmp to path when ok is 1 and every write succeeded;
 * otherwise removes tmp. Returns RLS_OK or RLS_ERR_IO with err naming path. */
int rls_report_commit(FILE *f, const char *tmp, const char *path, int ok, struct rls_err *err);

#endif
