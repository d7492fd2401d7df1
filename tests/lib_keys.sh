# lib_keys.sh - CURVE keys for the CLI tests that open the control channel
# (secure by default, agent/PROTOCOL.md "Security"). Source it, then
#   make_keys RLSCHED DIR
# writes DIR/server.{key,pub}, DIR/agent.{key,pub} (listed), DIR/agent2.{key,pub}
# (listed with "takeover"), DIR/agent3.{key,pub} (listed), DIR/stranger.{key,pub}
# (not listed) with `rlsched keygen`, and DIR/allow; and sets
#   SKEYS  the cluster side's options (--curve-secret ... --curve-allow ...)
#   CKEYS  a client's options with agent.key (--curve-server ... --curve-secret ...)
# Returns non-zero when keygen fails.
make_keys() {
    local bin=$1 dir=$2 n
    for n in server agent agent2 agent3 stranger; do
        "$bin" keygen --out "$dir/$n" > /dev/null || return 1
    done
    {
        echo "# agents admitted to the control channel"
        grep -v '^#' "$dir/agent.pub"
        echo "$(grep -v '^#' "$dir/agent2.pub") takeover"
        grep -v '^#' "$dir/agent3.pub"
    } > "$dir/allow"
    SKEYS=(--curve-secret "$dir/server.key" --curve-allow "$dir/allow")
    CKEYS=(--curve-server "$dir/server.pub" --curve-secret "$dir/agent.key")
}
