#include "http/chunked.h"

#include <fmt/format.h>

#include <algorithm>

namespace medusa::http {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void chunked_decoder::reset() {
    state_ = state::size;
    line_.clear();
    remaining_ = 0;
    body_bytes_ = 0;
    error_.clear();
}

void chunked_decoder::fail(std::string why) {
    state_ = state::error;
    error_ = std::move(why);
}

size_t chunked_decoder::feed(std::string_view in, const sink& on_data) {
    size_t used = 0;
    while (used < in.size() && state_ != state::done && state_ != state::error) {
        std::string_view rest = in.substr(used);
        if (state_ == state::data) {
            size_t n = size_t(std::min<uint64_t>(remaining_, rest.size()));
            on_data(rest.substr(0, n));
            remaining_ -= n;
            body_bytes_ += n;
            used += n;
            if (remaining_ == 0) state_ = state::data_end;
            continue;
        }
        // The other states read a line: a size line, the CRLF after data, a trailer line.
        size_t nl = rest.find('\n');
        std::string_view piece = rest.substr(0, nl);
        if (line_.size() + piece.size() > max_line_ + 1) {
            fail(fmt::format("chunk line longer than {} bytes", max_line_));
            return used + piece.size();
        }
        if (nl == std::string_view::npos) {
            line_.append(piece);
            return in.size();
        }
        used += nl + 1;
        std::string_view line = piece;
        if (!line_.empty()) {
            line_.append(piece);
            line = line_;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool ok = line_complete(line);
        line_.clear();
        if (!ok) return used;
    }
    return used;
}

bool chunked_decoder::line_complete(std::string_view line) {
    switch (state_) {
        case state::size: {
            // chunk-size [ ; chunk-ext ]; whitespace before the ';' is tolerated (RFC 9112 BWS).
            uint64_t size = 0;
            size_t i = 0;
            for (; i < line.size(); ++i) {
                int d = hex_digit(line[i]);
                if (d < 0) break;
                if (size > (uint64_t(1) << 56)) {
                    fail("chunk size too large");
                    return false;
                }
                size = size * 16 + uint64_t(d);
            }
            if (i == 0) {
                fail(fmt::format("bad chunk size line '{}'", line.substr(0, 40)));
                return false;
            }
            std::string_view ext = line.substr(i);
            while (!ext.empty() && (ext.front() == ' ' || ext.front() == '\t')) ext.remove_prefix(1);
            if (!ext.empty() && ext.front() != ';') {
                fail(fmt::format("bad chunk size line '{}'", line.substr(0, 40)));
                return false;
            }
            if (size == 0) {
                state_ = state::trailer;
            } else {
                remaining_ = size;
                state_ = state::data;
            }
            return true;
        }
        case state::data_end:
            if (!line.empty()) {
                fail("chunk data not followed by a line end");
                return false;
            }
            state_ = state::size;
            return true;
        case state::trailer:
            // Trailer fields are read and dropped; a blank line ends the body.
            if (line.empty()) state_ = state::done;
            return true;
        default:
            return true;
    }
}

}  // namespace medusa::http
