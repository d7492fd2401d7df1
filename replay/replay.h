/* replay.h - experience files for offline learning (HDF5, layout in
 * replay/FORMAT.md): a writer that buffers an episode and commits it atomically
 * (a crash loses at most the episode in progress, never a committed one), and
 * a reader that validates a file and samples uniform minibatches of
 * (episode, step, service) transitions, either from RAM or chunk-wise through
 * a bounded cache for files larger than RAM.
 *
 * Shapes: S services (rows per step), F features, A = n_deltas * n_placements
 * flat actions per service (a = delta_index * n_placements + placement).
 *
 *     struct rls_replay_writer *w = rls_replay_writer_open("data.h5", &meta, &err);
 *     rls_replay_writer_begin_episode(w, seed, "hpa");
 *     for each step: rls_replay_writer_add_step(w, obs, actions, reward, svc_reward, mask, term, trunc);
 *     rls_replay_writer_end_episode(w, final_obs, final_mask);     // committed, durable
 *     rls_replay_writer_close(&w, &err);
 */
#ifndef RLS_REPLAY_H
#define RLS_REPLAY_H

#include <stdint.h>

#include "../env/status.h"

#define RLS_REPLAY_FORMAT_VERSION 1
#define RLS_REPLAY_FORMAT_NAME "rlsched-replay"
#define RLS_REPLAY_MAX_DELTAS 16

/* File-level description. The writer deep-copies what it is given; the
 * reader's meta is owned by the reader. Pointers the struct owns are freed by
 * rls_replay_meta_clear. */
struct rls_replay_meta {
    int32_t n_services;         /* rows per step (S) */
    int32_t n_features;         /* F */
    int32_t n_deltas;           /* deltas used by the actions */
    int32_t deltas[RLS_REPLAY_MAX_DELTAS];
    int32_t n_placements;       /* 2 */
    int32_t n_actions;          /* n_deltas * n_placements */
    char scenario_name[64];
    char *scenario_yaml;        /* the full scenario (rls_scenario_write_yaml), owned by the meta */
    char trace[512];            /* trace source ("" if the scenario's own loads) */
    char behavior[256];         /* behaviour policies, e.g. "hpa,kpa,predictive eps=0.1" */
    double epsilon;
    char created[32];           /* ISO 8601 UTC (the writer fills it when empty) */
    float *obs_mean, *obs_std;  /* [F] feature normalization, computed by the writer over all
                                   observation rows of the committed episodes (ignored on
                                   input; reader: read from file); owned by the meta.
                                   std = population std, 1 where it is below 1e-6 */
    /* additions (optional on input, NULL/"" = defaults) */
    char *feature_names;        /* comma-separated [F] names, owned; NULL = rls_env_feature_names()
                                   when F matches, else "f0,f1,..." */
    float *obs_low, *obs_high;  /* [F] per-feature bounds for observation_space, owned;
                                   NULL = unbounded (-inf, inf) */
};

/* Frees the owned pointers of m and zeroes it; NULL is a no-op. */
void rls_replay_meta_clear(struct rls_replay_meta *m);

/* Deep copy of src into *dst (overwritten without freeing). Returns RLS_OK or
 * RLS_ERR_NOMEM (dst is then cleared). */
int rls_replay_meta_copy(struct rls_replay_meta *dst, const struct rls_replay_meta *src);

/* ------------------------------------------------------------------------
 * Writer. */

struct rls_replay_writer;

/* Per-step extras stored under episode_<id>/infos/ (optional: an episode has
 * infos when every one of its steps got rls_replay_writer_add_info). */
struct rls_replay_info {
    double cost_usd;        /* node cost of the step, dollars */
    double arrivals;        /* requests arrived (all services) */
    double served;          /* requests served */
    double dropped;         /* requests dropped */
    double over_slo;        /* served requests slower than their SLO */
    int32_t nodes_on;       /* ON + BOOTING nodes at the end of the step */
};

/* Creates path (truncating an existing file; a stale path.journal is
 * removed) and writes the file-level metadata. The file is built under
 * path.tmp and renamed, so a failure never leaves a file under path.
 * Returns an owned writer (rls_replay_writer_close) or NULL with err naming
 * the file ("x.h5: cannot create: Permission denied") or the bad meta field. */
struct rls_replay_writer *rls_replay_writer_open(const char *path, const struct rls_replay_meta *meta,
                                                 struct rls_err *err);

/* Starts buffering an episode (seed and behaviour policy name are stored as
 * episode attrs; policy may be NULL = ""). Returns RLS_OK, RLS_ERR_STATE if an
 * episode is already open or the writer failed before, RLS_ERR_INVALID. */
int rls_replay_writer_begin_episode(struct rls_replay_writer *w, uint64_t seed, const char *policy);

/* Appends one step to the open episode. obs [S, F] is the observation before
 * the action, actions [S] flat indices in [0, A), service_reward [S], mask
 * [S, A] (1 = allowed) or NULL: either every step and the final observation of
 * an episode have a mask or none. Copies everything. Returns RLS_OK,
 * RLS_ERR_STATE (no open episode), RLS_ERR_INVALID (NULL obs/actions/
 * service_reward, an action out of range, a mask given or missing against
 * the episode's first step), RLS_ERR_RANGE (NaN/inf in obs or rewards),
 * RLS_ERR_NOMEM. */
int rls_replay_writer_add_step(struct rls_replay_writer *w,
        const float *obs,            /* [S, F] observation before the action */
        const int32_t *actions,      /* [S] flat action index per service */
        double reward,               /* global reward */
        const float *service_reward, /* [S] */
        const uint8_t *mask,         /* [S, n_actions] flat mask of obs (1 = allowed), may be NULL */
        int terminated, int truncated);

/* Attaches the infos of the step last added (call after its add_step).
 * Returns RLS_OK, RLS_ERR_STATE (no step added since the last info / no
 * episode), RLS_ERR_INVALID. */
int rls_replay_writer_add_info(struct rls_replay_writer *w, const struct rls_replay_info *info);

/* Commits the open episode with its final observation [S, F] (and final
 * mask [S, A], required iff the steps had masks): writes its group, updates
 * total_episodes/total_steps/obs_mean/obs_std, flushes and fsyncs under a
 * rollback journal (FORMAT.md, "Crash safety"). When it returns RLS_OK the
 * episode is durable. An episode with 0 steps is refused (RLS_ERR_INVALID).
 * Returns RLS_OK, RLS_ERR_STATE, RLS_ERR_INVALID, RLS_ERR_RANGE, RLS_ERR_IO
 * (the writer is then failed: further calls return RLS_ERR_STATE; the file
 * keeps every earlier episode). */
int rls_replay_writer_end_episode(struct rls_replay_writer *w, const float *final_obs /*[S,F]*/,
                                  const uint8_t *final_mask /*[S,n_actions] or NULL*/);

/* Drops the open episode (nothing is written). NULL-safe, no-op without one. */
void rls_replay_writer_abort_episode(struct rls_replay_writer *w);

/* Closes the file (an open episode is dropped) and frees *w, setting it to
 * NULL; NULL or *w NULL is a no-op returning RLS_OK. Returns RLS_OK or
 * RLS_ERR_IO with err (committed episodes stay readable either way). */
int rls_replay_writer_close(struct rls_replay_writer **w, struct rls_err *err);

/* Last error message ("" if none), never NULL. */
const char *rls_replay_writer_errmsg(const struct rls_replay_writer *w);

/* Committed episodes and steps so far. */
int64_t rls_replay_writer_n_episodes(const struct rls_replay_writer *w);
int64_t rls_replay_writer_n_steps(const struct rls_replay_writer *w);

/* Rolls back an interrupted commit: if path.journal holds a valid journal,
 * restores the bytes it saved and truncates path to its committed length,
 * then removes the journal. *rolled_back (when not NULL) is 1 if a journal
 * was applied. Refuses (RLS_ERR_STATE) while a writer holds the file.
 * The reader calls it itself. Returns RLS_OK (also without a journal),
 * RLS_ERR_IO / RLS_ERR_STATE with err naming the file. */
int rls_replay_recover(const char *path, int *rolled_back, struct rls_err *err);

/* ------------------------------------------------------------------------
 * Reader. */

struct rls_replay_reader_params {
    int64_t cache_bytes;    /* 0 = load everything in RAM; > 0 = chunk-wise reads with at most
                               this much cached (at least one chunk group is kept) (0) */
    int32_t exact;          /* chunk mode: 1 = each batch exactly as RAM mode draws it (about one
                               chunk read per transition: slow); 0 = from a rotating window of
                               random chunk groups that fills the cache (fast) (0) */
    double reuse;           /* window: how many times each transition is drawn, on average,
                               while its group is resident (2) */
    int32_t isolate;        /* 1: validate the whole file first in a forked child process, so a
                               corrupt file that crashes libhdf5 is refused with one message
                               instead of crashing the caller (costs one more pass over the
                               file); 0: in this process only (1) */
};
struct rls_replay_reader_params rls_replay_reader_default_params(void);

struct rls_replay_reader;

/* Opens and validates path (rolling back an interrupted commit first):
 * format name and version, every required dataset present with its type and
 * shape, lengths consistent (T+1 observations for T actions), no NaN/inf in
 * observations and rewards, actions in range. Computes the fingerprint.
 * p NULL = defaults. Returns an owned reader (rls_replay_reader_close) or
 * NULL with err naming the file and dataset
 * ("data.h5: /episode_3/rewards: length 99, expected 100"). */
struct rls_replay_reader *rls_replay_reader_open(const char *path, const struct rls_replay_reader_params *p,
                                                 struct rls_err *err);
/* Frees *r, sets it to NULL; NULL is a no-op. */
void rls_replay_reader_close(struct rls_replay_reader **r);
/* 1 when every dataset and attribute group of the file carried a checksum and
 * all matched; 0 for a file written before checksums (accepted, but its data
 * is not verified: FORMAT.md, "Checksums"). */
int rls_replay_reader_checksums(const struct rls_replay_reader *r);
/* Last error message ("" if none), never NULL. */
const char *rls_replay_reader_errmsg(const struct rls_replay_reader *r);

const struct rls_replay_meta *rls_replay_reader_meta(const struct rls_replay_reader *r);
int64_t rls_replay_reader_n_episodes(const struct rls_replay_reader *r);
int64_t rls_replay_reader_n_transitions(const struct rls_replay_reader *r); /* sum over episodes of T*S */
int64_t rls_replay_reader_n_steps(const struct rls_replay_reader *r);       /* sum over episodes of T */

struct rls_replay_batch {
    int32_t n, n_features, n_actions;   /* capacity and shapes */
    float *obs;        /* [n, F] (raw, not normalized) */
    int32_t *action;   /* [n] */
    float *reward;     /* [n] per-service reward */
    float *next_obs;   /* [n, F] */
    uint8_t *done;     /* [n] terminated */
    uint8_t *mask;     /* [n, A] mask of obs */
    uint8_t *next_mask;/* [n, A] mask of next_obs */
};
/* Allocates the arrays of b for n transitions. Returns RLS_OK,
 * RLS_ERR_INVALID (n, F or A < 1), RLS_ERR_NOMEM (b is then freed). */
int rls_replay_batch_alloc(struct rls_replay_batch *b, int32_t n, int32_t n_features, int32_t n_actions);
/* Frees the arrays and zeroes b; NULL is a no-op. */
void rls_replay_batch_free(struct rls_replay_batch *b);

/* Fills b->n transitions drawn uniformly (with replacement) over all
 * (episode, step, service) transitions; next_obs/next_mask come from step
 * t+1, done = terminations[t], mask all ones when the file has no masks.
 * Deterministic given *rng_state (advanced), the same in RAM and chunk-wise
 * modes. Returns RLS_OK, RLS_ERR_INVALID (shapes of b differ from the file's),
 * RLS_ERR_IO (a chunk read failed, message names the dataset). */
int rls_replay_reader_sample(struct rls_replay_reader *r, uint64_t *rng_state, struct rls_replay_batch *b);

/* FNV-1a 64 over the raw datasets of every episode in a fixed order
 * (FORMAT.md), 16 lowercase hex digits; owned by the reader. */
const char *rls_replay_reader_fingerprint(const struct rls_replay_reader *r);

/* One episode's description. */
struct rls_replay_episode_info {
    int64_t id;
    int64_t steps;          /* T */
    uint64_t seed;
    char policy[64];
    int has_masks, has_infos;
};
/* Fills *out for episode i (0-based, file order). RLS_OK or RLS_ERR_RANGE. */
int rls_replay_reader_episode_info(const struct rls_replay_reader *r, int64_t i,
                                   struct rls_replay_episode_info *out);

/* One whole episode in memory (arrays owned by the struct). */
struct rls_replay_episode {
    int64_t steps;                  /* T */
    float *observations;            /* [T+1, S, F] */
    int32_t *actions;               /* [T, S] */
    float *rewards;                 /* [T] */
    float *service_rewards;         /* [T, S] */
    uint8_t *terminations;          /* [T] */
    uint8_t *truncations;           /* [T] */
    uint8_t *action_masks;          /* [T+1, S, A], all ones when the file has none */
};
/* Reads episode i into *out (overwritten without freeing; free with
 * rls_replay_episode_free). Returns RLS_OK, RLS_ERR_RANGE, RLS_ERR_IO,
 * RLS_ERR_NOMEM. */
int rls_replay_reader_read_episode(struct rls_replay_reader *r, int64_t i, struct rls_replay_episode *out);
void rls_replay_episode_free(struct rls_replay_episode *ep);

/* Chunk-mode statistics: chunk groups loaded from disk and cache hits. */
void rls_replay_reader_cache_stats(const struct rls_replay_reader *r, int64_t *loads, int64_t *hits,
                                   int64_t *cached_bytes);

#endif
