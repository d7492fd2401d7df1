/* fuzz_trace.c - libFuzzer harness for the trace importer (env/trace_import.c):
 * the first byte picks the source format (low 4 bits mod RLS_TRACE_FMT_COUNT: auto,
 * canonical, worldcup98, ... csv, bitbrains, azure2021) and skip_bad; the rest is the file,
 * written to a temporary file and imported. max_points is kept small so a hostile time span is refused fast.
 * Build and run: tools/fuzz.sh. */
#include <stdint.h>

#include "env/trace.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rls_trace_import_params p = rls_trace_import_default_params();
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    const char *path = NULL;
    if (size < 1)
        return 0;
    p.format = (enum rls_trace_format)((data[0] & 0x0f) % RLS_TRACE_FMT_COUNT);
    p.skip_bad = (data[0] >> 4) & 1;
    if (p.format == RLS_TRACE_FMT_CSV && (data[0] & 0x20))
        p.time_col = "0";
    p.max_points = 100000;
    p.max_gap_steps = 1000;
    path = rls_fuzz_write_temp(data + 1, size - 1, ".csv");
    if (!path)
        return 0;
    rls_trace_import(path, &p, &t, &err);
    rls_trace_destroy(&t);
    return 0;
}
