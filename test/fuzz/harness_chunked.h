// Fuzz harness: the chunked-body decoder (http/chunked.h).
//
// Input: [max_line][split seed][body bytes...]. max_line is small (1..64) unless its top bit is
// set (then the default 4096), so "chunk line too long" is reachable.
//
// Properties:
//   - the same bytes whole, cut at random points and cut into single bytes give the same data
//     bytes, the same end (done at the same offset, failed with the same message, or waiting for
//     the same number of data bytes);
//   - on_data never gets an empty piece; body_bytes() counts what on_data got;
//   - a decoded body, encoded again in chunks of any size, decodes to itself.
#pragma once

#include "http/chunked.h"
#include "test/fuzz/harness_util.h"

namespace medusa::fuzz {

namespace chunked_detail {

constexpr std::string_view target = "chunked";

struct outcome {
    std::string body;
    std::string end;  // how it stopped, with the offset for done
    bool done = false;
};

inline outcome run(size_t max_line, const std::vector<std::string_view>& pieces) {
    http::chunked_decoder d(max_line);
    outcome o;
    size_t offset = 0;
    auto sink = [&](std::string_view data) {
        require(!data.empty(), target, "on_data got an empty piece");
        o.body.append(data);
    };
    for (std::string_view piece : pieces) {
        size_t used = d.feed(piece, sink);
        require(used <= piece.size(), target, "feed() used more than it was given");
        require(d.body_bytes() == o.body.size(), target, "body_bytes() differs from the data handed out");
        if (d.failed()) {
            require(!d.error().empty(), target, "failed without a message");
            o.end = fmt::format("failed: {}", d.error());
            return o;
        }
        offset += used;
        if (d.done()) {
            o.end = fmt::format("done@{}", offset);
            o.done = true;
            return o;
        }
        require(used == piece.size(), target, "feed() stopped early without finishing");
    }
    o.end = fmt::format("waiting remaining={}", d.data_remaining());
    return o;
}

inline std::string encode(std::string_view body, uint32_t seed) {
    std::string out;
    for (std::string_view chunk : split(body, seed, 37)) out += fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
    return out + "0\r\n\r\n";
}

}  // namespace chunked_detail

inline void chunked(std::string_view input) {
    using namespace chunked_detail;
    input_reader in(input);
    uint8_t sel = in.byte();
    uint8_t seed = in.byte();
    std::string_view data = in.rest();
    size_t max_line = (sel & 0x80) ? 4096 : 1 + (sel & 0x3f);

    outcome whole = run(max_line, {data});
    auto same = [&](const outcome& o, std::string_view how) {
        require(o.body == whole.body && o.end == whole.end, target,
                fmt::format("{} decode differs: whole [{}] {} / {} [{}] {}", how, show(whole.body), whole.end, how,
                            show(o.body), o.end));
    };
    same(run(max_line, split(data, seed, 1 + seed % 19)), "split");
    if (data.size() <= 4096) same(run(max_line, bytewise(data)), "bytewise");

    if (whole.done) {
        std::string again = encode(whole.body, seed);
        outcome re = run(4096, {again});
        require(re.done && re.body == whole.body, target,
                fmt::format("re-encoded body does not decode to itself: {}", re.end));
    }
}

}  // namespace medusa::fuzz
