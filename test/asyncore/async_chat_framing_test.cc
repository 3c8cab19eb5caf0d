// async_chat input: terminator framing through the real path (a socket, the loop, handle_read,
// process_input). Framing must not depend on how the stream is cut into reads: the same bytes
// whole, byte by byte, in every 2- and 3-part split and in random chunks give the same records.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/async_chat.h"
#include "test/asyncore/async_chat_testutil.h"
#include "test/asyncore/helpers.h"

namespace {

using namespace std::chrono_literals;
using chat_test::pump;
using chat_test::recorder;
using events = std::vector<std::string>;

// A protocol: how the channel is set up, what found_terminator() does, and the input.
struct script {
    std::string name;
    std::string stream;
    std::function<void(recorder&)> setup;
    std::function<void(recorder&, const std::string&)> on_record;
    events expected;
};

// Feeds `pieces` one at a time through a socket pair, each piece fully read before the next is
// written (so each is at least one separate read), and returns the channel's events.
events feed(const script& sc, const std::vector<std::string>& pieces, size_t in_size = 4096) {
    medusa::socket_map m;
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->ac_in_buffer_size = in_size;
    if (sc.setup) sc.setup(*ch);
    ch->on_record = sc.on_record;
    size_t written = 0;
    for (const auto& p : pieces) {
        if (p.empty()) continue;
        sp.put(p);
        written += p.size();
        if (!pump(m, [&] { return ch->seen() == written; })) {
            ADD_FAILURE() << sc.name << ": the channel did not read " << written << " bytes";
            break;
        }
    }
    EXPECT_EQ(ch->reentered, 0);
    events r = ch->events();
    ch->close();
    return r;
}

std::string show(const std::vector<std::string>& pieces) {
    std::string s;
    for (const auto& p : pieces) s += "[" + p + "]";
    return s;
}

std::vector<script> scripts() {
    std::vector<script> v;
    auto term = [](std::string t) { return [t](recorder& r) { r.set_terminator(t); }; };
    v.push_back({"1-byte", "ab\ncd\n\nefg\n", term("\n"), nullptr, {"ab", "cd", "", "efg"}});
    v.push_back({"2-byte", "GET /\r\nHost: x\r\n\r\nab\r\r\n", term("\r\n"), nullptr,
                 {"GET /", "Host: x", "", "ab\r"}});
    // "ab" at the end of a read is a prefix of "abc" and must wait for the next read.
    v.push_back({"3-byte", "xxabababcabcababc", term("abc"), nullptr, {"xxabab", "", "ab"}});
    v.push_back({"4-byte", "H1\r\nH2\r\n\r\nB\r\n\r\r\n\r\nx\r\n\r", term("\r\n\r\n"), nullptr,
                 {"H1\r\nH2", "B\r\n\r", "tail:x"}});
    v.push_back({"count", "abcdefghij\r\n", [](recorder& r) { r.set_terminator(size_t{4}); },
                 [](recorder& r, const std::string&) {
                     // asynchat: a count terminator reads 0 once it has fired.
                     EXPECT_EQ(std::get<size_t>(r.get_terminator()), 0u);
                     r.set_terminator(size_t{4});
                 },
                 {"abcd", "efgh", "ij\r\n"}});
    v.push_back({"none", "abc\r\ndef", [](recorder& r) { r.set_terminator(nullptr); }, nullptr,
                 {"tail:abc\r\ndef"}});
    // HTTP's shape: headers up to a blank line, then a body of the length they announce.
    v.push_back({"string-count-string", "L5\r\n\r\nhelloL2\r\n\r\nhiL3\r\n\r\n\r\n\r",
                 term("\r\n\r\n"),
                 [](recorder& r, const std::string& rec) {
                     if (std::holds_alternative<std::string>(r.get_terminator()))
                         r.set_terminator(size_t(std::stoul(rec.substr(1))));
                     else
                         r.set_terminator("\r\n\r\n");
                 },
                 {"L5", "hello", "L2", "hi", "L3", "\r\n\r"}});
    // A channel that frames its own input (no terminator) and unread()s what follows a record.
    v.push_back({"self-framed", "ab;cd;;efg;h",
                 [](recorder& r) {
                     r.set_terminator(nullptr);
                     r.frame_at = ';';
                 },
                 nullptr, {"ab", "cd", "", "efg", "tail:h"}});
    // The unread bytes are framed by the terminator set next (http_channel: a head, then its
    // body by count, then the next head).
    v.push_back({"self-framed-then-count", "3;abc2;xyz",
                 [](recorder& r) {
                     r.set_terminator(nullptr);
                     r.frame_at = ';';
                 },
                 [](recorder& r, const std::string& rec) {
                     if (std::holds_alternative<std::monostate>(r.get_terminator())) {
                         r.set_terminator(size_t(std::stoul(rec)));
                     } else {
                         r.set_terminator(nullptr);
                     }
                 },
                 {"3", "abc", "2", "xy", "tail:z"}});
    v.push_back({"string-none", "a\r\nRAW\r\nrest\r\nof it", term("\r\n"),
                 [](recorder& r, const std::string& rec) {
                     if (rec == "RAW") r.set_terminator(nullptr);
                 },
                 {"a", "RAW", "tail:rest\r\nof it"}});
    return v;
}

TEST(AsyncChatFraming, WholeStream) {
    for (const auto& sc : scripts()) EXPECT_EQ(feed(sc, {sc.stream}), sc.expected) << sc.name;
}

TEST(AsyncChatFraming, ByteByByte) {
    for (const auto& sc : scripts()) {
        std::vector<std::string> pieces;
        for (char c : sc.stream) pieces.emplace_back(1, c);
        EXPECT_EQ(feed(sc, pieces), sc.expected) << sc.name;
    }
}

TEST(AsyncChatFraming, EveryTwoPartSplit) {
    for (const auto& sc : scripts()) {
        const std::string& s = sc.stream;
        for (size_t i = 1; i < s.size(); ++i) {
            std::vector<std::string> pieces{s.substr(0, i), s.substr(i)};
            EXPECT_EQ(feed(sc, pieces), sc.expected) << sc.name << " " << show(pieces);
        }
    }
}

TEST(AsyncChatFraming, EveryThreePartSplit) {
    for (const auto& sc : scripts()) {
        const std::string& s = sc.stream;
        for (size_t i = 1; i < s.size(); ++i)
            for (size_t j = i + 1; j < s.size(); ++j) {
                std::vector<std::string> pieces{s.substr(0, i), s.substr(i, j - i), s.substr(j)};
                EXPECT_EQ(feed(sc, pieces), sc.expected) << sc.name << " " << show(pieces);
            }
    }
}

TEST(AsyncChatFraming, TinyReadSizes) {
    // ac_in_buffer_size smaller than the terminator: one write arrives as many reads.
    for (size_t in_size : {1, 2, 3}) {
        for (const auto& sc : scripts())
            EXPECT_EQ(feed(sc, {sc.stream}, in_size), sc.expected) << sc.name << " " << in_size;
    }
}

// --- random streams ---------------------------------------------------------------------------

uint32_t test_seed() {
    const char* env = std::getenv("MEDUSA_SEED");
    uint32_t seed = env ? uint32_t(std::strtoul(env, nullptr, 10)) : std::random_device{}();
    std::cout << "[ seed     ] MEDUSA_SEED=" << seed << " reproduces this run\n";
    ::testing::Test::RecordProperty("seed", std::to_string(seed));
    return seed;
}

std::string random_bytes(std::mt19937& rng, size_t n, std::string_view alphabet) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
}

// Records separated by a string terminator; each record is chosen so that its first match of
// the terminator in record+terminator is the terminator itself.
script random_string_script(std::mt19937& rng, const std::string& t) {
    script sc{"random " + t, "", [t](recorder& r) { r.set_terminator(t); }, nullptr, {}};
    std::string alphabet = "ab\r\n" + t;
    while (sc.expected.size() < 150) {
        std::string rec = random_bytes(rng, rng() % 12, alphabet);
        if ((rec + t).find(t) != rec.size()) continue;
        sc.expected.push_back(rec);
        sc.stream += rec + t;
    }
    return sc;
}

// Header "L<n>" up to "\r\n\r\n", then n bytes of body (which may hold "\r\n\r\n" itself).
script random_http_script(std::mt19937& rng) {
    script sc{"random http", "", [](recorder& r) { r.set_terminator("\r\n\r\n"); },
              [](recorder& r, const std::string& rec) {
                  if (std::holds_alternative<std::string>(r.get_terminator()))
                      r.set_terminator(size_t(std::stoul(rec.substr(1))));
                  else
                      r.set_terminator("\r\n\r\n");
              },
              {}};
    for (int i = 0; i < 60; ++i) {
        size_t n = 1 + rng() % 30;
        std::string body = random_bytes(rng, n, "x\r\n");
        sc.expected.push_back("L" + std::to_string(n));
        sc.expected.push_back(body);
        sc.stream += "L" + std::to_string(n) + "\r\n\r\n" + body;
    }
    return sc;
}

// Count terminators of varying size, each set from inside found_terminator().
script random_count_script(std::mt19937& rng) {
    std::vector<size_t> sizes;
    script sc{"random count", "", nullptr, nullptr, {}};
    for (int i = 0; i < 100; ++i) {
        size_t n = 1 + rng() % 20;
        sizes.push_back(n);
        std::string rec = random_bytes(rng, n, "ab\r\n");
        sc.expected.push_back(rec);
        sc.stream += rec;
    }
    sc.setup = [sizes](recorder& r) { r.set_terminator(sizes[0]); };
    sc.on_record = [sizes, i = size_t{1}](recorder& r, const std::string&) mutable {
        if (i < sizes.size()) r.set_terminator(sizes[i++]);
    };
    return sc;
}

std::vector<std::string> random_chunks(std::mt19937& rng, const std::string& s) {
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < s.size();) {
        size_t n = std::min(s.size() - pos, size_t(1 + rng() % 40));
        pieces.push_back(s.substr(pos, n));
        pos += n;
    }
    return pieces;
}

TEST(AsyncChatFraming, RandomChunks) {
    const uint32_t seed = test_seed();
    SCOPED_TRACE("MEDUSA_SEED=" + std::to_string(seed));
    std::mt19937 rng(seed);
    const size_t in_sizes[] = {1, 2, 3, 5, 4096};
    for (int round = 0; round < 5; ++round) {
        std::vector<script> all;
        for (std::string t : {"\n", "\r\n", "abc", "\r\n\r\n"})
            all.push_back(random_string_script(rng, t));
        all.push_back(random_http_script(rng));
        all.push_back(random_count_script(rng));
        script none{"random none", random_bytes(rng, 500, "ab\r\n"),
                    [](recorder& r) { r.set_terminator(nullptr); }, nullptr, {}};
        none.expected = {"tail:" + none.stream};
        all.push_back(none);
        for (const auto& sc : all) {
            size_t in_size = in_sizes[rng() % 5];
            EXPECT_EQ(feed(sc, random_chunks(rng, sc.stream), in_size), sc.expected)
                << sc.name << " round " << round << " ac_in_buffer_size " << in_size;
        }
    }
}

// --- the helpers ----------------------------------------------------------------------------------

// unread() gives back at most what collect_incoming_data() was given, and only with no
// terminator: anything else is a logic error, and the stream is not disturbed.
class unreader : public chat_test::recorder {
public:
    using recorder::recorder;
    void collect_incoming_data(std::string_view data) override {
        try {
            unread(extra + data.size());
        } catch (const std::logic_error&) {
            ++refused;
        }
        recorder::collect_incoming_data(data);
    }
    size_t extra = 1;
    int refused = 0;
};

TEST(AsyncChatFraming, UnreadRefusesMoreThanItWasGiven) {
    medusa::socket_map m;
    medusa_test::sock_pair sp;
    auto ch = medusa::make<unreader>(sp.release_a(), m);
    ch->set_terminator(nullptr);
    sp.put("abc");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 3; }));
    EXPECT_EQ(ch->refused, 1);
    // With a string terminator there is nothing to give back at all.
    ch->set_terminator("\n");
    ch->extra = 0;
    sp.put("de\n");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 6; }));
    EXPECT_GE(ch->refused, 2);
    EXPECT_EQ(ch->events(), (events{"abcde"}));
    ch->close();
}

TEST(AsyncChatFraming, FindPrefixAtEnd) {
    EXPECT_EQ(medusa::find_prefix_at_end("qwerty\r", "\r\n"), 1u);
    EXPECT_EQ(medusa::find_prefix_at_end("qwertydkjf", "\r\n"), 0u);
    EXPECT_EQ(medusa::find_prefix_at_end("abc\r\n\r", "\r\n\r\n"), 3u);
    EXPECT_EQ(medusa::find_prefix_at_end("\r\n", "\r\n\r\n"), 2u);
    EXPECT_EQ(medusa::find_prefix_at_end("", "\r\n"), 0u);
    EXPECT_EQ(medusa::find_prefix_at_end("xab", "abab"), 2u);
    EXPECT_EQ(medusa::find_prefix_at_end("aba", "abab"), 3u);  // the longest proper prefix
}

TEST(AsyncChatFraming, FindTerminatorThreeCases) {
    auto found = medusa::find_terminator("GET /\r\n\r\nnext", "\r\n\r\n");
    EXPECT_TRUE(found.found);
    EXPECT_EQ(found.collect, 5u);
    auto prefix = medusa::find_terminator("GET /\r\n\r", "\r\n\r\n");
    EXPECT_FALSE(prefix.found);
    EXPECT_EQ(prefix.collect, 5u);  // "\r\n\r" waits
    auto none = medusa::find_terminator("GET /", "\r\n\r\n");
    EXPECT_FALSE(none.found);
    EXPECT_EQ(none.collect, 5u);
}

// --- behaviour around found_terminator(), on every backend -----------------------------------

class AsyncChatInput : public ::testing::TestWithParam<medusa::backend> {};

TEST_P(AsyncChatInput, CountTerminatorCountsDown) {
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator(size_t{10});
    sp.put("abcd");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 4; }));
    EXPECT_EQ(std::get<size_t>(ch->get_terminator()), 6u);
    EXPECT_TRUE(ch->records.empty());
    sp.put("efghijKL");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 12; }));
    EXPECT_EQ(ch->records, events{"abcdefghij"});
    EXPECT_EQ(std::get<size_t>(ch->get_terminator()), 0u);
    EXPECT_EQ(ch->current, "KL");  // 0 is "no terminator": the rest is data
}

TEST_P(AsyncChatInput, PauseLeavesPipelinedRecordsUntilResume) {
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\n");
    ch->on_record = [](recorder& r, const std::string& rec) {
        if (rec == "pause") r.pause_reading();
    };
    sp.put("a\nb\npause\nc\nd\n");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 14; }));
    for (int i = 0; i < 3; ++i) m.poll_once(std::chrono::milliseconds(5));
    EXPECT_EQ(ch->records, (events{"a", "b", "pause"}));
    EXPECT_EQ(ch->ac_in_buffer(), "c\nd\n");
    EXPECT_TRUE(ch->reading_paused());
    EXPECT_FALSE(ch->readable());

    sp.put("e\n");  // stays in the socket while paused
    for (int i = 0; i < 3; ++i) m.poll_once(std::chrono::milliseconds(5));
    EXPECT_EQ(ch->records.size(), 3u);
    EXPECT_EQ(ch->ac_in_buffer(), "c\nd\n");

    ch->resume_reading();
    EXPECT_EQ(ch->records.size(), 3u) << "resume_reading() framed input inside the caller";
    ASSERT_TRUE(pump(m, [&] { return ch->records.size() == 6; }));
    EXPECT_EQ(ch->records, (events{"a", "b", "pause", "c", "d", "e"}));
    EXPECT_EQ(ch->reentered, 0);
}

TEST_P(AsyncChatInput, PauseEveryRecordResumeFromLoop) {
    // A threaded http_channel's pattern: pause at each request, resume when it is answered.
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->ac_in_buffer_size = 1 << 16;
    ch->set_terminator("\r\n");
    std::weak_ptr<recorder> weak = ch;
    ch->on_record = [&m, weak](recorder& r, const std::string&) {
        r.pause_reading();
        m.call_later(std::chrono::milliseconds(0), [weak] {
            if (auto c = weak.lock()) c->resume_reading();
        });
    };
    std::string stream;
    events expected;
    for (int i = 0; i < 2000; ++i) {
        expected.push_back("request " + std::to_string(i));
        stream += expected.back() + "\r\n";
    }
    std::thread writer([&] { chat_test::write_all(sp.b, stream); });
    bool done = pump(m, [&] { return ch->records.size() == expected.size(); }, 20000ms);
    writer.join();
    ASSERT_TRUE(done) << ch->records.size();
    EXPECT_EQ(ch->records, expected);
    EXPECT_EQ(ch->reentered, 0);
}

TEST_P(AsyncChatInput, DelChannelInFoundTerminatorLeavesTheRest) {
    // The hand-off: found_terminator() takes the channel out of the map; the pipelined rest stays
    // unframed for the new owner.
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\n");
    std::string taken;
    ch->on_record = [&](recorder& r, const std::string& rec) {
        if (rec != "HANDOFF") return;
        r.del_channel();
        taken = r.take_in_buffer();
    };
    sp.put("a\nHANDOFF\nb\nc\n");
    ASSERT_TRUE(pump(m, [&] { return ch->records.size() == 2; }));
    m.poll_once(std::chrono::milliseconds(5));
    EXPECT_EQ(ch->records, (events{"a", "HANDOFF"}));
    EXPECT_EQ(taken, "b\nc\n");
    EXPECT_TRUE(m.empty());
    EXPECT_FALSE(ch->closed());  // the descriptor now belongs to the new owner
    ch->close();
}

TEST_P(AsyncChatInput, CloseInFoundTerminatorStopsFraming) {
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\n");
    ch->on_record = [](recorder& r, const std::string& rec) {
        if (rec == "QUIT") r.close();
    };
    sp.put("a\nQUIT\nb\nc\n");
    ASSERT_TRUE(pump(m, [&] { return ch->closed(); }));
    m.poll_once(std::chrono::milliseconds(5));
    EXPECT_EQ(ch->records, (events{"a", "QUIT"}));
    EXPECT_TRUE(m.empty());
}

TEST_P(AsyncChatInput, TerminatorChangedToCountMidRead) {
    // One read holds the header and the body: the new terminator applies to the same buffer.
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\r\n\r\n");
    ch->on_record = [](recorder& r, const std::string& rec) {
        if (rec == "POST") r.set_terminator(size_t{3});
        else r.set_terminator("\r\n\r\n");
    };
    sp.put("POST\r\n\r\n\r\n\r\r\n\r\n");
    ASSERT_TRUE(pump(m, [&] { return ch->seen() == 15; }));
    EXPECT_EQ(ch->records, (events{"POST", "\r\n\r", ""}));
}

TEST_P(AsyncChatInput, EofMidRecordCollectsThePartAndCloses) {
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\r\n");
    sp.put("one\r\nhalf a rec");
    sp.close_b();
    ASSERT_TRUE(pump(m, [&] { return ch->closes > 0; }));
    EXPECT_EQ(ch->closes, 1);
    EXPECT_EQ(ch->records, events{"one"});
    EXPECT_EQ(ch->current, "half a rec");
    EXPECT_TRUE(ch->closed());
    EXPECT_TRUE(m.empty());
}

TEST_P(AsyncChatInput, DiscardBuffersDropsInputAndOutput) {
    medusa::socket_map m(GetParam());
    medusa_test::sock_pair sp;
    auto ch = medusa::make<recorder>(sp.release_a(), m);
    ch->set_terminator("\n");
    ch->on_record = [](recorder& r, const std::string&) { r.pause_reading(); };
    sp.put("a\nb\nc\n");
    ASSERT_TRUE(pump(m, [&] { return ch->records.size() == 1 && ch->seen() == 6; }));
    EXPECT_EQ(ch->ac_in_buffer(), "b\nc\n");
    ch->discard_buffers();
    EXPECT_EQ(ch->ac_in_buffer(), "");
    EXPECT_TRUE(ch->output_empty());
    EXPECT_EQ(ch->pending_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncChatInput, medusa_test::all_backends,
                         medusa_test::backend_name);

}  // namespace
