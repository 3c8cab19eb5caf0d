// bench_loop: the cost of one loop pass with 1 active channel and N idle ones, per backend.
//
// The active channel is one end of a socket pair; each iteration writes a byte to the other end
// and runs one pass, in which the channel reads it. The idle channels are unbound UDP sockets
// that want to read and never have anything: they cost whatever the backend charges for a
// descriptor that is registered but quiet. select and poll hand the kernel every descriptor on
// every pass, so their cost grows with N; epoll keeps the interest list in the kernel and the
// map asks only channels that changed, so its cost should stay flat.
//
//   build/bin/bench_loop --benchmark_min_time=0.2
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"

namespace {

using medusa::backend;

class active_channel : public medusa::dispatcher {
public:
    active_channel(medusa::socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool writable() override { return false; }
    void handle_read() override {
        char buf[64];
        reads += recv(buf, sizeof buf);
    }
    long reads = 0;
};

class idle_channel : public medusa::dispatcher {
public:
    explicit idle_channel(medusa::socket_map& m) : dispatcher(m) { create_socket(AF_INET, SOCK_DGRAM); }
    bool writable() override { return false; }
    void handle_read() override { ++woken; }
    long woken = 0;
};

void loop_pass(benchmark::State& state, backend b, int idle) {
    // select's fd_set holds descriptors below FD_SETSIZE only (and stdin/out/err, the socket
    // pair and spare descriptors take a few).
    if (b == backend::select && idle + 16 > FD_SETSIZE) {
        state.SkipWithError(fmt::format("select cannot hold {} idle channels: descriptors must "
                                        "be below FD_SETSIZE ({})",
                                        idle, FD_SETSIZE)
                                .c_str());
        return;
    }
    medusa::socket_map m(b);
    std::vector<std::shared_ptr<idle_channel>> idlers;
    idlers.reserve(idle);
    for (int i = 0; i < idle; ++i) idlers.push_back(medusa::make<idle_channel>(m));
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        state.SkipWithError("socketpair failed");
        return;
    }
    auto active = medusa::make<active_channel>(m, sp[0]);
    m.poll_once(std::chrono::milliseconds(0));  // register every channel's interest

    for (auto _ : state) {
        if (::write(sp[1], "x", 1) != 1) {
            state.SkipWithError("write failed");
            break;
        }
        m.poll_once(std::chrono::seconds(1));
    }

    long woken = 0;
    for (auto& c : idlers) woken += c->woken;
    if (active->reads != static_cast<long>(state.iterations()))
        state.SkipWithError("the active channel missed a byte");
    if (woken != 0) state.SkipWithError("an idle channel was woken");
    state.counters["channels"] = idle + 1;
    state.SetItemsProcessed(state.iterations());
    medusa::close_all(m);
    ::close(sp[1]);
}

}  // namespace

int main(int argc, char** argv) {
    // 10,000 idle channels need 10,000 descriptors: take the hard limit.
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
    for (backend b : {backend::epoll, backend::poll, backend::select})
        for (int idle : {10, 1000, 10000})
            benchmark::RegisterBenchmark(
                fmt::format("loop_pass/{}/idle:{}", medusa::to_string(b), idle).c_str(),
                [b, idle](benchmark::State& s) { loop_pass(s, b, idle); });
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
