/* fuzz_protocol.c - libFuzzer harness for the wire decoder (env/protocol.c):
 * any bytes into rls_proto_decode; an accepted message is re-encoded and
 * decoded again (the encoder must accept what the decoder returns, and the
 * round trip must decode to the same type). Build and run: tools/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>

#include "env/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rls_proto_msg m = {0};
    struct rls_proto_msg m2 = {0};
    struct rls_proto_buf buf = {0};
    struct rls_err err = {0};
    if (rls_proto_decode(data, size, &m, &err) == RLS_OK) {
        if (rls_proto_encode(&buf, &m, &err) != RLS_OK)
            abort();    /* a decoded message must encode */
        if (rls_proto_decode(buf.data, buf.len, &m2, &err) != RLS_OK || m2.type != m.type)
            abort();    /* and decode back to the same message type */
    }
    rls_proto_msg_clear(&m2);
    rls_proto_msg_clear(&m);
    rls_proto_buf_free(&buf);
    return 0;
}
