// Compares what a server sent in one turn with what the transcript expects.
//
// http: both sides are split into responses (http_framing.h) and compared one by one: the status
// line exactly (globs aside), the header block as an unordered multiset of lines, the blank line,
// then the body: without chunk framing, unless `strict`, which compares the framing too (chunk
// sizes legitimately differ between servers). raw: the bytes as they are, globs aside.
//
// The replayer calls turn_settled() after every read to know when to stop waiting (everything
// arrived, or it has already gone wrong), then compare_turn() once for the verdict and the diff.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "transcript/pattern.h"
#include "transcript/transcript.h"

namespace medusa::transcript {

struct turn_spec {
    pattern expected;                  // the turn's `<` bytes
    protocol_kind proto = protocol_kind::http;
    bool strict = false;
    std::vector<std::string> methods;  // every request sent so far on this connection
    std::size_t first_request = 0;     // the request the turn's first response answers
    bool close_follows = false;        // the transcript says <close> after this turn
};

struct turn_outcome {
    bool ok = false;
    bool incomplete = false;           // fewer bytes or responses than expected have arrived
    std::size_t consumed = 0;          // received bytes that belong to this turn
    std::size_t requests_answered = 0;
    std::size_t responses_expected = 0, responses_received = 0;  // complete ones (http)
    std::string message;               // why it failed, e.g. "response 1: header block differs"
    // Expected vs received in transcript notation, one "< ..." line per line of the wire, headers
    // of the received side put in the expected order; "<close>" where a side ends the connection.
    // Bytes received beyond the turn are shown too. Empty when the two sides render the same.
    std::string diff;
};

// Whether waiting longer cannot change the verdict: all expected bytes are there, the server closed
// (`eof`), or what arrived can no longer match.
bool turn_settled(const turn_spec& spec, std::string_view received, bool eof);

// The verdict on `received` (the bytes since the turn began). `diff_title` names the expected side
// in the diff header, e.g. "expected (get_root, turn 2)".
turn_outcome compare_turn(const turn_spec& spec, std::string_view received, bool eof,
                          std::string_view diff_title = "expected");

}  // namespace medusa::transcript
