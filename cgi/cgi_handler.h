// cgi_handler: runs CGI/1.1 programs (RFC 3875) from one folder, at /cgi-bin/NAME/extra?query.
//
//   auto cgi = medusa::cgi::install_cgi(*server, "/srv/cgi-bin");   // or:
//   medusa::cgi::cgi_options o;
//   o.directory = "/srv/cgi-bin";
//   o.timeout = std::chrono::seconds(10);
//   server->install_handler(std::make_shared<medusa::cgi::cgi_handler>(o));
//
// What runs: GET /cgi-bin/hello/a/b?x=1 runs the file NAME = "hello" of the folder, with
// SCRIPT_NAME=/cgi-bin/hello, PATH_INFO=/a/b, QUERY_STRING=x=1 (cgi_env.h has the whole
// environment). Only a regular, executable file directly inside the folder runs, its real path
// (symbolic links resolved) still inside the folder:
//   404  no such file; a NAME that cannot be a file there ("", ".", ".."): /cgi-bin/../x,
//        /cgi-bin/%2e%2e/x (the path is percent-decoded once before the check)
//   403  a directory, a file that is not executable, not a regular file, or a link leading out
// The script starts in its folder (RFC 3875 7.2) with exactly three descriptors (spawn.h).
//
// The flow, all inside the event loop (no thread per request):
//   request body  -> the request's collector -> a pipe_writer on the script's stdin, written as
//                    the script reads; stdin closes at the end of the body (Content-Length
//                    bytes, or the de-chunked body: CONTENT_LENGTH is then unset and the script
//                    reads to end of file). While more than stdin_buffer bytes wait for the
//                    script, the client's socket is not read. A reply that comes before the
//                    body's end does not cut it short: the channel reads on to its end (and then
//                    closes, if the reply said so). Without a body, stdin is /dev/null.
//   stdout        -> a pipe_reader -> header_scanner (cgi/header_scanner.h) -> cgi::build_reply
//                    (cgi/cgi_reply.h) -> the reply: status, headers, then the body streamed
//                    through a producer, chunked or with the script's Content-Length on HTTP/1.1
//                    (the connection stays open), close-delimited otherwise. The pipe is read
//                    only while less than stdout_buffer bytes wait for the client, so a script
//                    that writes forever to a client that reads nothing blocks in write().
//   stderr        -> the log, one line per line, as "cgi NAME[pid]: the line".
//   exit          -> a child_reaper (pidfd) reaps it; an abnormal exit is logged.
// HEAD runs the script and discards its body (QUIRKS row 28). A script whose name starts with
// "nph-" (RFC 3875 5) writes the whole reply itself, status line included: its output goes to
// the client untouched and the connection closes after it.
// A local redirect (Location: /path, no Status, no body: RFC 3875 6.2.2) is answered with what
// GET /path (HEAD for a HEAD) gives through the server's handlers, served on the same connection
// in the request's place (http_channel::redispatch): the connection stays open or closes as the
// original request's would, and pipelined requests are answered after it, in order. More than
// max_internal_redirects in a row (a script redirecting to itself) is a 500 and a log line.
//
// Faults:
//   502  the output ended without a header block (a script that exits, successfully or not,
//        having written no header), or a malformed one (header_scanner.h): medusa's 502 page.
//   500  the program could not be started (exec failed: a bad #! line).
//   504  the script ran past `timeout` (one timer per script) without a header; it is stopped
//        with SIGTERM, then SIGKILL after kill_grace. Past `timeout` with the reply under way,
//        the connection closes (the reply cannot be finished honestly).
//   a client that disconnects before the reply is out has its script stopped the same way, at
//   once: the request's on_close() callback (http_request.h) runs when its channel closes, and
//   the channel watches its socket for the client's end of file even while it waits for the
//   script. As with nginx, a client that half-closes (shutdown(SHUT_WR)) counts as gone. One
//   case waits for `timeout`: a client that leaves while the channel is not reading because the
//   script is slow to read a large body (stdin_buffer) or a pipelined request fills the buffer.
// No zombie: every child is reaped by its child_reaper, even after its request has gone.
//
// Limits of the http_request API this is built on: the header lines, their order and the
// framing are cgi::build_reply's. An NPH reply bypasses the request's done(), so the connection
// closes after it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "cgi/cgi_env.h"
#include "http/counter.h"
#include "http/handler.h"

namespace medusa::http {
class http_server;
}

namespace medusa::cgi {

struct cgi_options {
    std::string directory;             // the folder of scripts (made absolute and real)
    std::string prefix = "/cgi-bin";   // the URL path the folder is mounted at
    std::chrono::milliseconds timeout{30'000};
    std::chrono::milliseconds kill_grace{2'000};      // SIGTERM -> SIGKILL
    std::string document_root;         // DOCUMENT_ROOT and PATH_TRANSLATED ("" for none)
    size_t max_header_bytes = 64 * 1024;  // a script's header block; more is a 502
    size_t stdout_buffer = 64 * 1024;  // script output read but not yet taken by the client
    size_t stdin_buffer = 256 * 1024;  // request body waiting for the script to read it
    int max_internal_redirects = 10;   // local redirects in a row; one more is a 500
    env_options env;                   // rfc3875 style; PATH passed through
};

class cgi_job;

class cgi_handler : public http::handler, public std::enable_shared_from_this<cgi_handler> {
public:
    // Throws std::system_error "realpath(DIR): No such file or directory" for a missing folder.
    explicit cgi_handler(cgi_options o);
    ~cgi_handler() override;

    const cgi_options& options() const { return options_; }

    // True for the prefix itself and every path under it ("/cgi-bin", "/cgi-bin/x").
    bool match(http::http_request& request) override;
    void handle_request(std::shared_ptr<http::http_request> request) override;
    std::string status() override;

    // Scripts started, and now running (children not yet reaped included).
    http::counter scripts_started;
    http::counter bad_gateway;    // 502 replies
    http::counter timeouts;       // scripts stopped for running too long
    http::counter disconnects;    // scripts stopped because their client went away
    size_t running() const { return jobs_.size(); }

private:
    friend class cgi_job;
    // What a request path names, once checked: the file and the split of the path.
    struct target {
        int refuse = 0;           // 404 or 403; 0 when the script may run
        std::string file;         // the script's absolute path
        std::string name;         // "hello"
        std::string script_name;  // "/cgi-bin/hello"
        std::string path_info;    // "/a/b"
    };
    target resolve(std::string_view path) const;
    void job_done(const std::shared_ptr<cgi_job>& job);

    cgi_options options_;
    std::string real_directory_;
    std::unordered_set<std::shared_ptr<cgi_job>> jobs_;
    int null_fd_ = -1;  // /dev/null: the stdin of a script whose request has no body
};

// Mount `directory` at /cgi-bin on `server` with the default options, `document_root` (if any)
// giving DOCUMENT_ROOT and PATH_TRANSLATED; returns the handler (for a status page).
std::shared_ptr<cgi_handler> install_cgi(http::http_server& server, const std::string& directory,
                                         const std::string& document_root = {});

}  // namespace medusa::cgi
