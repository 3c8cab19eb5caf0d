// Fuzz harness: async_chat's input framing (asyncore/async_chat.h), through the real path: bytes
// written into a socket pair, handle_read() (recv into the buffer, process_input()) on the
// channel's end, collect_incoming_data() and found_terminator() on a recording channel.
//
// Input: [read size][split seed][program length][program...][stream...]
//   read size     ac_in_buffer_size: 1..16, or 4096 when the top bit is set
//   program       up to 8 terminators, used in turn, one after each found_terminator() (the
//                 last one repeats); each is a kind byte then its argument:
//                   kind%4 == 0  a string terminator of 1 + arg%4 bytes taken from the program
//                   kind%4 == 1  a count of 1 + arg%64 bytes
//                   kind%4 == 2  no terminator (everything after is data)
//                   kind%4 == 3  a count taken from the record just found (its size % 16, 0
//                                meaning none): HTTP's header block then Content-Length body
//
// Properties: the records (the bytes collected between two found_terminator() calls), the bytes
// collected after the last one, the unframed tail (a kept prefix of a string terminator) and a
// count terminator's remaining bytes are the same
//   - for an independent model of asynchat's framing run over the whole stream,
//   - for the channel fed the stream in one write with a large read size,
//   - for the channel fed it in random writes with the chosen read size;
// and collect_incoming_data() never gets an empty piece.
#pragma once

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "asyncore/async_chat.h"
#include "test/fuzz/harness_util.h"

namespace medusa::fuzz {

namespace chat_framing_detail {

constexpr std::string_view target = "chat_framing";

struct term_spec {
    enum class kind_t { string, count, none, from_record };
    kind_t kind = kind_t::none;
    std::string text;  // string
    size_t bytes = 0;  // count
};

struct outcome {
    std::vector<std::string> records;
    std::string collected;  // after the last found_terminator()
    std::string tail;       // read but not framed
    size_t count_left = 0;  // a count terminator's remaining bytes

    bool operator==(const outcome&) const = default;
    std::string to_string() const {
        std::string s;
        for (const auto& r : records) s += fmt::format("[{}] ", show(r, 60));
        return s + fmt::format("| collected [{}] tail [{}] count_left {}", show(collected, 60), show(tail), count_left);
    }
};

// Which terminator comes after record number `n` (0: the first one, set before any input).
struct program {
    std::vector<term_spec> terms;

    term_spec at(size_t n, const std::string* last_record) const {
        if (terms.empty()) return {};
        term_spec t = terms[std::min(n, terms.size() - 1)];
        if (t.kind == term_spec::kind_t::from_record) {
            size_t c = last_record ? last_record->size() % 16 : 0;
            t = c == 0 ? term_spec{} : term_spec{term_spec::kind_t::count, "", c};
        }
        return t;
    }
};

// asynchat's framing, written from its documentation and nothing else.
inline outcome model(const program& prog, std::string_view s) {
    outcome o;
    for (;;) {
        term_spec t = prog.at(o.records.size(), o.records.empty() ? nullptr : &o.records.back());
        if (t.kind == term_spec::kind_t::string) {
            size_t at = s.find(t.text);
            if (at == std::string_view::npos) {
                // Keep the longest proper prefix of the terminator that ends the stream.
                size_t keep = 0;
                for (size_t l = std::min(t.text.size() - 1, s.size()); l > 0 && keep == 0; --l)
                    if (s.substr(s.size() - l) == std::string_view(t.text).substr(0, l)) keep = l;
                o.collected = s.substr(0, s.size() - keep);
                o.tail = s.substr(s.size() - keep);
                return o;
            }
            o.records.emplace_back(s.substr(0, at));
            s.remove_prefix(at + t.text.size());
        } else if (t.kind == term_spec::kind_t::count) {
            if (s.size() < t.bytes) {
                o.collected = s;
                o.count_left = t.bytes - s.size();
                return o;
            }
            o.records.emplace_back(s.substr(0, t.bytes));
            s.remove_prefix(t.bytes);
        } else {
            o.collected = s;
            return o;
        }
    }
}

class recorder : public async_chat {
public:
    recorder(int fd, const program& prog) : async_chat(fd), prog_(prog) { apply(prog_.at(0, nullptr)); }

    void collect_incoming_data(std::string_view data) override {
        require(!data.empty(), target, "collect_incoming_data() got an empty piece");
        out.collected.append(data);
    }
    void found_terminator() override {
        out.records.push_back(std::move(out.collected));
        out.collected.clear();
        apply(prog_.at(out.records.size(), &out.records.back()));
    }

    outcome out;

private:
    void apply(const term_spec& t) {
        if (t.kind == term_spec::kind_t::string) set_terminator(std::string_view(t.text));
        else if (t.kind == term_spec::kind_t::count) set_terminator(t.bytes);
        else set_terminator(nullptr);
    }
    const program& prog_;
};

inline outcome run(const program& prog, const std::vector<std::string_view>& pieces, size_t read_size) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) fail(target, "socketpair() failed");
    int peer = sv[1];
    // One write is at most a few KB: a socket pair's buffer takes it whole, so the write never blocks.
    auto ch = std::make_shared<recorder>(sv[0], prog);
    ch->ac_in_buffer_size = read_size;
    for (std::string_view p : pieces) {
        for (size_t done = 0; done < p.size();) {
            ssize_t n = ::write(peer, p.data() + done, p.size() - done);
            if (n <= 0) fail(target, "write() to the socket pair failed");
            done += size_t(n);
        }
        // Read until the kernel has nothing left for the channel.
        for (size_t reads = 0;; ++reads) {
            int queued = 0;
            if (::ioctl(ch->fileno(), FIONREAD, &queued) != 0) fail(target, "ioctl(FIONREAD) failed");
            if (queued == 0) break;
            require(reads <= p.size() + 4, target, "the channel stopped reading with bytes queued");
            ch->handle_read();
        }
    }
    outcome o = std::move(ch->out);
    o.tail = ch->ac_in_buffer();
    if (auto* c = std::get_if<size_t>(&ch->get_terminator())) o.count_left = *c;
    ch->close();
    ::close(peer);
    return o;
}

}  // namespace chat_framing_detail

inline void chat_framing(std::string_view input) {
    using namespace chat_framing_detail;
    input_reader in(input);
    uint8_t rs = in.byte();
    size_t read_size = (rs & 0x80) ? 4096 : 1 + (rs & 0x0f);
    uint8_t seed = in.byte();
    program prog;
    for (size_t n = std::min<size_t>(in.byte() % 9, 8); prog.terms.size() < n;) {
        uint8_t kind = in.byte(), arg = in.byte();
        term_spec t;
        switch (kind % 4) {
            case 0:
                t.kind = term_spec::kind_t::string;
                t.text = std::string(in.bytes(1 + arg % 4));
                if (t.text.empty()) t.text = "\n";
                break;
            case 1: t = {term_spec::kind_t::count, "", size_t(1 + arg % 64)}; break;
            case 2: t.kind = term_spec::kind_t::none; break;
            default: t.kind = term_spec::kind_t::from_record;
        }
        prog.terms.push_back(std::move(t));
    }
    std::string_view stream = in.rest();

    outcome expected = model(prog, stream);
    outcome whole = run(prog, {stream}, 1 << 16);
    require(whole == expected, target,
            fmt::format("one write differs from the model\n model: {}\n chat:  {}", expected.to_string(), whole.to_string()));
    outcome cut = run(prog, split(stream, seed, 1 + seed % 31), read_size);
    require(cut == expected, target,
            fmt::format("split writes (read size {}) differ from the model\n model: {}\n chat:  {}", read_size,
                        expected.to_string(), cut.to_string()));
}

}  // namespace medusa::fuzz
