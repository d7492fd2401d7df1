/* trainer_exec.c - `rlsched train|export|bench train` run the sibling
 * executable rlsched-train (the only one linking libtorch), so the rest of
 * the command line starts fast and never loads libtorch. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int rls_cli_exec_trainer(const char *command, int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "rlsched %s: cannot find my own executable: %s\n", command, strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(path, sizeof path, "%s/rlsched-train", self);
    if (access(path, X_OK) != 0) {
        fprintf(stderr,
                "rlsched %s: this rlsched was built without libtorch (no %s; install "
                "libtorch-dev and rebuild)\n",
                command, path);
        return 1;
    }
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) {
        fprintf(stderr, "rlsched %s: out of memory\n", command);
        return 1;
    }
    args[0] = path;
    args[1] = (char *)command;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execv(path, args);
    fprintf(stderr, "rlsched %s: cannot run %s: %s\n", command, path, strerror(errno));
    free(args);
    return 1;
}
