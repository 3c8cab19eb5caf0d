// http_channel: one client connection of an http_server (medusa's http_server.http_channel).
//
// A request head is framed by a request_parser rather than a terminator (medusa waited for
// "\r\n\r\n"): each read goes to the parser whole, which stops right after the head and leaves
// the rest (its body, the next pipelined request) to async_chat (unread()), where it stays until
// it is wanted. So CRLF and bare-LF line ends both work, a request split anywhere across reads
// parses the same, and a head that arrives in one read is parsed in one pass. When a head is complete the channel builds an
// http_request and gives it to the first handler whose match() is true (none: 404; an exception:
// 500 and the server's `exceptions` counter).
//
// Bodies are always framed (medusa never read them: QUIRKS row 7): Content-Length bytes (a count
// terminator) or a chunked body (chunked_decoder, with exact count terminators for chunk data), fed
// to the request's collector if the handler set one, read and dropped otherwise. A body too large
// to drop (over max_discard_body), or one the client holds back for an "Expect: 100-continue"
// nobody answered, is not read: the reply then says Connection: close and the channel closes.
// A reply queued before its request's body has ended (an early error; a CGI script that answers
// while still reading its input) does not cut the body short: the rest is still read, to the
// collector or dropped, and only then is the next request read — or, when that reply closes the
// connection, the channel closes. Where the rest cannot be read (an unwanted body over
// max_discard_body, a 100-continue nobody answered, a body over max_body: 413) the channel closes
// after the reply. Either way body bytes are never parsed as a request.
//
// Order: while a request is outstanding (its handler has not called done(): a deferred or
// threaded handler) the channel pauses reading, so a pipelined request is not even parsed until
// the reply before it has been queued. done() resumes reading. A request with an on_close()
// callback (http_request.h) is the exception: its channel keeps reading (one buffer ahead,
// unframed) while it waits, so the client's end of file closes the channel and runs the callback.
//
// Internal redirects: redispatch() serves the request being served as another request (a CGI
// script's local redirect), on the same connection, in the same place in the pipeline.
//
// Errors in the request itself get medusa's error page and then the connection closes, after
// the replies to earlier pipelined requests (they were queued first): 400 malformed, 413 body over
// max_body, 414 request line over 8 KiB, 431 header block over 64 KiB, 505 a version other than
// HTTP/1.x. Each also writes a line through log_info().
//
// Timeouts (checked by the server's maintenance timer, not per request): a connection idle for
// zombie_timeout (medusa's 30 minutes) is closed; a request head that has not completed within
// header_timeout of its first byte, or a body that stalls for header_timeout, is closed sooner
// (slowloris).
//
// Hand-off: a handler may take the socket out of the loop with del_channel() (see dispatcher.h),
// then read the bytes the channel had already received but not framed with take_in_buffer().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/async_chat.h"
#include "http/chunked.h"
#include "http/counter.h"
#include "http/request_parser.h"

namespace medusa::http {

class http_server;
class http_request;

class http_channel : public async_chat {
public:
    // `conn` as dispatcher::accept() returns it (non-blocking, close-on-exec, its peer known).
    http_channel(http_server& server, accepted conn);
    ~http_channel() override;

    http_server& server() const { return *server_; }
    // medusa's channel_number (1, 2, ... over the process) and per-channel request count.
    uint64_t channel_number = 0;
    counter request_counter;
    // The request being served (its reply not yet queued, or its body still being read).
    std::shared_ptr<http_request> current_request() const { return current_; }

    // Seconds on the steady clock when the channel last received or sent bytes, and when the
    // request now arriving sent its first byte.
    clock::time_point last_used() const { return last_used_; }
    // Close the channel if a timeout has passed (called by the server's maintenance timer).
    void check_timeouts(clock::time_point now);

    std::string repr() const override;

    // After the last reply the channel shuts down its sending side and keeps reading (and
    // dropping) until the client closes, for at most linger_time or linger_max_bytes, so that
    // unread input does not turn the close into a reset that destroys the reply in flight.
    // Unless the client itself ended the conversation (HTTP/1.0 without keep-alive, or
    // "Connection: close"), sent all of its request and has nothing unread: then it closes at
    // once, as nginx does, since no more bytes are coming to cause a reset.
    static constexpr std::chrono::milliseconds linger_time{2000};
    static constexpr uint64_t linger_max_bytes = 1 << 20;
    // Start that lingering close now (the output queue calls it after the last reply).
    void begin_linger();

    // Internal redirect (RFC 3875 6.2.2, a CGI script's local redirect): serve `r`, the request
    // being served (not done), as if the client had sent `head` instead. A new http_request made
    // from `head` goes to the server's handlers and takes r's place in the channel: its reply
    // goes out where r's would have, pipelined requests wait behind it, and the connection stays
    // open or closes as for r (give `head` r's version and Connection header; a close r was due
    // is kept). r is finished with: its collector is dropped, and what it still pushes or done()s
    // goes nowhere (its on_close callback stays). A body r was still receiving is read and
    // dropped (Content-Length up to max_discard_body); a chunked or larger one is not, and the
    // connection closes after the new reply. The new request's internal_redirects() is r's plus
    // one: the caller bounds it. Returns the new request; null, doing nothing, when r is not the
    // channel's unfinished request or the channel has closed. Call it later than r's
    // handle_request() (from a script's output, a timer, a thread's thunk): inside it, it throws
    // std::logic_error.
    std::shared_ptr<http_request> redispatch(const std::shared_ptr<http_request>& r,
                                             parsed_request head);

    // --- async_chat / dispatcher hooks -------------------------------------------------------
    void collect_incoming_data(std::string_view data) override;
    void found_terminator() override;
    void handle_read() override;
    void handle_write() override;
    bool readable() override;
    void close() override;

private:
    friend class http_request;
    enum class phase {
        header,   // reading a request head
        body,     // reading the current request's body
        waiting,  // the body (if any) is read; the reply is not queued yet; reading paused
        closing,  // the last reply is queued; input is read and dropped until the close
    };

    // Bytes of a request head arrive: parse them, and dispatch the request once it is whole.
    void read_head(std::string_view data);
    // The parser of the head now arriving: the channel's own, or the server's (see read_head).
    request_parser& head_parser();
    // A request whose head is complete: its framing, then its handler.
    void dispatch(std::shared_ptr<http_request> r);
    void start_body();
    void body_data(std::string_view data);
    void end_of_body();
    void next_request();
    // The first handler whose match() is true gets r (none: 404); false when none matched.
    bool run_handlers(const std::shared_ptr<http_request>& r);
    // Called by http_request::on_close(): run r's callback if the channel closes first.
    void watch_close(std::weak_ptr<http_request> r);
    // A request that cannot be served: medusa's error page, then close.
    void protocol_error(int code, std::string_view reason);
    void enter_closing();
    // Close the connection once request r's reply has gone, whether or not it is queued yet.
    void close_after_reply(http_request& r);
    // Close once every queued reply has been written, lingering (see begin_linger).
    void close_after_output();
    // Run handler code; an exception becomes a 500 (if no reply yet) and counts in `exceptions`.
    // (A template, defined in the .cc where it is used, so the call costs no std::function.)
    template <class F>
    void run_guarded(const std::shared_ptr<http_request>& r, const char* what, F&& fn);
    void handler_failed(const std::shared_ptr<http_request>& r, const char* what,
                        std::string_view why);

    // The request asked for "100-continue" and no 100 has been sent.
    bool expect_unanswered(const http_request& r) const;
    // Called by http_request::done() with the reply ready to queue.
    bool must_close_after(const http_request& r) const;
    // `client_closes`: the request said the client sends nothing after it (HTTP/1.0 without
    // keep-alive, "Connection: close"), which lets the close skip the lingering (begin_linger).
    void reply_queued(http_request& r, bool close, bool client_closes = false);
    // The client sent nothing after the closing request: none dropped, none waiting to be read
    // (in the channel, the io_uring ring, or the socket).
    bool nothing_unread();

    http_server* server_;
    phase phase_ = phase::header;
    // A parser of its own only while a request head spans reads (a head that arrives whole is
    // parsed by the server's), and a decoder while a chunked body arrives: a channel waiting for
    // its next request holds neither (10,000 idle keep-alive connections cost 10,000 x 300 bytes
    // less).
    std::unique_ptr<request_parser> parser_;
    std::unique_ptr<chunked_decoder> chunks_;
    std::shared_ptr<http_request> current_;
    uint64_t body_remaining_ = 0;  // Content-Length bytes still to come
    bool body_collected_ = false;  // the current body goes to a collector
    bool body_pending_ = false;    // the current request has a body not yet read to its end
    bool continue_sent_ = false;   // "HTTP/1.1 100 Continue" went out for the current request
    bool dispatching_ = false;
    bool close_after_body_ = false;  // a closing reply is queued; close once the body has ended
    // Requests with on_close(); made on the first (most channels never have one).
    std::unique_ptr<std::vector<std::weak_ptr<http_request>>> close_watchers_;
    bool linger_queued_ = false;
    // The closing request said the client sends nothing after it, and its body had all come.
    bool client_closes_ = false;
    bool lingering_ = false;
    uint64_t linger_bytes_ = 0;
    timer_id linger_timer_ = 0;  // cancelled by close()
    clock::time_point last_used_;
    clock::time_point request_started_;
};

}  // namespace medusa::http
