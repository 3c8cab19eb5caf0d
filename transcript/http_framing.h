// Splits a stream of HTTP/1.x responses into messages, so that two streams can be compared response
// by response instead of byte by byte: the header block as an unordered set of lines, the body
// without its chunk framing.
//
// A response's body is framed as HTTP/1.1 says (RFC 9112 section 6.3): none for a reply to HEAD and
// for 1xx, 204 and 304; else chunked when Transfer-Encoding ends in "chunked"; else Content-Length;
// else everything up to end-of-file. The stream is a pattern so that one splitter serves both the
// expected text (with globs) and the received bytes (without): where a glob hides a length, e.g.
// "Content-Length: {*}", the expected body runs to the next line that starts with "HTTP/".
//
// Which replies answer a HEAD is known only from the requests, so the replayer reads the methods
// out of the bytes it sent (request_methods) and passes them in.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transcript/pattern.h"

namespace medusa::transcript {

enum class body_framing { none, length, chunked, until_eof };

struct http_response {
    pattern status_line;                // "HTTP/1.1 200 OK\r\n", line end included
    std::vector<pattern> header_lines;  // in arrival order, each with its line end
    pattern blank_line;                 // "\r\n" (or "\n"); empty while the head is incomplete
    pattern body;                       // the body as sent, chunk framing included
    pattern payload;                    // the body without chunk framing; == body unless chunked
    body_framing framing = body_framing::none;
    bool complete = false;              // all of it has arrived
    int status = -1;                    // the status code, -1 when unknown
    std::size_t begin = 0, end = 0;     // its bytes in the input: [begin, end)

    // The value of a header (first one; name compared case-insensitively, value trimmed), or
    // nullopt when absent or hidden by a glob.
    std::optional<std::string> header(std::string_view name) const;
};

struct split_result {
    std::vector<http_response> responses;  // complete ones, then at most one incomplete
    std::size_t consumed = 0;              // bytes taken by the complete responses
    std::size_t requests_answered = 0;     // complete final (non-1xx) responses
    std::string problem;                   // why the input does not frame, e.g. a short body
};

// Splits `in` into at most `max` responses. `methods` holds the method of every request sent on the
// connection; response i (not counting 1xx) answers methods[first_request + i]. `at_end` says no
// more bytes will come (end-of-file, or the whole of an expected text).
split_result split_responses(const pattern& in, const std::vector<std::string>& methods,
                             std::size_t first_request, bool at_end, std::size_t max = SIZE_MAX);

// The methods of the requests in `sent`, in order: request line, header block, then a body framed
// by Content-Length or chunked encoding is skipped. "HELLO\r\n\r\n" counts as a request too.
std::vector<std::string> request_methods(std::string_view sent);

}  // namespace medusa::transcript
