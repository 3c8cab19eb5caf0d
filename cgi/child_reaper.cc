#include "cgi/child_reaper.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace medusa::cgi {

bool child_exit::exited() const { return WIFEXITED(status); }
int child_exit::code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
bool child_exit::signalled() const { return WIFSIGNALED(status); }
int child_exit::signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

std::string child_exit::describe() const {
    if (exited()) return fmt::format("exit {}", code());
    if (signalled()) return fmt::format("killed by signal {} ({})", signal(), ::strsignal(signal()));
    return fmt::format("wait status {:#x}", status);
}

std::shared_ptr<child_reaper> child_reaper::start(pid_t pid, exit_handler on_exit,
                                                  socket_map& map) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        int err = errno;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        int status;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        throw std::system_error(err, std::generic_category(), fmt::format("pidfd_open({})", pid));
    }
    // (pidfd_open(2) always sets close-on-exec: no script inherits it.)
    return make<child_reaper>(fd, pid, std::move(on_exit), map);
}

child_reaper::child_reaper(int pidfd, pid_t pid, exit_handler on_exit, socket_map& map)
    : file_dispatcher(pidfd, map), pid_(pid), on_exit_(std::move(on_exit)) {
    result_.pid = pid;
}

child_reaper::~child_reaper() {
    // Left the map without close() (the map was destroyed): still never leave a zombie.
    if (!reaped_) {
        signal(SIGKILL);
        try_reap(0);
    }
}

bool child_reaper::try_reap(int flags) {
    if (reaped_) return true;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, flags);
        if (r == pid_) {
            result_.status = status;
            reaped_ = true;
            return true;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == ECHILD) {
            // Someone else reaped it (SIGCHLD set to SIG_IGN makes the kernel do so): it is
            // gone, with an unknown status.
            reaped_ = true;
            return true;
        }
        return false;  // still running (WNOHANG)
    }
}

void child_reaper::signal(int sig) {
    if (reaped_) return;
    // The group first (the script and what it started); the pid too in case the child left
    // its group (setsid) — it is still ours to stop.
    ::kill(-pid_, sig);
    ::kill(pid_, sig);
}

void child_reaper::terminate(clock::duration grace) {
    if (reaped_ || terminating_) return;
    terminating_ = true;
    signal(SIGTERM);
    std::weak_ptr<dispatcher> self = weak_from_this();
    map().call_later(grace, [self] {
        auto d = self.lock();
        if (!d) return;
        auto* r = static_cast<child_reaper*>(d.get());
        if (!r->reaped_) r->signal(SIGKILL);
    });
}

void child_reaper::handle_read() {
    if (try_reap(WNOHANG)) finish();
}

void child_reaper::finish() {
    auto keep = shared_from_this();  // the handler may drop the last other reference
    file_dispatcher::close();
    if (auto h = std::move(on_exit_)) {
        on_exit_ = nullptr;
        h(result_);
    }
}

void child_reaper::close() {
    if (!reaped_) {
        signal(SIGKILL);
        try_reap(0);
    }
    file_dispatcher::close();
}

std::string child_reaper::repr() const {
    return fmt::format("<medusa::cgi::child_reaper pid={}{} at {}>", pid_,
                       reaped_ ? " reaped" : "", static_cast<const void*>(this));
}

}  // namespace medusa::cgi
