// file_dispatcher.cc: see file_dispatcher.h.
#include "asyncore/file_dispatcher.h"

#include <signal.h>
#include <sys/stat.h>

#include <mutex>

namespace medusa {

namespace {

// A write to a pipe whose reader has gone raises SIGPIPE, and its default action kills the whole
// server: a CGI script that exits early would take every connection with it. Sockets avoid it
// per call with MSG_NOSIGNAL, but write(2) on a pipe has no such flag, so the signal is ignored
// process-wide (the write then fails with EPIPE and the channel closes). Done once, at the first
// file_dispatcher, and only if nobody installed a handler of their own.
void ignore_sigpipe_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction old {};
        if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO)) {
            struct sigaction ign {};
            ign.sa_handler = SIG_IGN;
            sigemptyset(&ign.sa_mask);
            ::sigaction(SIGPIPE, &ign, nullptr);
        }
    });
}

}  // namespace

file_dispatcher::file_dispatcher(int fd, socket_map& map) : dispatcher(map) {
    ignore_sigpipe_once();
    set_file(fd);
}

std::string file_dispatcher::repr() const {
    // The base repr with the kind of descriptor beside its number:
    // "<medusa::file_dispatcher pipe fd=5 at 0x...>".
    std::string s = dispatcher::repr();
    if (closed()) return s;
    struct stat st {};
    const char* kind = "file";
    if (::fstat(fileno(), &st) == 0) {
        if (S_ISFIFO(st.st_mode)) kind = "pipe";
        else if (S_ISCHR(st.st_mode)) kind = "device";
        else if (S_ISSOCK(st.st_mode)) kind = "socket";
    }
    auto at = s.find(" fd=");
    if (at != std::string::npos) s.insert(at, std::string(" ") + kind);
    return s;
}

}  // namespace medusa
