// The fuzz harnesses, one function per target, and the table that names them.
//
//   target          what it feeds                                  file
//   request_parser  http::request_parser, crack_request, split_uri  harness_request_parser.h
//   chat_framing    async_chat terminator framing over a socket     harness_chat_framing.h
//   chunked         http::chunked_decoder                           harness_chunked.h
//   cgi_scanner     cgi::header_scanner                             harness_cgi_scanner.h
//   http_date       parse_http_date / build_http_date               harness_http_date.h
//   transcript      transcript::parse / write / lint, patterns      harness_transcript.h
//
// Each harness checks a property beyond "does not crash" (mostly: the same bytes split
// differently give the same result) and reports a broken one through fail() (harness_util.h).
// The libFuzzer entry points are test/fuzz/TARGET.fuzz.cpp (`make fuzz`); seeds come from the
// transcripts (test/fuzz/make_seeds.cpp) and test/fuzz/corpus/TARGET/; kept crashes live in
// test/fuzz/regressions/TARGET/ and are re-run by both `make fuzz` and `make test`
// (test/fuzz_regressions/).
#pragma once

#include <string_view>

#include "test/fuzz/harness_cgi_scanner.h"
#include "test/fuzz/harness_chat_framing.h"
#include "test/fuzz/harness_chunked.h"
#include "test/fuzz/harness_http_date.h"
#include "test/fuzz/harness_request_parser.h"
#include "test/fuzz/harness_transcript.h"

namespace medusa::fuzz {

struct target_entry {
    std::string_view name;  // the folder name under corpus/ and regressions/
    void (*run)(std::string_view input);
};

inline constexpr target_entry targets[] = {
    {"request_parser", request_parser}, {"chat_framing", chat_framing}, {"chunked", chunked},
    {"cgi_scanner", cgi_scanner},       {"http_date", http_date},       {"transcript", transcript},
};

}  // namespace medusa::fuzz
