// http_request: one request and the reply being built for it (medusa's http_server.http_request).
//
// The channel creates it when a request head has arrived and hands it (as a shared_ptr) to the
// first matching handler. The handler reads the request (command(), uri(), split_uri(),
// get_header()), sets reply headers by name (set/get/remove, add_header for repeated names such
// as Set-Cookie), pushes the body (strings or producers), and calls done() — or error(code),
// which sends medusa's HTML error page and calls done() itself.
//
// done() is where medusa's keep-alive and chunking rules live (see keepalive.h): it finishes the
// header block, decides whether the connection stays open, wraps the body in chunked coding
// when an HTTP/1.1 reply has no Content-Length, and queues everything on the channel: the header
// block and string bodies go out together in one writev, file bodies by sendfile. The access log
// line is written when the last byte of the reply has been handed to the socket:
//   127.0.0.1:54321 - - [24/Nov/2026:22:40:01 +0000] "GET / HTTP/1.1" 200 283
// (the byte count is the whole reply, header block included, as medusa's hooked_producer counts).
// On a server that writes no access log, a reply that is queued whole is counted in bytes_out at
// once (unless an on_close() callback waits for it to be out): there is no line to wait for.
//
// Threads: a request belongs to the loop thread. A handler working on another thread calls
// done() (and push()) through a thunk given to pull_trigger(). If the client has gone meanwhile,
// done() does nothing.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "asyncore/async_chat.h"
#include "asyncore/producers.h"
#include "asyncore/small_vector.h"
#include "http/header_list.h"
#include "http/handler.h"
#include "http/keepalive.h"
#include "http/request_parser.h"

namespace medusa::http {

class http_channel;
class http_server;

class http_request : public std::enable_shared_from_this<http_request>, private send_hook {
public:
    // `channel` may be null (a request built for a test, or for an error before any request).
    http_request(std::shared_ptr<http_channel> channel, parsed_request&& head);
    // The head a parser has completed, taken straight from it (parser.take()).
    http_request(std::shared_ptr<http_channel> channel, request_parser& parser);
    http_request(const http_request&) = delete;
    http_request& operator=(const http_request&) = delete;

    // --- the request -----------------------------------------------------------------------
    // The request line as received (medusa's .request): "GET /a%20b?x=1 HTTP/1.1".
    std::string_view request() const { return head_.request_line(); }
    std::string_view command() const { return head_.command(); }
    // medusa's .uri: the path percent-decoded once, then "?query" as received.
    std::string_view uri() const { return uri_.empty() ? head_.uri() : std::string_view(uri_); }
    // The URI exactly as received.
    std::string_view raw_uri() const { return head_.uri(); }
    // The version as received ("1.1"); "" when the request line had none.
    std::string_view version() const { return head_.version(); }
    http_version version_kind() const { return version_; }

    // <path>;<params>?<query>#<fragment> of the received URI, the path percent-decoded once
    // ("/a%2520b" gives "/a%20b"); params/query/fragment keep their ';', '?', '#'. Views that
    // last as long as the request (a path with no '%' is a view of the received URI itself: no
    // copy, whatever its length).
    struct uri_split {
        std::string_view path, params, query, fragment;
    };
    const uri_split& split_uri() { return split_ ? *split_ : split_now(); }

    // A request header by name, case-insensitive; nullopt when absent. The first header of that
    // name wins, as medusa's. (medusa cached the answers per name; a scan of a head's handful of
    // fields, a length compare each, costs less than a cache would.)
    std::optional<std::string_view> get_header(std::string_view name) const {
        return head_.get_header(name);
    }
    const parsed_request& head() const { return head_; }

    // --- reply headers -----------------------------------------------------------------------
    // medusa's request[name] = value: replaces the (first) header of that name, or adds it.
    // Names compare case-insensitively. Server and Date are set from the start.
    void set(std::string_view name, std::string_view value);
    void set(std::string_view name, uint64_t value);
    // set() each header of a prepared list, in its order (see header_list::set).
    void set(const header_list& headers) {
        if (preamble_pending_ && (headers.may_have("Server") || headers.may_have("Date")))
            write_preamble();
        reply_headers_.set(headers);
    }
    // (The view lasts until the next change to the reply headers.)
    std::optional<std::string_view> get(std::string_view name) const {
        if (preamble_pending_ && is_preamble_name(name)) return get_after_preamble(name);
        return reply_headers_.get(name);
    }
    bool has(std::string_view name) const { return get(name).has_value(); }
    // Every header of that name (or only the one with that value). False when none matched
    // (medusa raised LookupError).
    bool remove(std::string_view name, std::optional<std::string_view> value = std::nullopt);
    // Another header of this name, kept beside any existing ones (Set-Cookie).
    void add_header(std::string_view name, std::string_view value);
    void clear_headers();
    // Every reply header, in order (name and value of each: reply_headers()[i].name).
    const header_list& reply_headers() const {
        write_preamble();
        return reply_headers_;
    }

    // --- the reply ---------------------------------------------------------------------------
    int reply_code = 200;
    // The status line's reason phrase; empty means medusa's table (reason(reply_code)). A CGI
    // script's "Status: 302 Moved" sets "Moved".
    std::string reply_reason;
    // medusa's use_chunked: wrap an HTTP/1.1 reply without Content-Length in chunked coding.
    bool use_chunked = true;

    // Queue body data (sent after the header block, in push order).
    void push(std::string data);
    void push(std::string_view data) { push(std::string(data)); }
    void push(const char* data) { push(std::string(data)); }
    // Bytes owned elsewhere and kept alive by `data` (a cached file's content): sent from there,
    // never copied, unless a small reply is gathered into one buffer.
    void push(std::shared_ptr<const std::string> data);
    void push(producer_ptr p);

    // "HTTP/1.1 404 Not Found" for this request's version; sets reply_code (medusa's response()).
    std::string response(int code);
    // medusa's error page for `code`, with Content-Length and Content-Type: text/html, then done().
    void error(int code);
    // medusa's reply_now: the same as error(code), used for empty-ish replies such as 201.
    void reply_now(int code) { error(code); }
    // Finish: decide keep-alive and chunking, queue the reply on the channel. Once only.
    void done();
    bool is_done() const { return done_; }
    // Make done() close the connection after this reply (the reply says Connection: close).
    void close_after() { force_close_ = true; }

    // --- when the client goes away ---------------------------------------------------------
    // Run `f` once, in the loop thread, if the channel closes before this request's reply has
    // been handed to the socket in full: the client disconnected or reset, a send failed, a
    // timeout closed the connection. Not run once the reply is out (its log line is written),
    // nor after a hand-off (del_channel). A handler doing slow work for the request (a CGI
    // script, a query on a thread) uses it to stop that work at once:
    //   r->on_close([weak = std::weak_ptr(job)] { if (auto j = weak.lock()) j->cancel(); });
    // While a request with a callback waits for its reply, the channel keeps watching its socket
    // (reading at most one buffer ahead, pipelined requests left unframed), so a client that gives
    // up is seen at once, not when the reply is ready. As in medusa, whose channel never stopped
    // reading, a client's end of file counts as leaving: one that half-closes after its request
    // (shutdown(SHUT_WR)) and waits for a slow reply loses it.
    // Call it in the loop thread; the request keeps `f` until then, so capture weak pointers.
    // Setting it again replaces it; nullptr removes it. Returns false (and keeps nothing) when the
    // channel has already closed.
    bool on_close(std::function<void()> f);

    // How many internal redirects (http_channel::redispatch) led to this request: 0 for one the
    // client sent. A handler that redirects bounds it (a script redirecting to itself).
    int internal_redirects() const { return internal_redirects_; }

    // The reason phrase medusa's table gives a code ("Not Found"); "Unknown" when absent.
    static std::string_view reason(int code);
    // medusa's DEFAULT_ERROR_MESSAGE for `code`, byte for byte (CRLF line ends).
    static std::string error_page(int code);
    // "24/Nov/2026:22:40:01 +0000": medusa's log_date_string (GMT fields, local zone offset).
    static std::string log_date_string(time_t when);

    // --- the body ----------------------------------------------------------------------------
    // Set before returning from handle_request() to receive the body (see collector).
    void set_collector(std::shared_ptr<collector> c) { collector_ = std::move(c); }
    collector* get_collector() const { return collector_.get(); }
    std::shared_ptr<collector> take_collector() { return std::move(collector_); }
    // The body's framing, as the channel read it from the request headers.
    bool has_body() const { return body_chunked_ || body_length_ > 0; }
    bool body_chunked() const { return body_chunked_; }
    uint64_t body_length() const { return body_length_; }  // 0 when chunked or absent

    // --- where it came from ------------------------------------------------------------------
    // The channel, or null once it has closed (a reply from a thread that finishes late).
    std::shared_ptr<http_channel> channel() const { return channel_.lock(); }
    // The server the channel belongs to, or null (test requests).
    http_server* server() const { return server_; }
    // This request's number among all requests of the process (medusa's request_counter).
    uint64_t request_number = 0;

    // Write the access log line for a reply of `bytes` bytes (called when it has been sent).
    void log(uint64_t bytes);
    // The same line for a request answered elsewhere (a hand-off thread, after the fact), counted
    // in the server's bytes_out: "PORT - - [DATE] "REQUEST" CODE BYTES" logged for HOST.
    static void log_reply(http_server& server, std::string_view host, uint16_t port,
                          std::string_view request_line, int code, uint64_t bytes);

private:
    friend class http_channel;
    // What both constructors do once the head is in place.
    void start(std::shared_ptr<http_channel> channel);
    // split_uri() the first time, for a URI the constructor did not split.
    const uri_split& split_now();
    // The headers the keep-alive decision adds (Transfer-Encoding, Connection).
    void finish_headers(const keepalive_decision& d);
    // "HTTP/1.1 200 OK\r\n" for this version and code, with `phrase` or else reason(code). The
    // view lasts until the thread's next call.
    static std::string_view status_line(http_version version, int code, std::string_view phrase);
    // Server and Date, which every reply starts with: medusa sets them when the request is made.
    // Here the request notes the second (date_) and leaves them out of its list until something
    // asks for them or for the whole list (write_preamble()); done() writes the thread's prepared
    // lines for them ahead of the list. A reply then costs no copy of them into its list.
    void set_server_and_date();
    static bool is_preamble_name(std::string_view name) {
        return (name.size() == 6 && iequals(name, "Server")) ||
               (name.size() == 4 && iequals(name, "Date"));
    }
    // The Server and Date lines for this request (the server's name as it stands, date_).
    const header_list& preamble() const;
    // Put them into reply_headers_, ahead of the rest, if they are not there yet.
    void write_preamble() const;
    // For a look-up or change of Server or Date while they are pending: write_preamble(), with
    // the name and value it was given copied first (either may be a view of the list's bytes,
    // which writing Server and Date in ahead of them moves).
    struct named {
        std::string name, value;
    };
    named write_preamble_keeping(std::string_view name, std::string_view value) const;
    // get(name) of Server or Date while they are pending.
    std::optional<std::string_view> get_after_preamble(std::string_view name) const;
    // Forget what a handler had set and pushed before it failed, so that its 500 page goes out
    // alone: a Content-Length it had set (say 1000) would otherwise frame the page with the body
    // it had pushed ahead of it, and desynchronise the pipelined replies that follow.
    void discard_reply();
    // The reply has been handed to the socket in full: write its log line (push_hook).
    void sent() override;

    std::weak_ptr<http_channel> channel_;
    http_server* server_ = nullptr;
    parsed_request head_;
    std::string uri_;  // medusa's decoded .uri, when it differs from the raw one
    http_version version_;
    std::optional<uri_split> split_;
    std::string decoded_path_;  // split_->path, when the received one had to be decoded
    // (mutable: a const look-up of Server or Date writes them in first; see write_preamble())
    mutable header_list reply_headers_;
    mutable bool preamble_pending_ = false;
    time_t date_ = 0;  // the second the request was made (its Date)
    // What push() queued: a reply body is nearly always one piece, kept inline.
    using shared_bytes = std::shared_ptr<const std::string>;
    small_vector<std::variant<std::string, shared_bytes, producer_ptr>, 2> outgoing_;
    std::shared_ptr<collector> collector_;
    bool done_ = false;
    bool force_close_ = false;
    bool body_chunked_ = false;
    uint64_t body_length_ = 0;
    uint64_t producer_bytes_ = 0;  // bytes the reply's producers have produced (for the log)
    uint64_t log_bytes_ = 0;       // the rest of the reply: header block and byte pieces
    std::function<void()> on_close_;  // see on_close(); cleared when the reply is out
    int internal_redirects_ = 0;
};

}  // namespace medusa::http
