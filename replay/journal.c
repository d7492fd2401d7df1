/* journal.c - crash safety for the replay writer: a POSIX HDF5 virtual file
 * driver ("rlsjournal") with an undo journal, as sqlite's rollback journal.
 *
 * Inside a transaction (one episode commit, or the final close) every write
 * that would overwrite a byte of the last committed file first copies the
 * original 4 KiB pages into PATH.journal (record + checksum, fsync). Writes
 * past the committed length need no copy: rollback truncates them away. The
 * commit point is the removal of the journal after the file was flushed and
 * fsynced. rls_replay_recover puts the saved pages back and truncates, which
 * restores the file byte for byte as it was after the last commit. The byte
 * layout of the journal is in replay/FORMAT.md.
 *
 * Also here: the test kill hook, HDF5 error capture and FNV-1a.
 */
#include "replay_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define S_PAGE 4096
#define S_MAGIC "RLSJRNL1"
#define S_HEADER_BYTES 48     /* magic[8] orig_eof dev ino reserved checksum (u64 each) */

uint64_t rls__fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* ---------------------------------------------------------------------------
 * Test hook. */

static char s_kill_stage[64];
static long s_kill_n;

static void s_kill_arm(void)
{
    const char *v = getenv("RLS_REPLAY_TEST_KILL");
    s_kill_stage[0] = '\0';
    s_kill_n = 0;
    if (!v || !*v)
        return;
    snprintf(s_kill_stage, sizeof s_kill_stage, "%s", v);
    char *colon = strchr(s_kill_stage, ':');
    if (colon) {
        *colon = '\0';
        s_kill_n = strtol(colon + 1, NULL, 10);
    }
}

void rls__test_kill_point(const char *stage)
{
    if (s_kill_stage[0] && strcmp(stage, s_kill_stage) == 0)
        raise(SIGKILL);
}

/* Driver stages count their writes within a transaction. */
static void s_kill_count(const char *stage, long count)
{
    if (s_kill_stage[0] && strcmp(stage, s_kill_stage) == 0 && count == s_kill_n)
        raise(SIGKILL);
}

/* ---------------------------------------------------------------------------
 * HDF5 errors. */

struct s_walk {
    char *buf;
    int len;
};

static herr_t s_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct s_walk *w = data;
    (void)n;
    /* the innermost entry comes first; keep it */
    if (w->buf[0] == '\0' && e && e->desc && e->desc[0])
        snprintf(w->buf, (size_t)w->len, "%s", e->desc);
    return 0;
}

void rls__h5_error(char *buf, int len)
{
    struct s_walk w = {buf, len};
    if (!buf || len <= 0)
        return;
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, s_walk_cb, &w);
}

void rls__h5_quiet(struct rls__h5_auto *saved)
{
    saved->func = NULL;
    saved->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &saved->func, &saved->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void rls__h5_restore(const struct rls__h5_auto *saved)
{
    H5Eset_auto2(H5E_DEFAULT, saved->func, saved->data);
}

/* ---------------------------------------------------------------------------
 * The journal. */

struct rls__journal {
    char path[PATH_MAX];        /* the final file ("" until bound) */
    char jpath[PATH_MAX + 16];  /* path.journal */
    int jfd;                    /* journal fd while a transaction is open, else -1 */
    int fd;                     /* the HDF5 file's fd (set by the driver's open), else -1 */
    uint64_t committed;         /* length of the file at the last commit, bytes */
    int active;
    uint64_t *pages;            /* sorted page numbers saved in this transaction */
    size_t n_pages, cap_pages;
    long n_over, n_append, n_records;  /* writes of this transaction (test hook) */
    char error[256];
};

struct rls__journal *rls__journal_new(void)
{
    struct rls__journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->jfd = -1;
    j->fd = -1;
    return j;
}

void rls__journal_destroy(struct rls__journal **jp)
{
    if (!jp || !*jp)
        return;
    if ((*jp)->jfd >= 0)
        close((*jp)->jfd);
    free((*jp)->pages);
    free(*jp);
    *jp = NULL;
}

int rls__journal_active(const struct rls__journal *j)
{
    return j && j->active;
}

int rls__journal_fd(const struct rls__journal *j)
{
    return j ? j->fd : -1;
}

const char *rls__journal_error(const struct rls__journal *j)
{
    return j ? j->error : "";
}

static void s_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t s_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int s_write_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* Reads up to n bytes; returns the count read (short at EOF) or -1. */
static ssize_t s_read_all(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, p + done, n - done, off + (off_t)done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        done += (size_t)k;
    }
    return (ssize_t)done;
}

/* fsync of the directory holding path (makes a create/rename/unlink durable). */
static int s_sync_dir(const char *path)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rls__journal_bind(struct rls__journal *j, const char *path, struct rls_err *err)
{
    struct stat st;
    snprintf(j->path, sizeof j->path, "%s", path);
    snprintf(j->jpath, sizeof j->jpath, "%s.journal", path);
    if (j->fd < 0 || fstat(j->fd, &st) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    j->committed = (uint64_t)st.st_size;
    return RLS_OK;
}

int rls__journal_sync(struct rls__journal *j, struct rls_err *err)
{
    if (j->fd >= 0 && fsync(j->fd) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: fsync: %s", j->path, strerror(errno));
    return RLS_OK;
}

int rls__journal_begin(struct rls__journal *j, struct rls_err *err)
{
    unsigned char h[S_HEADER_BYTES];
    struct stat st;
    if (j->active)
        return rls_err_set(err, RLS_ERR_STATE, "%s: journal transaction already open", j->path);
    if (j->fd < 0 || fstat(j->fd, &st) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot stat: %s", j->path, strerror(errno));
    s_kill_arm();
    j->jfd = open(j->jpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (j->jfd < 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot create journal: %s", j->jpath, strerror(errno));
    memset(h, 0, sizeof h);
    memcpy(h, S_MAGIC, 8);
    s_put64(h + 8, j->committed);
    s_put64(h + 16, (uint64_t)st.st_dev);
    s_put64(h + 24, (uint64_t)st.st_ino);
    s_put64(h + 40, rls__fnv1a(RLS__FNV_OFFSET, h, 40));
    if (s_write_all(j->jfd, h, sizeof h, 0) != 0 || fsync(j->jfd) != 0 || s_sync_dir(j->jpath) != 0) {
        int e = errno;
        close(j->jfd);
        j->jfd = -1;
        unlink(j->jpath);
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot write journal: %s", j->jpath, strerror(e));
    }
    j->active = 1;
    j->n_pages = 0;
    j->n_over = j->n_append = j->n_records = 0;
    return RLS_OK;
}

int rls__journal_commit(struct rls__journal *j, struct rls_err *err)
{
    struct stat st;
    if (!j->active)
        return rls_err_set(err, RLS_ERR_STATE, "%s: no journal transaction", j->path);
    if (j->fd >= 0 && fsync(j->fd) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: fsync: %s", j->path, strerror(errno));
    close(j->jfd);
    j->jfd = -1;
    if (unlink(j->jpath) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot remove journal: %s", j->jpath, strerror(errno));
    s_sync_dir(j->jpath);
    j->active = 0;
    if (j->fd >= 0 && fstat(j->fd, &st) == 0)
        j->committed = (uint64_t)st.st_size;
    return RLS_OK;
}

/* Index of page p in the sorted set, or where it goes (*found 0/1). */
static size_t s_page_find(const struct rls__journal *j, uint64_t p, int *found)
{
    size_t lo = 0, hi = j->n_pages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->pages[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < j->n_pages && j->pages[lo] == p;
    return lo;
}

/* Saves page p's committed bytes into the journal (once per transaction). */
static int s_save_page(struct rls__journal *j, uint64_t p)
{
    unsigned char rec[16 + S_PAGE + 8];
    int found = 0;
    size_t at = s_page_find(j, p, &found);
    if (found)
        return 0;
    uint64_t off = p * S_PAGE;
    uint64_t len = j->committed - off < S_PAGE ? j->committed - off : S_PAGE;
    ssize_t got = s_read_all(j->fd, rec + 16, (size_t)len, (off_t)off);
    if (got < 0) {
        snprintf(j->error, sizeof j->error, "read for journal: %s", strerror(errno));
        return -1;
    }
    if ((uint64_t)got < len)   /* the file was shorter: nothing to restore beyond */
        memset(rec + 16 + got, 0, (size_t)(len - (uint64_t)got));
    s_put64(rec, off);
    s_put64(rec + 8, len);
    s_put64(rec + 16 + len, rls__fnv1a(RLS__FNV_OFFSET, rec, (size_t)(16 + len)));
    struct stat st;
    if (fstat(j->jfd, &st) != 0) {
        snprintf(j->error, sizeof j->error, "journal stat: %s", strerror(errno));
        return -1;
    }
    j->n_records++;
    if (s_kill_stage[0] && strcmp(s_kill_stage, "journal") == 0 && j->n_records == s_kill_n) {
        /* a torn record: half of it reaches the journal */
        s_write_all(j->jfd, rec, (size_t)(16 + len + 8) / 2, st.st_size);
        raise(SIGKILL);
    }
    if (s_write_all(j->jfd, rec, (size_t)(16 + len + 8), st.st_size) != 0 || fsync(j->jfd) != 0) {
        snprintf(j->error, sizeof j->error, "journal write: %s", strerror(errno));
        return -1;
    }
    if (j->n_pages == j->cap_pages) {
        size_t nc = j->cap_pages ? 2 * j->cap_pages : 64;
        uint64_t *np = realloc(j->pages, nc * sizeof *np);
        if (!np) {
            snprintf(j->error, sizeof j->error, "out of memory");
            return -1;
        }
        j->pages = np;
        j->cap_pages = nc;
    }
    memmove(j->pages + at + 1, j->pages + at, (j->n_pages - at) * sizeof *j->pages);
    j->pages[at] = p;
    j->n_pages++;
    return 0;
}

/* Called before every write of [addr, addr+size). */
static int s_before_write(struct rls__journal *j, uint64_t addr, uint64_t size)
{
    if (!j)
        return 0;
    if (addr >= j->committed) {
        j->n_append++;
        s_kill_count("append", j->n_append);
        return 0;
    }
    if (!j->active) {
        snprintf(j->error, sizeof j->error,
                 "write at %llu below the committed length %llu outside a transaction",
                 (unsigned long long)addr, (unsigned long long)j->committed);
        return -1;
    }
    uint64_t end = addr + size < j->committed ? addr + size : j->committed;
    for (uint64_t p = addr / S_PAGE; p * S_PAGE < end; p++)
        if (s_save_page(j, p) != 0)
            return -1;
    j->n_over++;
    s_kill_count("overwrite", j->n_over);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The virtual file driver. */

struct s_fapl {
    struct rls__journal *j;
};

struct s_file {
    H5FD_t pub;                 /* must be first */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    int writable;
    struct rls__journal *j;
};

static hid_t s_driver_id = H5I_INVALID_HID;

static void *s_fapl_copy(const void *old)
{
    struct s_fapl *n = malloc(sizeof *n);
    if (n)
        *n = *(const struct s_fapl *)old;
    return n;
}

static herr_t s_fapl_free(void *fa)
{
    free(fa);
    return 0;
}

static H5FD_t *s_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    struct s_file *f = NULL;
    const struct s_fapl *fa = NULL;
    struct stat st;
    int o = O_CLOEXEC;
    (void)maxaddr;
    if (!name || !*name)
        return NULL;
    fa = H5Pget_driver_info(fapl);
    o |= (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC)
        o |= O_TRUNC;
    if (flags & H5F_ACC_CREAT)
        o |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        o |= O_EXCL;
    int fd = open(name, o, 0644);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->eof = (haddr_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->writable = (flags & H5F_ACC_RDWR) != 0;
    f->j = fa ? fa->j : NULL;
    if (f->j)
        f->j->fd = fd;
    return &f->pub;
}

static herr_t s_close(H5FD_t *file)
{
    struct s_file *f = (struct s_file *)file;
    herr_t rc = 0;
    if (f->writable && fsync(f->fd) != 0)
        rc = -1;
    if (close(f->fd) != 0)
        rc = -1;
    if (f->j && f->j->fd == f->fd)
        f->j->fd = -1;
    free(f);
    return rc;
}

static int s_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const struct s_file *x = (const struct s_file *)a, *y = (const struct s_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t s_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    if (flags)
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
                 H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE |
                 H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

static haddr_t s_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct s_file *)file)->eoa;
}

static herr_t s_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((struct s_file *)file)->eoa = addr;
    return 0;
}

static haddr_t s_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct s_file *)file)->eof;
}

static herr_t s_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    if (!handle)
        return -1;
    *handle = &((struct s_file *)file)->fd;
    return 0;
}

static herr_t s_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buf)
{
    struct s_file *f = (struct s_file *)file;
    (void)type;
    (void)dxpl;
    if (addr == HADDR_UNDEF || addr + size > f->eoa)
        return -1;
    ssize_t got = s_read_all(f->fd, buf, size, (off_t)addr);
    if (got < 0)
        return -1;
    if ((size_t)got < size)     /* past the end of the file reads as zeros */
        memset((char *)buf + got, 0, size - (size_t)got);
    return 0;
}

static herr_t s_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                      const void *buf)
{
    struct s_file *f = (struct s_file *)file;
    (void)type;
    (void)dxpl;
    if (addr == HADDR_UNDEF || addr + size > f->eoa)
        return -1;
    if (s_before_write(f->j, addr, size) != 0)
        return -1;
    if (s_write_all(f->fd, buf, size, (off_t)addr) != 0) {
        if (f->j)
            snprintf(f->j->error, sizeof f->j->error, "write: %s", strerror(errno));
        return -1;
    }
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t s_flush(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)file;
    (void)dxpl;
    (void)closing;
    return 0;
}

static herr_t s_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    struct s_file *f = (struct s_file *)file;
    (void)dxpl;
    (void)closing;
    if (f->eoa == f->eof)
        return 0;
    if (f->j && f->eoa < f->j->committed) {
        /* bytes cut off below the committed length must be restorable too */
        if (!f->j->active) {
            snprintf(f->j->error, sizeof f->j->error, "truncate below the committed length outside a transaction");
            return -1;
        }
        for (uint64_t p = (uint64_t)f->eoa / S_PAGE; p * S_PAGE < f->j->committed; p++)
            if (s_save_page(f->j, p) != 0)
                return -1;
    }
    if (ftruncate(f->fd, (off_t)f->eoa) != 0)
        return -1;
    f->eof = f->eoa;
    return 0;
}

static herr_t s_lock(H5FD_t *file, hbool_t rw)
{
    struct s_file *f = (struct s_file *)file;
    return flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 ? 0 : -1;
}

static herr_t s_unlock(H5FD_t *file)
{
    (void)file;     /* released when the descriptor closes */
    return 0;
}

static const H5FD_class_t s_class = {
    .name = "rlsjournal",
    .maxaddr = (haddr_t)INT64_MAX,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(struct s_fapl),
    .fapl_copy = s_fapl_copy,
    .fapl_free = s_fapl_free,
    .open = s_open,
    .close = s_close,
    .cmp = s_cmp,
    .query = s_query,
    .get_eoa = s_get_eoa,
    .set_eoa = s_set_eoa,
    .get_eof = s_get_eof,
    .get_handle = s_get_handle,
    .read = s_read,
    .write = s_write,
    .flush = s_flush,
    .truncate = s_truncate,
    .lock = s_lock,
    .unlock = s_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t rls__journal_fapl(struct rls__journal *j)
{
    struct s_fapl fa = {j};
    if (s_driver_id < 0 || H5Iis_valid(s_driver_id) <= 0)
        s_driver_id = H5FDregister(&s_class);
    if (s_driver_id < 0)
        return H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_driver(fapl, s_driver_id, &fa) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

/* ---------------------------------------------------------------------------
 * Recovery. */

int rls_replay_recover(const char *path, int *rolled_back, struct rls_err *err)
{
    char jpath[PATH_MAX + 16];
    unsigned char h[S_HEADER_BYTES];
    unsigned char *rec = NULL;
    int jfd = -1, fd = -1, rc = RLS_OK;
    struct stat st;
    if (rolled_back)
        *rolled_back = 0;
    if (!path)
        return rls_err_set(err, RLS_ERR_INVALID, "replay: path is NULL");
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    jfd = open(jpath, O_RDONLY | O_CLOEXEC);
    if (jfd < 0) {
        if (errno == ENOENT)
            return RLS_OK;
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot read journal: %s", jpath, strerror(errno));
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot open to roll back the interrupted commit in %s: %s",
                         path, jpath, strerror(errno));
        goto done;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = rls_err_set(err, RLS_ERR_STATE, "%s: a writer is still writing it (journal %s)", path, jpath);
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    ssize_t got = s_read_all(jfd, h, sizeof h, 0);
    if (got != (ssize_t)sizeof h || memcmp(h, S_MAGIC, 8) != 0 ||
        s_get64(h + 40) != rls__fnv1a(RLS__FNV_OFFSET, h, 40) ||
        s_get64(h + 16) != (uint64_t)st.st_dev || s_get64(h + 24) != (uint64_t)st.st_ino) {
        /* torn header (nothing was written to the file yet) or another file's journal */
        goto discard;
    }
    uint64_t orig = s_get64(h + 8);
    rec = malloc(16 + S_PAGE + 8);
    if (!rec) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", jpath);
        goto done;
    }
    off_t at = S_HEADER_BYTES;
    for (;;) {
        if (s_read_all(jfd, rec, 16, at) != 16)
            break;
        uint64_t off = s_get64(rec), len = s_get64(rec + 8);
        if (len > S_PAGE || off + len > orig)
            break;
        if (s_read_all(jfd, rec + 16, (size_t)len + 8, at + 16) != (ssize_t)len + 8)
            break;      /* torn record: its page was never overwritten */
        if (s_get64(rec + 16 + len) != rls__fnv1a(RLS__FNV_OFFSET, rec, (size_t)(16 + len)))
            break;
        if (s_write_all(fd, rec + 16, (size_t)len, (off_t)off) != 0) {
            rc = rls_err_set(err, RLS_ERR_IO, "%s: roll back: %s", path, strerror(errno));
            goto done;
        }
        at += (off_t)(16 + len + 8);
    }
    if (ftruncate(fd, (off_t)orig) != 0 || fsync(fd) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: roll back: %s", path, strerror(errno));
        goto done;
    }
    if (rolled_back)
        *rolled_back = 1;
discard:
    if (unlink(jpath) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot remove journal: %s", jpath, strerror(errno));
        goto done;
    }
    s_sync_dir(jpath);
done:
    free(rec);
    if (fd >= 0)
        close(fd);
    close(jfd);
    return rc;
}
