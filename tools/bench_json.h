/* bench_json.h - the one line every benchmark prints per figure with --json
 * (tools/bench/README.md, AGENT_BENCH.md), built with jansson so that it is
 * always valid JSON:
 *   {"name","value","unit","baseline_name","baseline_value","ratio"}
 * and, only where a published or aimed-at figure is shown beside the measured
 * comparison, "reference_name","reference_value". The baseline is always
 * measured in the same run; a reference never is. Non-finite numbers (a
 * baseline that could not be measured, a ratio over 0) are written as null.
 * Header-only: included by cmd_bench.c (rlsched) and cmd_bench_train.c /
 * cmd_bench_agent.c (rlsched-train).
 */
#ifndef RLS_TOOLS_BENCH_JSON_H
#define RLS_TOOLS_BENCH_JSON_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A JSON number for v, or null when v is NaN or infinite. New reference. */
static inline json_t *rls_bench_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Prints one figure as one compact JSON object and a newline on stdout.
 * ref_name NULL: no reference fields. ratio is printed as given (each bench
 * defines its direction). Returns 0, or -1 when out of memory (nothing printed). */
static inline int rls_bench_json_print(const char *name, double value, const char *unit,
                                       const char *baseline_name, double baseline_value, double ratio,
                                       const char *ref_name, double ref_value)
{
    json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:o,s:o}", "name", name, "value", rls_bench_json_num(value),
                          "unit", unit, "baseline_name", baseline_name, "baseline_value",
                          rls_bench_json_num(baseline_value), "ratio", rls_bench_json_num(ratio));
    char *text = NULL;
    if (o && ref_name &&
        (json_object_set_new(o, "reference_name", json_string(ref_name)) != 0 ||
         json_object_set_new(o, "reference_value", rls_bench_json_num(ref_value)) != 0)) {
        json_decref(o);
        return -1;
    }
    text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

#endif
