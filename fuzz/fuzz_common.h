/* fuzz_common.h - helpers shared by the libFuzzer harnesses (fuzz/fuzz_*.c):
 * the readers that take a path get the input through a temporary file, one
 * per process, under /dev/shm when it exists (tmpfs: no disk writes). */
#ifndef RLS_FUZZ_COMMON_H
#define RLS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char rls_fuzz_temp_path[256];

/* Removes the temporary file at exit (a crash leaves it; /dev/shm is tmpfs). */
static void rls_fuzz_remove_temp(void)
{
    if (rls_fuzz_temp_path[0])
        unlink(rls_fuzz_temp_path);
}

/* Writes data to this process's temporary file named with suffix (".h5",
 * ".csv"...) and returns its path (static storage), or NULL if it could not
 * be written. The file is overwritten on each call. */
static const char *rls_fuzz_write_temp(const uint8_t *data, size_t size, const char *suffix)
{
    char *path = rls_fuzz_temp_path;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    FILE *f = NULL;
    if (!path[0])
        atexit(rls_fuzz_remove_temp);
    snprintf(path, sizeof rls_fuzz_temp_path, "%s/rls_fuzz_%ld%s", dir, (long)getpid(), suffix);
    f = fopen(path, "wb");
    if (!f)
        return NULL;
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return NULL;
    }
    if (fclose(f) != 0)
        return NULL;
    return path;
}

#endif
