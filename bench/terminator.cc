// Terminator search throughput: async_chat's scan against memmem, the ceiling.
//
// find_terminator() is the function process_input() runs on each read; framing a 64 KiB read
// that ends in "\r\n\r\n" is one call of it. memmem over the same buffer is as fast as a search
// can be, so the ratio scan/memmem says what the framing adds (target: >= 0.8). The last
// benchmark runs the whole read path (recv from a socket pair, handle_read, process_input) for
// scale; its figure includes the system calls.
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "asyncore/async_chat.h"
#include "asyncore/socket_map.h"

namespace {

constexpr size_t buffer_size = 64 * 1024;
const std::string terminator = "\r\n\r\n";

// 0: one long run of bytes (a body); 1: header lines, a "\r\n" every 28 bytes (a large header
// block, where a search that stops at every '\r' slows down). Both end in the terminator.
std::string make_buffer(int kind) {
    std::string s;
    if (kind == 0) {
        s.assign(buffer_size - terminator.size(), 'x');
    } else {
        while (s.size() < buffer_size - terminator.size()) s += "X-Header-Name: some value\r\n";
        s.resize(buffer_size - terminator.size());
        s.back() = 'x';  // no early "\r\n\r\n" from the cut
    }
    return s + terminator;
}

void BM_find_terminator(benchmark::State& state) {
    const std::string buf = make_buffer(int(state.range(0)));
    for (auto _ : state) {
        medusa::terminator_scan r = medusa::find_terminator(buf, terminator);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_find_terminator)->Arg(0)->Arg(1);

void BM_memmem(benchmark::State& state) {
    const std::string buf = make_buffer(int(state.range(0)));
    for (auto _ : state) {
        const void* p = ::memmem(buf.data(), buf.size(), terminator.data(), terminator.size());
        benchmark::DoNotOptimize(p);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_memmem)->Arg(0)->Arg(1);

// A channel that frames and drops: the cost is the read path itself.
class sink : public medusa::async_chat {
public:
    sink(int fd, medusa::socket_map& m) : async_chat(fd, m) { set_terminator("\r\n\r\n"); }
    void collect_incoming_data(std::string_view d) override { collected += d.size(); }
    void found_terminator() override { ++found; }
    size_t collected = 0;
    size_t found = 0;
};

void BM_channel_read(benchmark::State& state) {
    const std::string buf = make_buffer(int(state.range(0)));
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
        state.SkipWithError("socketpair failed");
        return;
    }
    int size = 1 << 20;
    ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    medusa::socket_map m;
    auto ch = medusa::make<sink>(fds[0], m);
    ch->ac_in_buffer_size = buffer_size;
    for (auto _ : state) {
        if (::write(fds[1], buf.data(), buf.size()) != ssize_t(buf.size())) {
            state.SkipWithError("short write");
            break;
        }
        size_t before = ch->found;
        while (ch->found == before) ch->handle_read();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
    ch->close();
    ::close(fds[1]);
}
BENCHMARK(BM_channel_read)->Arg(0)->Arg(1);

// The console report, plus the CPU time of each run kept for the ratio line (CPU time: other
// processes on a shared machine stretch wall time, not the work done).
class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& r : runs)
            if (!r.error_occurred) time[r.benchmark_name()] = r.GetAdjustedCPUTime();
    }
    std::map<std::string, double> time;
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    // Same bytes per iteration: throughput ratio = memmem time / scan time. With
    // --benchmark_repetitions the medians are used.
    auto time_of = [&](const std::string& name) -> double {
        for (const auto& n : {name + "_median", name}) {
            auto it = reporter.time.find(n);
            if (it != reporter.time.end()) return it->second;
        }
        return 0;
    };
    for (const char* arg : {"0", "1"}) {
        double scan = time_of(std::string("BM_find_terminator/") + arg);
        double ceiling = time_of(std::string("BM_memmem/") + arg);
        double channel = time_of(std::string("BM_channel_read/") + arg);
        if (scan == 0 || ceiling == 0) continue;
        fmt::print("buffer {}: find_terminator/memmem throughput ratio {:.2f} (target >= 0.8)",
                   arg[0] == '0' ? "body   " : "headers", ceiling / scan);
        if (channel != 0)
            fmt::print("; whole read path (recv + framing) {:.2f} of memmem", ceiling / channel);
        fmt::print("\n");
    }
    return 0;
}
