// Parsing, linting and writing transcripts, on hand-made text and on the recorded corpus.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "transcript/suite.h"
#include "transcript/transcript.h"

namespace medusa::transcript {
namespace {

namespace fs = std::filesystem;

// The shared reference folder: $MEDUSA_SHARED, else ../shared beside the repository (the tests run
// from the repository root).
std::string shared_dir() {
    if (const char* env = std::getenv("MEDUSA_SHARED"); env && *env) return env;
    return "../shared";
}

std::vector<std::string> corpus() {
    fs::path dir = fs::path(shared_dir()) / "transcripts" / "medusa";
    if (!fs::is_directory(dir)) return {};
    return collect_files({dir.string()});
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

constexpr std::string_view sample = R"(# a comment
@ title: two requests
@ fixture: docroot
@ protocol: http
@ source: medusa-0.5.4

> GET / HTTP/1.0\r\n
> \r\n
< HTTP/1.0 200 OK\r\n
< Date: {*}\r\n
< \r\n
< body\n

> G
~ 5
> ET
~ 0
> \x20/ HTTP/1.0\r\n\r\n
< HTTP/1.0 404 Not Found\r\n
< \r\n
<close>
)";

TEST(Parser, BuildsMetadataAndSteps) {
    transcript t = parse(sample, "dir/two.transcript");
    EXPECT_EQ(t.name, "two");
    EXPECT_EQ(t.title(), "two requests");
    EXPECT_EQ(t.fixture(), "docroot");
    EXPECT_EQ(t.source(), "medusa-0.5.4");
    EXPECT_EQ(t.protocol(), protocol_kind::http);
    ASSERT_EQ(t.comments, std::vector<std::string>{" a comment"});
    ASSERT_EQ(t.steps.size(), 9u);
    EXPECT_EQ(t.steps[0], step::send("GET / HTTP/1.0\r\n\r\n"));  // two `>` lines, one write
    EXPECT_EQ(t.steps[0].line, 7);
    EXPECT_EQ(t.steps[1].kind, step_kind::expect);
    EXPECT_EQ(t.steps[1].bytes.bytes, "HTTP/1.0 200 OK\r\nDate: \r\n\r\nbody\n");
    EXPECT_EQ(t.steps[1].bytes.globs, std::vector<std::size_t>{23});
    EXPECT_EQ(t.steps[2], step::send("G"));
    EXPECT_EQ(t.steps[3], step::pause(5));
    EXPECT_EQ(t.steps[4], step::send("ET"));
    EXPECT_EQ(t.steps[5], step::pause(0));  // `~ 0`: two writes, no pause
    EXPECT_EQ(t.steps[6], step::send(" / HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(t.steps[8], step::close());
}

TEST(Parser, DefaultsWhenMetadataIsAbsent) {
    transcript t = parse("> x\n< y\n", "x.transcript");
    EXPECT_EQ(t.fixture(), "docroot");
    EXPECT_EQ(t.protocol(), protocol_kind::http);
    EXPECT_EQ(parse("@ protocol: raw\n> x\n", "r").protocol(), protocol_kind::raw);
}

TEST(Parser, ErrorsNameTheFileAndLine) {
    try {
        parse("@ title: t\n\n> GET / HTTP/1.0\\r\\n\n> \\q\n", "x.transcript");
        FAIL() << "no error";
    } catch (const parse_error& e) {
        EXPECT_STREQ(e.what(), "x.transcript:4: bad escape \\q");
        EXPECT_EQ(e.where().line, 4);
    }
    EXPECT_THROW(parse("> a\n? what\n", "x"), parse_error);
    EXPECT_THROW(parse("> a\n~ soon\n", "x"), parse_error);
    EXPECT_THROW(parse("> a\n<close>\n> b\n", "x"), parse_error);
    EXPECT_THROW(parse("@ protocol: smtp\n", "x"), parse_error);
    EXPECT_THROW(parse(">GET\n", "x"), parse_error);
}

TEST(Parser, ReplayableOddities) {
    // Not errors for replay, but lint reports them.
    transcript t = parse("@ colour: blue\n> a\n@ title: late\n< b\n", "x");
    EXPECT_EQ(t.get("colour"), "blue");
    EXPECT_EQ(t.title(), "late");
}

TEST(Lint, ReportsEachProblemWithItsLine) {
    std::string text =
        "@ title: t\n"              // 1
        "@ colour: blue\n"          // 2 unknown key
        "< HTTP/1.0 200 OK\\r\\n\n"  // 3 `<` before any `>`
        "< \\r\\n\n"                // 4
        "> GET / HTTP/1.0\\r\\n\n"  // 5
        "@ source: late\n"          // 6 metadata after the first step
        "> \\z\n"                   // 7 bad escape
        "! what\n"                  // 8 unknown prefix
        "> x \n";                   // 9 trailing space
    auto problems = lint(text, "bad.transcript");
    std::vector<std::string> shown;
    for (const auto& p : problems) shown.push_back(p.to_string());
    std::vector<std::string> want = {
        "bad.transcript:2: unknown metadata key 'colour'",
        "bad.transcript:3: `<` before any `>`: an HTTP server never speaks first",
        "bad.transcript:6: metadata 'source' after the first step (put `@` lines before the first `>`)",
        "bad.transcript:7: bad escape \\z",
        "bad.transcript:8: unknown line prefix '!'",
        "bad.transcript:9: space at the end of the text (write \\x20)",
    };
    EXPECT_EQ(shown, want);
}

TEST(Lint, FramingThatDoesNotAddUp) {
    std::string text =
        "> GET / HTTP/1.1\\r\\n\\r\\n\n"
        "< HTTP/1.1 200 OK\\r\\n\n"
        "< Content-Length: 10\\r\\n\n"
        "< \\r\\n\n"
        "< short\n";
    auto problems = lint(text, "f.transcript");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].to_string(), "f.transcript:2: response 1: Content-Length is 10 but 5 body bytes follow");
    EXPECT_FALSE(problems[0].fatal);
}

TEST(Lint, CrlfFileIsReportedOnceAndStillReads) {
    std::string text = "> a\r\n\r\n> b\r\n< c\r\n";
    auto problems = lint(text, "crlf.transcript");
    ASSERT_EQ(problems.size(), 2u);  // the CR, and "< c" is no HTTP response
    EXPECT_EQ(problems[0].to_string(),
              "crlf.transcript:1: line ends with CR (the file has CRLF line ends; write CR as \\r)");
    EXPECT_EQ(parse(text, "crlf").steps[0], step::send("ab"));
}

TEST(Parser, AMetadataValueLosesTheCarriageReturnsAroundIt) {
    // "@ title: x\r\r " once kept "x\r\r": written back, the line ended in CR, which the next
    // parse stripped, so parse(write(t)) != t.
    transcript t = parse("@ title: \r x\x04\r\r \n> a\n", "cr.transcript");
    EXPECT_EQ(t.get("title"), std::optional<std::string>("x\x04"));
    EXPECT_EQ(parse(write(t), "cr.transcript"), t);
}

TEST(Lint, RawProtocolMayExpectFirst) {
    EXPECT_TRUE(lint("@ protocol: raw\n< 220 ready\\r\\n\n> QUIT\\r\\n\n", "ftp.transcript").empty());
}

TEST(Writer, RoundTripsAHandMadeTranscript) {
    transcript t;
    t.comments = {" recorded by hand"};
    t.set("title", "binary, globs, pauses");
    t.set("fixture", "status");
    t.set("protocol", "raw");
    std::string binary;
    for (int i = 0; i < 300; ++i) binary += static_cast<char>(i * 7);
    t.add(step::send("GET /a%20b HTTP/1.1\r\nHost: x\r\n\r\n"));
    t.add(step::pause(0));
    t.add(step::send(" leading and trailing "));
    pattern reply("HTTP/1.1 200 OK\r\nDate: \r\n\r\n{*}" + binary);
    reply.globs = {23};
    t.add(step::expect(reply));
    t.add(step::pause(25));
    t.add(step::send(""));
    t.add(step::expect(pattern("\n")));
    t.add(step::close());
    std::string text = write(t);
    transcript back = parse(text, "w.transcript");
    EXPECT_EQ(back, t) << text;
    EXPECT_EQ(write(back), text);
    EXPECT_TRUE(lint(text, "w.transcript").empty());
}

TEST(Writer, AdjacentSendsJoinAsTheFormatSays) {
    transcript t;
    t.add(step::send("a"));
    t.add(step::send("b"));
    ASSERT_EQ(t.steps.size(), 1u);
    EXPECT_EQ(t.steps[0], step::send("ab"));
}

TEST(Corpus, EveryRecordedTranscriptParsesLintsAndRoundTrips) {
    auto files = corpus();
    if (files.empty()) GTEST_SKIP() << "no transcripts under " << shared_dir() << " (set MEDUSA_SHARED)";
    EXPECT_GE(files.size(), 15u);
    for (const auto& f : files) {
        SCOPED_TRACE(f);
        std::string text = slurp(f);
        transcript t = parse(text, f);
        EXPECT_FALSE(t.title().empty());
        EXPECT_EQ(t.source(), "medusa-0.5.4");
        EXPECT_TRUE(std::any_of(t.steps.begin(), t.steps.end(), [](const step& s) { return s.kind == step_kind::send; }));
        EXPECT_TRUE(lint(text, f).empty());
        EXPECT_EQ(parse(write(t), f), t);
    }
}

TEST(Corpus, KnownShapes) {
    auto files = corpus();
    if (files.empty()) GTEST_SKIP() << "no transcripts under " << shared_dir();
    fs::path dir = fs::path(shared_dir()) / "transcripts" / "medusa";
    transcript split = read_file((dir / "split_bytewise_request.transcript").string());
    // 30 one-byte writes with 29 pauses between them, one expectation, then <close>.
    EXPECT_EQ(std::count_if(split.steps.begin(), split.steps.end(), [](const step& s) { return s.kind == step_kind::send; }), 30);
    EXPECT_EQ(split.steps.back().kind, step_kind::close);
    transcript tiny = read_file((dir / "cgi_tiny_writes.transcript").string());
    EXPECT_EQ(tiny.protocol(), protocol_kind::raw);
    EXPECT_EQ(tiny.fixture(), "cgi");
}

TEST(SkipList, NamesAndReasons) {
    fs::path p = fs::temp_directory_path() / fmt::format("medusa-skip-{}.txt", ::getpid());
    {
        std::ofstream out(p);
        out << "# comment\n\nhttp11_connection_close\tQUIRKS row 1: Connection: close\n"
               "  no_version_http09   row 4  \n";
    }
    auto skips = read_skip_list(p.string());
    EXPECT_EQ(skips.size(), 2u);
    EXPECT_EQ(skips["http11_connection_close"], "QUIRKS row 1: Connection: close");
    EXPECT_EQ(skips["no_version_http09"], "row 4");
    {
        std::ofstream out(p);
        out << "lonely_name\n";
    }
    EXPECT_THROW(read_skip_list(p.string()), parse_error);
    fs::remove(p);
}

}  // namespace
}  // namespace medusa::transcript
