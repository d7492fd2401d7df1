/* cli_parse.c - number parsing shared by the subcommands (cli.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

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
