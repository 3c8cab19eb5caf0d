#include "transcript/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace medusa::transcript {

namespace {

int remaining_ms(steady::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
    return left < 0 ? 0 : left > 3'600'000 ? 3'600'000 : static_cast<int>(left);
}

std::string address_text(const sockaddr* sa) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        auto in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
    }
    auto in4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in4->sin_port));
}

}  // namespace

bool parse_target(std::string_view target, std::string& host, std::string& port, std::string& error) {
    std::string_view h, p;
    if (target.starts_with('[')) {
        std::size_t close = target.find(']');
        if (close == std::string_view::npos || target.substr(close + 1, 1) != ":") {
            error = fmt::format("bad target '{}' (write [IPv6]:PORT)", target);
            return false;
        }
        h = target.substr(1, close - 1);
        p = target.substr(close + 2);
    } else {
        std::size_t colon = target.rfind(':');
        if (colon == std::string_view::npos || target.find(':') != colon) {
            error = fmt::format("bad target '{}' (write HOST:PORT, or [IPv6]:PORT)", target);
            return false;
        }
        h = target.substr(0, colon);
        p = target.substr(colon + 1);
    }
    bool digits = !p.empty() && p.size() <= 5;
    for (char c : p) digits = digits && c >= '0' && c <= '9';
    if (h.empty() || !digits) {
        error = fmt::format("bad target '{}' (write HOST:PORT, or [IPv6]:PORT)", target);
        return false;
    }
    host = h;
    port = p;
    return true;
}

client::client(const std::string& host, const std::string& port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        throw std::system_error(EHOSTUNREACH, std::generic_category(),
                                fmt::format("getaddrinfo({}:{}): {}", host, port, gai_strerror(rc)));
    }
    auto deadline = steady::now() + timeout;
    int last_errno = ECONNREFUSED;
    std::string last_address = fmt::format("{}:{}", host, port);
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        last_address = address_text(ai->ai_addr);
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int err = 0;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd pfd{fd, POLLOUT, 0};
                int n = ::poll(&pfd, 1, remaining_ms(deadline));
                socklen_t len = sizeof err;
                if (n == 0) {
                    err = ETIMEDOUT;
                } else if (n < 0) {
                    err = errno;
                } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                    err = errno;
                }
            }
        }
        if (err == 0) {
            // Each write of the transcript goes out at once: "~ 5" between two bytes must mean two
            // segments 5 ms apart, not one coalesced by Nagle's algorithm.
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fd_ = fd;
            break;
        }
        ::close(fd);
        last_errno = err;
    }
    freeaddrinfo(found);
    if (fd_ < 0) throw std::system_error(last_errno, std::generic_category(), fmt::format("connect({})", last_address));
}

client::~client() {
    if (fd_ >= 0) ::close(fd_);
}

void client::send_all(std::string_view bytes, steady::time_point deadline, std::string& received) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), fmt::format("send({} bytes)", bytes.size()));
        }
        pollfd pfd{fd_, static_cast<short>(POLLOUT | (eof_ ? 0 : POLLIN)), 0};
        int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll(send)");
        if (ready == 0) {
            throw std::system_error(ETIMEDOUT, std::generic_category(),
                                    fmt::format("send({} bytes): the server stopped reading", bytes.size()));
        }
        if (pfd.revents & POLLIN) read_some(steady::now(), received);
    }
}

bool client::read_some(steady::time_point deadline, std::string& received) {
    if (eof_) return false;
    for (;;) {
        pollfd pfd{fd_, POLLIN, 0};
        int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "poll(recv)");
        }
        if (ready == 0) return false;
        char buf[16384];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            received.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            eof_ = true;
            return true;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        if (errno == ECONNRESET) {
            eof_ = reset_ = true;
            return true;
        }
        throw std::system_error(errno, std::generic_category(), "recv");
    }
}

}  // namespace medusa::transcript
