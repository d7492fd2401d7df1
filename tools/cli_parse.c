/* cli_parse.c - what every command's argument loop shares (cli.h): numbers
 * parsed whole and within their range before any cast, --opt=value split
 * into --opt value, and an output path checked writable before any work. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int rls_cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int rls_cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------------
 * --opt=value, shared by every command's option loop. */

static char **s_split_argv = NULL;   /* the rewritten vector (reachable until exit) */

static int s_is_long_name(const char *a, size_t len)
{
    if (len < 3 || a[0] != '-' || a[1] != '-')
        return 0;
    for (size_t k = 2; k < len; k++)
        if (!((a[k] >= 'a' && a[k] <= 'z') || (a[k] >= 'A' && a[k] <= 'Z') ||
              (a[k] >= '0' && a[k] <= '9') || a[k] == '-' || a[k] == '_'))
            return 0;
    return 1;
}

int rls_cli_split_eq(int *argc, char ***argv)
{
    int n = *argc, extra = 0;
    char **in = *argv;
    for (int i = 1; i < n; i++) {
        if (strcmp(in[i], "--") == 0)
            break;
        const char *eq = strchr(in[i], '=');
        if (eq && s_is_long_name(in[i], (size_t)(eq - in[i])))
            extra++;
    }
    if (extra == 0)
        return 0;
    char **out = calloc((size_t)n + (size_t)extra + 1, sizeof *out);
    if (!out)
        return -1;
    int j = 0, rest = 0;
    for (int i = 0; i < n; i++) {
        const char *eq = i > 0 && !rest ? strchr(in[i], '=') : NULL;
        if (i > 0 && strcmp(in[i], "--") == 0)
            rest = 1;
        if (eq && !rest && s_is_long_name(in[i], (size_t)(eq - in[i]))) {
            /* "--opt=value" -> "--opt" "value": cut the string in place */
            in[i][eq - in[i]] = '\0';
            out[j++] = in[i];
            out[j++] = (char *)eq + 1;
        } else {
            out[j++] = in[i];
        }
    }
    out[j] = NULL;
    free(s_split_argv);
    s_split_argv = out;
    *argc = j;
    *argv = out;
    return 0;
}

int rls_cli_check_writable(const char *path, char *msg, size_t n)
{
    char dir[4096];
    struct stat st;
    if (!path || !*path) {
        snprintf(msg, n, "empty output path");
        return -1;
    }
    if (strlen(path) >= sizeof dir) {
        snprintf(msg, n, "%.64s...: path too long", path);
        return -1;
    }
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(msg, n, "%s: is a directory, not a file", path);
            return -1;
        }
        if (access(path, W_OK) != 0) {
            snprintf(msg, n, "cannot write %s: %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &st) != 0) {
        snprintf(msg, n, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, n, "cannot write %s: %s is not a directory", path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, n, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    return 0;
}
