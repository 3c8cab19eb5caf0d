// echo_server: the smallest async_chat server. Every line a client sends comes back to it.
//
//   build/bin/echo_server [--port 8081] [--host 127.0.0.1]
//   nc 127.0.0.1 8081        (type lines; each is echoed; Ctrl-D to leave)
//
// Three parts, as in every medusa server:
//   1. a listening dispatcher whose handle_accept() makes a channel per connection,
//   2. the channel, an async_chat: set_terminator() says what a record is (a line),
//      collect_incoming_data() gathers its bytes, found_terminator() acts on it,
//   3. loop(), which waits for events and calls those hooks.
// Nothing here blocks: a slow client costs a buffer, never the other clients' turn.
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"

namespace {

// One connected client.
class echo_channel : public medusa::async_chat {
public:
    explicit echo_channel(int fd) : async_chat(fd) { set_terminator("\n"); }

    // A line may arrive in several reads ("hel", "lo\n"): gather the pieces...
    void collect_incoming_data(std::string_view data) override { line_ += data; }

    // ...and answer when its "\n" arrives. push() queues the reply; the loop sends it when the
    // socket can take it, so a client that doesn't read never blocks the server.
    void found_terminator() override {
        push(line_ + "\n");
        line_.clear();
    }

private:
    std::string line_;
};

// The listening socket. The loop calls handle_accept() when a connection is waiting.
class echo_server : public medusa::dispatcher {
public:
    echo_server(const std::string& host, uint16_t port) {
        create_socket(medusa::address::inet(host, port).family());
        set_reuse_addr();  // restart at once, without waiting for TIME_WAIT to pass
        bind(medusa::address::inet(host, port));
        listen(5);
    }

    void handle_accept() override {
        if (auto conn = accept())
            medusa::make<echo_channel>(conn->fd);  // the channel map owns it from now on
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    uint16_t port = 8081;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<uint16_t>(std::atoi(argv[++i]));
        } else if (arg == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else {
            fmt::print(stderr, "usage: {} [--port N] [--host ADDRESS]\n", argv[0]);
            return 2;
        }
    }
    try {
        auto server = medusa::make<echo_server>(host, port);
        fmt::print("echo server listening on {}\n", server->addr().to_string());
        std::fflush(stdout);
        medusa::loop();  // runs until the map is empty, i.e. forever for a server
    } catch (const std::exception& e) {
        fmt::print(stderr, "echo_server: {}\n", e.what());
        return 1;
    }
}
