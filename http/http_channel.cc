#include "http/http_channel.h"

#include <fmt/format.h>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <stdexcept>

#include "asyncore/block_pool.h"
#include "asyncore/tally.h"
#include "asyncore/uring_poller.h"
#include "http/http_request.h"
#include "http/http_server.h"

namespace medusa::http {

namespace {

std::atomic<uint64_t> channel_count{0};

// Content-Length: digits only; every Content-Length header must agree (RFC 9112 section 6.3).
// nullopt for an invalid value; 0 with `present` false when there is none.
std::optional<uint64_t> content_length(const parsed_request& head, bool& present) {
    present = false;
    uint64_t length = 0;
    if (!head.may_have("Content-Length")) return length;
    for (size_t i = 0; i < head.field_count(); ++i) {
        header_field f = head.field(i);
        if (!iequals(f.name, "Content-Length")) continue;
        if (f.value.empty() || f.value.size() > 18) return std::nullopt;
        uint64_t v = 0;
        for (char c : f.value) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + uint64_t(c - '0');
        }
        if (present && v != length) return std::nullopt;
        present = true;
        length = v;
    }
    return length;
}

bool token_in(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view t = list.substr(0, comma);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (iequals(t, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// The last coding of a Transfer-Encoding list ("gzip, chunked" -> "chunked").
std::string_view last_coding(std::string_view te) {
    size_t comma = te.rfind(',');
    std::string_view t = comma == std::string_view::npos ? te : te.substr(comma + 1);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    return t;
}

// Queued after a connection's last reply and its half-close: when the channel reaches it, the
// reply and the FIN are in the socket, and the channel starts its lingering close.
class linger_hook final : public send_hook {
public:
    explicit linger_hook(std::weak_ptr<http_channel> ch) : channel_(std::move(ch)) {}
    void sent() override {
        if (auto ch = channel_.lock()) ch->begin_linger();
    }

private:
    std::weak_ptr<http_channel> channel_;
};

// A request, in a block of this thread's pool: made and let go once per request, it allocates
// nothing once the pool has a block to spare.
std::shared_ptr<http_request> make_request(std::shared_ptr<http_channel> channel,
                                           parsed_request&& head) {
    return std::allocate_shared<http_request>(pool_allocator<http_request>{}, std::move(channel),
                                              std::move(head));
}
// The same, the head taken from the parser that completed it (moved once, into the request).
std::shared_ptr<http_request> make_request(std::shared_ptr<http_channel> channel,
                                           request_parser& parser) {
    return std::allocate_shared<http_request>(pool_allocator<http_request>{}, std::move(channel),
                                              parser);
}

}  // namespace

http_channel::http_channel(http_server& server, accepted conn)
    : async_chat(conn, server.map()), server_(&server) {
    channel_number = tally_add(channel_count, 1);
    // medusa's http_channel uses a larger output buffer (ac_out_buffer_size = 1<<16).
    ac_out_buffer_size = 1 << 16;
    set_terminator(nullptr);  // heads are framed by the request parser (read_head)
    last_used_ = map().now();
    request_started_ = last_used_;
}

http_channel::~http_channel() = default;

std::string http_channel::repr() const {
    std::string ar = async_chat::repr();
    if (ar.size() >= 2 && ar.front() == '<' && ar.back() == '>') ar = ar.substr(1, ar.size() - 2);
    return fmt::format("<{} channel#: {} requests:{}>", ar, channel_number,
                       request_counter.as_long());
}

void http_channel::handle_read() {
    last_used_ = map().now();  // (the loop's time of this pass: timeouts count in seconds)
    async_chat::handle_read();
}

void http_channel::handle_write() {
    last_used_ = map().now();
    async_chat::handle_write();
}

void http_channel::close() {
    // Requests whose replies have not all gone out hear of the close (http_request::on_close);
    // held here, since the request in progress may have no other owner than current_.
    std::vector<std::shared_ptr<http_request>> watchers;
    if (close_watchers_) {
        for (const auto& w : *close_watchers_)
            if (auto r = w.lock(); r && r->on_close_) watchers.push_back(std::move(r));
        close_watchers_.reset();
    }
    // Drop the request in progress (and its collector: a PUT's half-written file is closed).
    current_.reset();
    async_chat::close();
    // A pending linger timer holds a weak_ptr, and with make_shared that pins the channel's whole
    // allocation for up to linger_time: 15k connections/s would keep ~30 MB alive. Cancel it.
    // (After async_chat::close(): on io_uring that may tell the linger hook, which arms it or
    // closes at once.)
    if (linger_timer_ != 0) {
        map().cancel(linger_timer_);
        linger_timer_ = 0;
    }
    // Now that the channel is closed (a callback that looks at it sees closed()).
    for (const auto& r : watchers) {
        if (!r->on_close_) continue;  // an earlier callback removed it
        auto f = std::move(r->on_close_);
        r->on_close_ = nullptr;
        f();
    }
}

void http_channel::watch_close(std::weak_ptr<http_request> r) {
    // Forget requests that have gone or whose replies are out, so that a long keep-alive
    // connection does not collect one entry per request.
    auto added = r.lock();
    if (!close_watchers_) close_watchers_ = std::make_unique<std::vector<std::weak_ptr<http_request>>>();
    std::erase_if(*close_watchers_, [&](const std::weak_ptr<http_request>& w) {
        auto p = w.lock();
        return !p || !p->on_close_ || p == added;
    });
    close_watchers_->push_back(std::move(r));
    // A request waiting for its reply: readable() now watches the socket.
    update_interest();
}

bool http_channel::readable() {
    // Reading is paused while a request waits for its reply, so the client's end of file would
    // go unseen until then. A request that asked to hear of it (on_close: a CGI script to kill)
    // keeps the socket watched: at most one more buffer is read (pipelined requests stay
    // unframed in it until their turn), and an end of file or reset closes the channel.
    if (phase_ == phase::waiting && reading_paused() && current_ && current_->on_close_)
        return ac_in_buffer().size() < ac_in_buffer_size;
    // The last reply is on its way to a client that said it sends nothing after its request
    // (HTTP/1.0 without keep-alive, "Connection: close"): nothing is read while the reply goes
    // out. begin_linger() then looks (FIONREAD) and reads only if the client sent more after
    // all. A client that goes away meanwhile fails a send, which closes the channel. (On
    // io_uring a read armed here would be one more operation per connection, then a cancel at
    // the close.) Not while the reply is stalled (a script's output not ready: no send would
    // meet the client's going) or the request asked to hear of a close (on_close: a script to
    // kill at once): then the socket stays watched, its end of file seen as it comes.
    if (phase_ == phase::closing && client_closes_ && !lingering_ && async_chat::writable() &&
        !(current_ && current_->on_close_))
        return false;
    return async_chat::readable();
}

void http_channel::handler_failed(const std::shared_ptr<http_request>& r, const char* what,
                                  std::string_view why) {
    server_->exceptions.increment();
    log_info(fmt::format("Server Error: {}: {}", what, why), "error");
    if (!r->is_done()) {
        r->take_collector();
        r->discard_reply();
        r->error(500);
    }
}

template <class F>
void http_channel::run_guarded(const std::shared_ptr<http_request>& r, const char* what, F&& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        handler_failed(r, what, e.what());
    } catch (...) {
        handler_failed(r, what, "unknown exception");
    }
}

// --- input -----------------------------------------------------------------------------------

void http_channel::collect_incoming_data(std::string_view data) {
    switch (phase_) {
        case phase::header:
            read_head(data);
            break;
        case phase::body:
            server_->bytes_in.increment(data.size());
            body_data(data);
            break;
        case phase::waiting:
            server_->bytes_in.increment(data.size());
            break;  // reading is paused while waiting
        case phase::closing:
            server_->bytes_in.increment(data.size());
            // Input after the last request is dropped; a lingering close reads a bounded amount.
            linger_bytes_ += data.size();
            if (linger_bytes_ > linger_max_bytes) close();
            break;
    }
}

request_parser& http_channel::head_parser() { return parser_ ? *parser_ : server_->head_parser_; }

void http_channel::read_head(std::string_view data) {
    // A head that arrives whole (nearly all do) is parsed by the server's parser; a channel keeps
    // one of its own only while a head is split across reads.
    if (!parser_) {
        request_started_ = last_used_;  // the header timeout counts from the head's first byte
        server_->head_parser_.set_limits(server_->limits);
    }
    request_parser& p = head_parser();
    // The server's parser is left clean on every way out of here, an exception included: the
    // next connection's head starts from it. (A channel's own parser goes once its head ends.)
    // One that has taken in no byte since its last reset (take() resets it) is clean already.
    struct clean_shared_parser {
        http_server& server;
        bool shared;
        ~clean_shared_parser() {
            if (shared && server.head_parser_.started()) server.head_parser_.reset();
        }
    } guard{*server_, !parser_};
    size_t used = p.feed(data);
    server_->bytes_in.increment(used);
    // What follows the head (a body, the next pipelined request, or the bytes after an error)
    // goes back to async_chat, to be framed as whatever comes next.
    unread(data.size() - used);
    switch (p.state()) {
        case request_parser::status::complete: {
            // (The channel's shared_ptr moved all the way in: each copy is a count to change.)
            auto r = make_request(std::static_pointer_cast<http_channel>(shared_from_this()), p);
            parser_.reset();
            dispatch(std::move(r));
            break;
        }
        case request_parser::status::empty:
            // A leading CRLFCRLF: medusa closes without a reply (QUIRKS row 16, kept).
            parser_.reset();
            enter_closing();
            close_after_output();
            break;
        case request_parser::status::error:
            protocol_error(p.error_code(), p.error_reason());  // takes the head so far from p
            parser_.reset();
            break;
        default:
            // The head goes on in the next read: the channel keeps the parser's state.
            if (!parser_) parser_ = std::make_unique<request_parser>(std::move(server_->head_parser_));
            break;
    }
}

void http_channel::found_terminator() {
    switch (phase_) {
        case phase::header:
            break;  // heads are framed by the request parser (read_head), not by a terminator
        case phase::body:
            if (current_ && current_->body_chunked()) {
                // A line terminator ("\n") or the end of a chunk's data (a count).
                if (std::holds_alternative<std::string>(get_terminator())) {
                    server_->bytes_in.increment(1);
                    body_data("\n");
                }
                if (phase_ != phase::body) return;
                if (chunks_->done()) {
                    end_of_body();
                } else if (chunks_->data_remaining() > 0) {
                    set_terminator(size_t(chunks_->data_remaining()));
                } else {
                    set_terminator("\n");
                }
            } else {
                body_remaining_ = 0;
                end_of_body();
            }
            break;
        case phase::waiting:
        case phase::closing:
            break;
    }
}

void http_channel::body_data(std::string_view data) {
    auto deliver = [this](std::string_view piece) {
        if (body_collected_ && current_ && current_->get_collector()) {
            auto r = current_;
            run_guarded(r, "collector", [&] { r->get_collector()->collect_incoming_data(piece); });
        }
    };
    if (!current_) return;
    if (!current_->body_chunked()) {
        body_remaining_ -= std::min<uint64_t>(body_remaining_, data.size());
        deliver(data);
        return;
    }
    chunks_->feed(data, deliver);
    if (phase_ != phase::body) return;
    if (chunks_->failed()) {
        protocol_error(400, fmt::format("bad chunked body: {}", chunks_->error()));
        return;
    }
    uint64_t limit = body_collected_ ? server_->max_body : server_->max_discard_body;
    if (chunks_->body_bytes() > limit) {
        if (body_collected_) {
            protocol_error(413, fmt::format("chunked body larger than {} bytes", limit));
        } else {
            // Not worth reading: close once the reply (queued or still to come) has gone.
            log_info(fmt::format("unwanted chunked body larger than {} bytes: closing", limit),
                     "warning");
            close_after_reply(*current_);
        }
    }
}

// --- requests --------------------------------------------------------------------------------

void http_channel::dispatch(std::shared_ptr<http_request> r) {
    request_counter.increment();
    server_->total_requests.increment();
    current_ = r;
    phase_ = phase::waiting;
    body_remaining_ = 0;
    body_collected_ = false;
    close_after_body_ = false;
    continue_sent_ = false;
    chunks_.reset();

    if (r->version_kind() == http_version::unsupported) {
        protocol_error(505, fmt::format("unsupported version HTTP/{}", r->version()));
        return;
    }
    // The body's framing: Transfer-Encoding wins over Content-Length (RFC 9112 section 6.3).
    bool has_length = false;
    auto length = content_length(r->head(), has_length);
    if (auto te = r->get_header("Transfer-Encoding")) {
        if (!iequals(last_coding(*te), "chunked")) {
            protocol_error(501, fmt::format("unsupported Transfer-Encoding '{}'", *te));
            return;
        }
        r->body_chunked_ = true;
        chunks_ = std::make_unique<chunked_decoder>();  // made only for a chunked body
        // The parser has read and checked the first chunk-size line with the head (a bad one is
        // a 400 before any handler runs): the decoder starts after it.
        if (auto line = r->head().first_chunk_line()) {
            chunks_->feed(*line, [](std::string_view) {});
            chunks_->feed("\n", [](std::string_view) {});
        }
        // Both framings, or chunked from an HTTP/1.0 client: the parser answers those 400 (a
        // smuggling attempt); should one get here, serve it, then close.
        if (has_length || r->version_kind() != http_version::http11) r->close_after();
    } else if (!length) {
        protocol_error(400, "invalid Content-Length");
        return;
    } else {
        r->body_length_ = *length;
        body_remaining_ = *length;
    }
    body_pending_ = r->has_body();

    run_handlers(r);

    // A handler may have taken the socket (del_channel) or closed the channel.
    if (closed() || !in_map() || phase_ == phase::closing) return;
    if (current_ != r) return;
    if (body_pending_) {
        start_body();
    } else if (r->is_done()) {
        next_request();
    } else {
        phase_ = phase::waiting;
        pause_reading();
    }
}

bool http_channel::run_handlers(const std::shared_ptr<http_request>& r) {
    // Handler selection and dispatch (medusa: the first handler whose match() is true).
    dispatching_ = true;
    bool matched = false;
    run_guarded(r, "handler", [&] {
        for (const auto& h : server_->handlers()) {
            if (h->match(*r)) {
                matched = true;
                h->handle_request(r);
                break;
            }
        }
    });
    dispatching_ = false;
    if (!matched && !r->is_done()) r->error(404);
    return matched;
}

std::shared_ptr<http_request> http_channel::redispatch(const std::shared_ptr<http_request>& r,
                                                       parsed_request head) {
    // Inside handle_request() the dispatch that called it would go on with the old request.
    if (dispatching_)
        throw std::logic_error("http_channel::redispatch() called from inside handle_request()");
    if (closed() || !in_map() || !r || r != current_ || r->is_done()) return nullptr;
    auto self = std::static_pointer_cast<http_channel>(shared_from_this());
    auto next = make_request(self, std::move(head));
    next->internal_redirects_ = r->internal_redirects_ + 1;
    if (r->force_close_) next->close_after();
    // r is finished with: whatever its handler still does for it reaches nobody.
    r->take_collector();
    r->outgoing_.clear();
    r->done_ = true;
    current_ = next;
    if (body_pending_ && phase_ == phase::body) {
        // The rest of r's body is dropped. The new request has no body of its own, so the framing
        // read from r's headers stays usable only for a Content-Length body (body_data reads the
        // current request's); a chunked one, or one too large to drop, is not read: close.
        body_collected_ = false;
        if (r->body_chunked() || body_remaining_ > server_->max_discard_body ||
            expect_unanswered(*r)) {
            next->close_after();
            enter_closing();
        } else if (reading_paused()) {
            resume_reading();  // a pause for r's handler (its consumer was slow) is over
        }
    }
    run_handlers(next);
    if (closed() || !in_map() || phase_ == phase::closing || current_ != next) return next;
    if (phase_ == phase::waiting && next->is_done()) {
        next_request();
        resume_reading();
    }
    return next;
}

bool http_channel::expect_unanswered(const http_request& r) const {
    if (continue_sent_ || r.version_kind() != http_version::http11) return false;
    auto expect = r.get_header("Expect");
    return expect && token_in(*expect, "100-continue");
}

void http_channel::start_body() {
    auto r = current_;
    phase_ = phase::body;
    body_collected_ = r->get_collector() != nullptr;
    if (body_collected_) {
        if (!r->body_chunked() && r->body_length() > server_->max_body) {
            protocol_error(413, fmt::format("body of {} bytes, more than {}", r->body_length(),
                                            server_->max_body));
            return;
        }
        if (!r->is_done() && expect_unanswered(*r)) {
            push(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
            continue_sent_ = true;
        }
    } else if (!r->body_chunked() && body_remaining_ > server_->max_discard_body) {
        // Too large to read and drop: the reply (queued or to come) closes the connection.
        log_info(fmt::format("unwanted body of {} bytes not read: closing", body_remaining_),
                 "warning");
        close_after_reply(*r);
        return;
    } else if (expect_unanswered(*r)) {
        // The client waits for a 100 that will not come; the reply closes instead.
        close_after_reply(*r);
        return;
    }
    if (r->body_chunked() && chunks_->data_remaining() > 0) {
        set_terminator(size_t(chunks_->data_remaining()));  // the first chunk's data
    } else if (r->body_chunked()) {
        set_terminator("\n");
    } else {
        set_terminator(size_t(body_remaining_));
    }
}

void http_channel::end_of_body() {
    auto r = current_;
    body_pending_ = false;
    if (!r) return;
    if (body_collected_ && r->get_collector()) {
        run_guarded(r, "collector", [&] { r->get_collector()->found_terminator(); });
    }
    if (closed() || !in_map() || phase_ == phase::closing) return;
    if (close_after_body_) {
        // The reply, queued before the body ended, closes the connection: now it may.
        enter_closing();
        close_after_output();
        return;
    }
    if (current_ != r) return;
    if (r->is_done()) {
        next_request();
    } else {
        phase_ = phase::waiting;
        set_terminator("\n");
        pause_reading();
    }
}

void http_channel::next_request() {
    current_.reset();
    phase_ = phase::header;
    body_pending_ = false;
    set_terminator(nullptr);  // the next head is framed by the request parser
}

void http_channel::enter_closing() {
    phase_ = phase::closing;
    body_pending_ = false;
    // Keep reading and dropping what the client still sends, so that the close does not meet
    // unread input (which makes the kernel answer with a reset that can destroy the reply).
    set_terminator(nullptr);
    if (reading_paused()) resume_reading();
}

void http_channel::protocol_error(int code, std::string_view reason) {
    log_info(fmt::format("{} {} from {}: {}", code, http_request::reason(code),
                         addr().to_string(), reason),
             "error");
    std::shared_ptr<http_request> r;
    if (current_ && !current_->is_done()) {
        r = current_;  // an error inside its body, or in its head's framing
    } else if (current_) {
        // The reply is already queued: just close after it.
        enter_closing();
        close_after_output();
        return;
    } else {
        auto self = std::static_pointer_cast<http_channel>(shared_from_this());
        // The head as far as it was parsed (its request line, for the log), if it got that far.
        request_parser& p = head_parser();
        r = make_request(self, p.started() ? p.take() : parsed_request{});
        request_counter.increment();
        server_->total_requests.increment();
        current_ = r;
    }
    enter_closing();
    r->take_collector();
    r->close_after();
    r->error(code);
}

bool http_channel::must_close_after(const http_request& r) const {
    if (&r != current_.get()) return false;
    if (phase_ == phase::closing) return true;
    if (!body_pending_ || r.get_collector()) return false;
    // An unwanted body is read and dropped, unless it is too large or the client holds it back
    // waiting for a 100 Continue.
    if (expect_unanswered(r)) return true;
    return !r.body_chunked() && body_remaining_ > server_->max_discard_body;
}

void http_channel::reply_queued(http_request& r, bool close, bool client_closes) {
    if (close) {
        // (Taken now: enter_closing() below forgets whether the body is still arriving.)
        client_closes_ = client_closes && !body_pending_;
        // A reply that came before the end of a body that goes to a collector (a CGI script
        // answering an HTTP/1.0 POST while still reading it): the collector gets the rest all
        // the same, and the channel closes once the body has ended (end_of_body). A client that
        // holds the body back for a 100 Continue may never send it: no waiting for that one.
        bool collecting = phase_ == phase::body ? body_collected_
                                                : phase_ == phase::waiting && dispatching_;
        if (body_pending_ && &r == current_.get() && r.get_collector() && collecting &&
            !expect_unanswered(r)) {
            close_after_body_ = true;
            return;
        }
        enter_closing();
        close_after_output();
        return;
    }
    if (&r != current_.get() || dispatching_) return;
    if (phase_ == phase::waiting) {
        next_request();
        resume_reading();
    }
    // In phase body the request's body is still arriving; end_of_body() moves on.
}

void http_channel::close_after_reply(http_request& r) {
    // The reply may be queued already (close behind it) or still to come (it will say close).
    if (r.is_done()) {
        enter_closing();
        close_after_output();
    } else {
        r.close_after();
        enter_closing();
    }
}

void http_channel::close_after_output() {
    if (linger_queued_ || closed()) return;
    linger_queued_ = true;
    cork();  // both queued before the send: the reply's last bytes then carry the FIN
    shutdown_when_done();
    push_hook(std::make_shared<linger_hook>(
        std::static_pointer_cast<http_channel>(shared_from_this())));
    uncork();
}

void http_channel::begin_linger() {
    if (closed()) return;
    // The reply is in the socket, and our FIN behind it (shutdown_when_done). Closing now, with
    // client bytes still arriving (the rest of an oversized request, a pipelined request after
    // an HTTP/1.0 one), would make the kernel send a reset, and a reset can destroy the reply
    // before the client reads it. So: keep reading and dropping, and close on the client's EOF
    // or after linger_time.
    if (client_closes_ && nothing_unread()) {
        // The client said it sends nothing more and has nothing in flight: no reset can come of
        // closing now. (Lingering would cost a wake-up at its FIN and a timer: a connection per
        // request ran 1.19x faster without them.)
        close();
        return;
    }
    lingering_ = true;
    enter_closing();
    update_interest();  // reading again (readable() held it off while the reply went out)
    std::weak_ptr<dispatcher> weak = weak_from_this();
    linger_timer_ = map().call_later(linger_time, [weak] {
        auto self = weak.lock();
        if (self && !self->closed()) self->close();
    });
}

bool http_channel::nothing_unread() {
    // Bytes after the closing request, dropped already (while the reply was on its way: a pass
    // or more on io_uring) or still to read, say the client is sending after all.
    if (linger_bytes_ != 0 || input_unframed() != 0) return false;
    // On io_uring, bytes the ring has taken from the socket but this channel has not read count
    // too. A read still in flight is no obstacle: close() cancels it, and whatever it might
    // take is out of the socket, where it could not turn the close into a reset.
    if (uring_poller* r = ring(); r && r->has_delivered(fileno())) return false;
    int waiting = 0;
    return ::ioctl(fileno(), FIONREAD, &waiting) == 0 && waiting == 0;
}

// --- timeouts --------------------------------------------------------------------------------

void http_channel::check_timeouts(clock::time_point now) {
    if (closed()) return;
    auto header_timeout = server_->header_timeout;
    const char* why = nullptr;
    if (phase_ == phase::header && parser_ && parser_->started() &&
        now - request_started_ > header_timeout) {
        why = "request head not complete in time";
    } else if (phase_ == phase::body && now - last_used_ > header_timeout) {
        why = "request body stalled";
    } else if (now - last_used_ > server_->zombie_timeout) {
        why = "idle (zombie)";
    }
    if (why) {
        log_info(fmt::format("closing {}: {}", addr().to_string(), why), "info");
        close();
    }
}

}  // namespace medusa::http
