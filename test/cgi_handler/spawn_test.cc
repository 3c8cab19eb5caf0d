// spawn and child_reaper: descriptors, signals, reaping from the loop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>

#include "asyncore/socket_map.h"
#include "cgi/child_reaper.h"
#include "cgi/spawn.h"
#include "helpers.h"

namespace {

using namespace std::chrono_literals;
using medusa::cgi::child_exit;
using medusa::cgi::child_reaper;
using medusa::cgi::spawn;
using medusa::cgi::spawn_options;
using medusa::cgi::testing::read_all;

spawn_options sh(const std::string& script) {
    spawn_options o;
    o.program = "/bin/sh";
    o.argv = {"sh", "-c", script};
    o.env = {"PATH=/usr/bin:/bin"};
    return o;
}

// Runs the map until `done` or 10 s pass.
template <class Pred>
void run_until(medusa::socket_map& map, Pred done) {
    auto end = medusa::clock::now() + 10s;
    while (!done() && medusa::clock::now() < end) map.poll_once(50ms);
}

TEST(Spawn, ChildHasOnlyItsThreeStandardDescriptors) {
    // Descriptors this process holds without close-on-exec: they must not reach the child.
    // Moved to high numbers, so that they cannot coincide with the descriptors ls opens.
    int leaky = ::dup2(::open("/dev/zero", O_RDONLY), 200);
    int leaky_pipe[2];
    ASSERT_EQ(::pipe(leaky_pipe), 0);
    leaky_pipe[0] = ::dup2(leaky_pipe[0], 201);
    leaky_pipe[1] = ::dup2(leaky_pipe[1], 202);
    ASSERT_EQ(leaky, 200);

    spawn_options o;
    o.program = "/bin/ls";
    o.argv = {"ls", "-l", "/proc/self/fd/"};
    auto c = spawn(o);
    ::close(c.stdin_fd);
    std::string out = read_all(c.stdout_fd);
    std::string err = read_all(c.stderr_fd);
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
    ::close(leaky);
    ::close(leaky_pipe[0]);
    ::close(leaky_pipe[1]);

    EXPECT_EQ(err, "");
    auto fds = medusa::cgi::testing::listed_descriptors(out);
    // 0, 1, 2, and the directory ls opened to list them.
    std::set<int> seen;
    for (const auto& [fd, target] : fds) {
        seen.insert(fd);
        if (fd > 2) {
            EXPECT_NE(target.find("/fd"), std::string::npos) << fd << " -> " << target;
        }
    }
    EXPECT_TRUE(seen.count(0) && seen.count(1) && seen.count(2)) << out;
    EXPECT_LE(seen.size(), 4u) << out;
    EXPECT_FALSE(seen.count(leaky)) << out;
    EXPECT_FALSE(seen.count(leaky_pipe[0])) << out;
}

TEST(Spawn, PipesCarryStdinStdoutStderrAndWorkingDirectory) {
    auto o = sh("cd_ok=$(pwd); echo \"$cd_ok\"; cat; echo to-stderr >&2");
    o.working_directory = "/tmp";
    auto c = spawn(o);
    ASSERT_EQ(::write(c.stdin_fd, "body", 4), 4);
    ::close(c.stdin_fd);
    EXPECT_EQ(read_all(c.stdout_fd), "/tmp\nbody");
    EXPECT_EQ(read_all(c.stderr_fd), "to-stderr\n");
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
}

TEST(Spawn, StdinFromTheCallersDescriptor) {
    char path[] = "/tmp/medusa-spawn-stdin-XXXXXX";
    int fd = ::mkostemp(path, O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    ASSERT_EQ(::write(fd, "from a file", 11), 11);
    ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    auto o = sh("cat; ls -l /proc/self/fd/ >&2");
    o.stdin_from = fd;
    auto c = spawn(o);
    EXPECT_EQ(c.stdin_fd, -1);
    EXPECT_EQ(read_all(c.stdout_fd), "from a file");
    std::string fds = read_all(c.stderr_fd);
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
    // Still open for the caller (the next script), and not inherited under its own number.
    EXPECT_GE(::fcntl(fd, F_GETFD), 0);
    for (const auto& [n, target] : medusa::cgi::testing::listed_descriptors(fds))
        EXPECT_TRUE(n <= 2 || target.find("/fd") != std::string::npos) << n << " -> " << target;
    ::close(fd);
}

TEST(Spawn, EnvironmentIsExactlyTheGivenOne) {
    ::setenv("MEDUSA_SPAWN_TEST_SECRET", "x", 1);
    auto o = sh("env");
    o.env = {"A=1", "PATH=/usr/bin:/bin"};
    auto c = spawn(o);
    ::unsetenv("MEDUSA_SPAWN_TEST_SECRET");
    ::close(c.stdin_fd);
    std::string out = read_all(c.stdout_fd);
    ::waitpid(c.pid, nullptr, 0);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
    EXPECT_NE(out.find("A=1\n"), std::string::npos);
    EXPECT_EQ(out.find("MEDUSA_SPAWN_TEST_SECRET"), std::string::npos) << out;
}

TEST(Spawn, SignalsAreResetInTheChild) {
    // This process ignores SIGPIPE (file_dispatcher does) and may block signals; the child must
    // start with defaults and an empty mask.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    struct sigaction old {};
    ::sigaction(SIGPIPE, &ign, &old);
    sigset_t block, before;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &block, &before);
    auto c = spawn(sh("grep -E '^(SigBlk|SigIgn)' /proc/self/status"));
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    ::sigaction(SIGPIPE, &old, nullptr);
    ::close(c.stdin_fd);
    std::string out = read_all(c.stdout_fd);
    ::waitpid(c.pid, nullptr, 0);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
    EXPECT_NE(out.find("SigBlk:\t0000000000000000"), std::string::npos) << out;
    // No standard signal ignored (SIGPIPE is bit 13, 0x1000). glibc's posix_spawn ignores its
    // own internal real-time signals (32 and 33) in the child.
    size_t at = out.find("SigIgn:\t");
    ASSERT_NE(at, std::string::npos) << out;
    unsigned long long ignored = std::stoull(out.substr(at + 8, 16), nullptr, 16);
    EXPECT_EQ(ignored & 0x7fffffffull, 0u) << out;  // signals 1..31
}

TEST(Spawn, FailureNamesTheCallAndTheProgram) {
    spawn_options o;
    o.program = "/nonexistent/script";
    try {
        spawn(o);
        FAIL() << "spawn succeeded";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("posix_spawn(/nonexistent/script)"), std::string::npos)
            << e.what();
        EXPECT_EQ(e.code().value(), ENOENT);
    }
}

TEST(ChildReaper, ReportsTheExitCodeAndReaps) {
    medusa::socket_map map;
    auto c = spawn(sh("exit 3"));
    ::close(c.stdin_fd);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
    std::optional<child_exit> got;
    auto r = child_reaper::start(c.pid, [&](const child_exit& e) { got = e; }, map);
    run_until(map, [&] { return got.has_value(); });
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->exited());
    EXPECT_EQ(got->code(), 3);
    EXPECT_EQ(got->describe(), "exit 3");
    EXPECT_TRUE(r->reaped());
    EXPECT_FALSE(r->in_map());
    // Reaped: waitpid has nothing left for this pid.
    EXPECT_EQ(::waitpid(c.pid, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

TEST(ChildReaper, TerminateStopsTheWholeGroup) {
    medusa::socket_map map;
    // The shell's child (sleep) is in the same group: it must stop too.
    auto c = spawn(sh("sleep 30 & echo $!; wait"));
    ::close(c.stdin_fd);
    pid_t grandchild = std::stoi(medusa::cgi::testing::read_line(c.stdout_fd));
    std::optional<child_exit> got;
    auto r = child_reaper::start(c.pid, [&](const child_exit& e) { got = e; }, map);
    r->terminate(5s);
    run_until(map, [&] { return got.has_value(); });
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->signalled());
    EXPECT_EQ(got->signal(), SIGTERM);
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(grandchild, 5s));
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
}

TEST(ChildReaper, EscalatesToSigkill) {
    medusa::socket_map map;
    auto c = spawn(sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"));
    ::close(c.stdin_fd);
    ASSERT_EQ(medusa::cgi::testing::read_line(c.stdout_fd), "ready");  // the trap is set
    std::optional<child_exit> got;
    auto r = child_reaper::start(c.pid, [&](const child_exit& e) { got = e; }, map);
    r->terminate(200ms);
    run_until(map, [&] { return got.has_value(); });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->signal(), SIGKILL);
    ::close(c.stdout_fd);
    ::close(c.stderr_fd);
}

TEST(ChildReaper, CloseKillsAndReapsARunningChild) {
    pid_t pid;
    {
        medusa::socket_map map;
        auto c = spawn(sh("sleep 30"));
        ::close(c.stdin_fd);
        ::close(c.stdout_fd);
        ::close(c.stderr_fd);
        pid = c.pid;
        auto r = child_reaper::start(c.pid, nullptr, map);
        medusa::close_all(map);
        EXPECT_TRUE(r->reaped());
    }
    EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
    EXPECT_FALSE(medusa::cgi::testing::process_exists(pid));
}

}  // namespace
