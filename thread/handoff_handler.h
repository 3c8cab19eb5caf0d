// handoff_handler: a handler base class whose requests leave the loop for a worker thread that
// owns the socket (the seed's "workable approach", built on hand_off() of handoff.h).
//
// A threaded handler in a few lines: say which URL prefix it serves and override serve(), which
// runs on a worker of the pool and writes its reply as a CGI script would — an optional block of
// header lines, a blank line, the body:
//
//     class hello_handler : public medusa::thread::handoff_handler {
//     public:
//         using handoff_handler::handoff_handler;        // (pool, "/hello")
//         void serve(medusa::thread::handoff_request& r) override {
//             r.write("Content-Type: text/plain\r\n\r\n");
//             r.write(fmt::format("hello from a worker; you asked for {}\n", r.uri()));
//         }                                             // finish() and close follow
//     };
//     server->install_handler(std::make_shared<hello_handler>(pool, "/hello"));
//
// What the base does:
//   - match(): the request's URI is the prefix, or the prefix followed by '/', '?' or ';'
//     ("/hello" serves /hello, /hello/x and /hello?q, not /helloworld).
//   - handle_request() (loop thread): copies what serve() may read — method, URI, version,
//     headers, the peer — then hand_off()s the channel to the pool: queued replies to earlier
//     pipelined requests drain first, the channel leaves the loop (del_channel), and the worker
//     gets a blocking socket with every byte the channel had read past the request head (a
//     request body, pipelined requests: already_read()).
//   - The pool full (or shut down): the request gets 503 in the loop, with Connection: close,
//     before the channel would have left it. The client is always answered.
//   - The writer: write() goes through cgi::header_scanner; its head becomes the reply head by
//     cgi::build_reply — the request's version, `Status:` honoured, Connection: close (the body
//     runs to the end of the connection, so no framing is needed), HEAD: the head only. Output
//     with no header block gives medusa's 502 page. After serve() returns the base calls
//     finish(), half-closes the socket (shutdown SHUT_WR) and closes it.
//   - serve() throwing before any of the reply was sent: a 500 page. After: the connection just
//     closes. Either way the exception is logged (handoff.h).
//   - The access log: when serve() is done, the worker pulls the trigger, and in the loop thread
//     the line is written to the server's access log in medusa's format, with the status and
//     the bytes sent (head included), as http_request::log() writes it for an in-loop reply:
//       127.0.0.1:54321 - - [24/Nov/2026:22:40:01 +0000] "GET /hello HTTP/1.1" 200 153
//     (written by the loop thread because the logger, the server and its counters are the loop's).
//     A 503 is logged as any in-loop reply. A hand-off dropped unrun by pool.shutdown(), or whose
//     client left while earlier replies drained, has no line: serve() never ran.
//
// The handler must outlive the pool's jobs (install it, then shut the pool down before
// destroying the server), as with every handler that uses a pool.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncore/address.h"
#include "cgi/header_scanner.h"
#include "http/handler.h"
#include "thread/handoff.h"

namespace medusa::thread {

class worker_pool;

// One handed-off request, as serve() sees it on the worker thread. Everything here was copied in
// the loop thread: nothing refers back to the channel or the http_request.
class handoff_request {
public:
    handoff_request(handed_socket socket, std::string command, std::string uri,
                    std::string version, std::vector<std::pair<std::string, std::string>> headers,
                    std::string server_header);
    handoff_request(const handoff_request&) = delete;
    handoff_request& operator=(const handoff_request&) = delete;

    std::string_view command() const { return command_; }  // "GET"
    std::string_view uri() const { return uri_; }          // "/hello/x?q=1"
    std::string_view version() const { return version_; }  // "1.1", "1.0", "" for none
    // A request header by name, case-insensitive; the first of that name. nullopt when absent.
    std::optional<std::string_view> get_header(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
    // The bytes the loop had read past the request head: the start of a body, pipelined requests.
    const std::string& already_read() const { return socket_.already_read(); }
    const address& peer() const { return socket_.peer(); }
    // The blocking socket itself, for a handler that reads the rest of a body or talks on.
    handed_socket& socket() { return socket_; }

    // Script-style output: header lines, a blank line, then the body, split anywhere. Blocks
    // while the client reads; throws std::system_error naming send() when the client has gone.
    void write(std::string_view data);
    // End of output: sends the head now if the output ended inside it (a 502 for no header
    // block). Idempotent; the base calls it after serve().
    void finish();

    // The reply's status (once the head is out; 0 before) and the bytes sent, head included.
    int status() const { return status_; }
    uint64_t bytes_sent() const { return bytes_sent_; }
    bool head_sent() const { return scanner_.head_sent(); }

private:
    friend class handoff_handler;
    void send(std::string_view data);

    handed_socket socket_;
    std::string command_, uri_, version_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::string server_header_;
    cgi::header_scanner scanner_;
    bool pass_body_ = false;
    int status_ = 0;
    uint64_t bytes_sent_ = 0;
};

class handoff_handler : public http::handler {
public:
    // Serves `prefix` ("/hello") on `pool`'s workers.
    handoff_handler(worker_pool& pool, std::string prefix);

    // Worker thread: write the reply through r.write().
    virtual void serve(handoff_request& r) = 0;

    bool match(http::http_request& request) override;
    void handle_request(std::shared_ptr<http::http_request> request) override;

    const std::string& prefix() const { return prefix_; }

private:
    worker_pool& pool_;
    std::string prefix_;
};

}  // namespace medusa::thread
