#include "http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "http/http_channel.h"

namespace medusa::http {

namespace {

std::shared_ptr<logger> default_logger(std::shared_ptr<logger> given) {
    if (given) return given;
    return std::make_shared<file_logger>(stdout);
}

// medusa's split_by_units: the non-zero parts, largest first; "0 <smallest>" when all are zero.
std::vector<std::string> split_by_units(uint64_t n, const std::vector<std::string_view>& units,
                                        const std::vector<uint64_t>& dividers,
                                        bool bytes_format) {
    std::vector<uint64_t> divs;
    for (uint64_t d : dividers) {
        divs.push_back(n % d);
        n /= d;
    }
    divs.push_back(n);
    std::vector<std::string> result;
    auto fmt_one = [&](uint64_t v, std::string_view unit) {
        return bytes_format ? fmt::format("{} {}B", v, unit) : fmt::format("{} {}", v, unit);
    };
    for (size_t i = 0; i < units.size(); ++i)
        if (divs[i]) result.push_back(fmt_one(divs[i], units[i]));
    std::reverse(result.begin(), result.end());
    if (result.empty()) result.push_back(fmt_one(0, units[0]));
    return result;
}

}  // namespace

std::string english_bytes(uint64_t n) {
    std::string out;
    for (const auto& part :
         split_by_units(n, {"", "K", "M", "G", "T"}, {1024, 1024, 1024, 1024, 1024}, true))
        out += part;
    return out;
}

std::string english_time(uint64_t seconds) {
    auto parts = split_by_units(seconds, {"secs", "mins", "hours", "days", "weeks", "years"},
                                {60, 60, 24, 7, 52}, false);
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += ' ';
        out += parts[i];
    }
    return out;
}

http_server::http_server(std::string_view ip, uint16_t port, std::shared_ptr<logger> logger_object,
                         socket_map& map)
    : dispatcher(map), logger_(default_logger(std::move(logger_object))), access_log_(*logger_) {
    start(address::inet(ip.empty() ? std::string_view("0.0.0.0") : ip, port));
}

http_server::http_server(const address& where, std::shared_ptr<logger> logger_object,
                         socket_map& map)
    : dispatcher(map), logger_(default_logger(std::move(logger_object))), access_log_(*logger_) {
    start(where);
}

// The map may be going away too (it owns its channels): don't touch it here. close() cancels the
// maintenance timer; a timer left behind by a server destroyed unclosed holds only a weak_ptr
// and does nothing.
http_server::~http_server() = default;

void http_server::start(const address& where) {
    create_socket(where.family(), SOCK_STREAM);
    if (where.family() != AF_UNIX) set_reuse_addr();
    bind(where);
    listen(1024);
    // Replies leave as soon as they are written (no Nagle stall behind a small last segment).
    // Linux gives an accepted socket its listener's TCP_NODELAY: set once here, it spares a
    // setsockopt(2) per connection; accept() sets it on each where the listener refused it.
    if (where.family() == AF_INET || where.family() == AF_INET6) {
        int one = 1;
        nodelay_inherited_ =
            ::setsockopt(fileno(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
        // A connection is handed to accept() once its first bytes have come (or after about a
        // second without any): the request is then there to be read in the accepting pass
        // (handle_accept, read_now) instead of a pass later. A client that waits for the server
        // to speak first is accepted all the same, late. (nginx's "deferred".)
        ::setsockopt(fileno(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
    }
    address bound = address::local_of(fileno());
    ip_ = bound.host();
    port_ = bound.port();
    if (where.family() == AF_UNIX) {
        server_name = "localhost";
    } else if (ip_ == "0.0.0.0" || ip_ == "::") {
        char name[256] = {};
        server_name = gethostname(name, sizeof name - 1) == 0 ? name : "localhost";
    } else {
        server_name = where.family() == AF_INET6 ? fmt::format("[{}]", ip_) : ip_;
    }
}

void http_server::install_handler(handler_ptr h, bool back) {
    if (back) {
        handlers_.push_back(std::move(h));
    } else {
        handlers_.insert(handlers_.begin(), std::move(h));
    }
}

void http_server::remove_handler(const handler_ptr& h) {
    std::erase(handlers_, h);
}

void http_server::handle_accept() {
    if (!maintenance_timer_) set_maintenance();
    // Take what is waiting, a bounded number per event so one busy listener cannot starve
    // the connections already open.
    for (int i = 0; i < 64; ++i) {
        auto conn = accept();
        if (!conn) break;
        total_clients.increment();
        if (!nodelay_inherited_ &&
            (conn->addr.family() == AF_INET || conn->addr.family() == AF_INET6)) {
            int one = 1;
            ::setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        int fd = conn->fd;
        try {
            make<http_channel>(*this, *conn);
        } catch (const std::exception& e) {
            log_info(fmt::format("cannot serve {}: {}", conn->addr.to_string(), e.what()),
                     "error");
            continue;
        }
        // The request usually came with the connection: serve it now (see read_now()).
        map().read_now(fd);
    }
}

void http_server::close() {
    if (maintenance_timer_) {
        map().cancel(maintenance_timer_);
        maintenance_timer_ = 0;
    }
    dispatcher::close();
}

void http_server::set_maintenance() {
    if (maintenance_timer_) map().cancel(maintenance_timer_);
    std::weak_ptr<dispatcher> weak = weak_from_this();
    maintenance_timer_ = map().call_every(maintenance_interval, [weak] {
        if (auto self = weak.lock()) static_cast<http_server&>(*self).kill_zombies();
    });
}

void http_server::kill_zombies() {
    auto now = clock::now();
    for (const auto& d : map().channels()) {
        auto ch = std::dynamic_pointer_cast<http_channel>(d);
        if (ch && &ch->server() == this) ch->check_timeouts(now);
    }
}

std::string http_server::status() {
    double ratio = total_clients.as_long()
                       ? double(total_requests.as_long()) / double(total_clients.as_long())
                       : 0.0;
    std::vector<std::string> lines = {
        fmt::format("<h2>{}</h2>", server_ident),
        fmt::format("<br>Listening on: <b>Host:</b> {}", server_name),
        fmt::format("<b>Port:</b> {}", port_),
        fmt::format("<p><ul><li>Total <b>Clients:</b> {}", total_clients.as_long()),
        fmt::format("<b>Requests:</b> {}", total_requests.as_long()),
        fmt::format("<b>Requests/Client:</b> {:.1f}", ratio),
        fmt::format("<li>Total <b>Bytes In:</b> {}", english_bytes(bytes_in.as_long())),
        fmt::format("<b>Bytes Out:</b> {}", english_bytes(bytes_out.as_long())),
        fmt::format("<li>Total <b>Exceptions:</b> {}", exceptions.as_long()),
        "</ul><p><b>Extension List</b><ul>",
    };
    std::string out;
    for (const auto& l : lines) {
        out += l;
        out += "\r\n";  // medusa's lines_producer ends each line with CRLF
    }
    for (const auto& h : handlers_) out += h->status();
    out += "</ul>";
    return out;
}

}  // namespace medusa::http
