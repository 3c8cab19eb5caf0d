// Fuzz harness: the transcript parser and writer (transcript/transcript.h), and the pattern
// matcher and HTTP splitter that replay uses on what it parsed.
//
// Input: the transcript text itself (no control bytes), so a transcript file is a seed as it is.
//
// Properties:
//   - parse() and lint() never crash; parse() throws exactly when lint() reports a fatal problem;
//   - when parse() succeeds, write() of the result parses again to an equal transcript, and
//     writing that gives the same text (the canonical form is a fixed point);
//   - every expectation matches its own bytes (a glob may match nothing), and any prefix of them
//     could still match;
//   - split_responses() over an expectation returns responses in order, inside the input,
//     with complete ones first and `consumed` at the end of the last complete one.
#pragma once

#include "test/fuzz/harness_util.h"
#include "transcript/http_framing.h"
#include "transcript/pattern.h"
#include "transcript/transcript.h"

namespace medusa::fuzz {

namespace transcript_detail {

constexpr std::string_view target = "transcript";

inline void check_split(const transcript::pattern& p, const std::vector<std::string>& methods) {
    transcript::split_result r = transcript::split_responses(p, methods, 0, true);
    require(r.consumed <= p.bytes.size(), target, "split_responses consumed more than its input");
    size_t at = 0;
    bool incomplete_seen = false;
    for (const auto& resp : r.responses) {
        require(!incomplete_seen, target, "a response after an incomplete one");
        require(resp.begin == at && resp.begin <= resp.end && resp.end <= p.bytes.size(), target,
                fmt::format("response bytes [{}, {}) out of order (expected to start at {})", resp.begin, resp.end, at));
        at = resp.end;
        if (resp.complete)
            require(resp.end <= r.consumed, target, "a complete response beyond consumed");
        else
            incomplete_seen = true;
    }
}

}  // namespace transcript_detail

inline void transcript(std::string_view text) {
    using namespace transcript_detail;
    namespace tr = medusa::transcript;

    std::vector<tr::problem> problems = tr::lint(text, "fuzz.transcript");
    bool fatal = false;
    for (const auto& p : problems) fatal = fatal || p.fatal;

    tr::transcript t;
    try {
        t = tr::parse(text, "fuzz.transcript");
    } catch (const tr::parse_error& e) {
        require(fatal, target, fmt::format("parse() threw but lint() found nothing fatal: {}", e.what()));
        return;
    }
    require(!fatal, target, "lint() found a fatal problem but parse() succeeded");

    std::string written = tr::write(t);
    tr::transcript again;
    try {
        again = tr::parse(written, "fuzz.transcript");
    } catch (const tr::parse_error& e) {
        fail(target, fmt::format("write() gave text parse() refuses: {}\n--- written:\n{}", e.what(), written));
    }
    require(again == t, target, fmt::format("parse(write(t)) != t\n--- written:\n{}", written));
    require(tr::write(again) == written, target,
            fmt::format("write() is not a fixed point\n--- first:\n{}--- second:\n{}", written, tr::write(again)));

    std::string sent;
    for (const auto& s : t.steps) {
        if (s.kind == tr::step_kind::send) sent += s.bytes.bytes;
        if (s.kind != tr::step_kind::expect) continue;
        const tr::pattern& p = s.bytes;
        require(tr::matches(p, p.bytes), target, fmt::format("an expectation does not match its own bytes [{}]", show(p.bytes)));
        for (size_t k : {size_t(0), p.bytes.size() / 3, p.bytes.size() / 2, p.bytes.size() - p.bytes.size() / 4})
            require(tr::could_still_match(p, std::string_view(p.bytes).substr(0, k)), target,
                    fmt::format("could_still_match false for a prefix of {} bytes of [{}]", k, show(p.bytes)));
        check_split(p, tr::request_methods(sent));
        check_split(tr::pattern(p.bytes), tr::request_methods(sent));
    }
}

}  // namespace medusa::fuzz
