// file_cache: what it keeps, how long it may be stale, what drops an entry, and its bounds.
#include "http/file_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "test/http_util/temp_dir.h"

namespace medusa::http {
namespace {

using namespace std::chrono_literals;
using testing::temp_dir;
using testing::write_file;

std::string pread_all(int fd, size_t size) {
    std::string out(size, '\0');
    ssize_t n = ::pread(fd, out.data(), size, 0);
    out.resize(n < 0 ? 0 : size_t(n));
    return out;
}

class FileCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(tmp / "root/sub");
        std::filesystem::create_directories(tmp / "outside");
        write_file(tmp / "root/small.txt", "hello");
        write_file(tmp / "root/big.bin", std::string(20000, 'b'));
        write_file(tmp / "outside/secret.txt", "secret");
        fs = std::make_shared<os_filesystem>(tmp / "root");
        cache = std::make_unique<file_cache>(fs);
    }

    temp_dir tmp;
    std::shared_ptr<os_filesystem> fs;
    std::unique_ptr<file_cache> cache;
};

TEST_F(FileCacheTest, small_file_is_kept_in_memory_and_large_one_open) {
    auto small = cache->lookup("small.txt");
    ASSERT_TRUE(small);
    EXPECT_TRUE(small->is_regular());
    EXPECT_TRUE(small->has_body);
    EXPECT_EQ(small->body, "hello");
    EXPECT_EQ(small->fd, -1);
    EXPECT_EQ(std::string(small->last_modified, http_date_size).substr(26), "GMT");

    auto big = cache->lookup("big.bin");
    ASSERT_TRUE(big);
    EXPECT_FALSE(big->has_body);
    ASSERT_GE(big->fd, 0);
    EXPECT_EQ(pread_all(big->fd, 20000), std::string(20000, 'b'));
    EXPECT_EQ(cache->descriptors(), 1u);
    EXPECT_EQ(cache->bytes(), 5u);
}

TEST_F(FileCacheTest, second_lookup_is_a_hit_on_the_same_entry) {
    auto a = cache->lookup("small.txt");
    auto b = cache->lookup("small.txt");
    EXPECT_EQ(a.get(), b.get());
    EXPECT_EQ(cache->misses.as_long(), 1);
    EXPECT_EQ(cache->hits.as_long(), 1);
}

TEST_F(FileCacheTest, directory_is_a_directory_and_missing_is_null_and_not_kept) {
    auto dir = cache->lookup("sub");
    ASSERT_TRUE(dir);
    EXPECT_TRUE(dir->is_dir());
    EXPECT_FALSE(cache->lookup("nothing.txt"));
    // Created from outside after the miss: seen at once, however long max_age is.
    cache->max_age = 1h;
    write_file(tmp / "root/nothing.txt", "now here");
    auto f = cache->lookup("nothing.txt");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->body, "now here");
}

TEST_F(FileCacheTest, change_from_outside_is_seen_once_max_age_has_passed) {
    cache->max_age = 1h;
    EXPECT_EQ(cache->lookup("small.txt")->body, "hello");
    write_file(tmp / "root/small.txt", "HELLO, world");
    // Within max_age: the stated bound allows the old bytes.
    EXPECT_EQ(cache->lookup("small.txt")->body, "hello");
    // Past it: revalidated by stat, found changed, reopened.
    cache->max_age = 0ms;
    EXPECT_EQ(cache->lookup("small.txt")->body, "HELLO, world");
}

TEST_F(FileCacheTest, age_is_counted_in_the_time_the_caller_gives) {
    // A handler passes its loop's time of the pass: the entry is trusted until max_age after the
    // time it was checked at, and revalidated from then on, whatever the real clock says.
    cache->max_age = 1s;
    const auto t0 = std::chrono::steady_clock::now() + 1h;
    EXPECT_EQ(cache->lookup("small.txt", t0)->body, "hello");
    write_file(tmp / "root/small.txt", "HELLO, world");
    EXPECT_EQ(cache->lookup("small.txt", t0 + 999ms)->body, "hello");
    EXPECT_EQ(cache->hits.as_long(), 1);
    EXPECT_EQ(cache->lookup("small.txt", t0 + 1s)->body, "HELLO, world");
    // The reopened entry counts from the time of that lookup.
    write_file(tmp / "root/small.txt", "third");
    EXPECT_EQ(cache->lookup("small.txt", t0 + 1999ms)->body, "HELLO, world");
    EXPECT_EQ(cache->lookup("small.txt", t0 + 2s)->body, "third");
}

TEST_F(FileCacheTest, unchanged_file_is_revalidated_not_reopened) {
    cache->max_age = 0ms;
    auto a = cache->lookup("big.bin");
    auto b = cache->lookup("big.bin");
    EXPECT_EQ(a.get(), b.get());
    EXPECT_EQ(cache->revalidations.as_long(), 1);
    EXPECT_EQ(cache->misses.as_long(), 1);
}

TEST_F(FileCacheTest, same_size_rewrite_is_caught_by_mtime_or_ctime) {
    cache->max_age = 0ms;
    EXPECT_EQ(cache->lookup("small.txt")->body, "hello");
    // Same length, and the mtime set back to what it was: ctime still moves.
    struct stat before {};
    ASSERT_EQ(::stat((tmp / "root/small.txt").c_str(), &before), 0);
    std::this_thread::sleep_for(10ms);
    write_file(tmp / "root/small.txt", "jello");
    timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, (tmp / "root/small.txt").c_str(), times, 0), 0);
    EXPECT_EQ(cache->lookup("small.txt")->body, "jello");
}

TEST_F(FileCacheTest, change_through_the_filesystem_drops_entries_at_once) {
    cache->max_age = 1h;
    EXPECT_EQ(cache->lookup("small.txt")->body, "hello");
    int fd = fs->open("small.txt", O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "bye", 3), 3);
    ::close(fd);
    fs->changed();  // what a writer (the PUT handler) says when it has finished
    EXPECT_EQ(cache->lookup("small.txt")->body, "bye");

    ASSERT_TRUE(fs->unlink("small.txt"));
    EXPECT_FALSE(cache->lookup("small.txt"));
}

TEST_F(FileCacheTest, copies_of_the_filesystem_share_the_change_count) {
    cache->max_age = 1h;
    EXPECT_EQ(cache->lookup("small.txt")->body, "hello");
    os_filesystem copy(*fs);
    ASSERT_TRUE(copy.rename("small.txt", "moved.txt"));
    EXPECT_FALSE(cache->lookup("small.txt"));
}

TEST_F(FileCacheTest, link_swapped_to_point_outside_loses_its_entry_at_the_next_check) {
    write_file(tmp / "root/real.txt", "inside");
    std::filesystem::create_symlink("real.txt", tmp / "root/link.txt");
    cache->max_age = 0ms;
    EXPECT_EQ(cache->lookup("link.txt")->body, "inside");
    std::filesystem::remove(tmp / "root/link.txt");
    std::filesystem::create_symlink(tmp / "outside/secret.txt", tmp / "root/link.txt");
    EXPECT_FALSE(cache->lookup("link.txt"));
}

TEST_F(FileCacheTest, entry_stays_valid_for_a_reply_after_it_is_dropped) {
    auto big = cache->lookup("big.bin");
    int fd = big->fd;
    cache->clear();
    EXPECT_EQ(cache->size(), 0u);
    // The reply holding the entry still reads from the descriptor.
    EXPECT_EQ(pread_all(fd, 5), "bbbbb");
}

TEST_F(FileCacheTest, least_recently_used_entry_goes_first) {
    write_file(tmp / "root/c.txt", "c");
    cache->max_entries = 2;
    cache->lookup("small.txt");
    cache->lookup("big.bin");
    cache->lookup("small.txt");  // big.bin is now the least recently used
    cache->lookup("c.txt");
    EXPECT_EQ(cache->size(), 2u);
    EXPECT_EQ(cache->descriptors(), 0u);
    long misses = cache->misses.as_long();
    cache->lookup("small.txt");
    EXPECT_EQ(cache->misses.as_long(), misses);  // still there
    cache->lookup("big.bin");
    EXPECT_EQ(cache->misses.as_long(), misses + 1);  // was dropped
}

TEST_F(FileCacheTest, descriptor_and_byte_bounds_hold) {
    write_file(tmp / "root/big2.bin", std::string(30000, 'c'));
    write_file(tmp / "root/mid.txt", std::string(4000, 'm'));
    cache->max_descriptors = 1;
    cache->max_bytes = 4000;
    cache->lookup("big.bin");
    cache->lookup("small.txt");
    cache->lookup("big2.bin");
    EXPECT_EQ(cache->descriptors(), 1u);
    EXPECT_EQ(cache->size(), 2u);  // small.txt stays: only descriptor holders were dropped
    cache->lookup("mid.txt");
    EXPECT_LE(cache->bytes(), 4000u);
}

TEST_F(FileCacheTest, disabled_cache_opens_every_time) {
    cache->enabled = false;
    auto a = cache->lookup("small.txt");
    auto b = cache->lookup("small.txt");
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(cache->size(), 0u);
}

TEST_F(FileCacheTest, unreadable_file_exists_but_is_not_kept) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads mode-0 files";
    write_file(tmp / "root/locked.txt", "x");
    ASSERT_EQ(::chmod((tmp / "root/locked.txt").c_str(), 0), 0);
    auto f = cache->lookup("locked.txt");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->readable());
    EXPECT_EQ(cache->size(), 0u);
}

}  // namespace
}  // namespace medusa::http
