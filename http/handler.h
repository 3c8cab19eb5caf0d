// handler: what an http_server hands requests to (medusa's handler protocol, which Python spells
// by convention: any object with match() and handle_request(), and optionally status()).
//
// The server asks each installed handler in turn, front to back, whether it match()es a request;
// the first that does gets handle_request(). A handler replies through the request (push(),
// setting reply headers, then done(), or error(code) in one call). It may reply later — from a
// timer, or from a worker thread through pull_trigger() — the channel waits, with reading paused,
// so pipelined replies still go out in order. An exception escaping handle_request() becomes a
// 500 reply (if none was sent yet) and counts in the server's `exceptions`.
//
//   class hello_handler : public medusa::http::handler {
//   public:
//       bool match(http_request& r) override { return r.split_uri().path == "/hello"; }
//       void handle_request(std::shared_ptr<http_request> r) override {
//           r->set("Content-Type", "text/plain");
//           r->push("hello\n");
//           r->done();  // no Content-Length: chunked on HTTP/1.1, close on HTTP/1.0
//       }
//   };
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace medusa::http {

class http_request;

class handler {
public:
    virtual ~handler() = default;
    virtual bool match(http_request& request) = 0;
    virtual void handle_request(std::shared_ptr<http_request> request) = 0;
    // An HTML fragment for the status page (medusa's optional status() method); "" for none.
    virtual std::string status() { return {}; }
};

using handler_ptr = std::shared_ptr<handler>;

// Whether `path` begins with `prefix`: what most match() functions ask ("/cgi-bin", "/status").
// Every handler asks it of every request that gets that far, and most paths differ from the
// prefix in its second byte (the first after the '/'): that byte is compared first, inline.
inline bool path_has_prefix(std::string_view path, std::string_view prefix) {
    if (path.size() < prefix.size()) return false;
    if (prefix.size() >= 2 && path[1] != prefix[1]) return false;
    return path.starts_with(prefix);
}

// A request body's consumer (medusa's request.collector). A handler that wants the body sets one
// with http_request::set_collector() before returning from handle_request(); the channel then
// feeds it exactly the body — Content-Length bytes, or a chunked body already de-chunked — and
// calls found_terminator() once at its end. A body nobody collects is read and thrown away.
class collector {
public:
    virtual ~collector() = default;
    virtual void collect_incoming_data(std::string_view data) = 0;
    virtual void found_terminator() = 0;
};

}  // namespace medusa::http
