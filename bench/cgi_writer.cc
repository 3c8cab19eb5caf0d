// The CGI writer (header_scanner + build_reply) on 64 KiB of script output, written in 1-byte,
// 100-byte and one-piece writes: how many bytes of script output per second it turns into a
// reply. The reply goes into a string, as a channel's push() would copy it.
//
//   build/bin/bench_cgi_writer
//
// BM_cgi_writer/N        HTTP/1.0: head, then the body passed through as it comes
// BM_cgi_writer_chunked/N HTTP/1.1 keep-alive: head, then every write as one chunk
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "cgi/cgi_reply.h"
#include "cgi/header_scanner.h"

namespace {

using namespace medusa::cgi;

constexpr size_t kOutputSize = 64 * 1024;

// A typical script: two header lines, a blank line, then text lines, 64 KiB in all.
std::string script_output() {
    std::string out = "Content-Type: text/plain\r\nX-Script: bench\r\n\r\n";
    for (int i = 0; out.size() < kOutputSize; ++i) out += fmt::format("line {:05d} {}\n", i, std::string(50, 'x'));
    out.resize(kOutputSize);
    return out;
}

void run_writer(benchmark::State& state, std::string_view version, bool keep_alive) {
    const std::string output = script_output();
    const size_t piece = static_cast<size_t>(state.range(0));
    const request_info request{version, false, keep_alive, "medusa/0.5.4", "Sun, 09 Sep 2001 01:46:40 GMT"};
    std::string wire;
    wire.reserve(8 * kOutputSize);
    for (auto _ : state) {
        wire.clear();
        reply r;
        header_scanner scan(
            [&](const scan_result& res) {
                r = build_reply(res, request);
                wire += r.head;
            },
            [&](std::string_view body) {
                if (r.chunked)
                    append_chunk(wire, body);
                else
                    wire.append(body);
            });
        for (size_t at = 0; at < output.size(); at += piece)
            scan.feed(std::string_view(output).substr(at, piece));
        scan.finish();
        if (r.chunked) wire += last_chunk;
        benchmark::DoNotOptimize(wire.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(output.size()));
}

void BM_cgi_writer(benchmark::State& state) { run_writer(state, "1.0", false); }
void BM_cgi_writer_chunked(benchmark::State& state) { run_writer(state, "1.1", true); }

BENCHMARK(BM_cgi_writer)->Arg(1)->Arg(100)->Arg(kOutputSize);
BENCHMARK(BM_cgi_writer_chunked)->Arg(1)->Arg(100)->Arg(kOutputSize);

}  // namespace

BENCHMARK_MAIN();
