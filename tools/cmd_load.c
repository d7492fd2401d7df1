/* cmd_load.c - placeholder until the subcommand lands. */
#include <stdio.h>

#include "cli.h"

int rls_cmd_load(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched load: not built yet\n");
    return 1;
}
