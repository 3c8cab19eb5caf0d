// http_date: the cost of the dates on every reply (Date, Last-Modified) and every conditional
// request (If-Modified-Since).
#include "http/http_date.h"

#include <benchmark/benchmark.h>

namespace {

using namespace medusa::http;

void BM_build_http_date(benchmark::State& state) {
    time_t t = 1000000000;
    for (auto _ : state) {
        benchmark::DoNotOptimize(build_http_date(t));
        t += 61;
    }
}
BENCHMARK(BM_build_http_date);

void BM_format_http_date(benchmark::State& state) {
    char buf[http_date_size];
    time_t t = 1000000000;
    for (auto _ : state) {
        benchmark::DoNotOptimize(format_http_date(t, buf));
        benchmark::ClobberMemory();
        t += 61;
    }
}
BENCHMARK(BM_format_http_date);

void parse(benchmark::State& state, const char* text) {
    for (auto _ : state) benchmark::DoNotOptimize(parse_http_date(text, 1748736000));
}
BENCHMARK_CAPTURE(parse, rfc1123, "Sun, 06 Nov 1994 08:49:37 GMT");
BENCHMARK_CAPTURE(parse, rfc850, "Sunday, 06-Nov-94 08:49:37 GMT");
BENCHMARK_CAPTURE(parse, asctime, "Sun Nov  6 08:49:37 1994");
BENCHMARK_CAPTURE(parse, malformed, "Sun, 06 Nov 1994 08:49:37 UTC");

void BM_parse_http_date_clock(benchmark::State& state) {  // without `now`, as the server calls it
    for (auto _ : state) benchmark::DoNotOptimize(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"));
}
BENCHMARK(BM_parse_http_date_clock);

void BM_http_date_now(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(http_date_now());
}
BENCHMARK(BM_http_date_now);

}  // namespace

BENCHMARK_MAIN();
