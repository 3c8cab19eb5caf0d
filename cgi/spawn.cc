#include "cgi/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace medusa::cgi {

namespace {

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define MEDUSA_SPAWN_CLOSEFROM 1
constexpr bool have_closefrom = true;
#else
constexpr bool have_closefrom = false;
#endif

// The descriptors made so far; closes whatever is still open when spawn() gives up.
struct pipes {
    int fd[6] = {-1, -1, -1, -1, -1, -1};  // stdin r/w, stdout r/w, stderr r/w
    ~pipes() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    int take(int i) {
        int f = fd[i];
        fd[i] = -1;
        return f;
    }
    void close(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

[[noreturn]] void fail(int err, std::string_view call, std::string_view arg) {
    throw std::system_error(err, std::generic_category(), fmt::format("{}({})", call, arg));
}

void set_nonblocking(int fd, std::string_view program) {
    // A new pipe end has no status flag but its access mode, which F_SETFL ignores: no F_GETFL.
    if (::fcntl(fd, F_SETFL, O_NONBLOCK) < 0) fail(errno, "fcntl(O_NONBLOCK)", program);
}

// posix_spawn's attribute and file-action objects, destroyed on every path out.
struct spawn_objects {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    bool have_actions = false, have_attr = false;
    ~spawn_objects() {
        if (have_actions) posix_spawn_file_actions_destroy(&actions);
        if (have_attr) posix_spawnattr_destroy(&attr);
    }
};

}  // namespace

bool spawn_closes_descriptors() { return have_closefrom; }

child_process spawn(const spawn_options& o) {
    pipes p;
    const bool stdin_pipe = o.stdin_from < 0;
    for (int i = stdin_pipe ? 0 : 1; i < 3; ++i) {
        if (::pipe2(&p.fd[2 * i], O_CLOEXEC) != 0) fail(errno, "pipe2", o.program);
    }
    // The server's ends are non-blocking (the loop reads and writes them); the script's ends
    // stay blocking, as a program expects of its standard streams.
    if (stdin_pipe) set_nonblocking(p.fd[1], o.program);
    set_nonblocking(p.fd[2], o.program);
    set_nonblocking(p.fd[4], o.program);

    spawn_objects so;
    int rc = posix_spawn_file_actions_init(&so.actions);
    if (rc != 0) fail(rc, "posix_spawn_file_actions_init", o.program);
    so.have_actions = true;
    // dup2 onto 0, 1, 2 clears close-on-exec on the copies; the originals close at exec.
    if ((rc = posix_spawn_file_actions_adddup2(&so.actions, stdin_pipe ? p.fd[0] : o.stdin_from,
                                               0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&so.actions, p.fd[3], 1)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&so.actions, p.fd[5], 2)) != 0)
        fail(rc, "posix_spawn_file_actions_adddup2", o.program);
#ifdef MEDUSA_SPAWN_CLOSEFROM
    if ((rc = posix_spawn_file_actions_addclosefrom_np(&so.actions, 3)) != 0)
        fail(rc, "posix_spawn_file_actions_addclosefrom_np", o.program);
#endif
    if (!o.working_directory.empty()) {
        rc = posix_spawn_file_actions_addchdir_np(&so.actions, o.working_directory.c_str());
        if (rc != 0) fail(rc, "posix_spawn_file_actions_addchdir_np", o.working_directory);
    }

    rc = posix_spawnattr_init(&so.attr);
    if (rc != 0) fail(rc, "posix_spawnattr_init", o.program);
    so.have_attr = true;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&so.attr, &none);
    posix_spawnattr_setsigdefault(&so.attr, &all);
    posix_spawnattr_setpgroup(&so.attr, 0);
    rc = posix_spawnattr_setflags(&so.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETPGROUP);
    if (rc != 0) fail(rc, "posix_spawnattr_setflags", o.program);

    std::vector<char*> argv;
    if (o.argv.empty()) {
        argv.push_back(const_cast<char*>(o.program.c_str()));
    } else {
        for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(o.env.size() + 1);
    for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    rc = ::posix_spawn(&pid, o.program.c_str(), &so.actions, &so.attr, argv.data(), envp.data());
    if (rc != 0) fail(rc, "posix_spawn", o.program);

    // The script's ends now live in the child only: closing them here lets the server see end
    // of file on stdout when the script exits, and the script see EOF on stdin when we close.
    p.close(0);
    p.close(3);
    p.close(5);
    child_process c;
    c.pid = pid;
    c.stdin_fd = p.take(1);
    c.stdout_fd = p.take(2);
    c.stderr_fd = p.take(4);
    return c;
}

}  // namespace medusa::cgi
