/* cmd_cluster.c - placeholder until the subcommand lands. */
#include <stdio.h>

#include "cli.h"

int rls_cmd_cluster(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched cluster: not built yet\n");
    return 1;
}
