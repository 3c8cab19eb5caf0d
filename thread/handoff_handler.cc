#include "thread/handoff_handler.h"

#include <sys/socket.h>

#include <ctime>
#include <exception>

#include <fmt/format.h>

#include "cgi/cgi_reply.h"
#include "http/http_channel.h"
#include "http/http_date.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "thread/request_queue.h"
#include "thread/select_trigger.h"

namespace medusa::thread {

namespace {

// What the loop thread needs to write the access log line once the worker is done.
struct log_context {
    std::weak_ptr<dispatcher> server;  // an http_server; weak: it may have closed meanwhile
    std::string host;
    uint16_t port = 0;
    std::string request_line;
};

void write_access_log(const log_context& ctx, int status, uint64_t bytes) {
    if (auto d = ctx.server.lock())
        http::http_request::log_reply(static_cast<http::http_server&>(*d), ctx.host, ctx.port,
                                      ctx.request_line, status, bytes);
}

}  // namespace

handoff_request::handoff_request(handed_socket socket, std::string command, std::string uri,
                                 std::string version,
                                 std::vector<std::pair<std::string, std::string>> headers,
                                 std::string server_header)
    : socket_(std::move(socket)),
      command_(std::move(command)),
      uri_(std::move(uri)),
      version_(std::move(version)),
      headers_(std::move(headers)),
      server_header_(std::move(server_header)),
      scanner_(
          [this](const cgi::scan_result& result) {
              std::string date = http::build_http_date(std::time(nullptr));
              cgi::request_info info{.version = version_,
                                     .head = command_ == "HEAD",  // HEAD: the head alone
                                     .keep_alive = false,  // the body runs to the close
                                     .server = server_header_,
                                     .date = date};
              cgi::reply rep = cgi::build_reply(result, info);
              status_ = result.kind == cgi::reply_kind::bad_gateway ? 502 : result.status;
              pass_body_ = rep.pass_body;
              send(rep.head);
              send(rep.page);
          },
          [this](std::string_view body) {
              if (pass_body_) send(body);
          }) {}

std::optional<std::string_view> handoff_request::get_header(std::string_view name) const {
    for (const auto& [n, v] : headers_)
        if (http::iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

void handoff_request::write(std::string_view data) { scanner_.feed(data); }

void handoff_request::finish() { scanner_.finish(); }

void handoff_request::send(std::string_view data) {
    if (data.empty()) return;
    socket_.send_all(data);
    bytes_sent_ += data.size();
}

handoff_handler::handoff_handler(worker_pool& pool, std::string prefix)
    : pool_(pool), prefix_(std::move(prefix)) {}

bool handoff_handler::match(http::http_request& request) {
    std::string_view uri = request.uri();
    if (!uri.starts_with(prefix_)) return false;
    if (uri.size() == prefix_.size()) return true;
    char next = uri[prefix_.size()];
    return next == '/' || next == '?' || next == ';';
}

void handoff_handler::handle_request(std::shared_ptr<http::http_request> request) {
    auto channel = request->channel();
    if (!channel) return;
    // Copied now, in the loop thread: the request and the channel stay here.
    std::vector<std::pair<std::string, std::string>> headers;
    const auto& head = request->head();
    headers.reserve(head.field_count());
    for (size_t i = 0; i < head.field_count(); ++i) {
        auto f = head.field(i);
        headers.emplace_back(std::string(f.name), std::string(f.value));
    }
    auto log = std::make_shared<log_context>();
    if (http::http_server* s = request->server()) log->server = s->weak_from_this();
    log->host = channel->addr().host();
    log->port = channel->addr().port();
    log->request_line = std::string(request->request());
    auto trigger = trigger_for(channel->map());

    auto fn = [this, log, trigger, command = std::string(request->command()),
               uri = std::string(request->uri()), version = std::string(request->version()),
               headers = std::move(headers)](handed_socket s) mutable {
        handoff_request r(std::move(s), std::move(command), std::move(uri), std::move(version),
                          std::move(headers),
                          fmt::format("Medusa/{}", http::http_server::version_string));
        // Runs however serve() ends: the request is never missing from the access log.
        struct log_when_done {
            handoff_request& r;
            const std::shared_ptr<log_context>& log;
            const std::shared_ptr<select_trigger>& trigger;
            ~log_when_done() {
                int status = r.status();
                uint64_t bytes = r.bytes_sent();
                trigger->pull_trigger([log = log, status, bytes] {
                    write_access_log(*log, status, bytes);
                });
            }
        } logger{r, log, trigger};
        try {
            serve(r);
            r.finish();
        } catch (...) {
            // Nothing sent yet: the client gets a 500 page instead of a bare close.
            if (!r.head_sent()) {
                try {
                    std::string page = http::http_request::error_page(500);
                    r.status_ = 500;
                    r.send(fmt::format("HTTP/1.0 500 {}\r\nContent-Type: text/html\r\n"
                                       "Content-Length: {}\r\nConnection: close\r\n\r\n",
                                       http::http_request::reason(500), page.size()));
                    if (r.command() != "HEAD") r.send(page);
                } catch (...) {  // the client has gone too: the first exception is the story
                }
            }
            throw;  // logged by hand_off
        }
        ::shutdown(r.socket().fd(), SHUT_WR);  // the client sees the end; the socket closes with r
    };
    hand_off(channel, pool_, std::move(fn),
             [request](const std::shared_ptr<async_chat>&) {
                 request->close_after();  // the bytes read past the request have been taken
                 request->error(503);
             });
}

}  // namespace medusa::thread
