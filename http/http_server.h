// http_server: the listening socket of an HTTP server and the handlers it serves with
// (medusa's http_server.http_server).
//
//   auto log = std::make_shared<medusa::http::file_logger>(stdout);
//   auto server = medusa::make<medusa::http::http_server>("127.0.0.1", 8080, log);
//   server->install_handler(std::make_shared<medusa::http::default_handler>(fs));
//   medusa::loop();
//
// Each accepted connection becomes an http_channel (TCP_NODELAY set, so a reply's last segment
// is not held back by Nagle waiting for the client's delayed ACK; it is set on the listener and
// inherited). A TCP listener has TCP_DEFER_ACCEPT: a connection is accepted once its first bytes
// have come (or about a second later without any), and its request is read and served in the
// pass that accepts it (socket_map::read_now), not one pass later. A connection's last reply is
// followed by a half-close whose FIN leaves in the reply's last segment
// (async_chat::shutdown_when_done), then a lingering close (http_channel; none when the client
// ended the conversation itself and has sent nothing after its request). Handlers are tried front to
// back; install_handler() puts a new one at the front, as medusa does, so install the catch-all
// default_handler first and more specific handlers after it.
//
// Listeners: IPv4 or IPv6 from a numeric host and port (port 0 picks a free port: read port()),
// or a Unix-domain socket from address::unix_path().
//
// Maintenance: a timer on the map (call_every(maintenance_interval)) closes zombie channels
// (see http_channel's timeouts); nothing is done per request for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/dispatcher.h"
#include "http/counter.h"
#include "http/handler.h"
#include "http/logger.h"
#include "http/request_parser.h"

namespace medusa::http {

class http_server : public dispatcher {
public:
    // medusa's VERSION_STRING (http_server.py's RCS revision) and the names built from it.
    static constexpr std::string_view version_string = "1.12";
    static constexpr std::string_view server_ident = "HTTP Server (V1.12)";

    // Listen on ip:port (backlog 1024). `logger_object` receives the access log (default: a
    // file_logger on stdout). Throws std::system_error ("bind(127.0.0.1:80): ...").
    http_server(std::string_view ip, uint16_t port, std::shared_ptr<logger> logger_object = nullptr,
                socket_map& map = default_map());
    // Listen on any address (a Unix-domain path, too).
    http_server(const address& where, std::shared_ptr<logger> logger_object = nullptr,
                socket_map& map = default_map());
    ~http_server() override;

    void install_handler(handler_ptr h, bool back = false);
    void remove_handler(const handler_ptr& h);
    const std::vector<handler_ptr>& handlers() const { return handlers_; }

    // The statistics medusa keeps.
    counter total_clients;
    counter total_requests;
    counter exceptions;
    counter bytes_in;
    counter bytes_out;

    // The name used in redirects when a request has no Host header, and on the status page:
    // the bound address (the machine's host name for a wildcard address). medusa did a reverse
    // DNS lookup here; the port does no DNS in the loop.
    std::string server_name;
    uint16_t port() const { return port_; }
    std::string_view ip() const { return ip_; }

    // The Server header of every reply.
    std::string server_header = "Medusa/1.12";

    // --- limits and timeouts (read when a channel needs them; change before serving) -----------
    parse_limits limits;
    uint64_t max_body = 64ull << 20;         // a collected body larger than this: 413
    uint64_t max_discard_body = 1ull << 20;  // an unwanted body larger: not read, close instead
    std::chrono::seconds zombie_timeout{30 * 60};
    std::chrono::seconds header_timeout{30};
    // How often the maintenance timer runs; applies from the next call to set_maintenance().
    std::chrono::milliseconds maintenance_interval{5000};
    // (Re)start the maintenance timer with the current interval.
    void set_maintenance();
    // Close timed-out channels now (medusa's kill_zombies).
    void kill_zombies();

    // The status page fragment (medusa's http_server.status()).
    std::string status();

    // The access logger (medusa's unresolving_logger over the logger object).
    unresolving_logger& access_log() { return access_log_; }

    // --- dispatcher hooks ---------------------------------------------------------------------
    bool readable() override { return accepting(); }
    bool writable() override { return false; }
    void handle_accept() override;
    void close() override;

private:
    friend class http_channel;
    void start(const address& where);

    // The parser a channel uses for a request head that arrives whole, as nearly every head does:
    // such a request then costs no parser of its own. A head split across reads moves into a
    // parser the channel keeps until it is complete. (Loop thread only, like the server.)
    request_parser head_parser_;

    std::vector<handler_ptr> handlers_;
    std::shared_ptr<logger> logger_;
    unresolving_logger access_log_;
    std::string ip_;
    uint16_t port_ = 0;
    timer_id maintenance_timer_ = 0;
    bool nodelay_inherited_ = false;  // the listener has TCP_NODELAY; accepted sockets inherit it
};

// medusa's english_bytes, joined as the status page shows it: 1500 -> "1 KB476 B".
std::string english_bytes(uint64_t n);
// medusa's english_time joined with spaces: 3725 -> "1 hours 2 mins 5 secs".
std::string english_time(uint64_t seconds);

}  // namespace medusa::http
