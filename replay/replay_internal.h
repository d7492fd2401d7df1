/* replay_internal.h - shared between the replay/ sources only: the rollback journal
 * behind the writer's crash safety (journal.c), HDF5 error capture, and the
 * test hook. Not a public header.
 */
#ifndef RLS_REPLAY_INTERNAL_H
#define RLS_REPLAY_INTERNAL_H

#include <hdf5.h>
#include <stdint.h>

#include "replay.h"

/* A rollback journal bound to one HDF5 file written through the "rlsjournal"
 * virtual file driver (a POSIX driver that, inside a transaction, copies every
 * committed byte it is about to overwrite into PATH.journal first).
 * Outside a transaction, a write below the committed length is refused. */
struct rls__journal;

/* New journal (no file yet). NULL on no memory. */
struct rls__journal *rls__journal_new(void);
/* Frees *j (closing and keeping nothing), sets it to NULL; NULL-safe. */
void rls__journal_destroy(struct rls__journal **j);
/* A file access property list using the journal driver for j (caller closes
 * it with H5Pclose), or H5I_INVALID_HID. */
hid_t rls__journal_fapl(struct rls__journal *j);
/* Binds j to the final file path (the journal is path.journal) and records
 * the file's current length as committed. Returns RLS_OK or RLS_ERR_IO. */
int rls__journal_bind(struct rls__journal *j, const char *path, struct rls_err *err);
/* Starts a transaction: writes and fsyncs the journal header (committed
 * length, file identity). Returns RLS_OK or RLS_ERR_IO with err. */
int rls__journal_begin(struct rls__journal *j, struct rls_err *err);
/* Ends the transaction: fsyncs the file, removes the journal (the commit
 * point), fsyncs the directory, records the new committed length. */
int rls__journal_commit(struct rls__journal *j, struct rls_err *err);
/* 1 while a transaction is open. */
int rls__journal_active(const struct rls__journal *j);
/* The file descriptor of the open HDF5 file (-1 when none). */
int rls__journal_fd(const struct rls__journal *j);
/* fsync of the file. RLS_OK or RLS_ERR_IO. */
int rls__journal_sync(struct rls__journal *j, struct rls_err *err);
/* The journal's I/O error text of the last failed driver call ("" if none). */
const char *rls__journal_error(const struct rls__journal *j);

/* Test hook (FORMAT.md): RLS_REPLAY_TEST_KILL=STAGE[:N] raises SIGKILL when
 * the writer reaches STAGE (begin, datasets, flushed, committed, close-begin,
 * close-done), or for the driver stages overwrite:N / append:N / journal:N at
 * the N-th such write of a transaction. */
void rls__test_kill_point(const char *stage);

/* The innermost message of the current HDF5 error stack ("" if none) into
 * buf[len]. */
void rls__h5_error(char *buf, int len);

/* Silences HDF5's automatic error printing for the duration of a public call:
 * rls__h5_quiet(&saved) ... rls__h5_restore(&saved). */
struct rls__h5_auto {
    H5E_auto2_t func;
    void *data;
};
void rls__h5_quiet(struct rls__h5_auto *saved);
void rls__h5_restore(const struct rls__h5_auto *saved);

/* FNV-1a 64. */
#define RLS__FNV_OFFSET 1469598103934665603ULL
uint64_t rls__fnv1a(uint64_t h, const void *data, size_t len);

/* Checksums (FORMAT.md, "Checksums"): every dataset carries attribute
 * RLS__CK_DATA = FNV-1a 64 of its raw bytes; the root and every episode group
 * carry RLS__CK_ATTRS = FNV-1a 64 of a canonical text of the attributes the
 * reader reads. Writer and reader build that text with these two functions. */
#define RLS__CK_DATA "fnv1a64"
#define RLS__CK_ATTRS "attrs_fnv1a64"
/* Digest of the file-level attributes: meta as stored, feature_names the
 * stored string, the committed episodes, has_yaml 1 when /scenario_yaml exists. */
uint64_t rls__replay_root_digest(const struct rls_replay_meta *m, const char *feature_names, int64_t n_episodes,
                                 int has_yaml);
/* Digest of an episode group's attributes and which optional parts it has. */
uint64_t rls__replay_episode_digest(int64_t id, int64_t T, uint64_t seed, const char *policy, int has_masks,
                                    int has_infos);

#endif
