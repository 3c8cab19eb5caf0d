// poller.cc: backend names and the factory. Each backend lives in its own file.
#include "asyncore/poller.h"

#include <stdexcept>
#include <system_error>
#include <thread>
#include <string>

#include <fmt/format.h>

#include "asyncore/epoll_poller.h"
#include "asyncore/poll_poller.h"
#include "asyncore/select_poller.h"
#include "asyncore/uring_poller.h"

namespace medusa {

std::string_view to_string(backend b) {
    switch (b) {
    case backend::select: return "select";
    case backend::poll: return "poll";
    case backend::epoll: return "epoll";
    case backend::uring: return "uring";
    }
    return "unknown";
}

backend backend_from_string(std::string_view name) {
    if (name == "select") return backend::select;
    if (name == "poll") return backend::poll;
    if (name == "epoll") return backend::epoll;
    if (name == "uring") return backend::uring;
    throw std::invalid_argument(
        fmt::format("unknown poller backend '{}' (expected select, poll, epoll or uring)", name));
}

backend default_backend() {
#ifdef __linux__
    return backend::epoll;
#else
    return backend::poll;
#endif
}

std::unique_ptr<poller> make_poller(backend b) {
    switch (b) {
    case backend::select: return std::make_unique<select_poller>();
    case backend::poll: return std::make_unique<poll_poller>();
    case backend::epoll: return std::make_unique<epoll_poller>();
    case backend::uring: return std::make_unique<uring_poller>();
    }
    throw std::invalid_argument("make_poller: unknown backend");
}

bool backend_available(backend b) {
    if (b != backend::uring) return true;
    // Probed on a thread of its own: a thread that has used io_uring may later see a blocking
    // socket call with SO_RCVTIMEO fail with EINTR (the kernel's notice of ring work on its way
    // out), and the caller's thread should not pay for a question.
    static const bool available = [] {
        bool ok = false;
        std::thread([&ok] {
            try {
                uring_poller probe;
                ok = true;
            } catch (const std::system_error&) {
            }
        }).join();
        return ok;
    }();
    return available;
}

}  // namespace medusa
