#include "http/http_request.h"

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <ctime>

#include "asyncore/buffer_stock.h"
#include "asyncore/tally.h"
#include "http/http_channel.h"
#include "http/http_date.h"
#include "http/http_server.h"

namespace medusa::http {

namespace {

std::atomic<uint64_t> request_count{0};

// Wraps a producer of a reply's body and adds what it produces, or has sent by sendfile(2), to
// the request's count for the log line (medusa's hooked_producer, without a std::function: the
// wrapper is all there is to allocate, and producers come from the thread's pool). It keeps the
// request alive, so the count has somewhere to go for as long as the channel holds it.
class counted_producer final : public producer {
public:
    counted_producer(producer_ptr p, std::shared_ptr<void> keep, uint64_t& count)
        : keep_(std::move(keep)), producer_(std::move(p)), count_(count) {}
    std::string more() override {
        std::string r = producer_->more();
        count_ += r.size();
        return r;
    }
    bool ready() const override { return producer_->ready(); }
    const file_range* sendfile_source() const override { return producer_->sendfile_source(); }
    void consumed(uint64_t n) override {
        count_ += n;
        producer_->consumed(n);
    }

private:
    std::shared_ptr<void> keep_;  // first: the request outlives the producer it wraps
    producer_ptr producer_;
    uint64_t& count_;
};

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    char size[16];
    auto end = std::to_chars(size, size + sizeof size, data.size(), 16).ptr;
    out.append(size, size_t(end - size));
    out.append("\r\n");
    out.append(data);
    out.append("\r\n");
}

// The bytes of a pushed piece of body, or nullptr for a producer.
const std::string* bytes_of(const std::variant<std::string, std::shared_ptr<const std::string>,
                                               producer_ptr>& item) {
    if (auto* s = std::get_if<std::string>(&item)) return s;
    if (auto* p = std::get_if<std::shared_ptr<const std::string>>(&item)) return p->get();
    return nullptr;
}

}  // namespace

http_request::http_request(std::shared_ptr<http_channel> channel, parsed_request&& head)
    : head_(std::move(head)) {
    start(std::move(channel));
}

http_request::http_request(std::shared_ptr<http_channel> channel, request_parser& parser)
    : head_(parser.take()) {
    start(std::move(channel));
}

void http_request::start(std::shared_ptr<http_channel> channel) {
    if (channel) {
        server_ = &channel->server();
        channel_ = std::move(channel);
    }
    version_ = classify_version(head_.version(), head_.has_version());
    request_number = tally_add(request_count, 1);
    std::string_view raw = head_.uri();
    // The usual URI ("/a/b.html", "/find?q=x") has no '%', ';' or '#' before its query: then
    // .uri is the URI as received and split_uri() is a cut at the '?', both known from one pass
    // over the path (every handler's match() asks for the split). Anything else goes the general
    // way below, and split_uri() works it out when first asked.
    const size_t i = head_.uri_plain();
    if (i == raw.size() || raw[i] == '?') {
        uri_split& s = split_.emplace();
        s.path = raw.substr(0, i);
        std::string_view rest = raw.substr(i);
        size_t hash = rest.find('#');
        s.query = rest.substr(0, hash);
        if (hash != std::string_view::npos) s.fragment = rest.substr(hash);
    } else {
        // medusa's channel unquotes the part before '?' when it holds a '%', and keeps the query.
        size_t q = raw.find('?');
        std::string_view rpath = raw.substr(0, q);
        if (rpath.find('%') != std::string_view::npos) {
            uri_ = percent_decode(rpath);
            if (q != std::string_view::npos && q + 1 < raw.size()) uri_.append(raw.substr(q));
        }
    }
    set_server_and_date();
}

void http_request::set_server_and_date() {
    // (reply_headers_ holds neither name: the request is new, or its list was just cleared.)
    date_ = time(nullptr);
    preamble_pending_ = true;
}

const header_list& http_request::preamble() const {
    // Every reply of a thread in the same second starts with the same two lines: they are built
    // once into a list of the thread's. Rebuilt when the second or the server's name changes.
    struct lines {
        header_list headers;
        std::string server;
        time_t second = -1;
    };
    thread_local lines p;
    std::string_view server = server_ ? std::string_view(server_->server_header) : "Medusa/1.12";
    if (date_ != p.second || server != p.server) {
        p.headers.clear();
        p.headers.add("Server", server);
        char date[http_date_size];
        format_http_date(date_, date);
        p.headers.add("Date", std::string_view(date, http_date_size));
        p.server = server;
        p.second = date_;
    }
    return p.headers;
}

void http_request::write_preamble() const {
    if (!preamble_pending_) return;
    preamble_pending_ = false;
    reply_headers_.prepend(preamble());
}

http_request::named http_request::write_preamble_keeping(std::string_view name,
                                                          std::string_view value) const {
    // Copied first: either may be a view of the list's own bytes (set("Date",
    // *get("Last-Modified"))), which writing Server and Date in ahead of them moves.
    named n{std::string(name), std::string(value)};
    write_preamble();
    return n;
}

std::optional<std::string_view> http_request::get_after_preamble(std::string_view name) const {
    const named n = write_preamble_keeping(name, {});
    return reply_headers_.get(n.name);
}

void http_request::discard_reply() {
    outgoing_.clear();
    reply_headers_.clear();
    set_server_and_date();
    use_chunked = true;
}

const http_request::uri_split& http_request::split_now() {
    // (Called by split_uri() while split_ is empty.)
    uri_parts p = http::split_uri(head_.uri());
    uri_split& s = split_.emplace();
    if (p.path.find('%') == std::string_view::npos) {
        s.path = p.path;
    } else {
        decoded_path_ = percent_decode(p.path);
        s.path = decoded_path_;
    }
    s.params = p.params;
    s.query = p.query;
    s.fragment = p.fragment;
    return s;
}

// --- reply headers ---------------------------------------------------------------------------

void http_request::set(std::string_view name, std::string_view value) {
    if (preamble_pending_ && is_preamble_name(name)) {
        const named n = write_preamble_keeping(name, value);
        reply_headers_.set(n.name, n.value);
        return;
    }
    reply_headers_.set(name, value);
}

void http_request::set(std::string_view name, uint64_t value) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    set(name, std::string_view(buf, size_t(end - buf)));
}


bool http_request::remove(std::string_view name, std::optional<std::string_view> value) {
    if (preamble_pending_ && is_preamble_name(name)) {
        const named n = write_preamble_keeping(name, value.value_or(""));
        return reply_headers_.remove(n.name, value ? std::optional<std::string_view>(n.value)
                                                   : std::nullopt);
    }
    return reply_headers_.remove(name, value);
}

void http_request::add_header(std::string_view name, std::string_view value) {
    if (preamble_pending_ && is_preamble_name(name)) {
        const named n = write_preamble_keeping(name, value);
        reply_headers_.add(n.name, n.value);
        return;
    }
    reply_headers_.add(name, value);
}

void http_request::clear_headers() {
    reply_headers_.clear();
    preamble_pending_ = false;
}

// --- the reply -------------------------------------------------------------------------------

void http_request::push(std::string data) {
    if (!data.empty()) outgoing_.emplace_back(std::move(data));
}

void http_request::push(std::shared_ptr<const std::string> data) {
    if (data && !data->empty()) outgoing_.emplace_back(std::move(data));
}

void http_request::push(producer_ptr p) {
    if (p) outgoing_.emplace_back(std::move(p));
}

std::string_view http_request::reason(int code) {
    switch (code) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Moved Temporarily";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 305: return "Use Proxy";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Time-out";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Request Entity Too Large";
        case 414: return "Request-URI Too Large";
        case 415: return "Unsupported Media Type";
        // Not in medusa's table (it predates RFC 6585); named as RFC 6585 names it.
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Time-out";
        case 505: return "HTTP Version not supported";
        default: return "Unknown";
    }
}

std::string http_request::error_page(int code) {
    return fmt::format(
        "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n"
        "<h1>Error response</h1>\r\n<p>Error code {}.\r\n<p>Message: {}.\r\n</body>\r\n",
        code, reason(code));
}

std::string http_request::response(int code) {
    reply_code = code;
    return fmt::format("HTTP/{} {} {}", status_line_version(version_), code, reason(code));
}

void http_request::error(int code) {
    reply_code = code;
    std::string page = error_page(code);
    set("Content-Length", uint64_t(page.size()));
    set("Content-Type", "text/html");
    push(std::move(page));
    done();
}

void http_request::finish_headers(const keepalive_decision& d) {
    if (d.chunk) set("Transfer-Encoding", "chunked");
    if (d.header == connection_header::keep_alive) set("Connection", "Keep-Alive");
    if (d.header == connection_header::close) set("Connection", "close");
}

std::string_view http_request::status_line(http_version version, int code,
                                           std::string_view phrase) {
    // The status lines of a thread's recent replies, by version and code: a reply's line is
    // nearly always one of a few ("HTTP/1.1 200 OK"), made once and then copied. A phrase of
    // the handler's own (a CGI script's "Status: 302 Moved") is made each time.
    struct line {
        http_version version = http_version::none;
        int code = -1;  // an empty slot matches no code (a handler may set reply_code to 0)
        std::string text;
    };
    thread_local line made[8];
    thread_local size_t next = 0;
    thread_local std::string own;
    const bool usual = phrase.empty();
    if (usual) {
        for (const line& l : made)
            if (l.code == code && l.version == version) return l.text;
    }
    std::string text = fmt::format("HTTP/{} {} {}\r\n", status_line_version(version), code,
                                   usual ? reason(code) : phrase);
    if (!usual) return own = std::move(text);
    line& l = made[next++ % std::size(made)];
    l = line{version, code, std::move(text)};
    return l.text;
}

void http_request::done() {
    if (done_) return;
    done_ = true;
    auto ch = channel_.lock();
    if (!ch || ch->closed() || !ch->in_map()) {
        outgoing_.clear();
        return;
    }

    keepalive_input in;
    in.version = version_;
    if (head_.may_have("Connection")) {
        for (size_t i = 0; i < head_.field_count(); ++i) {
            header_field f = head_.field(i);
            if (iequals(f.name, "Connection")) parse_connection(f.value, in.connection);
        }
    }
    in.has_content_length = has("Content-Length");
    if (auto te = get("Transfer-Encoding")) {
        in.reply_coding = iequals(*te, "chunked") ? transfer_coding::chunked : transfer_coding::other;
    }
    bool bodyless = reply_is_bodyless(command(), reply_code);
    in.bodyless = bodyless;
    in.use_chunked = use_chunked;
    in.force_close = force_close_ || ch->must_close_after(*this);
    keepalive_decision d = decide_keepalive(in);

    // A reply without a body (HEAD, 204, 304) drops what was pushed (rows 8 and 9): the headers
    // are those of the would-be body, Content-Length included.
    if (bodyless) outgoing_.clear();

    // The byte pieces at the front of the body that go out in the header block's buffer: all of
    // them when the body is chunked here; else strings while the total stays under 64 KiB, and
    // shared bytes (a cached file) only when small, since a larger one is sent from where it is
    // kept, in the same writev, without a copy. A small reply is then one buffer, one send.
    bool all_bytes = true;
    size_t gathered = 0, gathered_bytes = 0;
    for (const auto& item : outgoing_) {
        const std::string* b = bytes_of(item);
        if (!b) {
            all_bytes = false;
            break;
        }
        if (d.chunk) {
            gathered_bytes += b->size() + 20;  // with its chunk size line and CRLF
        } else if (gathered_bytes + b->size() <= (64u << 10) &&
                   (std::holds_alternative<std::string>(item) || b->size() <= 2048)) {
            gathered_bytes += b->size();
        } else {
            break;
        }
        ++gathered;
    }
    if (d.chunk && !all_bytes) gathered = gathered_bytes = 0;

    // "HTTP/1.1 200 OK\r\n", the header lines as they are kept, "\r\n", then the gathered body:
    // one buffer of this thread's stock (the channel gives it back once sent), its size known
    // before a byte is written (one resize, then copies, rather than an append apiece).
    finish_headers(d);
    const std::string_view status = status_line(version_, reply_code, reply_reason);
    const std::string_view preamble_text =
        preamble_pending_ ? preamble().text() : std::string_view("");
    const std::string_view headers = reply_headers_.text();
    const size_t head = status.size() + preamble_text.size() + headers.size() + 2;
    std::string text = buffer_stock::take_sized(d.chunk ? head : head + gathered_bytes);
    if (d.chunk) text.reserve(head + gathered_bytes + 5);
    char* o = text.data();
    auto put = [&o](std::string_view piece) {
        std::memcpy(o, piece.data(), piece.size());
        o += piece.size();
    };
    put(status);
    put(preamble_text);
    put(headers);
    put("\r\n");
    if (d.chunk && all_bytes) {
        // Chunk the body here: the whole reply is then one string, one writev.
        for (auto& item : outgoing_) append_chunk(text, *bytes_of(item));
        text.append("0\r\n\r\n");
    } else {
        for (size_t i = 0; i < gathered; ++i) put(*bytes_of(outgoing_[i]));
    }
    uint64_t fixed = text.size();

    // The common reply is that one buffer alone, on a connection that stays open: pushed by
    // itself it goes to the socket at once, and once it has, the log line is written here
    // rather than by a hook in the channel's queue. With no line to write and nobody waiting
    // to hear of a close before the reply is out (on_close()), there is nothing to wait for:
    // its bytes are counted as it is queued (when medusa's hooked_producer counted them too).
    if (gathered == outgoing_.size() && !d.close) {
        outgoing_.clear();
        log_bytes_ = fixed;
        ch->push(std::move(text));
        if (ch->closed()) return;  // the client has gone: no log line (as a hook is not told)
        if (ch->output_empty() || (!on_close_ && !(server_ && server_->access_log().enabled()))) {
            sent();
        } else {
            ch->push_hook(
                std::shared_ptr<send_hook>(shared_from_this(), static_cast<send_hook*>(this)));
        }
        ch->reply_queued(*this, false);
        return;
    }

    // Otherwise the header block, the body and the log hook are queued first and sent together:
    // a file's head then leaves with MSG_MORE right before its sendfile, not as a packet alone.
    ch->cork();
    ch->push(std::move(text));
    if (d.chunk && !all_bytes) {
        std::vector<producer_ptr> parts;
        for (auto& item : outgoing_) {
            if (auto* p = std::get_if<producer_ptr>(&item)) {
                parts.push_back(std::move(*p));
            } else {
                parts.push_back(std::make_unique<simple_producer>(std::string(*bytes_of(item)),
                                                                  1 << 16));
            }
        }
        ch->push_with_producer(std::make_unique<counted_producer>(
            std::make_unique<chunked_producer>(
                std::make_unique<composite_producer>(std::move(parts))),
            shared_from_this(), producer_bytes_));
    } else {
        for (size_t i = gathered; i < outgoing_.size(); ++i) {
            auto& item = outgoing_[i];
            if (auto* s = std::get_if<std::string>(&item)) {
                fixed += s->size();
                ch->push(std::move(*s));
            } else if (auto* b = std::get_if<shared_bytes>(&item)) {
                fixed += (*b)->size();
                ch->push(std::move(*b));  // sent from where it is kept
            } else {
                ch->push_with_producer(std::make_unique<counted_producer>(
                    std::move(std::get<producer_ptr>(item)), shared_from_this(),
                    producer_bytes_));
            }
        }
    }
    outgoing_.clear();
    // The access log line, once all of it has gone (sent()).
    log_bytes_ = fixed;
    ch->push_hook(std::shared_ptr<send_hook>(shared_from_this(), static_cast<send_hook*>(this)));
    if (d.close) {
        // The half-close is queued under the cork too: its FIN leaves in the reply's last segment.
        ch->reply_queued(*this, true, d.client_closes);
        ch->uncork();
    } else {
        ch->uncork();
        ch->reply_queued(*this, false);
    }
}

void http_request::sent() { log(log_bytes_); }

bool http_request::on_close(std::function<void()> f) {
    auto ch = channel_.lock();
    if (!ch || ch->closed()) {
        on_close_ = nullptr;
        return false;
    }
    on_close_ = std::move(f);
    if (on_close_) ch->watch_close(weak_from_this());
    return true;
}

std::string http_request::log_date_string(time_t when) {
    struct tm gmt;
    gmtime_r(&when, &gmt);
    // medusa: GMT fields with the local zone's offset (time.timezone, west of UTC positive).
    // Read once: the zone does not change under a running server.
    static const long zone = [] {
        tzset();
        return long(timezone);
    }();
    long tz = zone;
    char sign = '+';
    if (tz > 0) {
        sign = '-';
    } else {
        tz = -tz;
    }
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return fmt::format("{:02d}/{}/{:04d}:{:02d}:{:02d}:{:02d} {}{:02d}{:02d}", gmt.tm_mday,
                       months[gmt.tm_mon], gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min,
                       gmt.tm_sec, sign, tz / 3600, (tz % 3600) / 60);
}

void http_request::log(uint64_t bytes) {
    on_close_ = nullptr;  // the reply is out: a close from now on is not this request's
    bytes += producer_bytes_;
    if (!server_) return;
    if (!server_->access_log().enabled()) {
        // No line to write: count the bytes, and spare the address's formatting (inet_ntop and
        // a sprintf were a tenth of a small reply's cost).
        server_->bytes_out.increment(bytes);
        return;
    }
    auto ch = channel_.lock();
    log_reply(*server_, ch ? ch->addr().host() : std::string("-"), ch ? ch->addr().port() : 0,
              request(), reply_code, bytes);
}

void http_request::log_reply(http_server& server, std::string_view host, uint16_t port,
                             std::string_view request_line, int code, uint64_t bytes) {
    server.bytes_out.increment(bytes);
    if (!server.access_log().enabled()) return;
    server.access_log().log(host, fmt::format("{} - - [{}] \"{}\" {} {}\n", port,
                                              log_date_string(time(nullptr)), request_line,
                                              code, bytes));
}

}  // namespace medusa::http
