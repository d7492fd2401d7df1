/* cmd_record.c - placeholder until the subcommand lands. */
#include <stdio.h>

#include "cli.h"

int rls_cmd_record(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched record: not built yet\n");
    return 1;
}
