/* fuzz_scenario.c - libFuzzer harness for the scenario reader
 * (env/scenario_yaml.c): any bytes as YAML text into rls_scenario_parse; an
 * accepted scenario must validate and write back as YAML that parses again.
 * Build and run: tools/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "env/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rls_scenario *sc = NULL;
    struct rls_scenario *sc2 = NULL;
    struct rls_err err = {0};
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = NULL;
    if (rls_scenario_parse((const char *)data, size, "fuzz", &sc, &err) != RLS_OK)
        return 0;
    if (rls_scenario_validate(sc, &err) != RLS_OK)
        abort();    /* parse promises a valid scenario */
    f = open_memstream(&text, &text_len);
    if (f) {
        if (rls_scenario_write_yaml(sc, f) != RLS_OK)
            abort();
        fclose(f);
        if (rls_scenario_parse(text, text_len, "fuzz-rewritten", &sc2, &err) != RLS_OK)
            abort();    /* what we write must read back */
    }
    free(text);
    rls_scenario_destroy(&sc2);
    rls_scenario_destroy(&sc);
    return 0;
}
