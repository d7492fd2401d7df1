/* cmd_replay.c - placeholder until the subcommand lands. */
#include <stdio.h>

#include "cli.h"

int rls_cmd_replay(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched replay: not built yet\n");
    return 1;
}
