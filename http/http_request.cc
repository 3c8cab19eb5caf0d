#include "http/http_request.h"

#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <ctime>

#include "http/http_channel.h"
#include "http/http_date.h"
#include "http/http_server.h"

namespace medusa::http {

namespace {

std::atomic<uint64_t> request_count{0};

// The producer that ends every reply: when the channel reaches it, everything queued before it
// has been handed to the socket, so it writes the log line (medusa's hooked_producer).
class log_hook : public producer {
public:
    log_hook(std::shared_ptr<http_request> r, uint64_t fixed_bytes)
        : request_(std::move(r)), bytes_(fixed_bytes) {}
    std::string more() override {
        if (request_) {
            auto r = std::move(request_);
            r->log(bytes_);
        }
        return {};
    }

private:
    std::shared_ptr<http_request> request_;
    uint64_t bytes_;
};

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
    out.append(data);
    out.append("\r\n");
}

}  // namespace

http_request::http_request(std::shared_ptr<http_channel> channel, parsed_request head)
    : head_(std::move(head)) {
    if (channel) {
        server_ = &channel->server();
        channel_ = channel;
    }
    version_ = classify_version(head_.version(), head_.has_version());
    request_number = request_count.fetch_add(1, std::memory_order_relaxed);
    // medusa's channel unquotes the part before '?' when it holds a '%', and keeps the query.
    std::string_view raw = head_.uri();
    size_t q = raw.find('?');
    std::string_view rpath = raw.substr(0, q);
    if (rpath.find('%') != std::string_view::npos) {
        uri_ = percent_decode(rpath);
        if (q != std::string_view::npos && q + 1 < raw.size()) uri_.append(raw.substr(q));
    }
    reply_headers_.reserve(8);
    reply_headers_.emplace_back("Server", server_ ? server_->server_header : "Medusa/1.12");
    reply_headers_.emplace_back("Date", http_date_now());
}

void http_request::discard_reply() {
    outgoing_.clear();
    reply_headers_.resize(2);  // Server and Date, set by the constructor
    reply_headers_[0] = {"Server", server_ ? server_->server_header : "Medusa/1.12"};
    reply_headers_[1] = {"Date", std::string(http_date_now())};
    use_chunked = true;
}

const http_request::uri_split& http_request::split_uri() {
    if (!split_) {
        uri_parts p = http::split_uri(head_.uri());
        split_.emplace();
        split_->path = p.path.find('%') == std::string_view::npos ? std::string(p.path)
                                                                   : percent_decode(p.path);
        split_->params = p.params;
        split_->query = p.query;
        split_->fragment = p.fragment;
    }
    return *split_;
}

// --- reply headers ---------------------------------------------------------------------------

void http_request::set(std::string_view name, std::string_view value) {
    for (auto& h : reply_headers_) {
        if (iequals(h.first, name)) {
            h.second.assign(value);
            return;
        }
    }
    reply_headers_.emplace_back(name, value);
}

void http_request::set(std::string_view name, uint64_t value) {
    char buf[24];
    auto end = fmt::format_to(buf, "{}", value);
    set(name, std::string_view(buf, size_t(end - buf)));
}

std::optional<std::string_view> http_request::get(std::string_view name) const {
    for (const auto& h : reply_headers_)
        if (iequals(h.first, name)) return std::string_view(h.second);
    return std::nullopt;
}

bool http_request::remove(std::string_view name, std::optional<std::string_view> value) {
    size_t before = reply_headers_.size();
    std::erase_if(reply_headers_, [&](const auto& h) {
        return iequals(h.first, name) && (!value || h.second == *value);
    });
    return reply_headers_.size() != before;
}

void http_request::add_header(std::string_view name, std::string_view value) {
    reply_headers_.emplace_back(name, value);
}

void http_request::clear_headers() { reply_headers_.clear(); }

// --- the reply -------------------------------------------------------------------------------

void http_request::push(std::string data) {
    if (!data.empty()) outgoing_.emplace_back(std::move(data));
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

std::optional<std::string_view> http_request::get_header(std::string_view name) const {
    auto answer = [this](uint32_t i) -> std::optional<std::string_view> {
        if (i == cached_header::absent) return std::nullopt;
        return head_.field(i).value;
    };
    for (uint8_t k = 0; k < header_cached_; ++k) {
        const cached_header& c = header_cache_[k];
        if (c.size == name.size() && iequals(std::string_view(c.name, c.size), name))
            return answer(c.field);
    }
    // The first field of that name, as medusa's scan of its header lines.
    uint32_t found = cached_header::absent;
    for (size_t i = 0; i < head_.field_count(); ++i) {
        std::string_view n = head_.field(i).name;
        if (n.size() == name.size() && iequals(n, name)) {
            found = uint32_t(i);
            break;
        }
    }
    if (header_cached_ < header_cache_.size() && name.size() <= sizeof(cached_header::name)) {
        cached_header& c = header_cache_[header_cached_++];
        c.field = found;
        c.size = uint8_t(name.size());
        std::memcpy(c.name, name.data(), name.size());
    }
    return answer(found);
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

void http_request::build_reply_header(std::string& out, const keepalive_decision& d) {
    if (d.chunk) set("Transfer-Encoding", "chunked");
    if (d.header == connection_header::keep_alive) set("Connection", "Keep-Alive");
    if (d.header == connection_header::close) set("Connection", "close");
    size_t size = 64;
    for (const auto& h : reply_headers_) size += h.first.size() + h.second.size() + 4;
    out.reserve(size);
    out.append("HTTP/");
    out.append(status_line_version(version_));
    fmt::format_to(std::back_inserter(out), " {} {}\r\n", reply_code,
                   reply_reason.empty() ? reason(reply_code) : std::string_view(reply_reason));
    for (const auto& h : reply_headers_) {
        out.append(h.first);
        out.append(": ");
        out.append(h.second);
        out.append("\r\n");
    }
    out.append("\r\n");
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
    for (size_t i = 0; i < head_.field_count(); ++i) {
        header_field f = head_.field(i);
        if (iequals(f.name, "Connection")) parse_connection(f.value, in.connection);
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

    std::string text;
    build_reply_header(text, d);
    uint64_t fixed = text.size();
    // A reply without a body (HEAD, 204, 304) drops what was pushed (rows 8 and 9): the headers
    // are those of the would-be body, Content-Length included.
    if (bodyless) outgoing_.clear();

    bool all_strings = true;
    for (const auto& item : outgoing_)
        if (!std::holds_alternative<std::string>(item)) all_strings = false;

    // The header block, the body and the log hook are queued first and sent together: a
    // file's head then leaves with MSG_MORE right before its sendfile, not as a packet alone.
    ch->cork();
    if (d.chunk && all_strings) {
        // Chunk string bodies here: the whole reply is then one string, one writev.
        for (auto& item : outgoing_) append_chunk(text, std::get<std::string>(item));
        text.append("0\r\n\r\n");
        fixed = text.size();
        ch->push(std::move(text));
    } else if (d.chunk) {
        std::vector<producer_ptr> parts;
        for (auto& item : outgoing_) {
            if (auto* s = std::get_if<std::string>(&item)) {
                parts.push_back(std::make_unique<simple_producer>(std::move(*s), 1 << 16));
            } else {
                parts.push_back(std::move(std::get<producer_ptr>(item)));
            }
        }
        ch->push(std::move(text));
        auto self = shared_from_this();
        ch->push_with_producer(std::make_unique<hooked_producer>(
            std::make_unique<chunked_producer>(
                std::make_unique<composite_producer>(std::move(parts))),
            [self](uint64_t n) { self->producer_bytes_ += n; }));
    } else {
        // The header block and the string pieces that follow it go out as one string when
        // small, so a small reply is a single send.
        size_t i = 0;
        for (; i < outgoing_.size(); ++i) {
            auto* s = std::get_if<std::string>(&outgoing_[i]);
            if (!s || text.size() + s->size() > (64u << 10)) break;
            text.append(*s);
            fixed += s->size();
        }
        ch->push(std::move(text));
        for (; i < outgoing_.size(); ++i) {
            if (auto* s = std::get_if<std::string>(&outgoing_[i])) {
                fixed += s->size();
                ch->push(std::move(*s));
            } else {
                auto self = shared_from_this();
                ch->push_with_producer(std::make_unique<hooked_producer>(
                    std::move(std::get<producer_ptr>(outgoing_[i])),
                    [self](uint64_t n) { self->producer_bytes_ += n; }));
            }
        }
    }
    outgoing_.clear();
    ch->push_with_producer(std::make_unique<log_hook>(shared_from_this(), fixed));
    ch->uncork();
    ch->reply_queued(*this, d.close);
}

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
