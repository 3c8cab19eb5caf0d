// Replays one transcript against a running server and gives the verdict.
//
// The steps run in order on one connection. Sends and pauses run as written; each `<` block is a
// turn's expectation: the replayer reads until the expected bytes have arrived (split into
// responses for http), until they can no longer match, or until `timeout`, then compares
// (matcher.h). After the expectation:
//   - `<close>`: nothing more may arrive and end-of-file must come within `close_wait`;
//   - another send: nothing more may have arrived, and the server must not have closed;
//   - the end of the transcript without `<close>`: for `grace` the connection must stay open and
//     silent (a server that closes where it should keep the connection alive fails).
// A failure names the turn (turns are counted from 1; a turn is the sends and the expectation that
// answers them) and carries a unified diff in transcript notation.
#pragma once

#include <chrono>
#include <string>

#include "transcript/transcript.h"

namespace medusa::transcript {

struct replay_options {
    std::string host = "127.0.0.1";
    std::string port;
    bool strict = false;                               // compare chunk framing too
    std::chrono::milliseconds timeout{5000};           // per expectation, and for connecting
    std::chrono::milliseconds close_wait{1000};        // for end-of-file after the last expected byte
    std::chrono::milliseconds grace{200};              // silence required at the end without <close>
};

enum class verdict { pass, fail, skip };

struct case_result {
    std::string name;
    std::string fixture;
    verdict outcome = verdict::pass;
    int turn = 0;            // the failing turn (0 when the case could not start)
    std::string message;     // one line: why it failed, or the skip reason
    std::string diff;        // unified diff for a failure, possibly empty
    std::chrono::milliseconds elapsed{0};

    // "PASS name", "SKIP name (fixed: reason)", or "FAIL name: turn 2: message" followed by the diff,
    // each diff line indented by four spaces. Ends with a newline.
    std::string report() const;
};

case_result replay(const transcript& t, const replay_options& options);

}  // namespace medusa::transcript
