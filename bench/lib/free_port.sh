# Sourced by the bench scripts: free_port prints a loopback port nobody listens on (it calls the
# script's own log() when it finds none, and exits).
free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$(( 20000 + RANDOM % 10000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    log "no free port"; exit 1
}
