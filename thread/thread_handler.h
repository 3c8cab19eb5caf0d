// script_handler: C++ functions mounted at URL prefixes and run on worker threads, CGI style
// (medusa's thread/thread_handler.py: script_handler, header_scanning_file, thread_output_file,
// collector and request_loop_thread).
//
//     medusa::thread::worker_pool pool(4, 64);
//     auto scripts = std::make_shared<medusa::thread::script_handler>(pool);
//     scripts->add_module("pi", [](const auto& env, std::istream& in, auto& out) {
//         out.write("Content-Type: text/plain\r\n\r\n");
//         out.write(compute_pi(env.at("QUERY_STRING")));   // runs on a worker thread
//     });
//     server->install_handler(scripts);     // GET /pi?digits=100 now runs it
//
// A request whose first path segment names a module ("/pi", "/pi/extra?x") is matched. The
// handler builds the environment (cgi_env.h, medusa style: SCRIPT_NAME "/pi", PATH_INFO the rest
// or "/", QUERY_STRING, REMOTE_ADDR, HTTP_*, ...), collects the request body if there is one
// (medusa collected only when the method was spelled in lower case: QUIRKS), and queues
// main(env, stdin, stdout) on the pool. A full queue is answered 503 at once, with nothing queued.
//
// stdout is medusa's header_scanning_file: what the script writes goes through the CGI header
// scanner (cgi/header_scanner.h). The header block, when it ends, becomes the reply head
// (cgi::build_reply: Status, Content-Type default text/html, keep-alive and chunking by the
// request's version); the rest is the body, streamed to the client through a trigger_file as the
// script writes it, in a producer queued behind the head so pipelined replies keep their order.
// A script that writes no header block gets medusa's 502 page; one that throws before its
// header gets a 500 (after its header: the connection closes, so the client sees a cut reply);
// either way the worker goes on to the next job. If the client hangs up, the script's next
// write throws medusa::thread::connection_error, which the handler catches quietly.
// A worker writing faster than the client reads waits (trigger_file's max_in_flight).
// A local redirect (Location: /path, no Status, no body) is answered as a client redirect (302).
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cgi/cgi_reply.h"
#include "cgi/header_scanner.h"
#include "http/counter.h"
#include "http/handler.h"
#include "thread/request_queue.h"
#include "thread/trigger_file.h"

namespace medusa::http {
class http_request;
}

namespace medusa::thread {

// The CGI environment, name -> value (medusa's env dict).
using environment = std::map<std::string, std::string>;

struct reply_stream;

// A script's stdout (medusa's header_scanning_file over a thread_output_file). Used by the
// worker thread running the script, never shared.
class script_output {
public:
    // Throws connection_error once the client is known to have gone.
    void write(std::string_view data);
    // write() of each string, as Python's file.writelines (no separators added).
    void writelines(const std::vector<std::string>& lines);
    // Send what the body has buffered now (the header block is sent as soon as it ends).
    void flush();

    bool head_sent() const { return scanner_.head_sent(); }
    // Body bytes the script has written (after its header block).
    uint64_t bytes_out() const { return scanner_.body_bytes(); }

    script_output(const script_output&) = delete;
    script_output& operator=(const script_output&) = delete;

private:
    friend class script_handler;
    struct request_context;  // what the reply head needs to know about the request

    script_output(trigger_file out, std::shared_ptr<const request_context> ctx,
                  std::weak_ptr<http::http_request> request);
    void on_head(const cgi::scan_result& result);
    void on_body(std::string_view data);
    // The script has returned: finish the scan, end the body, let the channel go on.
    void close();
    // The script threw: a 500 if no head went out yet, otherwise close after what was sent.
    void abort();

    trigger_file out_;
    std::shared_ptr<const request_context> ctx_;
    std::weak_ptr<http::http_request> request_;
    std::shared_ptr<reply_stream> stream_;
    cgi::header_scanner scanner_;
    bool pass_body_ = false;
    bool chunked_ = false;
    std::optional<uint64_t> remaining_;  // Content-Length framing: bytes the client still expects
    bool closed_ = false;
};

// main(env, stdin, stdout), run on a worker thread.
using script = std::function<void(const environment& env, std::istream& in, script_output& out)>;

class script_handler : public http::handler, public std::enable_shared_from_this<script_handler> {
public:
    // Jobs go to `pool`, which must outlive the handler's requests (shut it down before the
    // loop stops: see trigger_file.h).
    explicit script_handler(worker_pool& pool, std::string document_root = "");

    // Mount `main` at /name (medusa's add_module(module, *names), one name per call).
    void add_module(const std::string& name, script main);

    bool match(http::http_request& request) override;
    void handle_request(std::shared_ptr<http::http_request> request) override;
    std::string status() override;

    http::counter requests;   // scripts queued
    http::counter rejected;   // answered 503: the queue was full
    http::counter failed;     // scripts that threw

    // Largest request body collected for a script (more: 413).
    uint64_t max_body = 16ull << 20;

private:
    class body_collector;
    const script* find(http::http_request& request) const;
    void continue_request(const std::shared_ptr<http::http_request>& request, std::string body);

    worker_pool& pool_;
    std::string document_root_;
    std::unordered_map<std::string, script> modules_;
};

}  // namespace medusa::thread
