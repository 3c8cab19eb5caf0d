// loggers: line ends as medusa writes them, the tail's bound, the "ip:message" form, rotation.
#include "http/logger.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "test/http_util/temp_dir.h"

namespace medusa::http {
namespace {

using testing::read_file;
using testing::temp_dir;

TEST(FileLogger, AddsANewlineOnlyWhenTheMessageLacksOne) {
    temp_dir dir;
    const std::string path = dir / "log";
    {
        file_logger log(path);
        log.log("one");
        log.log("two\n");
        log.log("three\r\n");
        log.log("four\r");
        log.log("");
        // Flushed at once: visible before the logger is gone.
        EXPECT_EQ(read_file(path), "one\ntwo\nthree\r\nfour\r\n");
    }
    EXPECT_EQ(read_file(path), "one\ntwo\nthree\r\nfour\r\n");
}

TEST(FileLogger, AppendsToAnExistingFile) {
    temp_dir dir;
    const std::string path = dir / "log";
    testing::write_file(path, "old\n");
    file_logger(path).log("new");
    EXPECT_EQ(read_file(path), "old\nnew\n");
}

TEST(FileLogger, WritesToAGivenFileWithoutClosingIt) {
    temp_dir dir;
    FILE* f = std::fopen((dir / "log").c_str(), "w");
    ASSERT_NE(f, nullptr);
    {
        file_logger log(f, false);
        log.log("buffered");
        log.flush();
    }
    EXPECT_EQ(std::fputs("after\n", f), 1);  // still open
    std::fclose(f);
    EXPECT_EQ(read_file(dir / "log"), "buffered\nafter\n");
}

TEST(FileLogger, ThrowsNamingThePathItCannotOpen) {
    try {
        file_logger log("/nonexistent-dir/medusa.log");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("fopen(/nonexistent-dir/medusa.log)"), std::string::npos)
            << e.what();
    }
}

class recording_logger : public logger {
public:
    void log(std::string_view m) override { seen.emplace_back(m); }
    std::vector<std::string> seen;
};

TEST(TailLogger, KeepsTheLastNStrippedAndPassesEachOnUnchanged) {
    recording_logger inner;
    tail_logger tail(inner, 3);
    for (const char* m : {"a\n", "b\r\n", "c", "d\n\n", "e\r"}) tail.log(m);
    EXPECT_EQ(tail.messages(), (std::vector<std::string>{"c", "d", "e"}));
    EXPECT_EQ(inner.seen, (std::vector<std::string>{"a\n", "b\r\n", "c", "d\n\n", "e\r"}));
}

TEST(TailLogger, DefaultsToFiveHundredAndWorksAlone) {
    tail_logger tail;
    EXPECT_EQ(tail.size(), 500u);
    for (int i = 0; i < 1000; ++i) tail.log(std::to_string(i));
    const auto kept = tail.messages();
    ASSERT_EQ(kept.size(), 500u);
    EXPECT_EQ(kept.front(), "500");
    EXPECT_EQ(kept.back(), "999");
}

TEST(UnresolvingLogger, WritesIpColonMessage) {
    recording_logger inner;
    unresolving_logger log(inner);
    log.log("127.0.0.1", "51234 - - [24/Nov/2025:22:32:00 +0000] \"GET / HTTP/1.0\" 200 115\n");
    ASSERT_EQ(inner.seen.size(), 1u);
    EXPECT_EQ(inner.seen[0],
              "127.0.0.1:51234 - - [24/Nov/2025:22:32:00 +0000] \"GET / HTTP/1.0\" 200 115\n");
}

TEST(MultiLogger, GivesEveryMessageToEachLogger) {
    recording_logger a, b;
    multi_logger both({&a});
    both.add(b);
    both.log("x");
    both.log("y\n");
    EXPECT_EQ(a.seen, (std::vector<std::string>{"x", "y\n"}));
    EXPECT_EQ(b.seen, a.seen);
}

TEST(NullLogger, AcceptsAnything) {
    null_logger log;
    log.log("ignored");
    logger& base = log;
    base.log("");
}

std::string today_suffix() {
    const time_t now = time(nullptr);
    struct tm t;
    localtime_r(&now, &t);
    char buf[32];
    strftime(buf, sizeof buf, ".ends%Y%m%d", &t);
    return buf;
}

TEST(RotatingFileLogger, RotatesAfterTheLineThatPassesMaxsize) {
    temp_dir dir;
    const std::string path = dir / "access.log";
    rotating_file_logger log(path, "", 10);
    log.log("12345");  // 6 bytes: stays
    EXPECT_EQ(read_file(path), "12345\n");
    const std::string before = path + today_suffix();
    log.log("67890");  // 12 bytes > 10: this file is moved aside
    // The suffix is the local date of the rotation, which may be just past midnight.
    const std::string rotated = std::filesystem::exists(before) ? before : path + today_suffix();
    ASSERT_TRUE(std::filesystem::exists(rotated)) << rotated;
    EXPECT_EQ(read_file(rotated), "12345\n67890\n");
    EXPECT_EQ(read_file(path), "");
    log.log("next");
    EXPECT_EQ(read_file(path), "next\n");
}

TEST(RotatingFileLogger, ASecondRotationTheSameDayGetsATimeSuffix) {
    temp_dir dir;
    const std::string path = dir / "access.log";
    rotating_file_logger log(path);
    log.log("first");
    log.rotate();
    log.log("second");
    log.rotate();
    int rotated = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        const std::string name = e.path().filename().string();
        if (name.rfind("access.log.ends", 0) == 0) ++rotated;
    }
    EXPECT_EQ(rotated, 2);
    EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(RotatingFileLogger, RefusesAnUnknownFrequency) {
    temp_dir dir;
    EXPECT_THROW(rotating_file_logger(dir / "log", "hourly"), std::invalid_argument);
    EXPECT_NO_THROW(rotating_file_logger(dir / "log", "daily"));
    EXPECT_NO_THROW(rotating_file_logger(dir / "log", "weekly"));
    EXPECT_NO_THROW(rotating_file_logger(dir / "log", "monthly"));
}

}  // namespace
}  // namespace medusa::http
