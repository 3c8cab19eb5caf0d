// chat_server: medusa's chat_server.py run on its own (the server itself is demo/chat.h, which
// medusa-demo also runs beside its web server).
//
//   build/bin/chat_server [--port 8518] [--host 0.0.0.0]
//   nc 127.0.0.1 8518        (answer "nickname?: ", then talk; /quit or /q to leave)
//
// Prints what chat_server.py printed: "Chat Server (V1.4) started on port N", each client's
// arrival, and every line said.
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "asyncore/socket_map.h"
#include "demo/chat.h"

int main(int argc, char** argv) {
    std::string host = "0.0.0.0";  // chat_server.py binds ''
    uint16_t port = 8518;
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
        auto server = medusa::make<medusa::demo::chat_server>(host, port);
        server->say(fmt::format("{} started on port {}", medusa::demo::chat_server_ident, server->port()));
        medusa::loop();
    } catch (const std::exception& e) {
        fmt::print(stderr, "chat_server: {}\n", e.what());
        return 1;
    }
}
