// spawn: start a CGI script as a child process with its stdin, stdout and stderr on pipes.
//
//   medusa::cgi::spawn_options o;
//   o.program = "/srv/cgi-bin/hello";
//   o.env = build_environment(meta);
//   o.working_directory = "/srv/cgi-bin";   // RFC 3875 7.2: the script's own folder
//   medusa::cgi::child_process c = medusa::cgi::spawn(o);
//   // c.stdin_fd: write the request body, then close it (the script sees end of file);
//   // c.stdout_fd / c.stderr_fd: read the script's output. All three are non-blocking and
//   // close-on-exec in this process; the caller owns them.
//
// How: posix_spawn(3). glibc runs it with clone(CLONE_VM | CLONE_VFORK), so a server holding
// gigabytes starts a script without copying its page tables (fork() would), and an exec
// failure (ENOENT, EACCES, ENOEXEC) comes back as posix_spawn's result instead of a child that
// exits 127: spawn() throws std::system_error "posix_spawn(/srv/cgi-bin/x): Permission denied".
//
// The child gets exactly three descriptors. A script must not inherit the server's listening
// socket or another client's connection: it could keep a connection open after the server
// closed it, or accept on the server's port. POSIX has no "close everything else" spawn
// attribute (POSIX_SPAWN_CLOEXEC_DEFAULT is Solaris/macOS only), so:
//   - with glibc 2.34 or later, posix_spawn_file_actions_addclosefrom_np(3) closes every
//     descriptor from 3 up in the child, whatever flags the parent's descriptors carry;
//   - on an older C library every descriptor of this framework is opened close-on-exec
//     (dispatcher::create_socket, accept4, pipe2 below, O_CLOEXEC files), which exec honours;
//     a descriptor opened by other code without it would leak, so the check matters there.
// Signals: the child starts with an empty signal mask and default dispositions (a server
// that blocks SIGTERM to read it from a signalfd, or ignores SIGPIPE, must not pass that on: a
// script that ignores SIGPIPE spins writing to a closed pipe). It leads a process group of its
// own, so the handler can signal the script and everything it started (kill(-pid, sig)): a
// shell script killed alone would leave its `sleep` holding the stdout pipe open.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace medusa::cgi {

struct spawn_options {
    std::string program;                // the file to run (a path; no PATH search)
    std::vector<std::string> argv;      // argv[0], ...; empty: { program }
    std::vector<std::string> env;       // "K=V" strings, the whole environment
    std::string working_directory;      // "" keeps the server's
    // The script's stdin: this descriptor (the caller's, left open) instead of a new pipe, e.g.
    // /dev/null for a request without a body: one pipe and its channel fewer per request.
    int stdin_from = -1;
};

struct child_process {
    pid_t pid = -1;        // also its process group id
    int stdin_fd = -1;     // write end of the script's stdin (-1 with stdin_from)
    int stdout_fd = -1;    // read end of the script's stdout
    int stderr_fd = -1;    // read end of the script's stderr
};

// Starts the program; throws std::system_error naming the call and the program on failure
// (no descriptor is leaked then).
child_process spawn(const spawn_options& o);

// True when this build closes inherited descriptors with posix_spawn_file_actions_addclosefrom_np.
bool spawn_closes_descriptors();

}  // namespace medusa::cgi
