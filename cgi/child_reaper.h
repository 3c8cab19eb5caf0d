// child_reaper: waits for one child process from inside the event loop, reaps it (so it never
// lingers as a zombie), and reports how it ended.
//
// A child that exits stays in the process table as a zombie until its parent calls waitpid().
// A server that starts a CGI script per request and forgets one leaks a process-table slot per
// request. The classic fix, a SIGCHLD handler calling waitpid(-1), reaps children that belong to
// someone else (a library's helper process), and a blocking waitpid() would stall the loop. Here
// each child gets a pidfd (pidfd_open(2), Linux 5.3+): a descriptor that becomes readable when
// that one process exits. It sits in the channel map like any other file_dispatcher, so the
// exit is an ordinary read event: the reaper calls waitpid(pid, WNOHANG) for exactly its pid,
// runs the exit handler, and leaves the map.
//
//   auto reaper = medusa::cgi::child_reaper::start(child.pid, [](const child_exit& e) {
//       log(fmt::format("script {}", e.describe()));   // "exit 0", "killed by signal 15"
//   }, map);
//   reaper->terminate(std::chrono::seconds(2));        // SIGTERM now, SIGKILL 2 s later
//
// Ownership: the map owns the reaper until the child has been reaped; hold a weak_ptr. Whoever
// started the child may go away first (a client disconnected): the reaper still reaps it; call
// set_exit_handler(nullptr) if the handler captured something that no longer exists.
// Shutdown: close() (close_all(), or the map going away) on a reaper whose child still runs
// kills the child's process group with SIGKILL and reaps it with a blocking waitpid(): a server
// that stops leaves no scripts behind.
//
// Signals go to the child's process group (spawn() makes the child its leader), so a shell
// script's own children (a `sleep`) stop with it instead of holding its pipes open.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "asyncore/file_dispatcher.h"

namespace medusa::cgi {

// How a child ended: its waitpid() status.
struct child_exit {
    pid_t pid = -1;
    int status = 0;  // as waitpid() gives it

    bool exited() const;         // ended by exit(); code() is meaningful
    int code() const;            // exit code, or -1
    bool signalled() const;      // ended by a signal; signal() is meaningful
    int signal() const;          // the signal number, or 0
    bool success() const { return exited() && code() == 0; }
    // "exit 0", "exit 3", "killed by signal 9 (Killed)".
    std::string describe() const;
};

class child_reaper : public file_dispatcher {
public:
    using exit_handler = std::function<void(const child_exit&)>;

    // Watch `pid` (a child of this process). Throws std::system_error "pidfd_open(1234): ..."
    // if the kernel cannot give a pidfd; the child is then killed and reaped before the throw,
    // so it does not outlive the failed request.
    static std::shared_ptr<child_reaper> start(pid_t pid, exit_handler on_exit,
                                               socket_map& map = default_map());

    // Use start(); public for std::make_shared.
    child_reaper(int pidfd, pid_t pid, exit_handler on_exit, socket_map& map);
    ~child_reaper() override;

    pid_t pid() const { return pid_; }
    bool reaped() const { return reaped_; }
    // After reaped(): how it ended.
    const child_exit& result() const { return result_; }

    // Replace (or, with nullptr, drop) the exit handler.
    void set_exit_handler(exit_handler h) { on_exit_ = std::move(h); }

    // Send `sig` to the child's process group (nothing once reaped).
    void signal(int sig);
    // SIGTERM now; SIGKILL after `grace` if the child has not been reaped by then. Once only:
    // a second call does not restart the grace period.
    void terminate(clock::duration grace);

    // --- dispatcher hooks ----------------------------------------------------------------------
    bool readable() override { return !reaped_; }
    bool writable() override { return false; }
    void handle_read() override;
    void handle_close() override { handle_read(); }
    void close() override;
    std::string repr() const override;

private:
    // waitpid(pid, flags): true once the child has been reaped.
    bool try_reap(int flags);
    void finish();

    pid_t pid_;
    exit_handler on_exit_;
    bool reaped_ = false;
    bool terminating_ = false;
    child_exit result_;
};

}  // namespace medusa::cgi
