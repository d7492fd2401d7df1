/* report.c - the table, JSON, decisions CSV and SVG of `rlsched eval` (see
 * report.h). The SVG is written by hand: polylines, axes with "nice" ticks
 * (1, 2, 5 x 10^k), a legend; no library. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ files */

FILE *rls_report_open_tmp(const char *path, char *tmp, size_t tmp_len, struct rls_err *err)
{
    if (!path || !*path || !tmp || tmp_len < strlen(path) + 12) {
        rls_err_set(err, RLS_ERR_INVALID, "report: bad output path");
        return NULL;
    }
    snprintf(tmp, tmp_len, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rls_err_set(err, RLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        tmp[0] = '\0';
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        rls_err_set(err, RLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        tmp[0] = '\0';
        return NULL;
    }
    return f;
}

int rls_report_commit(FILE *f, const char *tmp, const char *path, int ok, struct rls_err *err)
{
    int bad = !ok;
    if (f) {
        if (fflush(f) != 0 || ferror(f))
            bad = 1;
        if (fclose(f) != 0)
            bad = 1;
    }
    if (bad) {
        if (tmp && *tmp)
            unlink(tmp);
        if (ok)   /* a write failed, not the caller */
            return rls_err_set(err, RLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return err && err->status ? err->status : RLS_ERR_IO;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rls_err_set(err, RLS_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return RLS_OK;
}

/* ------------------------------------------------------------ table */

int rls_report_cheapest(const struct rls_eval_result *r, int n, double slo_budget_pct)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (r[i].slo_violation_pct <= slo_budget_pct + 1e-9 &&
            (best < 0 || r[i].cost_usd < r[best].cost_usd))
            best = i;
    return best;
}

static void s_cell(FILE *f, int width, double v, int prec)
{
    if (isfinite(v))
        fprintf(f, " | %*.*f", width, prec, v);
    else
        fprintf(f, " | %*s", width, isnan(v) ? "-" : "inf");
}

int rls_report_oracle_budget(const struct rls_eval_result *r, int n)
{
    for (int i = 0; r && i < n; i++)
        if (strcmp(r[i].kind, "oracle-budget") == 0)
            return i;
    return -1;
}

double rls_report_cost_ratio(double cost_usd, double ref_cost_usd)
{
    if (ref_cost_usd > 0.0)
        return cost_usd / ref_cost_usd;
    return cost_usd > 0.0 ? INFINITY : 1.0;
}

void rls_report_table(FILE *f, const struct rls_eval_result *r, int n, double slo_budget_pct)
{
    static const char *heads[] = {"cost $", "x oracle", "x oracle-b", "SLO viol %", "drop %",
                                  "p95 ms", "p99 ms", "actions", "util %", "Jain", "under%",
                                  "over%"};
    static const int widths[] = {10, 8, 10, 10, 7, 9, 9, 7, 6, 5, 7, 7};
    int ob = rls_report_oracle_budget(r, n);
    int nw = 6;
    for (int i = 0; i < n; i++) {
        int l = (int)strlen(r[i].name);
        if (l > nw)
            nw = l;
    }
    fprintf(f, "%-*s", nw, "policy");
    for (int c = 0; c < 12; c++)
        if (c != 2 || ob >= 0)
            fprintf(f, " | %*s", widths[c], heads[c]);
    fputc('\n', f);
    for (int k = 0; k < nw; k++)
        fputc('-', f);
    for (int c = 0; c < 12; c++) {
        if (c == 2 && ob < 0)
            continue;
        fputs("-+-", f);
        for (int k = 0; k < widths[c]; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        const struct rls_eval_result *x = &r[i];
        fprintf(f, "%-*s", nw, x->name);
        s_cell(f, widths[0], x->cost_usd, 2);
        s_cell(f, widths[1], x->cost_vs_oracle, 2);
        if (ob >= 0)
            s_cell(f, widths[2], rls_report_cost_ratio(x->cost_usd, r[ob].cost_usd), 2);
        s_cell(f, widths[3], x->slo_violation_pct, 2);
        s_cell(f, widths[4], x->dropped_pct, 2);
        s_cell(f, widths[5], x->p95_ms, 1);
        s_cell(f, widths[6], x->p99_ms, 1);
        fprintf(f, " | %*lld", widths[7], (long long)x->scale_actions);
        s_cell(f, widths[8], 100.0 * x->mean_utilization, 1);
        s_cell(f, widths[9], x->jain_fairness, 3);
        s_cell(f, widths[10], x->elasticity.theta_u, 1);
        s_cell(f, widths[11], x->elasticity.theta_o, 1);
        fputc('\n', f);
    }
    int best = rls_report_cheapest(r, n, slo_budget_pct);
    if (best >= 0)
        fprintf(f, "cheapest meeting the SLO (violations <= %g%%): %s at $%.2f (%.2f%% violations)\n",
                slo_budget_pct, r[best].name, r[best].cost_usd, r[best].slo_violation_pct);
    else
        fprintf(f, "no policy meets the SLO (violations <= %g%%)\n", slo_budget_pct);
}

/* ------------------------------------------------------------ JSON */

/* A JSON number, or null when not finite (JSON has no NaN/Inf). */
static json_t *s_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *s_elasticity(const struct rls_elasticity *e)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "theta_u", s_num(e->theta_u), "theta_o",
                     s_num(e->theta_o), "tau_u", s_num(e->tau_u), "tau_o", s_num(e->tau_o),
                     "upsilon", s_num(e->upsilon));
}

static json_t *s_policy_json(const struct rls_eval_result *x, const struct rls_eval_result *ob)
{
    json_t *o = json_object();
    json_t *tenants = json_array();
    json_t *services = json_array();
    if (!o || !tenants || !services)
        goto fail;
    int bad = 0;
    bad |= json_object_set_new(o, "name", json_string(x->name));
    bad |= json_object_set_new(o, "kind", json_string(x->kind));
    bad |= json_object_set_new(o, "scenario", json_string(x->scenario));
    bad |= json_object_set_new(o, "seed", json_integer((json_int_t)x->seed));
    bad |= json_object_set_new(o, "steps", json_integer((json_int_t)x->steps));
    bad |= json_object_set_new(o, "cost", s_num(x->cost_usd));
    bad |= json_object_set_new(o, "node_hours", s_num(x->node_hours));
    bad |= json_object_set_new(o, "replica_hours", s_num(x->replica_hours));
    bad |= json_object_set_new(o, "cost_vs_oracle", s_num(x->cost_vs_oracle));
    bad |= json_object_set_new(o, "cost_vs_oracle_budget",
                               ob ? s_num(rls_report_cost_ratio(x->cost_usd, ob->cost_usd))
                                  : json_null());
    bad |= json_object_set_new(o, "requests", s_num(x->requests));
    bad |= json_object_set_new(o, "slo_violation_pct", s_num(x->slo_violation_pct));
    bad |= json_object_set_new(o, "dropped_pct", s_num(x->dropped_pct));
    bad |= json_object_set_new(o, "p95_ms", s_num(x->p95_ms));
    bad |= json_object_set_new(o, "p99_ms", s_num(x->p99_ms));
    bad |= json_object_set_new(o, "scale_actions", json_integer((json_int_t)x->scale_actions));
    bad |= json_object_set_new(o, "mean_utilization", s_num(x->mean_utilization));
    bad |= json_object_set_new(o, "jain_fairness", s_num(x->jain_fairness));
    bad |= json_object_set_new(o, "theta_u", s_num(x->elasticity.theta_u));
    bad |= json_object_set_new(o, "theta_o", s_num(x->elasticity.theta_o));
    bad |= json_object_set_new(o, "tau_u", s_num(x->elasticity.tau_u));
    bad |= json_object_set_new(o, "tau_o", s_num(x->elasticity.tau_o));
    bad |= json_object_set_new(o, "upsilon", s_num(x->elasticity.upsilon));
    for (int32_t k = 0; k < x->n_tenants; k++) {
        const struct rls_eval_tenant *t = &x->tenants[k];
        double attain = t->requests > 0.0 ? t->good / t->requests : 1.0;
        json_t *tj = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", t->name, "weight",
                               s_num(t->weight), "cost", s_num(t->cost_usd), "cost_share",
                               s_num(t->cost_share), "slo_violation_pct",
                               s_num(t->slo_violation_pct), "dropped_pct", s_num(t->dropped_pct),
                               "replica_hours", s_num(t->replica_hours), "requests",
                               s_num(t->requests), "slo_attainment", s_num(attain));
        if (!tj || json_array_append_new(tenants, tj) != 0)
            goto fail;
    }
    for (int32_t i = 0; i < x->n_services; i++) {
        const struct rls_eval_service *s = &x->services[i];
        const char *tn = s->tenant >= 0 && s->tenant < x->n_tenants ? x->tenants[s->tenant].name : "";
        json_t *sj = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "name", s->name,
                               "tenant", tn, "slo_ms", s_num(s->slo_ms), "requests",
                               s_num(s->requests), "slo_violation_pct", s_num(s->slo_violation_pct),
                               "dropped_pct", s_num(s->dropped_pct), "p95_ms", s_num(s->p95_ms),
                               "p99_ms", s_num(s->p99_ms), "replica_hours",
                               s_num(s->replica_hours), "scale_actions",
                               (json_int_t)s->scale_actions, "elasticity",
                               s_elasticity(&s->elasticity));
        if (!sj || json_array_append_new(services, sj) != 0)
            goto fail;
    }
    bad |= json_object_set_new(o, "elasticity", s_elasticity(&x->elasticity));
    bad |= json_object_set_new(o, "tenants", tenants);
    tenants = NULL;
    bad |= json_object_set_new(o, "services", services);
    services = NULL;
    if (x->tuned) {
        const struct rls_tune_result *t = &x->tune;
        json_t *tj = json_pack(
            "{s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:b,s:i}", "target_utilization",
            s_num(t->chosen.target_utilization), "scale_down_window_s",
            s_num(t->chosen.scale_down_window_s), "scale_up_pods", (json_int_t)t->chosen.scale_up_pods,
            "training_seed", (json_int_t)t->seed, "training_steps", (json_int_t)t->steps,
            "training_cost", s_num(t->cost_usd), "training_slo_violation_pct",
            s_num(t->slo_violation_pct), "slo_budget_pct", s_num(t->slo_budget_pct), "met_slo",
            t->met_slo, "grid_points", t->n_tried);
        bad |= json_object_set_new(o, "tuned", tj);
    }
    if (bad)
        goto fail;
    return o;
fail:
    json_decref(tenants);
    json_decref(services);
    json_decref(o);
    return NULL;
}

json_t *rls_report_json(const struct rls_eval_result *r, int n, double slo_budget_pct)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    if (!root || !arr || n < 1)
        goto fail;
    int bad = 0;
    bad |= json_object_set_new(root, "scenario", json_string(r[0].scenario));
    bad |= json_object_set_new(root, "seed", json_integer((json_int_t)r[0].seed));
    bad |= json_object_set_new(root, "steps", json_integer((json_int_t)r[0].steps));
    bad |= json_object_set_new(root, "step_s", s_num(r[0].step_s));
    bad |= json_object_set_new(root, "slo_budget_pct", s_num(slo_budget_pct));
    int best = rls_report_cheapest(r, n, slo_budget_pct);
    bad |= json_object_set_new(root, "cheapest_meeting_slo",
                               best >= 0 ? json_string(r[best].name) : json_null());
    int ob = rls_report_oracle_budget(r, n);
    bad |= json_object_set_new(root, "oracle_budget", ob >= 0 ? json_string(r[ob].name) : json_null());
    for (int i = 0; i < n; i++) {
        json_t *p = s_policy_json(&r[i], ob >= 0 ? &r[ob] : NULL);
        if (!p || json_array_append_new(arr, p) != 0)
            goto fail;
    }
    bad |= json_object_set_new(root, "policies", arr);
    arr = NULL;
    if (bad)
        goto fail;
    return root;
fail:
    json_decref(arr);
    json_decref(root);
    return NULL;
}

int rls_report_json_write(const char *path, const struct rls_eval_result *r, int n,
                          double slo_budget_pct, struct rls_err *err)
{
    char tmp[RLS_PATH_MAX + 32];
    json_t *doc = rls_report_json(r, n, slo_budget_pct);
    if (!doc)
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory building the JSON", path);
    FILE *f = rls_report_open_tmp(path, tmp, sizeof tmp, err);
    if (!f) {
        json_decref(doc);
        return err && err->status ? err->status : RLS_ERR_IO;
    }
    int ok = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) == 0;
    if (ok)
        ok = fputc('\n', f) != EOF;
    json_decref(doc);
    return rls_report_commit(f, tmp, path, ok, err);
}

/* ------------------------------------------------------------ CSV */

/* Writes s as a CSV field, quoted when it holds a comma, quote or newline
 * (always when force is 1). */
static void s_csv_str(FILE *f, const char *s, int force)
{
    if (!force && !strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int s_has_records(const struct rls_eval_result *r, int n, const char *path,
                         struct rls_err *err)
{
    if (!r || n < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: no results to write", path);
    for (int i = 0; i < n; i++)
        if (!r[i].records)
            return rls_err_set(err, RLS_ERR_INVALID, "%s: '%s' was run without records", path,
                               r[i].name);
    return RLS_OK;
}

int rls_report_csv_write(const char *path, const struct rls_eval_result *r, int n,
                         struct rls_err *err)
{
    char tmp[RLS_PATH_MAX + 32];
    int rc = s_has_records(r, n, path, err);
    if (rc != RLS_OK)
        return rc;
    FILE *f = rls_report_open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return err && err->status ? err->status : RLS_ERR_IO;
    fputs("policy,time_s,service,tenant,arrival_rps,ready_replicas,starting_replicas,"
          "desired_replicas,served_rps,dropped_rps,p95_ms,frac_over_slo,node,rate_rps,"
          "demand_replicas\n", f);
    for (int p = 0; p < n; p++) {
        const struct rls_eval_result *x = &r[p];
        int64_t nrec = x->steps * x->n_services;
        for (int64_t j = 0; j < nrec; j++) {
            const struct rls_eval_record *rec = &x->records[j];
            const struct rls_eval_service *sv = &x->services[j % x->n_services];
            const char *tn = sv->tenant >= 0 && sv->tenant < x->n_tenants ? x->tenants[sv->tenant].name : "";
            s_csv_str(f, x->name, 0);
            fprintf(f, ",%.3f,", rec->time_s);
            s_csv_str(f, sv->name, 0);
            fputc(',', f);
            s_csv_str(f, tn, 0);
            fprintf(f, ",%.4f,%d,%d,%d,%.4f,%.4f,", rec->arrival_rps, (int)rec->ready,
                    (int)rec->starting, (int)rec->desired, rec->served_rps, rec->dropped_rps);
            if (isfinite(rec->p95_ms))
                fprintf(f, "%.3f", rec->p95_ms);
            else
                fputs("inf", f);
            fprintf(f, ",%.6f,", rec->frac_over_slo);
            s_csv_str(f, rls_eval_record_nodes(x, j), 1);
            fprintf(f, ",%.4f,%d\n", rec->rate_rps, (int)rec->demand);
        }
    }
    return rls_report_commit(f, tmp, path, 1, err);
}

/* ------------------------------------------------------------ SVG */

#define S_SVG_W 1500.0
#define S_ROW_H 230.0
#define S_TOP 70.0
#define S_PANEL_W 420.0
#define S_PANEL_H 160.0
#define S_LEFT 70.0
#define S_GAP 75.0
#define S_MAX_POINTS 1000

static const char *s_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define S_N_COLORS 10

static void s_xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `want` ticks over range. */
static double s_nice_step(double range, int want)
{
    if (!(range > 0.0))
        return 1.0;
    double raw = range / want;
    double mag = pow(10.0, floor(log10(raw)));
    double norm = raw / mag;
    double step = norm < 1.5 ? 1.0 : norm < 3.5 ? 2.0 : norm < 7.5 ? 5.0 : 10.0;
    return step * mag;
}

/* A panel: frame, title, x ticks (hours), y ticks from 0 to ymax. */
struct s_panel {
    double x0, y0;          /* top-left of the plot area, px */
    double xmax_h;          /* hours at the right edge */
    double ymax;            /* value at the top edge */
};

static double s_px(const struct s_panel *p, double hours)
{
    return p->x0 + (p->xmax_h > 0.0 ? hours / p->xmax_h : 0.0) * S_PANEL_W;
}

static double s_py(const struct s_panel *p, double v)
{
    if (v > p->ymax)
        v = p->ymax;
    if (v < 0.0)
        v = 0.0;
    return p->y0 + S_PANEL_H - (p->ymax > 0.0 ? v / p->ymax : 0.0) * S_PANEL_H;
}

static void s_panel_frame(FILE *f, const struct s_panel *p, const char *title, const char *ylabel)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" stroke=\"#444444\"/>\n",
            p->x0, p->y0, S_PANEL_W, S_PANEL_H);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">", p->x0, p->y0 - 8.0);
    s_xml_text(f, title);
    fputs("</text>\n", f);
    double xs = s_nice_step(p->xmax_h, 6);
    for (double h = 0.0; h <= p->xmax_h + 1e-9; h += xs) {
        double x = s_px(p, h);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", x,
                p->y0, x, p->y0 + S_PANEL_H);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n", x,
                p->y0 + S_PANEL_H + 13.0, h);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">time, hours</text>\n",
            p->x0 + S_PANEL_W / 2.0, p->y0 + S_PANEL_H + 26.0);
    double ys = s_nice_step(p->ymax, 4);
    for (double v = 0.0; v <= p->ymax + 1e-9; v += ys) {
        double y = s_py(p, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", p->x0,
                y, p->x0 + S_PANEL_W, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%g</text>\n",
                p->x0 - 4.0, y + 3.0, v);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 %.1f %.1f)\">", p->x0 - 45.0, p->y0 + S_PANEL_H / 2.0,
            p->x0 - 45.0, p->y0 + S_PANEL_H / 2.0);
    s_xml_text(f, ylabel);
    fputs("</text>\n", f);
}

/* Which value of a record a line shows. */
enum s_field { S_RATE, S_READY, S_DEMAND, S_P95 };

static double s_field(const struct rls_eval_record *rec, enum s_field what)
{
    switch (what) {
    case S_RATE: return rec->rate_rps;
    case S_READY: return rec->ready;
    case S_DEMAND: return rec->demand;
    default: return rec->p95_ms;
    }
}

/* A polyline of service `svc` of result x: buckets of consecutive steps,
 * mean (max for latency, where a spike must stay visible). */
static void s_line(FILE *f, const struct s_panel *p, const struct rls_eval_result *x, int32_t svc,
                   enum s_field what, const char *color, const char *dash)
{
    int64_t T = x->steps;
    int64_t nb = T < S_MAX_POINTS ? T : S_MAX_POINTS;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\"%s%s%s points=\"", color,
            dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    for (int64_t b = 0; b < nb; b++) {
        int64_t a = b * T / nb, e = (b + 1) * T / nb;
        double acc = 0.0, mx = 0.0;
        for (int64_t t = a; t < e; t++) {
            double v = s_field(&x->records[t * x->n_services + svc], what);
            if (isnan(v))
                v = 0.0;
            acc += v;
            if (t == a || v > mx)
                mx = v;
        }
        double v = what == S_P95 ? mx : acc / (double)(e - a);
        double hours = x->records[(e - 1) * x->n_services + svc].time_s / 3600.0;
        fprintf(f, "%.1f,%.1f ", s_px(p, hours), s_py(p, v));
    }
    fputs("\"/>\n", f);
}

int rls_report_svg_write(const char *path, const struct rls_eval_result *r, int n,
                         struct rls_err *err)
{
    char tmp[RLS_PATH_MAX + 32];
    char title[256];
    int rc = s_has_records(r, n, path, err);
    if (rc != RLS_OK)
        return rc;
    FILE *f = rls_report_open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return err && err->status ? err->status : RLS_ERR_IO;
    const struct rls_eval_result *x0 = &r[0];
    int32_t ns = x0->n_services;
    double height = S_TOP + ns * S_ROW_H + 20.0;
    double t_end_h = x0->records[(x0->steps - 1) * ns].time_s / 3600.0;
    double xmax_h = t_end_h > 0.0 ? t_end_h : 1.0;

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
            S_SVG_W, height, S_SVG_W, height);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\"/>\n", S_SVG_W, height);
    fputs("<text x=\"20\" y=\"26\" font-size=\"18\" font-weight=\"bold\">rlsched eval: ", f);
    snprintf(title, sizeof title, "scenario %s, seed %llu, %lld steps of %g s", x0->scenario,
             (unsigned long long)x0->seed, (long long)x0->steps, x0->step_s);
    s_xml_text(f, title);
    fputs("</text>\n", f);
    /* legend */
    double lx = 20.0;
    for (int p = 0; p < n; p++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"48\" x2=\"%.1f\" y2=\"48\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                lx, lx + 24.0, s_colors[p % S_N_COLORS]);
        fprintf(f, "<text x=\"%.1f\" y=\"52\" font-size=\"12\">", lx + 30.0);
        s_xml_text(f, r[p].name);
        fputs("</text>\n", f);
        lx += 40.0 + 8.0 * (double)strlen(r[p].name);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"48\" x2=\"%.1f\" y2=\"48\" stroke=\"#000000\" stroke-dasharray=\"4 3\"/>\n"
               "<text x=\"%.1f\" y=\"52\" font-size=\"12\">demanded replicas / SLO</text>\n",
            lx, lx + 24.0, lx + 30.0);

    for (int32_t i = 0; i < ns; i++) {
        const struct rls_eval_service *sv = &x0->services[i];
        const char *tn = sv->tenant >= 0 && sv->tenant < x0->n_tenants ? x0->tenants[sv->tenant].name : "";
        double ytop = S_TOP + i * S_ROW_H + 22.0;
        struct s_panel load = {S_LEFT, ytop, xmax_h, 1.0};
        struct s_panel reps = {S_LEFT + S_PANEL_W + S_GAP, ytop, xmax_h, 1.0};
        struct s_panel lat = {S_LEFT + 2.0 * (S_PANEL_W + S_GAP), ytop, xmax_h, 1.0};
        double max_rate = 0.0, max_rep = 1.0, max_p95 = 0.0;
        for (int p = 0; p < n; p++)
            for (int64_t t = 0; t < r[p].steps; t++) {
                const struct rls_eval_record *rec = &r[p].records[t * r[p].n_services + i];
                if (rec->rate_rps > max_rate)
                    max_rate = rec->rate_rps;
                if (rec->ready > max_rep)
                    max_rep = rec->ready;
                if (rec->demand > max_rep)
                    max_rep = rec->demand;
                if (isfinite(rec->p95_ms) && rec->p95_ms > max_p95)
                    max_p95 = rec->p95_ms;
            }
        load.ymax = max_rate > 0.0 ? max_rate * 1.05 : 1.0;
        reps.ymax = max_rep * 1.1;
        /* latency: show up to 4x the SLO at most, at least 2x, so the SLO line stays in view */
        double slo = sv->slo_ms > 0.0 ? sv->slo_ms : 1.0;
        lat.ymax = max_p95 * 1.05;
        if (lat.ymax < 2.0 * slo)
            lat.ymax = 2.0 * slo;
        if (lat.ymax > 4.0 * slo)
            lat.ymax = 4.0 * slo;

        snprintf(title, sizeof title, "%s (tenant %s): load", sv->name, tn);
        s_panel_frame(f, &load, title, "requests/s");
        s_line(f, &load, x0, i, S_RATE, "#333333", NULL);
        snprintf(title, sizeof title, "%s: ready replicas", sv->name);
        s_panel_frame(f, &reps, title, "replicas");
        s_line(f, &reps, x0, i, S_DEMAND, "#000000", "4 3");
        for (int p = 0; p < n; p++)
            s_line(f, &reps, &r[p], i, S_READY, s_colors[p % S_N_COLORS], NULL);
        snprintf(title, sizeof title, "%s: p95 latency (clipped at %g ms)", sv->name, lat.ymax);
        s_panel_frame(f, &lat, title, "ms");
        for (int p = 0; p < n; p++)
            s_line(f, &lat, &r[p], i, S_P95, s_colors[p % S_N_COLORS], NULL);
        double ys = s_py(&lat, slo);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\" "
                   "stroke-dasharray=\"4 3\"/>\n", lat.x0, ys, lat.x0 + S_PANEL_W, ys);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">SLO %g ms</text>\n",
                lat.x0 + S_PANEL_W - 4.0, ys - 3.0, slo);
    }
    fputs("</svg>\n", f);
    return rls_report_commit(f, tmp, path, 1, err);
}
