// os_filesystem: lookups under the root, and a table of paths that try to leave it. Every
// confinement test runs twice: with openat2 and with the fallback walk.
#include "http/filesys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "test/http_util/temp_dir.h"

namespace medusa::http {
namespace {

using testing::read_file;
using testing::temp_dir;
using testing::write_file;

std::string read_fd(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

// temp/outside/secret.txt            what no path may reach
// temp/root/                         the served root, with normal files, odd names and links
class FilesysTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        os_filesystem::use_openat2(GetParam());
        const std::string out = tmp / "outside", root = tmp / "root";
        std::filesystem::create_directories(out);
        std::filesystem::create_directories(root + "/sub/deeper");
        write_file(out + "/secret.txt", "secret");
        write_file(root + "/index.html", "index");
        write_file(root + "/sub/page.txt", "page");
        write_file(root + "/sub/deeper/deep.txt", "deep");
        write_file(root + "/%2e%2e", "a file named %2e%2e");
        write_file(root + "/back\\slash", "backslash");
        write_file(root + "/a b.txt", "space");
        ::symlink((out + "/secret.txt").c_str(), (root + "/link_out").c_str());
        ::symlink("../outside/secret.txt", (root + "/link_out_rel").c_str());
        ::symlink(out.c_str(), (root + "/dirlink_out").c_str());
        ::symlink("../outside", (root + "/dirlink_out_rel").c_str());
        ::symlink("sub/page.txt", (root + "/link_in").c_str());
        ::symlink((root + "/sub/page.txt").c_str(), (root + "/link_in_abs").c_str());
        ::symlink("sub", (root + "/dirlink_in").c_str());
        ::symlink("../root/sub/page.txt", (root + "/link_out_and_back").c_str());
        ::symlink((out + "/created.txt").c_str(), (root + "/dangling_out").c_str());
        ::symlink("loop2", (root + "/loop1").c_str());
        ::symlink("loop1", (root + "/loop2").c_str());
        struct stat st;
        ASSERT_EQ(::stat((out + "/secret.txt").c_str(), &st), 0);
        secret_ino = st.st_ino;
        fs = std::make_unique<os_filesystem>(root);
    }
    void TearDown() override { os_filesystem::use_openat2(true); }

    // Nothing `path` leads to may be the secret, by any of the calls.
    void expect_confined(const std::string& path) {
        SCOPED_TRACE(path);
        if (const auto t = fs->translate(path)) {
            EXPECT_EQ(t->rfind(fs->root(), 0), 0u) << *t;
        }
        if (const auto st = fs->stat(path)) {
            EXPECT_NE(st->st_ino, secret_ino);
        }
        const int fd = fs->open(path);
        if (fd >= 0) {
            struct stat st;
            ASSERT_EQ(::fstat(fd, &st), 0);
            EXPECT_NE(st.st_ino, secret_ino);
            ::close(fd);
        }
        for (const std::string& name : fs->listdir(path)) EXPECT_NE(name, "secret.txt");
    }

    temp_dir tmp;
    std::unique_ptr<os_filesystem> fs;
    ino_t secret_ino = 0;
};

TEST_P(FilesysTest, FindsNormalFilesAndDirectories) {
    EXPECT_TRUE(fs->isfile("index.html"));
    EXPECT_TRUE(fs->isfile("/index.html"));
    EXPECT_TRUE(fs->isfile("sub/page.txt"));
    EXPECT_TRUE(fs->isfile("a b.txt"));
    EXPECT_TRUE(fs->isdir("sub"));
    EXPECT_TRUE(fs->isdir("sub/"));
    EXPECT_TRUE(fs->isdir(""));
    EXPECT_TRUE(fs->isdir("/"));
    EXPECT_FALSE(fs->isdir("index.html"));
    EXPECT_FALSE(fs->isfile("sub"));
    EXPECT_FALSE(fs->isfile("missing.html"));
    EXPECT_TRUE(fs->isfile("index.html/"));  // medusa normalises the slash away (QUIRKS 14)
    const auto st = fs->stat("sub/deeper/deep.txt");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->st_size, 4);
    const int fd = fs->open("sub/./deeper/../page.txt");
    ASSERT_GE(fd, 0);
    EXPECT_EQ(read_fd(fd), "page");
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ::close(fd);
    EXPECT_EQ(fs->open("missing"), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST_P(FilesysTest, TranslateNormalisesAsMedusa) {
    const std::string root = fs->root();
    EXPECT_EQ(fs->translate("index.html"), root + "/index.html");
    EXPECT_EQ(fs->translate("/../../x"), root + "/x");
    EXPECT_EQ(fs->translate("a/../../.."), root);
    EXPECT_EQ(fs->translate("//sub///page.txt"), root + "/sub/page.txt");
    EXPECT_EQ(fs->translate("sub/./deeper/.."), root + "/sub");
    EXPECT_EQ(fs->translate("..foo"), root + "/..foo");  // a name, not a climb (medusa: "/")
    EXPECT_EQ(fs->translate("..;/x"), root + "/..;/x");  // a name too, not ".." with params
    EXPECT_EQ(fs->translate("/;/../x"), root + "/x");
    EXPECT_EQ(fs->translate("new/file.txt"), root + "/new/file.txt");  // need not exist
    EXPECT_EQ(fs->translate(std::string_view("a\0b", 3)), std::nullopt);
    EXPECT_EQ(fs->translate("link_out"), std::nullopt);
    EXPECT_EQ(fs->translate("dirlink_out/secret.txt"), std::nullopt);
    EXPECT_EQ(fs->translate("dirlink_out/not-there/x"), std::nullopt);
    EXPECT_EQ(fs->translate("dangling_out"), std::nullopt);
    EXPECT_EQ(fs->translate("link_in"), root + "/link_in");
}

TEST_P(FilesysTest, HostilePathsNeverLeaveTheRoot) {
    using namespace std::string_literals;
    for (const std::string& path : std::vector<std::string>{"..", "../", "/..", "/../outside/secret.txt", "../outside/secret.txt",
          "a/../../../outside/secret.txt", "/../etc/passwd", "//etc/passwd", "///../outside",
          "sub/../../outside/secret.txt", "%2e%2e/outside/secret.txt", "%2e%2e",
          "..\\outside\\secret.txt", "link_out", "link_out_rel", "dirlink_out",
          "dirlink_out/secret.txt", "dirlink_out_rel/secret.txt", "dirlink_out/",
          "dirlink_out/../outside/secret.txt", "dangling_out", "loop1", "sub/../link_out",
          "./link_out", "dirlink_in/../link_out", "index.html\0/../../x"s,
          // Shapes of the attack suite (a request target, percent-decoded once): "..;" and
          // ".%2e" are names, NUL is refused, a backslash is an ordinary character.
          "..;/outside/secret.txt", "..;/../outside/secret.txt", ".%2e/outside/secret.txt",
          "%2e%2e;/outside/secret.txt", "..\0/outside/secret.txt"s, "..\\outside/secret.txt",
          ";/../outside/secret.txt", ";/../../outside/secret.txt", "..;"}) {
        expect_confined(path);
    }
}

TEST_P(FilesysTest, LinksLeadingOutsideAreRefused) {
    for (const char* path : {"link_out", "link_out_rel", "dirlink_out/secret.txt",
                             "dirlink_out_rel/secret.txt"}) {
        SCOPED_TRACE(path);
        EXPECT_FALSE(fs->isfile(path));
        EXPECT_FALSE(fs->stat(path));
        EXPECT_EQ(fs->open(path), -1);
        EXPECT_EQ(errno, EACCES);
    }
    EXPECT_FALSE(fs->isdir("dirlink_out"));
    EXPECT_TRUE(fs->listdir("dirlink_out").empty());
    EXPECT_FALSE(fs->isfile("loop1"));
}

TEST_P(FilesysTest, LinksInsideTheRootAreFollowed) {
    for (const char* path : {"link_in", "link_in_abs", "dirlink_in/page.txt", "link_out_and_back"}) {
        SCOPED_TRACE(path);
        EXPECT_TRUE(fs->isfile(path));
        const int fd = fs->open(path);
        ASSERT_GE(fd, 0);
        EXPECT_EQ(read_fd(fd), "page");
        ::close(fd);
    }
    EXPECT_TRUE(fs->isdir("dirlink_in"));
}

TEST_P(FilesysTest, OddNamesAreJustNames) {
    int fd = fs->open("%2e%2e");
    ASSERT_GE(fd, 0);
    EXPECT_EQ(read_fd(fd), "a file named %2e%2e");
    ::close(fd);
    fd = fs->open("back\\slash");
    ASSERT_GE(fd, 0);
    EXPECT_EQ(read_fd(fd), "backslash");
    ::close(fd);
    EXPECT_EQ(fs->open(std::string_view("index.html\0", 11)), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST_P(FilesysTest, CreatingThroughALinkOutsideFails) {
    EXPECT_EQ(fs->open("dangling_out", O_WRONLY | O_CREAT | O_TRUNC), -1);
    EXPECT_EQ(fs->open("dirlink_out/new.txt", O_WRONLY | O_CREAT | O_TRUNC), -1);
    EXPECT_FALSE(std::filesystem::exists(tmp / "outside/created.txt"));
    EXPECT_FALSE(std::filesystem::exists(tmp / "outside/new.txt"));
    EXPECT_FALSE(fs->mkdir("dirlink_out/newdir"));
    EXPECT_FALSE(std::filesystem::exists(tmp / "outside/newdir"));
    EXPECT_FALSE(fs->unlink("dirlink_out/secret.txt"));
    EXPECT_FALSE(fs->rename("dirlink_out/secret.txt", "stolen.txt"));
    EXPECT_FALSE(fs->rename("index.html", "dirlink_out/index.html"));
    EXPECT_TRUE(std::filesystem::exists(tmp / "outside/secret.txt"));
    EXPECT_FALSE(fs->rmdir(""));
    EXPECT_EQ(errno, EBUSY);
}

TEST_P(FilesysTest, ModifiesInsideTheRoot) {
    const int fd = fs->open("../new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "hi", 2), 2);
    ::close(fd);
    EXPECT_EQ(read_file(tmp / "root/new.txt"), "hi");
    EXPECT_TRUE(fs->mkdir("newdir"));
    EXPECT_TRUE(fs->isdir("newdir"));
    EXPECT_TRUE(fs->rename("new.txt", "newdir/moved.txt"));
    EXPECT_TRUE(fs->isfile("newdir/moved.txt"));
    EXPECT_FALSE(fs->rmdir("newdir"));  // not empty
    EXPECT_TRUE(fs->unlink("newdir/moved.txt"));
    EXPECT_TRUE(fs->rmdir("newdir"));
    EXPECT_FALSE(fs->isdir("newdir"));
    // The link itself is removed, never what it points to.
    EXPECT_TRUE(fs->unlink("link_out"));
    EXPECT_TRUE(std::filesystem::exists(tmp / "outside/secret.txt"));
}

TEST_P(FilesysTest, ListsDirectories) {
    EXPECT_EQ(fs->listdir("sub"), (std::vector<std::string>{"deeper", "page.txt"}));
    const auto names = fs->listdir("/");
    EXPECT_NE(std::find(names.begin(), names.end(), "index.html"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "link_out"), names.end());  // names only
    EXPECT_TRUE(fs->listdir("missing").empty());
    EXPECT_TRUE(fs->listdir("index.html").empty());

    const auto lines = fs->listdir("", true);
    auto line_for = [&](const std::string& name) -> std::string {
        for (const auto& l : lines)
            if (l.size() > name.size() && l.compare(l.size() - name.size() - 1, std::string::npos,
                                                    " " + name) == 0)
                return l;
        return {};
    };
    const std::string index = line_for("index.html");
    ASSERT_FALSE(index.empty());
    EXPECT_EQ(index[0], '-');
    EXPECT_EQ(line_for("sub")[0], 'd');
    EXPECT_TRUE(line_for("link_out").empty());  // leads outside: left out, as safe_stat does
    EXPECT_TRUE(line_for("loop1").empty());
    EXPECT_FALSE(line_for("link_in").empty());
    // "-rw-r--r--   1 0        0               5 Nov 24 22:32 index.html"
    ::chmod((tmp / "root/index.html").c_str(), 0640);
    const auto again = fs->listdir("", true);
    bool found = false;
    for (const auto& l : again)
        if (l.size() > 11 && l.substr(l.size() - 11) == " index.html") {
            found = true;
            EXPECT_EQ(l.substr(0, 14), "-rw-r-----   1");
            EXPECT_NE(l.find(" 5 "), std::string::npos) << l;
        }
    EXPECT_TRUE(found);
}

TEST_P(FilesysTest, WorkingDirectory) {
    EXPECT_EQ(fs->cwd(), "/");
    EXPECT_TRUE(fs->cwd("sub"));
    EXPECT_EQ(fs->cwd(), "/sub");
    EXPECT_TRUE(fs->isfile("page.txt"));
    EXPECT_TRUE(fs->isfile("/index.html"));
    EXPECT_EQ(fs->translate("page.txt"), fs->root() + "/sub/page.txt");
    EXPECT_TRUE(fs->cwd("deeper"));
    EXPECT_EQ(fs->cwd(), "/sub/deeper");
    EXPECT_TRUE(fs->cdup());
    EXPECT_EQ(fs->cwd(), "/sub");
    EXPECT_FALSE(fs->cwd("page.txt"));
    EXPECT_FALSE(fs->cwd("missing"));
    EXPECT_FALSE(fs->cwd("/dirlink_out"));
    EXPECT_EQ(fs->cwd(), "/sub");
    EXPECT_TRUE(fs->cdup());
    EXPECT_TRUE(fs->cdup());  // at the root, ".." is the root
    EXPECT_EQ(fs->cwd(), "/");
    os_filesystem copy(*fs);
    EXPECT_TRUE(copy.cwd("sub"));
    EXPECT_EQ(fs->cwd(), "/");
    EXPECT_TRUE(copy.isfile("page.txt"));
    EXPECT_EQ(os_filesystem(fs->root(), "/sub/../sub//deeper/").cwd(), "/sub/deeper");
}

TEST_P(FilesysTest, ConstructorNamesAMissingRoot) {
    try {
        os_filesystem missing(tmp / "no-such-root");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("realpath("), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, FilesysTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? std::string("openat2") : std::string("fallback");
                         });

}  // namespace
}  // namespace medusa::http
