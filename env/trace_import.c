/* trace_import.c - reads load traces from the formats they are published in
 * (WorldCup98, NASA, Azure Functions 2019 and 2021, NAB/CloudWatch, Alibaba
 * 2018, ISP links, GWA Bitbrains, generic delimited rows) and from the
 * canonical rlsched-trace v1 file.
 *
 * Row files have their separator detected (comma, semicolon, tab, ';' + tab,
 * blanks); the value column is the format's, the only one, or the one named
 * like a load (else one error listing the candidates); the step comes from
 * regular timestamps or is refused without --step, never guessed.
 * Every row importer ends on the same grid builder: rows (time, value, line) are
 * sorted when out of order, put on a fixed step, duplicates combined, gaps
 * filled by linear interpolation and counts turned into rates. Every refusal
 * names FILE:LINE. The rules per source are written down in
 * docs/TRACE_FORMAT.md; keep the two in step.
 */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define S_FILE_MAX ((size_t)1 << 32)     /* refuse files above 4 GiB */
#define S_VALUE_MAX_RPS 1e12             /* a count or rate above this is absurd */
#define S_VALUE_MAX_SHAPE 1e15           /* shapes keep raw units (bits per 5 min...) */
#define S_MAX_SAMPLES ((int64_t)1 << 31) /* refuse grids longer than this */

/* ------------------------------------------------------------------ */
/* file and line reading                                               */

struct s_ctx {
    const char *path;
    const struct rls_trace_import_params *p;
    struct rls_err *err;
    char *buf;      /* whole file, NUL-terminated, split in place */
    size_t len;
    char *cur;      /* next unread byte */
    int64_t line;   /* number of the line last returned (1-based) */
    char delim;     /* field separator of row files: ',' ';' '\t', or ' ' (runs of blanks) */
};

static int s_read_file(struct s_ctx *c)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = RLS_OK;

    f = fopen(c->path, "rb");
    if (f == NULL)
        return rls_err_set(c->err, RLS_ERR_IO, "%s: cannot open: %s", c->path, strerror(errno));
    {
        struct stat stt;
        if (fstat(fileno(f), &stt) == 0 && S_ISREG(stt.st_mode) && (size_t)stt.st_size < S_FILE_MAX) {
            cap = (size_t)stt.st_size + 2;
            buf = malloc(cap);
            if (buf == NULL)
                cap = 0;
        }
    }
    for (;;) {
        if (cap - n < 2) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            char *nb = NULL;
            if (ncap > S_FILE_MAX + 2) {
                rc = rls_err_set(c->err, RLS_ERR_RANGE, "%s: file larger than 4 GiB", c->path);
                goto done;
            }
            nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory reading the file", c->path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = rls_err_set(c->err, RLS_ERR_IO, "%s: read error: %s", c->path, strerror(errno));
                goto done;
            }
            break;
        }
    }
    buf[n] = '\0';
    c->buf = buf;
    c->len = n;
    c->cur = buf;
    c->line = 0;
    buf = NULL;
done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

/* Refuses empty files and binary data; skips a UTF-8 byte order mark. */
static int s_check_text(struct s_ctx *c)
{
    size_t i, ctrl = 0, lim;
    const unsigned char *b = (const unsigned char *)c->buf;

    if (c->len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        c->cur += 3;
    for (i = (size_t)(c->cur - c->buf); i < c->len; i++)
        if (!isspace(b[i]))
            break;
    if (i == c->len)
        return rls_err_set(c->err, RLS_ERR_PARSE, "%s: empty file (no data)", c->path);
    const void *nul = memchr(c->buf, 0, c->len);
    if (nul != NULL)
        return rls_err_set(c->err, RLS_ERR_PARSE,
                           "%s: not a text trace (NUL byte at offset %zu: binary data?)", c->path,
                           (size_t)((const char *)nul - c->buf));
    lim = c->len < 4096 ? c->len : 4096;
    for (i = 0; i < lim; i++)
        if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' && b[i] != '\r') || b[i] == 0x7f)
            ctrl++;
    if (ctrl * 50 > lim)
        return rls_err_set(c->err, RLS_ERR_PARSE,
                           "%s: not a text trace (%zu control bytes in the first %zu: binary data?)",
                           c->path, ctrl, lim);
    return RLS_OK;
}

/* Returns the next line (NUL-terminated in place, without "\r\n"), or NULL
 * at the end of the file. Updates c->line. */
static char *s_next_line(struct s_ctx *c)
{
    char *end = c->buf + c->len;
    char *s = c->cur, *nl = NULL;

    if (s >= end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (nl == NULL) {
        c->cur = end;
        nl = end;
    } else {
        *nl = '\0';
        c->cur = nl + 1;
    }
    if (nl > s && nl[-1] == '\r')
        nl[-1] = '\0';
    c->line++;
    return s;
}

static int s_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* ------------------------------------------------------------------ */
/* CSV fields                                                          */

struct s_fields {
    char **v;
    int n, cap;
};

/* Is ch a field separator for delim (' ' = any run of blanks)? */
static int s_is_sep(char ch, char delim)
{
    return delim == ' ' ? (ch == ' ' || ch == '\t') : ch == delim;
}

/* Splits line in place on delim (',', ';', '\t', or ' ' for runs of blanks);
 * double quotes protect separators and "" is a quote. Unquoted fields are
 * trimmed of blanks (of spaces only when tab is the separator, so an empty
 * tab-separated field stays a field). Returns RLS_OK or RLS_ERR_NOMEM. */
static int s_split(char *line, char delim, struct s_fields *f)
{
    char *p = line;
    int ws = delim == ' ';
    f->n = 0;
    for (;;) {
        while (*p == ' ' || (*p == '\t' && delim != '\t'))
            p++;
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            while (*p != '\0') {
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            while (*p != '\0' && !s_is_sep(*p, delim))
                p++;
        } else {
            while (*p != '\0' && !s_is_sep(*p, delim))
                p++;
            w = p;
            while (w > start && (w[-1] == ' ' || (w[-1] == '\t' && delim != '\t')))
                w--;
        }
        char at = *p;
        *w = '\0';
        if (f->n == f->cap) {
            int ncap = f->cap ? f->cap * 2 : 16;
            char **nv = realloc(f->v, (size_t)ncap * sizeof *nv);
            if (nv == NULL)
                return RLS_ERR_NOMEM;
            f->v = nv;
            f->cap = ncap;
        }
        f->v[f->n++] = start;
        if (at == '\0')
            break;
        p++;
        if (ws) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '\0')
                break; /* trailing blanks end the row, not an empty field */
        }
    }
    return RLS_OK;
}

/* Separator counts of one line outside double quotes: [0] ',', [1] '\t',
 * [2] ';', [3] ";\t" pairs, [4] gaps between blank-separated tokens. */
static void s_count_seps(const char *s, const char *end, int64_t cnt[5])
{
    int quoted = 0, in_tok = 0;
    memset(cnt, 0, 5 * sizeof cnt[0]);
    for (const char *p = s; p < end; p++) {
        char ch = *p;
        if (ch == '"')
            quoted = !quoted;
        if (quoted)
            continue;
        if (ch == ',')
            cnt[0]++;
        else if (ch == '\t')
            cnt[1]++;
        else if (ch == ';') {
            cnt[2]++;
            if (p + 1 < end && p[1] == '\t')
                cnt[3]++;
        }
        if (ch == ' ' || ch == '\t') {
            in_tok = 0;
        } else if (!in_tok) {
            cnt[4]++; /* tokens for now */
            in_tok = 1;
        }
    }
    cnt[4] = cnt[4] > 0 ? cnt[4] - 1 : 0; /* gaps between tokens */
}

/* Picks the field separator of a row file from its header and first data
 * lines (up to 6 lines that are not blank or '#' comments, at most 1 MiB):
 * ";\t" (the Grid Workloads Archive's Bitbrains files) when every sampled
 * line has the header's count of it; else of ',', '\t', ';' the one whose
 * header count (> 0) recurs on the most sampled lines (ties in that order,
 * so a decimal comma in a ';' file never wins: the header has none); else
 * runs of blanks when every sampled line has the header's (> 0) gap count;
 * else ',' (one column). Sets c->delim; reads nothing (c->cur unchanged). */
static void s_detect_delim(struct s_ctx *c)
{
    const char *p = c->cur, *end = c->buf + c->len;
    const char *lim = (size_t)(end - p) > ((size_t)1 << 20) ? p + ((size_t)1 << 20) : end;
    int64_t hdr[5] = {0}, cnt[5], same[5] = {0};
    int nlines = 0;
    static const char cand[3] = {',', '\t', ';'};

    while (p < lim && nlines < 6) {
        const char *nl = memchr(p, '\n', (size_t)(lim - p));
        const char *le = nl != NULL ? nl : lim;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < le && *q != '#') {
            const char *e2 = le;
            while (e2 > p && e2[-1] == '\r')
                e2--;
            s_count_seps(p, e2, cnt);
            if (nlines == 0)
                memcpy(hdr, cnt, sizeof hdr);
            for (int k = 0; k < 5; k++)
                if (cnt[k] == hdr[k])
                    same[k]++;
            nlines++;
        }
        p = nl != NULL ? nl + 1 : lim;
    }
    c->delim = ',';
    if (nlines == 0)
        return;
    if (hdr[3] > 0 && same[3] == nlines) {
        c->delim = ';';
        return;
    }
    int best = -1;
    for (int k = 0; k < 3; k++)
        if (hdr[k] > 0 && (best < 0 || same[k] > same[best]))
            best = k;
    if (best >= 0) {
        c->delim = cand[best];
        return;
    }
    if (hdr[4] > 0 && nlines >= 2 && same[4] == nlines)
        c->delim = ' ';
}

static int s_all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Finds a column by exact name, then case-insensitive name, then 0-based
 * index. names may be NULL (no header: index only). Returns the index or -1. */
static int s_find_col(char **names, int n, const char *want)
{
    if (names != NULL) {
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], want) == 0)
                return i;
        for (int i = 0; i < n; i++)
            if (strcasecmp(names[i], want) == 0)
                return i;
    }
    if (s_all_digits(want) && strlen(want) < 9) {
        int i = atoi(want);
        if (i < n)
            return i;
    }
    return -1;
}

static int s_col_missing(struct s_ctx *c, const char *what, const char *want, char **names, int n)
{
    char list[320];
    size_t k = 0;
    list[0] = '\0';
    for (int i = 0; i < n && k < sizeof list - 8; i++) {
        int w = snprintf(list + k, sizeof list - k, "%s'%s'", i ? ", " : "",
                         names ? names[i] : "");
        if (names == NULL)
            w = snprintf(list + k, sizeof list - k, "%s%d", i ? ", " : "", i);
        if (w < 0 || (size_t)w >= sizeof list - k) {
            snprintf(list + (sizeof list - 5), 5, "...");
            break;
        }
        k += (size_t)w;
    }
    return rls_err_set(c->err, RLS_ERR_NOTFOUND, "%s: %s column '%s' not found; columns: %s",
                       c->path, what, want, list);
}

/* ------------------------------------------------------------------ */
/* numbers and times                                                   */

/* Parses a whole field as a number (trailing blanks allowed). 0 on success. */
static int s_parse_num(const char *s, double *out)
{
    char *end = NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_digits(const char **p, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (k < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    if (k < min)
        return -1;
    *out = v;
    return 0;
}

/* Parses Unix seconds (milliseconds when > 1e11), "YYYY-MM-DD[ HH:MM[:SS[.f]]]"
 * or ISO "YYYY-MM-DDTHH:MM:SS[.f][Z|+HH:MM]" (naive times are UTC). 0 on success. */
static int s_parse_time(const char *s, double *out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0, off = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!(isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
          isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
          (p[4] == '-' || p[4] == '/'))) {
        double v;
        if (s_parse_num(p, &v) != 0 || !isfinite(v) || v < 0)
            return -1;
        *out = v > 1e11 ? v / 1000.0 : v;
        return 0;
    }
    char sep = p[4];
    if (s_digits(&p, 4, 4, &y) || *p++ != sep || s_digits(&p, 1, 2, &mo) || *p++ != sep ||
        s_digits(&p, 1, 2, &d))
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (s_digits(&p, 1, 2, &h) || *p++ != ':' || s_digits(&p, 1, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (s_digits(&p, 1, 2, &sec))
                return -1;
            if (*p == '.') {
                double scale = 0.1;
                p++;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om = 0, sign = *p == '-' ? -1 : 1;
            p++;
            if (s_digits(&p, 2, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && s_digits(&p, 2, 2, &om))
                return -1;
            off = sign * (oh * 3600.0 + om * 60.0);
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
        return -1;
    *out = (double)s_days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac - off;
    return 0;
}

/* Checks a parsed value; returns NULL when fine, else what is wrong. */
static const char *s_bad_value(double v, double max)
{
    if (isnan(v))
        return "is not a number (NaN)";
    if (isinf(v))
        return "is not finite";
    if (v < 0)
        return "is negative";
    if (v > max)
        return max > S_VALUE_MAX_RPS ? "is absurdly large (over 1e15)" : "is absurdly large (over 1e12)";
    return NULL;
}

/* ------------------------------------------------------------------ */
/* rows and the grid                                                   */

struct s_row {
    double t;      /* seconds (timed) or row index (untimed) */
    double v;      /* raw value; NaN = skipped row (untimed only) */
    int64_t line;  /* source line */
};

struct s_rows {
    struct s_row *r;
    int64_t n, cap;
};

static int s_rows_push(struct s_rows *rs, double t, double v, int64_t line)
{
    if (rs->n == rs->cap) {
        int64_t ncap = rs->cap ? rs->cap * 2 : 4096;
        struct s_row *nr = realloc(rs->r, (size_t)ncap * sizeof *nr);
        if (nr == NULL)
            return RLS_ERR_NOMEM;
        rs->r = nr;
        rs->cap = ncap;
    }
    rs->r[rs->n].t = t;
    rs->r[rs->n].v = v;
    rs->r[rs->n].line = line;
    rs->n++;
    return RLS_OK;
}

static int s_row_cmp(const void *a, const void *b)
{
    const struct s_row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int s_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The step of time-sorted rows (docs/TRACE_FORMAT.md, import step 5): m,
 * the most frequent positive spacing (millisecond resolution; the smaller on
 * a tie), when at least half of the positive spacings lie within 2% of m and
 * at least 90% within 2% of m of a whole multiple of m (a multiple is missing
 * rows, filled later). The step is then the median of the spacings within 2%
 * of m (clock jitter evens out), rounded to whole seconds when within 0.5% of
 * them. Fewer than two distinct times, or times off such a grid (event logs,
 * mixed steps), leave the step unknown: RLS_ERR_INVALID naming the file and
 * --step. Returns RLS_OK and *step_out > 0, or a negative status with c->err
 * set. */
static int s_infer_step(struct s_ctx *c, const struct s_rows *rs, double *step_out)
{
    int64_t *d = NULL, k = 0, best = 0, bestc = 0, on = 0, lo = -1, hi = -1;
    int rc = RLS_OK;

    if (rs->n > 1) {
        d = malloc((size_t)(rs->n - 1) * sizeof *d);
        if (d == NULL)
            return rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
    }
    for (int64_t i = 1; i < rs->n; i++) {
        double ms = (rs->r[i].t - rs->r[i - 1].t) * 1000.0;
        if (ms >= 0.5 && ms < 9e15)
            d[k++] = llround(ms);
    }
    if (k == 0) {
        rc = rls_err_set(c->err, RLS_ERR_INVALID,
                         "%s: %s, so the step is unknown: give it with --step S (seconds)", c->path,
                         rs->n == 1 ? "one data row" : "every row has the same time");
        goto done;
    }
    qsort(d, (size_t)k, sizeof *d, s_i64_cmp);
    for (int64_t i = 0; i < k;) {
        int64_t j = i;
        while (j < k && d[j] == d[i])
            j++;
        if (j - i > bestc) {
            bestc = j - i;
            best = d[i];
        }
        i = j;
    }
    for (int64_t i = 0; i < k; i++) {
        double q = (double)d[i] / (double)best;
        double r = floor(q + 0.5);
        if (r >= 1 && fabs((double)d[i] - r * (double)best) <= 0.02 * (double)best) {
            on++;
            if (r == 1) {
                if (lo < 0)
                    lo = i;
                hi = i;
            }
        }
    }
    if (on * 10 < k * 9 || (hi - lo + 1) * 2 < k) {
        rc = rls_err_set(c->err, RLS_ERR_INVALID,
                         "%s: irregular timestamps: the commonest spacing, %g s, is %.0f%% of the "
                         "%lld intervals and its multiples %.0f%% (a grid needs 50%% and 90%%; median "
                         "%g s): give the step with --step S (rows are then binned: counts summed, "
                         "shapes averaged)",
                         c->path, (double)best / 1000.0, 100.0 * (double)(hi - lo + 1) / (double)k,
                         (long long)k, 100.0 * (double)on / (double)k, (double)d[k / 2] / 1000.0);
        goto done;
    }
    *step_out = (double)d[lo + (hi - lo) / 2] / 1000.0;
    /* collectors run on whole seconds: a step within 0.5% of one is that one */
    if (*step_out >= 1 && fabs(*step_out - floor(*step_out + 0.5)) <= 0.005 * *step_out)
        *step_out = floor(*step_out + 0.5);
done:
    free(d);
    return rc;
}

/* Fills NaN entries by linear interpolation between the nearest valid
 * neighbours (nearest value at the ends). Returns how many were filled, or
 * -1 when no entry is valid. */
static int64_t s_fill_nan(double *r, int64_t n)
{
    int64_t filled = 0, prev = -1;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(r[i]))
            continue;
        if (prev < 0) {
            for (int64_t j = 0; j < i; j++)
                r[j] = r[i];
            filled += i;
        } else if (i - prev > 1) {
            for (int64_t j = prev + 1; j < i; j++) {
                double a = (double)(j - prev) / (double)(i - prev);
                r[j] = r[prev] + a * (r[i] - r[prev]);
            }
            filled += i - prev - 1;
        }
        prev = i;
    }
    if (prev < 0)
        return -1;
    for (int64_t j = prev + 1; j < n; j++)
        r[j] = r[prev];
    filled += n - 1 - prev;
    return filled;
}

/* How an importer's values become rates. */
struct s_conv {
    int is_count;         /* 1: values are counts (unit rps, duplicates summed) */
    double count_step_s;  /* counts per this many seconds; 0 = per grid step */
};

/* The import's bound on samples (max_points, or the default when <= 0). */
static int64_t s_max_points(const struct s_ctx *c)
{
    return c->p->max_points > 0 ? c->p->max_points : RLS_TRACE_MAX_POINTS_DEFAULT;
}

static struct rls_trace *s_alloc(struct s_ctx *c, int64_t n, double step)
{
    struct rls_trace *t = rls_trace_new(n, step);
    if (t == NULL)
        rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory for %lld samples", c->path,
                    (long long)n);
    return t;
}

/* Puts timed rows on the grid. Sorts (counting reordered rows), infers the
 * step when step_s is 0, combines duplicates (sum for counts, mean for
 * shapes), fills gaps up to max_gap_steps, divides counts into rates. */
static int s_grid_timed(struct s_ctx *c, struct s_rows *rs, double step_s, struct s_conv cv,
                        struct rls_trace **out)
{
    struct rls_trace *t = NULL;
    uint32_t *cnt = NULL;
    int64_t reordered = 0, dups = 0, n, prev_slot = 0;
    double maxt = -INFINITY, t0;
    int rc = RLS_OK, step_given;

    for (int64_t k = 0; k < rs->n; k++) {
        if (rs->r[k].t < maxt)
            reordered++;
        else
            maxt = rs->r[k].t;
    }
    if (reordered > 0)
        qsort(rs->r, (size_t)rs->n, sizeof *rs->r, s_row_cmp);
    step_given = step_s > 0;
    if (!step_given) {
        rc = s_infer_step(c, rs, &step_s);
        if (rc != RLS_OK)
            goto done;
    }
    t0 = rs->r[0].t;
    for (int64_t k = 0; k < rs->n; k++) {
        double q = (rs->r[k].t - t0) / step_s;
        if (!(q < (double)S_MAX_SAMPLES)) {
            rc = rls_err_set(c->err, RLS_ERR_RANGE, "%s:%lld: time span too long for step %g s",
                             c->path, (long long)rs->r[k].line, step_s);
            goto done;
        }
        int64_t slot = llround(q);
        if (slot - prev_slot - 1 > c->p->max_gap_steps) {
            rc = rls_err_set(c->err, RLS_ERR_RANGE,
                             "%s:%lld: gap of %lld missing steps (%.0f s) before this row exceeds "
                             "max_gap_steps %lld",
                             c->path, (long long)rs->r[k].line, (long long)(slot - prev_slot - 1),
                             (double)(slot - prev_slot - 1) * step_s, (long long)c->p->max_gap_steps);
            goto done;
        }
        prev_slot = slot;
    }
    n = prev_slot + 1;
    if (n > s_max_points(c)) {
        rc = rls_err_set(c->err, RLS_ERR_RANGE,
                         "%s: %lld rows spanning %.0f s at a step of %g s (%s) make %lld samples, "
                         "more than max_points %lld (give a coarser step or raise --max-points)",
                         c->path, (long long)rs->n, rs->r[rs->n - 1].t - t0, step_s,
                         step_given ? "given" : "inferred", (long long)n, (long long)s_max_points(c));
        goto done;
    }
    t = s_alloc(c, n, step_s);
    cnt = calloc((size_t)n, sizeof *cnt);
    if (t == NULL || cnt == NULL) {
        rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory for %lld samples", c->path,
                         (long long)n);
        goto done;
    }
    for (int64_t k = 0; k < rs->n; k++) {
        int64_t slot = llround((rs->r[k].t - t0) / step_s);
        if (cnt[slot] > 0)
            dups++;
        if (cnt[slot] < UINT32_MAX)
            cnt[slot]++;
        t->rate[slot] += rs->r[k].v;
    }
    for (int64_t i = 0; i < n; i++) {
        if (cnt[i] == 0)
            t->rate[i] = NAN;
        else if (!cv.is_count && cnt[i] > 1)
            t->rate[i] /= cnt[i];
    }
    t->n_filled = s_fill_nan(t->rate, n);
    if (cv.is_count) {
        double div = cv.count_step_s > step_s ? cv.count_step_s : step_s;
        for (int64_t i = 0; i < n; i++)
            t->rate[i] /= div;
    }
    t->start_epoch_s = t0;
    t->n_reordered = reordered;
    t->n_duplicates = dups;
    *out = t;
    t = NULL;
done:
    free(cnt);
    rls_trace_destroy(&t);
    return rc;
}

/* Rows without a clock: one row per step; skipped rows (NaN) are filled. */
static int s_grid_untimed(struct s_ctx *c, const struct s_rows *rs, double step_s,
                          struct s_conv cv, struct rls_trace **out)
{
    struct rls_trace *t = s_alloc(c, rs->n, step_s);
    if (t == NULL)
        return RLS_ERR_NOMEM;
    for (int64_t k = 0; k < rs->n; k++)
        t->rate[k] = rs->r[k].v;
    t->n_filled = s_fill_nan(t->rate, t->n);
    if (t->n_filled < 0) {
        rls_trace_destroy(&t);
        return rls_err_set(c->err, RLS_ERR_PARSE, "%s: no valid data rows", c->path);
    }
    if (cv.is_count) {
        double div = cv.count_step_s > 0 ? cv.count_step_s : step_s;
        for (int64_t i = 0; i < t->n; i++)
            t->rate[i] /= div;
    }
    *out = t;
    return RLS_OK;
}

/* ------------------------------------------------------------------ */
/* row-per-line CSV formats: worldcup98, nab, isp, alibaba, csv         */

struct s_spec {
    const char *time_col;    /* name/index, NULL = no clock */
    int time_auto;           /* look for a time-like header name when time_col is NULL */
    const char *value_col;   /* name/index, NULL = value_defaults, then s_pick_value */
    const char *const *value_defaults; /* a format's default value columns, first present wins */
    int header;              /* 1 = first line is a header, -1 = detect */
    double step_s;           /* grid step; 0 = from the times (timed) or refused (untimed) */
    struct s_conv cv;
};

/* Header names taken as the time column (normalized by s_norm_name, so
 * "Timestamp [ms]" is "timestamp"), most wanted first. */
static const char *s_time_names[] = {"timestamp", "time", "datetime", "date", "period",
                                     "time_count", "ts", "epoch", "unix_time", NULL};

/* Column names that say "this is the load", most wanted first: request
 * counts, then generic values, then link volumes (bits before bytes), then
 * CPU. Matched against normalized names (s_norm_name): exactly, or as a
 * prefix followed by '_' ("count_raw" matches "count", less strongly). */
static const char *const s_value_names[] = {
    "requests", "request_count", "requests_per_second", "rps", "qps", "hits", "count",
    "invocations", "calls", "arrivals", "events", "transactions",
    "value", "load", "rate",
    "bits", "bytes", "packets", "traffic", "throughput", "bandwidth",
    "cpu_usage", "cpu_util", "cpu_utilization", "cpu_util_percent", "cpu_percent", "cpu",
    "utilization", "usage", NULL};

/* Normalizes a column name for matching: lower case, bracketed parts
 * ("(in bits)", "[MHZ]") dropped, every run of other characters one '_',
 * none at either end. */
static void s_norm_name(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    int depth = 0, gap = 0;
    for (; *in != '\0' && k + 2 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch == '(' || ch == '[' || ch == '{') {
            depth++;
        } else if (ch == ')' || ch == ']' || ch == '}') {
            if (depth > 0)
                depth--;
        } else if (depth == 0 && isalnum(ch)) {
            if (gap && k > 0)
                out[k++] = '_';
            out[k++] = (char)tolower(ch);
            gap = 0;
        } else if (depth == 0) {
            gap = 1;
        }
    }
    out[k] = '\0';
}

/* How well a column name says "load": 2*i for an exact match of
 * s_value_names[i], 2*i+1 for a prefix match, -1 for none. */
static int s_value_rank(const char *name)
{
    char norm[128];
    s_norm_name(name, norm, sizeof norm);
    for (int i = 0; s_value_names[i] != NULL; i++) {
        size_t l = strlen(s_value_names[i]);
        if (strcmp(norm, s_value_names[i]) == 0)
            return 2 * i;
        if (strncmp(norm, s_value_names[i], l) == 0 && norm[l] == '_')
            return 2 * i + 1;
    }
    return -1;
}

/* Writes "'a', 'b', ..." (or "0, 1, ..." without names) of the columns
 * idx[0..n) into buf, cut with "..." when it does not fit. */
static void s_list_cols(char *buf, size_t cap, char **names, const int *idx, int n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = names != NULL ? snprintf(buf + k, cap - k, "%s'%s'", i ? ", " : "", names[idx[i]])
                              : snprintf(buf + k, cap - k, "%s%d", i ? ", " : "", idx[i]);
        if (w < 0 || (size_t)w >= cap - k) {
            snprintf(buf + (cap > 5 ? cap - 5 : 0), cap > 5 ? 5 : cap, "...");
            return;
        }
        k += (size_t)w;
    }
}

/* Chooses the value column when none was named: the only column besides
 * the time column; else the column whose name ranks best in s_value_names
 * when exactly one does. Anything else is ambiguous: one line listing the
 * candidates and how to pick (--value-col). Returns RLS_OK and *vcol, or
 * RLS_ERR_INVALID / RLS_ERR_NOTFOUND / RLS_ERR_NOMEM with c->err set. */
static int s_pick_value(struct s_ctx *c, char **names, int ncols, int tcol, int64_t header_line,
                        int *vcol)
{
    int *cand = NULL, *best = NULL, nc = 0, nb = 0, best_rank = -1, rc = RLS_OK;
    char list[360];

    cand = malloc((size_t)ncols * sizeof *cand);
    best = malloc((size_t)ncols * sizeof *best);
    if (cand == NULL || best == NULL) {
        rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
        goto done;
    }
    for (int i = 0; i < ncols; i++)
        if (i != tcol)
            cand[nc++] = i;
    if (nc == 0) {
        rc = rls_err_set(c->err, RLS_ERR_NOTFOUND, "%s:%lld: no value column (only the time column)",
                         c->path, (long long)header_line);
        goto done;
    }
    if (nc == 1) {
        *vcol = cand[0];
        goto done;
    }
    for (int i = 0; names != NULL && i < nc; i++) {
        int r = s_value_rank(names[cand[i]]);
        if (r < 0)
            continue;
        if (best_rank < 0 || r < best_rank) {
            best_rank = r;
            nb = 0;
        }
        if (r == best_rank)
            best[nb++] = cand[i];
    }
    if (nb == 1) {
        *vcol = best[0];
        goto done;
    }
    if (nb > 1) {
        s_list_cols(list, sizeof list, names, best, nb);
        rc = rls_err_set(c->err, RLS_ERR_INVALID,
                         "%s: ambiguous value column: %d columns could be the load (%s); pick one "
                         "with --value-col NAME",
                         c->path, nb, list);
        goto done;
    }
    s_list_cols(list, sizeof list, names, cand, nc);
    rc = rls_err_set(c->err, RLS_ERR_INVALID,
                     "%s: ambiguous value column: %d candidate columns (%s), none named like a load "
                     "(requests, count, value, bits, bytes, cpu, ...); pick one with --value-col %s",
                     c->path, nc, list, names != NULL ? "NAME" : "INDEX (0-based)");
done:
    free(cand);
    free(best);
    return rc;
}

static int s_import_rows(struct s_ctx *c, const struct s_spec *sp, struct rls_trace **out)
{
    struct s_fields hdr = {0}, f = {0};
    struct s_rows rs = {0};
    char **names = NULL, *line = NULL;
    int ncols, tcol = -1, vcol = -1, rc = RLS_OK, has_header;
    int64_t skipped = 0, header_line = 0;
    double vmax = sp->cv.is_count ? S_VALUE_MAX_RPS : S_VALUE_MAX_SHAPE;
    struct rls_trace *t = NULL;

    do {
        line = s_next_line(c);
    } while (line != NULL && (s_blank(line) || line[0] == '#'));
    if (line == NULL) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: empty file (no data)", c->path);
        goto done;
    }
    header_line = c->line;
    if (s_split(line, c->delim, &hdr) != RLS_OK) {
        rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
        goto done;
    }
    ncols = hdr.n;
    has_header = sp->header;
    if (has_header < 0) {
        /* a header when some field is neither a number nor a time */
        has_header = 0;
        for (int i = 0; i < ncols; i++) {
            double v;
            if (s_parse_num(hdr.v[i], &v) != 0 && s_parse_time(hdr.v[i], &v) != 0)
                has_header = 1;
        }
    }
    names = has_header ? hdr.v : NULL;
    if (sp->time_col != NULL) {
        tcol = s_find_col(names, ncols, sp->time_col);
        if (tcol < 0) {
            rc = s_col_missing(c, "time", sp->time_col, names, ncols);
            goto done;
        }
    } else if (sp->time_auto && names != NULL) {
        for (int k = 0; s_time_names[k] != NULL && tcol < 0; k++)
            for (int i = 0; i < ncols; i++) {
                char norm[128];
                s_norm_name(names[i], norm, sizeof norm);
                if (strcmp(norm, s_time_names[k]) == 0) {
                    tcol = i;
                    break;
                }
            }
    }
    if (sp->value_col != NULL) {
        vcol = s_find_col(names, ncols, sp->value_col);
        if (vcol < 0) {
            rc = s_col_missing(c, "value", sp->value_col, names, ncols);
            goto done;
        }
    } else {
        for (int k = 0; names != NULL && sp->value_defaults != NULL && sp->value_defaults[k] != NULL &&
                        vcol < 0;
             k++)
            vcol = s_find_col(names, ncols, sp->value_defaults[k]);
        if (vcol < 0) {
            rc = s_pick_value(c, names, ncols, tcol, header_line, &vcol);
            if (rc != RLS_OK)
                goto done;
        }
    }
    if (vcol == tcol) {
        rc = rls_err_set(c->err, RLS_ERR_INVALID, "%s: the time and value columns are the same",
                         c->path);
        goto done;
    }
    /* data rows; without a header the first line is data too */
    int pending_first = !has_header;
    for (;;) {
        const char *why = NULL;
        char whybuf[160];
        double tv = 0, v = 0;
        if (pending_first) {
            pending_first = 0;
            f.n = hdr.n;
            if (f.cap < hdr.n) {
                char **nv = realloc(f.v, (size_t)hdr.n * sizeof *nv);
                if (nv == NULL) {
                    rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
                    goto done;
                }
                f.v = nv;
                f.cap = hdr.n;
            }
            memcpy(f.v, hdr.v, (size_t)hdr.n * sizeof *f.v);
            c->line = header_line;
        } else {
            line = s_next_line(c);
            if (line == NULL)
                break;
            if (s_blank(line) || line[0] == '#')
                continue;
            if (s_split(line, c->delim, &f) != RLS_OK) {
                rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
                goto done;
            }
        }
        int64_t ln = c->line;
        if (f.n != ncols) {
            snprintf(whybuf, sizeof whybuf, "%d fields, expected %d", f.n, ncols);
            why = whybuf;
        } else if (tcol >= 0 && s_parse_time(f.v[tcol], &tv) != 0) {
            snprintf(whybuf, sizeof whybuf, "bad time '%.40s' in column '%s'", f.v[tcol],
                     names ? names[tcol] : sp->time_col);
            why = whybuf;
        } else if (s_parse_num(f.v[vcol], &v) != 0) {
            snprintf(whybuf, sizeof whybuf, "'%.40s' is not a number (column '%s')", f.v[vcol],
                     names ? names[vcol] : (sp->value_col ? sp->value_col : "0"));
            why = whybuf;
        } else {
            const char *bad = s_bad_value(v, vmax);
            if (bad != NULL) {
                snprintf(whybuf, sizeof whybuf, "value %.40s %s (column '%s')", f.v[vcol], bad,
                         names ? names[vcol] : (sp->value_col ? sp->value_col : "0"));
                why = whybuf;
            }
        }
        if (why != NULL) {
            if (!c->p->skip_bad) {
                rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: %s", c->path, (long long)ln, why);
                goto done;
            }
            skipped++;
            if (tcol >= 0)
                continue;
            v = NAN;
        }
        if (tcol < 0)
            tv = (double)rs.n;
        if (s_rows_push(&rs, tv, v, ln) != RLS_OK) {
            rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
            goto done;
        }
    }
    if (rs.n == 0) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: no data rows%s", c->path,
                         skipped ? " (all malformed and skipped)" : "");
        goto done;
    }
    if (tcol < 0 && sp->step_s <= 0) {
        /* rows without a clock: the step is not in the file, and never guessed */
        rc = rls_err_set(c->err, RLS_ERR_INVALID,
                         "%s: no time column, so the step between rows is unknown: give the seconds "
                         "per row with --step S (or name the time column with --time-col)",
                         c->path);
        goto done;
    }
    if (tcol >= 0)
        rc = s_grid_timed(c, &rs, sp->step_s, sp->cv, &t);
    else
        rc = s_grid_untimed(c, &rs, sp->step_s, sp->cv, &t);
    if (rc != RLS_OK)
        goto done;
    t->n_skipped = skipped;
    if (names != NULL)
        snprintf(t->column, sizeof t->column, "%s", names[vcol]);
    else
        snprintf(t->column, sizeof t->column, "%d", vcol);
    *out = t;
    t = NULL;
done:
    free(hdr.v);
    free(f.v);
    free(rs.r);
    rls_trace_destroy(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* NASA: whitespace-separated per-second counts, no clock               */

static int s_import_nasa(struct s_ctx *c, struct rls_trace **out)
{
    struct rls_trace *t = NULL;
    double *v = NULL;
    int64_t n = 0, cap = 0, skipped = 0, line = 1;
    const unsigned char *p = (const unsigned char *)c->cur;
    const unsigned char *end = (const unsigned char *)c->buf + c->len;
    double step = c->p->step_s > 0 ? c->p->step_s : 1.0;
    int rc = RLS_OK;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            if (*p == '\n')
                line++;
            p++;
        }
        if (p >= end)
            break;
        const unsigned char *tok = p;
        double x = 0;
        int ok = 1;
        const char *why = NULL;
        /* fast path: a plain non-negative integer */
        uint64_t iv = 0;
        int nd = 0;
        while (p < end && *p >= '0' && *p <= '9' && nd < 18) {
            iv = iv * 10 + (uint64_t)(*p - '0');
            p++;
            nd++;
        }
        if (nd > 0 && (p >= end || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            x = (double)iv;
        } else {
            char tmp[64];
            size_t k = 0;
            p = tok;
            while (p < end && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
                if (k < sizeof tmp - 1)
                    tmp[k++] = (char)*p;
                p++;
            }
            tmp[k] = '\0';
            if (s_parse_num(tmp, &x) != 0) {
                ok = 0;
                why = "is not a number";
            }
            if (ok && (why = s_bad_value(x, S_VALUE_MAX_RPS)) != NULL)
                ok = 0;
            if (!ok && !c->p->skip_bad) {
                rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: value #%lld '%.40s' %s", c->path,
                                 (long long)line, (long long)n + 1, tmp, why);
                goto done;
            }
        }
        if (!ok) {
            skipped++;
            x = NAN;
        }
        if (n == cap) {
            int64_t ncap = cap ? cap * 2 : 1 << 16;
            double *nv = realloc(v, (size_t)ncap * sizeof *nv);
            if (nv == NULL) {
                rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
                goto done;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = x;
    }
    if (n == 0) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: empty file (no data)", c->path);
        goto done;
    }
    t = s_alloc(c, n, step);
    if (t == NULL) {
        rc = RLS_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        t->rate[i] = v[i] / step;
    t->n_filled = s_fill_nan(t->rate, n);
    if (t->n_filled < 0) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: no valid values", c->path);
        goto done;
    }
    t->n_skipped = skipped;
    *out = t;
    t = NULL;
done:
    free(v);
    rls_trace_destroy(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Azure Functions 2019: one row per function, minute columns           */

/* The minute number of an Azure Functions minute column, in any layout the
 * public releases and their derivatives use: "N" (the 2019 release),
 * "minute_N" and "N_minute" (case-insensitive); -1 for another column. */
static long s_minute_col(const char *name)
{
    char digits[16];
    size_t l = strlen(name);
    if (strncasecmp(name, "minute_", 7) == 0) {
        name += 7;
        l -= 7;
    } else if (l > 7 && strcasecmp(name + l - 7, "_minute") == 0) {
        l -= 7;
    }
    if (l == 0 || l >= sizeof digits)
        return -1;
    memcpy(digits, name, l);
    digits[l] = '\0';
    if (!s_all_digits(digits) || l > 9)
        return -1;
    return atol(digits);
}

struct s_minute_col {
    long minute;
    int col;
};

static int s_minute_cmp(const void *a, const void *b)
{
    const struct s_minute_col *x = a, *y = b;
    return (x->minute > y->minute) - (x->minute < y->minute);
}

static int s_import_azure(struct s_ctx *c, struct rls_trace **out)
{
    struct s_fields hdr = {0}, f = {0};
    struct rls_trace *t = NULL;
    char *line = NULL;
    int *mcols = NULL, nm = 0, fcol, rc = RLS_OK;
    struct s_minute_col *mins = NULL;
    const char *sel = c->p->value_col;
    int mode; /* 0 sum, 1 row index, 2 hash prefix */
    int64_t want_row = -1, row = 0, matched = 0, skipped = 0;
    double step = c->p->step_s > 0 ? c->p->step_s : 60.0;
    char chosen[64] = "";

    do {
        line = s_next_line(c);
    } while (line != NULL && s_blank(line));
    if (line == NULL || s_split(line, c->delim, &hdr) != RLS_OK) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: empty file (no data)", c->path);
        goto done;
    }
    fcol = s_find_col(hdr.v, hdr.n, "HashFunction");
    if (fcol < 0) {
        rc = s_col_missing(c, "function", "HashFunction", hdr.v, hdr.n);
        goto done;
    }
    mcols = malloc((size_t)hdr.n * sizeof *mcols);
    mins = malloc((size_t)hdr.n * sizeof *mins);
    if (mcols == NULL || mins == NULL) {
        rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
        goto done;
    }
    for (int i = 0; i < hdr.n; i++) {
        long m = s_minute_col(hdr.v[i]);
        if (m >= 0) {
            mins[nm].minute = m;
            mins[nm].col = i;
            nm++;
        }
    }
    if (nm == 0) {
        rc = rls_err_set(c->err, RLS_ERR_NOTFOUND,
                         "%s:%lld: no per-minute columns (1.., minute_1.. or 1_minute..) in the header",
                         c->path, (long long)c->line);
        goto done;
    }
    /* minutes in time order, numbered consecutively from 0 or 1 */
    qsort(mins, (size_t)nm, sizeof *mins, s_minute_cmp);
    for (int j = 0; j < nm; j++) {
        if (mins[j].minute != mins[0].minute + j || mins[0].minute > 1) {
            rc = rls_err_set(c->err, RLS_ERR_PARSE,
                             "%s:%lld: minute columns are not numbered %ld..%ld without gaps or "
                             "repeats (column '%s')",
                             c->path, (long long)c->line, mins[0].minute > 1 ? 1 : mins[0].minute,
                             (mins[0].minute > 1 ? 1 : mins[0].minute) + nm - 1, hdr.v[mins[j].col]);
            goto done;
        }
        mcols[j] = mins[j].col;
    }
    if (sel == NULL || sel[0] == '\0' || strcasecmp(sel, "sum") == 0) {
        mode = 0;
    } else if (s_all_digits(sel) && strlen(sel) < 12) {
        mode = 1;
        want_row = atoll(sel);
    } else {
        mode = 2;
    }
    t = s_alloc(c, nm, step);
    if (t == NULL) {
        rc = RLS_ERR_NOMEM;
        goto done;
    }
    while ((line = s_next_line(c)) != NULL) {
        char whybuf[160];
        const char *why = NULL;
        if (s_blank(line))
            continue;
        if (s_split(line, c->delim, &f) != RLS_OK) {
            rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
            goto done;
        }
        int64_t this_row = row++;
        if (f.n != hdr.n) {
            snprintf(whybuf, sizeof whybuf, "%d fields, expected %d", f.n, hdr.n);
            why = whybuf;
        }
        int take = 0;
        if (why == NULL) {
            if (mode == 0)
                take = 1;
            else if (mode == 1)
                take = this_row == want_row;
            else
                take = strncasecmp(f.v[fcol], sel, strlen(sel)) == 0;
        }
        if (why == NULL && !take)
            continue;
        if (why == NULL && mode == 2 && matched > 0) {
            rc = rls_err_set(c->err, RLS_ERR_INVALID,
                             "%s:%lld: function prefix '%s' is ambiguous (matches more than one row)",
                             c->path, (long long)c->line, sel);
            goto done;
        }
        for (int j = 0; why == NULL && j < nm; j++) {
            double v;
            const char *bad;
            if (s_parse_num(f.v[mcols[j]], &v) != 0) {
                snprintf(whybuf, sizeof whybuf, "'%.40s' is not a number (column '%s')",
                         f.v[mcols[j]], hdr.v[mcols[j]]);
                why = whybuf;
            } else if ((bad = s_bad_value(v, S_VALUE_MAX_RPS)) != NULL) {
                snprintf(whybuf, sizeof whybuf, "value %.40s %s (column '%s')", f.v[mcols[j]], bad,
                         hdr.v[mcols[j]]);
                why = whybuf;
            }
        }
        if (why != NULL) {
            if (!c->p->skip_bad) {
                rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: %s", c->path, (long long)c->line,
                                 why);
                goto done;
            }
            skipped++;
            continue;
        }
        for (int j = 0; j < nm; j++) {
            double v = 0;
            s_parse_num(f.v[mcols[j]], &v);
            t->rate[j] += v;
        }
        matched++;
        if (mode != 0)
            snprintf(chosen, sizeof chosen, "%s", f.v[fcol]);
    }
    if (matched == 0) {
        if (mode == 0)
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: no function rows%s", c->path,
                             skipped ? " (all malformed and skipped)" : "");
        else if (mode == 1)
            rc = rls_err_set(c->err, RLS_ERR_NOTFOUND, "%s: function row %lld not found (%lld rows)",
                             c->path, (long long)want_row, (long long)row);
        else
            rc = rls_err_set(c->err, RLS_ERR_NOTFOUND,
                             "%s: no function whose HashFunction starts with '%s' (%lld rows)",
                             c->path, sel, (long long)row);
        goto done;
    }
    for (int j = 0; j < nm; j++)
        t->rate[j] /= step;
    snprintf(t->column, sizeof t->column, "%s", mode == 0 ? "sum" : chosen);
    t->n_skipped = skipped;
    *out = t;
    t = NULL;
done:
    free(mcols);
    free(mins);
    free(hdr.v);
    free(f.v);
    rls_trace_destroy(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Azure Functions 2021: one row per invocation                         */

/* Does id start with the first pl bytes of pre (case-insensitive)? */
static int s_has_prefix(const char *id, const char *pre, size_t pl)
{
    return pl == 0 || strncasecmp(id, pre, pl) == 0;
}

/* Rows "app,func,end_timestamp,duration" (seconds from the trace's start):
 * each invocation counts at its start, end_timestamp - duration, in bins of
 * step_s (60 s unless given), aligned to multiples of the step; an empty bin
 * is a true zero, not a gap. value_col selects: "sum" (default) all, "APP"
 * every function of the one app whose id starts so, "APP:FUNC" one function. */
static int s_import_azure2021(struct s_ctx *c, struct rls_trace **out)
{
    struct s_fields hdr = {0}, f = {0};
    struct rls_trace *t = NULL;
    double *at = NULL;
    int64_t n = 0, cap = 0, skipped = 0, rows = 0, nb = 0;
    char *line = NULL, app1[128] = "", func1[128] = "";
    int acol, fcol, ecol, dcol, rc = RLS_OK, any = 0;
    const char *sel = c->p->value_col, *fpre = NULL;
    size_t apl = 0, fpl = 0;
    double step = c->p->step_s > 0 ? c->p->step_s : 60.0, tmin = INFINITY, tmax = -INFINITY, t0, span;

    do {
        line = s_next_line(c);
    } while (line != NULL && s_blank(line));
    if (line == NULL || s_split(line, c->delim, &hdr) != RLS_OK) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: empty file (no data)", c->path);
        goto done;
    }
    acol = s_find_col(hdr.v, hdr.n, "app");
    fcol = s_find_col(hdr.v, hdr.n, "func");
    ecol = s_find_col(hdr.v, hdr.n, "end_timestamp");
    dcol = s_find_col(hdr.v, hdr.n, "duration");
    if (acol < 0 || fcol < 0 || ecol < 0 || dcol < 0) {
        const char *miss = acol < 0   ? "app"
                           : fcol < 0 ? "func"
                           : ecol < 0 ? "end_timestamp"
                                      : "duration";
        rc = s_col_missing(c, "invocation", miss, hdr.v, hdr.n);
        goto done;
    }
    any = sel == NULL || sel[0] == '\0' || strcasecmp(sel, "sum") == 0;
    if (!any) {
        const char *colon = strchr(sel, ':');
        apl = colon != NULL ? (size_t)(colon - sel) : strlen(sel);
        fpre = colon != NULL ? colon + 1 : NULL;
        fpl = fpre != NULL ? strlen(fpre) : 0;
    }
    while ((line = s_next_line(c)) != NULL) {
        char whybuf[160];
        const char *why = NULL;
        double end = 0, dur = 0;
        if (s_blank(line))
            continue;
        if (s_split(line, c->delim, &f) != RLS_OK) {
            rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
            goto done;
        }
        rows++;
        if (f.n != hdr.n) {
            snprintf(whybuf, sizeof whybuf, "%d fields, expected %d", f.n, hdr.n);
            why = whybuf;
        } else if (s_parse_num(f.v[ecol], &end) != 0 || !isfinite(end) || end < 0 || end > 1e12) {
            snprintf(whybuf, sizeof whybuf, "bad end_timestamp '%.40s' (seconds >= 0)", f.v[ecol]);
            why = whybuf;
        } else if (s_parse_num(f.v[dcol], &dur) != 0 || !isfinite(dur) || dur < 0 || dur > 1e12) {
            snprintf(whybuf, sizeof whybuf, "bad duration '%.40s' (seconds >= 0)", f.v[dcol]);
            why = whybuf;
        }
        if (why != NULL) {
            if (!c->p->skip_bad) {
                rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: %s", c->path, (long long)c->line, why);
                goto done;
            }
            skipped++;
            continue;
        }
        if (!any) {
            if (!s_has_prefix(f.v[acol], sel, apl) ||
                (fpre != NULL && !s_has_prefix(f.v[fcol], fpre, fpl)))
                continue;
            if (n == 0) {
                snprintf(app1, sizeof app1, "%s", f.v[acol]);
                snprintf(func1, sizeof func1, "%s", f.v[fcol]);
            } else if (strncmp(app1, f.v[acol], sizeof app1 - 1) != 0 ||
                       (fpre != NULL && strncmp(func1, f.v[fcol], sizeof func1 - 1) != 0)) {
                rc = rls_err_set(c->err, RLS_ERR_INVALID,
                                 "%s:%lld: '%s' is ambiguous: it matches %s '%.24s' and '%.24s' (give "
                                 "a longer prefix; APP:FUNC picks one function)",
                                 c->path, (long long)c->line, sel,
                                 strncmp(app1, f.v[acol], sizeof app1 - 1) != 0 ? "app" : "function",
                                 strncmp(app1, f.v[acol], sizeof app1 - 1) != 0 ? app1 : func1,
                                 strncmp(app1, f.v[acol], sizeof app1 - 1) != 0 ? f.v[acol] : f.v[fcol]);
                goto done;
            }
        }
        if (n == cap) {
            int64_t ncap = cap ? cap * 2 : 4096;
            double *na = realloc(at, (size_t)ncap * sizeof *na);
            if (na == NULL) {
                rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->path);
                goto done;
            }
            at = na;
            cap = ncap;
        }
        at[n] = end - dur;
        if (at[n] < tmin)
            tmin = at[n];
        if (at[n] > tmax)
            tmax = at[n];
        n++;
    }
    if (n == 0) {
        if (any || rows == skipped)
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s: no invocation rows%s", c->path,
                             skipped ? " (all malformed and skipped)" : "");
        else
            rc = rls_err_set(c->err, RLS_ERR_NOTFOUND,
                             "%s: no invocation whose app (and function) starts with '%s' (%lld rows)",
                             c->path, sel, (long long)rows);
        goto done;
    }
    t0 = floor(tmin / step) * step;
    span = (tmax - t0) / step;
    nb = span < (double)S_MAX_SAMPLES ? (int64_t)floor(span) + 1 : INT64_MAX;
    if (nb > s_max_points(c)) {
        rc = rls_err_set(c->err, RLS_ERR_RANGE,
                         "%s: %lld invocations spanning %.0f s in bins of %g s make more than "
                         "max_points %lld samples (give a coarser --step or raise --max-points)",
                         c->path, (long long)n, tmax - tmin, step, (long long)s_max_points(c));
        goto done;
    }
    t = s_alloc(c, nb, step);
    if (t == NULL) {
        rc = RLS_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t slot = (int64_t)floor((at[i] - t0) / step);
        if (slot < 0)
            slot = 0;
        if (slot >= nb)
            slot = nb - 1;
        t->rate[slot] += 1;
    }
    for (int64_t i = 0; i < nb; i++)
        t->rate[i] /= step;
    if (any)
        snprintf(t->column, sizeof t->column, "sum");
    else if (fpre == NULL)
        snprintf(t->column, sizeof t->column, "%.63s", app1);
    else
        snprintf(t->column, sizeof t->column, "%.40s:%.22s", app1, func1);
    t->n_skipped = skipped;
    *out = t;
    t = NULL;
done:
    free(at);
    free(hdr.v);
    free(f.v);
    rls_trace_destroy(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* canonical rlsched-trace v1                                          */

static int s_parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno != 0)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int s_import_canonical(struct s_ctx *c, struct rls_trace **out)
{
    struct rls_trace *t = NULL;
    char *line = s_next_line(c);
    char unit[16] = "rps", format[32] = "rlsched", source[RLS_TRACE_TEXT_MAX] = "", column[64] = "";
    double step = 0, start = 0;
    int64_t n = -1, cnt[4] = {0, 0, 0, 0}, i = 0, cap = 0;
    int rc = RLS_OK;

    if (line == NULL || strncmp(line, "# rlsched-trace", 15) != 0) {
        return rls_err_set(c->err, RLS_ERR_PARSE, "%s:1: not an rlsched-trace file", c->path);
    }
    {
        const char *ver = line + 15;
        while (*ver == ' ')
            ver++;
        size_t vl = strlen(ver);
        while (vl > 0 && (ver[vl - 1] == ' ' || ver[vl - 1] == '\t'))
            vl--;
        if (!(vl == 2 && strncmp(ver, "v1", 2) == 0))
            return rls_err_set(c->err, RLS_ERR_VERSION,
                               "%s:1: unsupported rlsched-trace version '%.*s' (this build reads v1)",
                               c->path, (int)(vl > 20 ? 20 : vl), ver);
    }
    /* header: "# key: value" lines */
    for (;;) {
        if (c->cur >= c->buf + c->len || *c->cur != '#')
            break;
        line = s_next_line(c);
        char *k = line + 1;
        while (*k == ' ')
            k++;
        char *colon = strchr(k, ':');
        if (colon == NULL)
            continue; /* a comment */
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        size_t vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        int bad = 0;
        if (strcmp(k, "step_s") == 0)
            bad = s_parse_num(v, &step) != 0 || !isfinite(step) || step <= 0;
        else if (strcmp(k, "unit") == 0) {
            bad = strcmp(v, "rps") != 0 && strcmp(v, "shape") != 0;
            snprintf(unit, sizeof unit, "%s", v);
        } else if (strcmp(k, "format") == 0)
            snprintf(format, sizeof format, "%s", v);
        else if (strcmp(k, "source") == 0)
            snprintf(source, sizeof source, "%s", v);
        else if (strcmp(k, "column") == 0)
            snprintf(column, sizeof column, "%s", v);
        else if (strcmp(k, "start_epoch_s") == 0)
            bad = s_parse_num(v, &start) != 0 || !isfinite(start);
        else if (strcmp(k, "n") == 0)
            bad = s_parse_i64(v, &n) != 0 || n < 1 || n >= S_MAX_SAMPLES;
        else if (strcmp(k, "filled") == 0)
            bad = s_parse_i64(v, &cnt[0]) != 0 || cnt[0] < 0;
        else if (strcmp(k, "reordered") == 0)
            bad = s_parse_i64(v, &cnt[1]) != 0 || cnt[1] < 0;
        else if (strcmp(k, "duplicates") == 0)
            bad = s_parse_i64(v, &cnt[2]) != 0 || cnt[2] < 0;
        else if (strcmp(k, "skipped") == 0)
            bad = s_parse_i64(v, &cnt[3]) != 0 || cnt[3] < 0;
        if (bad)
            return rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: bad header value %s: '%.40s'",
                               c->path, (long long)c->line, k, v);
    }
    if (step <= 0)
        return rls_err_set(c->err, RLS_ERR_PARSE, "%s: header lacks '# step_s:'", c->path);
    if (n < 1)
        return rls_err_set(c->err, RLS_ERR_PARSE, "%s: header lacks '# n:'", c->path);
    if (n > s_max_points(c))
        return rls_err_set(c->err, RLS_ERR_RANGE,
                           "%s: header n=%lld exceeds max_points %lld (raise --max-points to read it)",
                           c->path, (long long)n, (long long)s_max_points(c));
    /* the header's n is a claim: the samples grow with the values actually read */
    t = s_alloc(c, 1, step);
    if (t == NULL)
        return RLS_ERR_NOMEM;
    cap = 1;
    while ((line = s_next_line(c)) != NULL) {
        double v;
        const char *bad;
        if (s_blank(line)) {
            if (c->cur >= c->buf + c->len)
                break; /* trailing blank line at the end */
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: blank line among the values",
                             c->path, (long long)c->line);
            goto done;
        }
        if (i >= n) {
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: more values than the header's n=%lld",
                             c->path, (long long)c->line, (long long)n);
            goto done;
        }
        if (s_parse_num(line, &v) != 0) {
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: '%.40s' is not a number", c->path,
                             (long long)c->line, line);
            goto done;
        }
        if ((bad = s_bad_value(v, INFINITY)) != NULL) {
            rc = rls_err_set(c->err, RLS_ERR_PARSE, "%s:%lld: value %.40s %s", c->path,
                             (long long)c->line, line, bad);
            goto done;
        }
        if (i >= cap) {
            int64_t ncap = cap * 2 < n ? cap * 2 : n;
            double *nr = realloc(t->rate, (size_t)ncap * sizeof *nr);
            if (nr == NULL) {
                rc = rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory for %lld samples",
                                 c->path, (long long)ncap);
                goto done;
            }
            t->rate = nr;
            cap = ncap;
        }
        t->rate[i++] = v;
    }
    t->n = i;
    if (i < n) {
        rc = rls_err_set(c->err, RLS_ERR_PARSE,
                         "%s:%lld: truncated file: header says n=%lld but only %lld values",
                         c->path, (long long)c->line + 1, (long long)n, (long long)i);
        goto done;
    }
    t->start_epoch_s = start;
    snprintf(t->unit, sizeof t->unit, "%s", unit);
    snprintf(t->format, sizeof t->format, "%s", format);
    snprintf(t->source, sizeof t->source, "%s", source[0] ? source : c->path);
    snprintf(t->column, sizeof t->column, "%s", column);
    t->n_filled = cnt[0];
    t->n_reordered = cnt[1];
    t->n_duplicates = cnt[2];
    t->n_skipped = cnt[3];
    *out = t;
    t = NULL;
done:
    rls_trace_destroy(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* detection and the entry point                                       */

static const char *s_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int s_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* Guesses the format from the first non-blank line (and the file name). */
static enum rls_trace_format s_detect(struct s_ctx *c)
{
    const char *p = c->cur, *end = c->buf + c->len;
    char first[2048];
    size_t k = 0;
    struct s_fields f = {0};
    enum rls_trace_format fmt = RLS_TRACE_FMT_CSV;
    int numeric_ws = 1, tokens = 0, in_tok = 0;

    while (p < end && isspace((unsigned char)*p))
        p++;
    while (p < end && *p != '\n' && k < sizeof first - 1)
        first[k++] = *p++;
    while (k > 0 && first[k - 1] == '\r')
        k--;
    first[k] = '\0';
    if (strncmp(first, "# rlsched-trace", 15) == 0)
        return RLS_TRACE_FMT_CANONICAL;
    for (size_t i = 0; i < k; i++) {
        char ch = first[i];
        if (ch == ' ' || ch == '\t') {
            in_tok = 0;
        } else if (isdigit((unsigned char)ch) || ch == '.') {
            if (!in_tok)
                tokens++;
            in_tok = 1;
        } else {
            numeric_ws = 0;
        }
    }
    if (numeric_ws && tokens > 0 && (tokens >= 2 || s_contains_ci(s_basename(c->path), "nasa")))
        return RLS_TRACE_FMT_NASA;
    if (s_split(first, c->delim, &f) != RLS_OK)
        return RLS_TRACE_FMT_CSV;
    if (s_find_col(f.v, f.n, "HashFunction") >= 0)
        fmt = RLS_TRACE_FMT_AZURE;
    else if (s_find_col(f.v, f.n, "end_timestamp") >= 0 && s_find_col(f.v, f.n, "duration") >= 0 &&
             s_find_col(f.v, f.n, "app") >= 0)
        fmt = RLS_TRACE_FMT_AZURE2021;
    else if (s_find_col(f.v, f.n, "CPU usage [MHZ]") >= 0 && s_find_col(f.v, f.n, "Timestamp [ms]") >= 0)
        fmt = RLS_TRACE_FMT_BITBRAINS;
    else if (f.n >= 2 && strcasecmp(f.v[0], "period") == 0 && strcasecmp(f.v[1], "count") == 0)
        fmt = RLS_TRACE_FMT_WORLDCUP98;
    else if (f.n == 2 && strcasecmp(f.v[0], "timestamp") == 0 && strcasecmp(f.v[1], "value") == 0)
        fmt = RLS_TRACE_FMT_NAB;
    else if (f.n >= 1 && strcasecmp(f.v[0], "time_count") == 0)
        fmt = RLS_TRACE_FMT_ISP;
    else {
        for (int i = 0; i < f.n; i++)
            if (strcasecmp(f.v[i], "cpu_util_percent") == 0)
                fmt = RLS_TRACE_FMT_ALIBABA;
    }
    free(f.v);
    return fmt;
}

/* Default value columns of the link and VM formats, first present wins
 * (then the known-name choice of s_pick_value). */
static const char *const s_isp_values[] = {"traffic (in bits)", "bits", NULL};
static const char *const s_bitbrains_values[] = {"CPU usage [MHZ]", NULL};

struct rls_trace_import_params rls_trace_import_default_params(void)
{
    struct rls_trace_import_params p;
    memset(&p, 0, sizeof p);
    p.format = RLS_TRACE_FMT_AUTO;
    p.max_gap_steps = 10000;
    p.max_points = RLS_TRACE_MAX_POINTS_DEFAULT;
    return p;
}

int rls_trace_import(const char *path, const struct rls_trace_import_params *params,
                     struct rls_trace **out, struct rls_err *err)
{
    struct rls_trace_import_params defp = rls_trace_import_default_params();
    struct s_ctx c;
    struct s_spec sp;
    struct rls_trace *t = NULL;
    enum rls_trace_format fmt;
    int rc;

    if (out != NULL)
        *out = NULL;
    rls_err_clear(err);
    if (path == NULL || out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_trace_import: NULL path or out");
    if (params == NULL)
        params = &defp;
    if (params->step_s < 0 || !isfinite(params->step_s) || params->count_step_s < 0 ||
        !isfinite(params->count_step_s) || params->max_gap_steps < 0)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "%s: step_s, count_step_s and max_gap_steps must be >= 0", path);
    memset(&c, 0, sizeof c);
    c.path = path;
    c.p = params;
    c.err = err;
    rc = s_read_file(&c);
    if (rc != RLS_OK)
        return rc;
    rc = s_check_text(&c);
    if (rc != RLS_OK)
        goto done;
    s_detect_delim(&c);
    fmt = params->format != RLS_TRACE_FMT_AUTO ? params->format : s_detect(&c);

    memset(&sp, 0, sizeof sp);
    sp.header = 1;
    sp.step_s = params->step_s;
    sp.value_col = params->value_col;
    sp.time_col = params->time_col;
    if (params->count_step_s > 0) {
        sp.cv.is_count = 1;
        sp.cv.count_step_s = params->count_step_s;
    }
    switch (fmt) {
    case RLS_TRACE_FMT_CANONICAL:
        rc = s_import_canonical(&c, &t);
        break;
    case RLS_TRACE_FMT_NASA:
        rc = s_import_nasa(&c, &t);
        break;
    case RLS_TRACE_FMT_AZURE:
        rc = s_import_azure(&c, &t);
        break;
    case RLS_TRACE_FMT_WORLDCUP98:
        if (sp.time_col == NULL)
            sp.time_col = "period";
        if (sp.value_col == NULL)
            sp.value_col = "count";
        sp.cv.is_count = 1; /* counts per row interval */
        rc = s_import_rows(&c, &sp, &t);
        break;
    case RLS_TRACE_FMT_NAB:
        if (sp.time_col == NULL)
            sp.time_col = "timestamp";
        if (sp.value_col == NULL)
            sp.value_col = "value";
        if (s_contains_ci(s_basename(path), "request_count"))
            sp.cv.is_count = 1;
        rc = s_import_rows(&c, &sp, &t);
        break;
    case RLS_TRACE_FMT_ISP:
        if (sp.time_col == NULL)
            sp.time_col = "time_count";
        sp.value_defaults = s_isp_values;
        rc = s_import_rows(&c, &sp, &t);
        break;
    case RLS_TRACE_FMT_BITBRAINS:
        if (sp.time_col == NULL)
            sp.time_col = "Timestamp [ms]";
        sp.value_defaults = s_bitbrains_values;
        rc = s_import_rows(&c, &sp, &t);
        break;
    case RLS_TRACE_FMT_AZURE2021:
        rc = s_import_azure2021(&c, &t);
        break;
    case RLS_TRACE_FMT_ALIBABA:
        if (sp.value_col == NULL)
            sp.value_col = "cpu_util_percent";
        if (sp.step_s <= 0)
            sp.step_s = 300;
        rc = s_import_rows(&c, &sp, &t);
        break;
    case RLS_TRACE_FMT_CSV:
        sp.header = -1;
        if (sp.time_col != NULL && (sp.time_col[0] == '\0' || strcasecmp(sp.time_col, "none") == 0))
            sp.time_col = NULL;
        else if (sp.time_col == NULL)
            sp.time_auto = 1;
        rc = s_import_rows(&c, &sp, &t);
        break;
    default:
        rc = rls_err_set(err, RLS_ERR_INVALID, "%s: unknown trace format %d", path, (int)fmt);
        break;
    }
    if (rc != RLS_OK)
        goto done;
    if (fmt != RLS_TRACE_FMT_CANONICAL) {
        int counts = fmt == RLS_TRACE_FMT_NASA || fmt == RLS_TRACE_FMT_AZURE ||
                     fmt == RLS_TRACE_FMT_AZURE2021 || sp.cv.is_count;
        snprintf(t->unit, sizeof t->unit, "%s", counts ? "rps" : "shape");
        snprintf(t->format, sizeof t->format, "%s", rls_trace_format_name(fmt));
        snprintf(t->source, sizeof t->source, "%s", path);
    }
    *out = t;
    t = NULL;
done:
    free(c.buf);
    rls_trace_destroy(&t);
    return rc;
}
