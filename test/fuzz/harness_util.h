// What every fuzz harness shares: reading control bytes off the front of an input, cutting a
// stream into pieces, and reporting a broken property.
//
// A harness is a plain function `void NAME(std::string_view input)`. libFuzzer calls it from
// test/fuzz/NAME.fuzz.cpp (built with clang, ASan and UBSan: `make fuzz`), and the GoogleTest
// suite test/fuzz_regressions/ calls the same function with every kept crash and every seed, so
// `make test` re-checks them with g++.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::fuzz {

// A broken property. Under libFuzzer the harness aborts (libFuzzer then saves the input as
// crash-<sha1>); the GoogleTest runner sets throw_on_failure() so one bad input fails one test
// instead of killing the binary.
class property_failure : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

inline bool& throw_on_failure() {
    static bool on = false;
    return on;
}

[[noreturn]] inline void fail(std::string_view target, std::string_view what) {
    std::string message = fmt::format("fuzz {}: {}", target, what);
    if (throw_on_failure()) throw property_failure(message);
    std::fprintf(stderr, "%s\n", message.c_str());
    std::abort();
}

inline void require(bool ok, std::string_view target, std::string_view what) {
    if (!ok) fail(target, what);
}

// Bytes taken off the front of the input, then the rest. Reading past the end gives zeros, so
// every input, the empty one included, is a valid one.
class input_reader {
public:
    explicit input_reader(std::string_view in) : in_(in) {}

    uint8_t byte() {
        if (in_.empty()) return 0;
        uint8_t b = static_cast<uint8_t>(in_.front());
        in_.remove_prefix(1);
        return b;
    }
    uint32_t u32() {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= uint32_t(byte()) << (8 * i);
        return v;
    }
    uint64_t u64() { return uint64_t(u32()) | uint64_t(u32()) << 32; }
    std::string_view bytes(size_t n) {
        std::string_view b = in_.substr(0, n);
        in_.remove_prefix(b.size());
        return b;
    }
    std::string_view rest() {
        std::string_view r = in_;
        in_ = {};
        return r;
    }

private:
    std::string_view in_;
};

// Cuts `s` into pieces of 1..max_piece bytes, chosen by a small PRNG seeded from the input: the
// same input always gives the same cut, and a mutated seed byte gives a different one.
inline std::vector<std::string_view> split(std::string_view s, uint32_t seed, size_t max_piece) {
    uint32_t x = seed * 2654435761u + 0x9e3779b9u;
    if (x == 0) x = 1;
    std::vector<std::string_view> pieces;
    while (!s.empty()) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = 1 + x % max_piece;
        pieces.push_back(s.substr(0, n));
        s.remove_prefix(pieces.back().size());
    }
    return pieces;
}

// Every byte its own piece: the hardest split for a resumable parser.
inline std::vector<std::string_view> bytewise(std::string_view s) {
    std::vector<std::string_view> pieces;
    for (size_t i = 0; i < s.size(); ++i) pieces.push_back(s.substr(i, 1));
    return pieces;
}

// For messages: the bytes with C escapes, cut short.
inline std::string show(std::string_view s, size_t max = 200) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += char(c);
    }
    if (s.size() > max) out += fmt::format("...({} bytes)", s.size());
    return out;
}

}  // namespace medusa::fuzz
