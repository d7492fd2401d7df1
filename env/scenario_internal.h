/* scenario_internal.h - what scenario.c, scenario_yaml.c and
 * scenario_default.c share (rls__ names, not for use elsewhere).
 */
#ifndef RLS_SCENARIO_INTERNAL_H
#define RLS_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* ---- internal ---- */

#define RLS__SCENARIO_MAX_COUNT 1000000      /* pools, tenants, services, nodes, replicas */
#define RLS__SCENARIO_MAX_HORIZON 100000000  /* steps */
#define RLS__SCENARIO_MAX_SAMPLES 100000000  /* samples of a synthetic series */
#define RLS__SCENARIO_MAX_QUEUE 1000000000   /* queued requests */
#define RLS__SCENARIO_MAX_BYTES (64 * 1024 * 1024)  /* scenario file size */

/* A failed rule: the field path ("services[2].cpu") and what is wrong. */
struct rls__scenario_fail {
    int status;
    char path[160];
    char msg[320];
};

/* Checks every rule; returns RLS_OK or a negative status with f filled. */
int rls__scenario_check(const struct rls_scenario *sc, struct rls__scenario_fail *f);

/* 1 if name is 1..cap-1 characters of [A-Za-z0-9_.-]; else 0. */
int rls__scenario_name_ok(const char *name, size_t cap);

/* 1 if text is shorter than cap and has no control characters; else 0. */
int rls__scenario_text_ok(const char *text, size_t cap);

/* Parses YAML; `basedir` (absolute folder, or NULL) resolves relative trace
 * paths and makes the reader check that each trace file is readable. Same
 * contract as rls_scenario_parse otherwise; sets sc->source to `name`. */
int rls__scenario_parse_ex(const char *yaml, size_t len, const char *name, const char *basedir,
                           struct rls_scenario **out, struct rls_err *err);

/* The absolute folder holding `path` (cwd-based when path is relative).
 * Returns RLS_OK, or RLS_ERR_RANGE if it does not fit in cap. */
int rls__scenario_basedir(const char *path, char *out, size_t cap);

#endif
