/* spaces.h - gym-like descriptions of observation and action spaces: Box
 * (float32 array with per-element bounds), Discrete (one integer in [0, n))
 * and MultiDiscrete (an int array, element j in [0, nvec[j])). A space knows
 * its shape, checks whether data lies in it, prints itself the way gym does
 * ("Box(0.0, 1.0, (6, 23), float32)", "MultiDiscrete([[9 2] [9 2]])") and
 * samples from itself with a seed.
 *
 * Data layout: Box data is float[prod(shape)], Discrete data is one int32_t,
 * MultiDiscrete data is int32_t[prod(shape)], all row-major (C order).
 */
#ifndef RLS_SPACES_H
#define RLS_SPACES_H

#include <stdint.h>

#include "status.h"

#define RLS_SPACE_MAX_DIMS 4

enum rls_space_kind {
    RLS_SPACE_BOX = 0,
    RLS_SPACE_DISCRETE = 1,
    RLS_SPACE_MULTI_DISCRETE = 2
};

/* A space. Plain data: read every field freely; allocate and free it with
 * the functions below. */
struct rls_space {
    enum rls_space_kind kind;
    int32_t ndim;                        /* 0 for Discrete, 1..RLS_SPACE_MAX_DIMS otherwise */
    int64_t shape[RLS_SPACE_MAX_DIMS];   /* [ndim]; unused entries 0 */
    int64_t size;                        /* prod(shape); 1 for Discrete */
    float *low;                          /* Box: [size] inclusive lower bounds (may be -INFINITY) */
    float *high;                         /* Box: [size] inclusive upper bounds (may be +INFINITY) */
    int64_t n;                           /* Discrete: number of values (>= 1) */
    int64_t *nvec;                       /* MultiDiscrete: [size] number of values of each element (>= 1) */
};

/* A Box of the given shape. low/high are arrays of prod(shape) bounds,
 * copied; low[j] <= high[j] and neither NaN. Returns an owned space
 * (rls_space_destroy), or NULL with err naming the bad argument. */
struct rls_space *rls_space_box_new(int32_t ndim, const int64_t *shape, const float *low,
                                    const float *high, struct rls_err *err);

/* A Box whose every element has the same bounds [low, high]. Same ownership
 * and errors as rls_space_box_new. */
struct rls_space *rls_space_box_new_uniform(int32_t ndim, const int64_t *shape, float low,
                                            float high, struct rls_err *err);

/* Discrete(n), n >= 1. Returns an owned space or NULL with err. */
struct rls_space *rls_space_discrete_new(int64_t n, struct rls_err *err);

/* MultiDiscrete of the given shape; nvec is an array of prod(shape) counts
 * (each >= 1), copied. Returns an owned space or NULL with err. */
struct rls_space *rls_space_multi_discrete_new(int32_t ndim, const int64_t *shape,
                                               const int64_t *nvec, struct rls_err *err);

/* Deep copy; caller owns it. NULL on no memory or a NULL space. */
struct rls_space *rls_space_copy(const struct rls_space *s);

/* Frees *s and sets it to NULL; NULL is a no-op. */
void rls_space_destroy(struct rls_space **s);

/* 1 if data (layout in the file comment) lies in the space: Box elements
 * finite-or-equal-to-an-infinite-bound and within [low, high]; integer
 * elements in range. 0 otherwise, and for NULL arguments. If bad_index is not
 * NULL it receives the flat index of the first offending element (-1 when
 * the data is in the space). */
int rls_space_contains(const struct rls_space *s, const void *data, int64_t *bad_index);

/* Writes a gym-like description into buf (always NUL-terminated when len >
 * 0, truncated to len): "Box(0.0, 10.0, (6, 18), float32)" for uniform
 * bounds, "Box([0. -1. ...], [2. 1. ...], (6, 18), float32)" otherwise,
 * "Discrete(9)", "MultiDiscrete([9 2])", "MultiDiscrete([[9 2] [9 2]])".
 * Long arrays are elided with "...". Returns the length the full text needs
 * (as snprintf). */
int rls_space_describe(const struct rls_space *s, char *buf, int len);

/* Fills out (layout in the file comment) with a sample: Box uniform in
 * [low, high] (infinite bounds replaced by +-1 around the finite one, or
 * [-1, 1]), integers uniform. Same seed, same sample. Returns RLS_OK or
 * RLS_ERR_INVALID for NULL arguments. */
int rls_space_sample(const struct rls_space *s, uint64_t seed, void *out);

#endif
