// chat_fixed: medusa's event loop and async_chat with none of its HTTP layer, the floor the
// framework itself puts under medusa-demo (bench/compare.sh: servers chat-fixed and
// chat-fixed-uring).
//
// Each channel frames requests at "\r\n\r\n" (async_chat's string terminator) and answers each
// head with a reply built at start-up, picked as the bare loops pick theirs (bench/bare/bare_http.h:
// the target and the Connection header, nothing else read). No request parser, no http_request,
// no handlers, no file cache, no headers written per request, no log. What it costs over
// bare_epoll (or bare_uring) on the same row is the framework: the socket map, the poller, the
// dispatcher's events and async_chat's framing and output queue. What medusa-demo costs over it
// is the HTTP layer.
//
//   chat_fixed --port PORT [--host 127.0.0.1] --root DIR [--backend epoll|uring|poll|select]
//
// Every regular file directly inside DIR is served as /NAME; any other target gets a 404. The
// output path is medusa-demo's: a small reply (under 8 KiB) is copied into a buffer of the
// thread's stock and pushed, so async_chat holds it and sends it when the read's handling returns,
// as medusa-demo's reply to a small file goes; a larger one is pushed shared, never copied.
// HTTP/1.1 keeps the connection unless the client said "Connection: close"; HTTP/1.0 closes after
// the reply unless it asked for keep-alive.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"
#include "asyncore/buffer_stock.h"
#include "asyncore/dispatcher.h"
#include "asyncore/poller.h"
#include "asyncore/socket_map.h"
#include "bench/bare/bare_http.h"

namespace {

using reply_ptr = std::shared_ptr<const std::string>;

// The two replies for one target: one that keeps the connection, one that closes it.
struct reply_pair {
    reply_ptr keep_alive;
    reply_ptr close;
};

reply_pair make_replies(std::string_view status, std::string_view body) {
    auto build = [&](bool keep_alive) {
        auto r = std::make_shared<std::string>(
            bare::reply_head("chat_fixed", status, body.size(), keep_alive));
        r->append(body);
        return reply_ptr(std::move(r));
    };
    return {build(true), build(false)};
}

struct replies {
    std::unordered_map<std::string, reply_pair> files;
    reply_pair not_found = make_replies("404 Not Found", "not found\n");
};

// Every regular file directly inside root, as /NAME.
replies load(const std::filesystem::path& root) {
    replies r;
    for (const auto& e : std::filesystem::directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        r.files.emplace("/" + e.path().filename().string(), make_replies("200 OK", body));
    }
    return r;
}

// One connection: a head is collected up to its blank line, then answered.
class fixed_channel : public medusa::async_chat {
public:
    fixed_channel(const medusa::accepted& conn, const replies& r)
        : async_chat(conn), replies_(r) {
        set_terminator("\r\n\r\n");
    }

    void collect_incoming_data(std::string_view data) override {
        if (head_.size() + data.size() > max_head) {
            close();  // no blank line in 16 KiB: not a request
            return;
        }
        head_.append(data);
    }

    void found_terminator() override {
        bare::request req = bare::read_request(head_);
        head_.clear();  // keeps its capacity: no allocation per request
        const reply_ptr& reply = bare::pick_reply(replies_.files, replies_.not_found, req);
        if (reply->size() < small_reply) {
            std::string bytes = medusa::buffer_stock::take(reply->size());
            bytes.assign(*reply);
            push(std::move(bytes));
        } else {
            push(reply);
        }
        if (!req.keep_alive) close_when_done();
    }

private:
    static constexpr size_t max_head = 16 * 1024;
    static constexpr size_t small_reply = 8 * 1024;
    const replies& replies_;
    std::string head_;
};

// The listening socket: a channel per connection, TCP_NODELAY as every server compared.
class fixed_server : public medusa::dispatcher {
public:
    fixed_server(const medusa::address& where, const replies& r) : replies_(r) {
        create_socket(where.family());
        set_reuse_addr();
        bind(where);
        listen(4096);
    }

    void handle_accept() override {
        for (int i = 0; i < 64; ++i) {  // a bounded number per event, as http_server
            auto conn = accept();
            if (!conn) return;
            int one = 1;
            ::setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            medusa::make<fixed_channel>(*conn, replies_);
        }
    }

private:
    const replies& replies_;
};

int usage(const char* argv0) {
    std::cerr << "usage: " << argv0
              << " --port PORT [--host 127.0.0.1] --root DIR [--backend epoll|uring|poll|select]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // --backend is this program's own; the rest is the bare loops' command line.
    std::optional<medusa::backend> backend;
    std::vector<char*> rest{argv[0]};
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--backend" && i + 1 < argc) {
            try {
                backend = medusa::backend_from_string(argv[++i]);
            } catch (const std::exception&) {
                return usage(argv[0]);
            }
        } else {
            rest.push_back(argv[i]);
        }
    }
    bare::options o;
    if (!bare::parse_options(static_cast<int>(rest.size()), rest.data(), false, o)) return usage(argv[0]);
    try {
        const replies r = load(o.root);
        auto server = medusa::make<fixed_server>(
            medusa::address::inet(o.host, static_cast<uint16_t>(o.port)), r);
        std::cout << "chat_fixed listening on " << server->addr().to_string() << std::endl;
        medusa::loop(std::chrono::duration<double>(30.0), backend);
    } catch (const std::exception& e) {
        std::cerr << "chat_fixed: " << e.what() << "\n";
        return 1;
    }
}
