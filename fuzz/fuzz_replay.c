/* fuzz_replay.c - libFuzzer harness for the replay reader (replay/reader.c):
 * the input is written to a temporary .h5 file and opened in RAM mode with
 * isolation off (params.isolate = 0: the fork that shields production from a
 * libhdf5 crash would hide the crash from the fuzzer and costs a fork per
 * input). Crashes inside libhdf5 itself are
 * what that isolation exists for (fuzz/README.md). Build and run: tools/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>

#include <hdf5.h>

#include "replay/replay.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rls_replay_reader_params p = rls_replay_reader_default_params();
    struct rls_replay_reader *r = NULL;
    struct rls_err err = {0};
    const char *path = rls_fuzz_write_temp(data, size, ".h5");
    if (!path)
        return 0;
    p.isolate = 0;
    r = rls_replay_reader_open(path, &p, &err);
    rls_replay_reader_close(&r);
    /* every HDF5 object the reader opened is closed again, also on errors (the
     * leaks LeakSanitizer would see inside libhdf5 on corrupt files are its own:
     * tools/fuzz.sh runs these two harnesses with detect_leaks=0) */
    if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        abort();
    return 0;
}
