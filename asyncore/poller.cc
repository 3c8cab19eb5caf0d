// poller.cc: backend names and the factory. Each backend lives in its own file.
#include "asyncore/poller.h"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "asyncore/epoll_poller.h"
#include "asyncore/poll_poller.h"
#include "asyncore/select_poller.h"

namespace medusa {

std::string_view to_string(backend b) {
    switch (b) {
    case backend::select: return "select";
    case backend::poll: return "poll";
    case backend::epoll: return "epoll";
    }
    return "unknown";
}

backend backend_from_string(std::string_view name) {
    if (name == "select") return backend::select;
    if (name == "poll") return backend::poll;
    if (name == "epoll") return backend::epoll;
    throw std::invalid_argument(
        fmt::format("unknown poller backend '{}' (expected select, poll or epoll)", name));
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
    }
    throw std::invalid_argument("make_poller: unknown backend");
}

}  // namespace medusa
