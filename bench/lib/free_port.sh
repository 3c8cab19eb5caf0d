# Sourced by the bench scripts. free_port prints a loopback port nobody listens on (connect is
# refused), that no socket uses (ss, when there), and that is not yet a value of the script's
# PORT variable (an array of the ports handed to its servers, or one port). Taken below the
# kernel's ephemeral range: wrk's and the idle client's closed connections leave thousands of
# ephemeral ports in TIME_WAIT for a minute, and a server cannot bind one of those, SO_REUSEADDR
# or not (seen: bind(127.0.0.1:36500) failed with EADDRINUSE right after an idle run). When it
# finds none it calls the script's own log() and exits.
FREE_PORT_EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
    local p q i used lo=10000 span
    span=$(( FREE_PORT_EPHEMERAL_LOW - lo ))
    [ "$span" -ge 1000 ] || { lo=20000; span=30000; }
    for i in $(seq 1 200); do
        p=$(( lo + (RANDOM * 32768 + RANDOM) % span ))
        used=0
        for q in ${PORT[@]+"${PORT[@]}"}; do [ "$q" = "$p" ] && used=1; done
        [ "$used" = 1 ] && continue
        if command -v ss >/dev/null && [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then continue; fi
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    log "no free loopback port found"; exit 1
}
