// A user's project, built out of tree against an installed medusa (see test/install.sh):
// a one-shot echo server. It listens on the port given, echoes one line back to the first client,
// and exits — enough to prove that the headers, the library and medusa.pc work together.
#include <netinet/in.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"

namespace {

class line_echo : public medusa::async_chat {
public:
    explicit line_echo(int fd) : async_chat(fd) { set_terminator("\n"); }
    void collect_incoming_data(std::string_view data) override { line_.append(data); }
    void found_terminator() override {
        push("echo: " + line_ + "\n");
        close_when_done();
        map().stop();
    }

private:
    std::string line_;
};

class listener : public medusa::dispatcher {
public:
    explicit listener(uint16_t port) {
        create_socket(AF_INET);
        set_reuse_addr();
        bind(medusa::address::inet("127.0.0.1", port));
        listen(5);
    }
    void handle_accept() override {
        if (auto conn = accept()) medusa::make<line_echo>(conn->fd);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    auto server = medusa::make<listener>(static_cast<uint16_t>(std::atoi(argv[1])));
    std::printf("listening\n");
    std::fflush(stdout);
    medusa::loop(std::chrono::duration<double>(5.0));
    // Let the reply drain: a few more bounded passes.
    medusa::loop(std::chrono::duration<double>(0.1), std::nullopt, medusa::default_map(), 20);
    return 0;
}
