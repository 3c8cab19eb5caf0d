// A byte pattern: the bytes of a transcript's `<` text, where `{*}` globs may stand for runs of bytes.
//
// A glob matches any run of bytes (possibly empty) that holds no CR or LF: a date, a host name, a
// server version. Because a glob never crosses a line end, every CR and LF of the received bytes
// must meet a literal CR or LF of the pattern; matching therefore goes segment by segment (the text
// between two line-end bytes), and inside a segment the globs are ordinary unrestricted wildcards.
// That keeps matching linear in practice even for a 10 kB body.
//
// Received bytes are patterns too (with no globs), so one HTTP splitter serves both sides.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::transcript {

struct pattern {
    std::string bytes;
    // Sorted offsets into `bytes`: a glob at k sits just before bytes[k] (k == bytes.size() is the
    // end). "Date: {*}\r\n" is bytes "Date: \r\n" with globs {6}.
    std::vector<std::size_t> globs;

    pattern() = default;
    explicit pattern(std::string literal) : bytes(std::move(literal)) {}

    bool empty() const { return bytes.empty() && globs.empty(); }
    bool has_globs() const { return !globs.empty(); }
    // True when a glob sits at an offset in [begin, end] (both ends included).
    bool has_glob_in(std::size_t begin, std::size_t end) const;

    // The sub-pattern of bytes [begin, end). It holds the globs at offsets begin..end-1, and the one
    // at `end` only when end is the end of this pattern: a glob sitting on a cut belongs to the
    // piece that starts there (a line split after "\n" keeps "{*}" at the start of the next line).
    pattern slice(std::size_t begin, std::size_t end) const;
    void append(const pattern& other);
    void append_bytes(std::string_view more) { bytes.append(more); }
    void append_glob() { globs.push_back(bytes.size()); }

    bool operator==(const pattern&) const = default;
};

// Whether `data` as a whole matches `p`.
bool matches(const pattern& p, std::string_view data);

// Whether more bytes appended to `data` could still make it match `p`: a reader uses this to stop
// waiting as soon as the received bytes have gone wrong.
bool could_still_match(const pattern& p, std::string_view data);

// The length of the shortest prefix of `data` that `p` matches, if any. A glob at the very end of
// `p` takes the rest of its line instead, so "< Server: {*}" does not match just "Server: ".
std::optional<std::size_t> match_prefix(const pattern& p, std::string_view data);

// Splits a pattern into display lines: after each LF, and every `wrap` bytes within a longer line
// (a binary body then becomes many short lines instead of one huge one).
std::vector<pattern> split_lines(const pattern& p, std::size_t wrap = 100);

}  // namespace medusa::transcript
