/* fuzz_checkpoint.c - libFuzzer harness for the checkpoint reader
 * (policies/checkpoint.c): the input is written to a temporary .h5 file and
 * loaded (weights, then the optional training state) in this process
 * (RLS_CHECKPOINT_NO_ISOLATE=1: no forked check per input; see fuzz_replay.c).
 * A loaded checkpoint must validate. Build and run: tools/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>

#include <hdf5.h>

#include "policies/checkpoint.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("RLS_CHECKPOINT_NO_ISOLATE", "1", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    struct rls_err err = {0};
    const char *path = rls_fuzz_write_temp(data, size, ".h5");
    if (!path)
        return 0;
    if (rls_checkpoint_load(path, &ck, &err) == RLS_OK) {
        if (rls_checkpoint_validate(ck, "fuzz", &err) != RLS_OK)
            abort();    /* load promises a valid checkpoint */
        rls_checkpoint_load_state(path, &st, &err);
    }
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
    /* every HDF5 object the reader opened is closed again, also on errors (the
     * leaks LeakSanitizer would see inside libhdf5 on corrupt files are its own:
     * tools/fuzz.sh runs these two harnesses with detect_leaks=0) */
    if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        abort();
    return 0;
}
