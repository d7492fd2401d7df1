/* cmd_sim.c - placeholder until `rlsched sim serve` lands. */
#include <stdio.h>

#include "cli.h"

int rls_cmd_sim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched sim: not built yet\n");
    return 1;
}
