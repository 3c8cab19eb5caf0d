// chunked_decoder: the chunked transfer coding of a request body, undone (RFC 9112 section 7.1).
//
// medusa never read request bodies sent with Transfer-Encoding: chunked, which HTTP/1.1 clients
// may use for any body; the port frames them so that a body never becomes the next request.
//
//   1a;ext=1\r\n  <26 bytes>\r\n   0\r\n   Trailer: x\r\n   \r\n
//
// Resumable: feed() takes pieces of any size and hands out the data bytes as they arrive; fed
// the same bytes split anywhere it gives the same body. It stops right after the final blank line
// and leaves the rest (the next pipelined request) to the caller. Bare LF line ends are accepted
// as in the header block. A malformed size line, a missing line end after a chunk's data, or a
// size/trailer line longer than max_line is an error (the channel answers 400 and closes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace medusa::http {

class chunked_decoder {
public:
    using sink = std::function<void(std::string_view data)>;

    explicit chunked_decoder(size_t max_line = 4096) : max_line_(max_line) {}

    // Consume bytes up to the end of the body (or an error); data bytes go to `on_data` (never
    // called with an empty piece). Returns how many bytes of `in` were used.
    size_t feed(std::string_view in, const sink& on_data);

    bool done() const { return state_ == state::done; }
    bool failed() const { return state_ == state::error; }
    const std::string& error() const { return error_; }
    // Data bytes of the current chunk not yet received: nonzero only inside a chunk's data.
    // An async_chat can then ask for exactly that many bytes (a count terminator) and use a
    // line terminator otherwise, so it never reads past the body.
    uint64_t data_remaining() const { return state_ == state::data ? remaining_ : 0; }
    // Body bytes decoded so far (the channel compares it with its maximum body size).
    uint64_t body_bytes() const { return body_bytes_; }
    void reset();

private:
    enum class state { size, data, data_end, trailer, done, error };
    bool line_complete(std::string_view line);
    void fail(std::string why);

    size_t max_line_;
    state state_ = state::size;
    std::string line_;
    uint64_t remaining_ = 0;
    uint64_t body_bytes_ = 0;
    std::string error_;
};

}  // namespace medusa::http
