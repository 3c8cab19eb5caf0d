// address: conversions between medusa's printable addresses and sockaddr.
#include "asyncore/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace medusa {

address address::inet(std::string_view host, uint16_t port) {
    // "[::1]" is how an IPv6 host is written beside a port; accept it here too.
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    std::string h(host);
    address a;
    auto* in4 = &a.inet_.in4;
    auto* in6 = &a.inet_.in6;
    if (inet_pton(AF_INET, h.c_str(), &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        a.len_ = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        a.len_ = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument(
            fmt::format("address::inet: '{}' is not a numeric IPv4 or IPv6 address", host));
    }
    return a;
}

address address::unix_path(std::string_view path) {
    address a;
    a.un_ = std::make_unique<sockaddr_un>();
    a.inet_.sa.sa_family = AF_UNIX;
    auto* un = a.un_.get();
    // A path needs its terminating NUL; an abstract name (leading NUL) does not.
    bool abstract = !path.empty() && path.front() == '\0';
    size_t room = sizeof(un->sun_path) - (abstract ? 0 : 1);
    if (path.empty() || path.size() > room)
        throw std::invalid_argument(fmt::format(
            "address::unix_path: '{}' is {} bytes; a Unix socket path holds 1 to {}", path,
            path.size(), room));
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                    (abstract ? 0 : 1));
    return a;
}

address address::from_sockaddr(const sockaddr* sa, socklen_t len) {
    address a;
    if (len < socklen_t(sizeof(sa_family_t))) return a;
    if (sa->sa_family == AF_UNIX) {
        a.un_ = std::make_unique<sockaddr_un>();
        a.len_ = std::min<socklen_t>(len, sizeof(sockaddr_un));
        std::memcpy(a.un_.get(), sa, a.len_);
        a.inet_.sa.sa_family = AF_UNIX;
    } else {
        a.len_ = std::min<socklen_t>(len, sizeof(inet_storage));
        std::memcpy(&a.inet_, sa, a.len_);
    }
    return a;
}

address& address::operator=(const address& other) {
    if (this == &other) return *this;
    inet_ = other.inet_;
    un_ = other.un_ ? std::make_unique<sockaddr_un>(*other.un_) : nullptr;
    len_ = other.len_;
    return *this;
}

address address::local_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        throw std::system_error(errno, std::system_category(), fmt::format("getsockname(fd {})", fd));
    return from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

address address::peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        throw std::system_error(errno, std::system_category(), fmt::format("getpeername(fd {})", fd));
    return from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string address::host() const {
    char buf[INET6_ADDRSTRLEN] = "";
    switch (family()) {
    case AF_INET:
        inet_ntop(AF_INET, &inet_.in4.sin_addr, buf,
                  sizeof buf);
        return buf;
    case AF_INET6:
        inet_ntop(AF_INET6, &inet_.in6.sin6_addr, buf,
                  sizeof buf);
        return buf;
    case AF_UNIX: {
        // An unnamed socket (the client end of most Unix connections) has no path at all.
        const auto* un = un_.get();
        size_t off = offsetof(sockaddr_un, sun_path);
        if (!un || len_ <= off) return "";
        std::string_view p(un->sun_path, len_ - off);
        if (p.front() == '\0') return "@" + std::string(p.substr(1));  // abstract, as ss(8) shows it
        return std::string(p.substr(0, p.find('\0')));
    }
    default:
        return "";
    }
}

uint16_t address::port() const {
    switch (family()) {
    case AF_INET:
        return ntohs(inet_.in4.sin_port);
    case AF_INET6:
        return ntohs(inet_.in6.sin6_port);
    default:
        return 0;
    }
}

std::string address::to_string() const {
    switch (family()) {
    case AF_INET:
        return fmt::format("{}:{}", host(), port());
    case AF_INET6:
        return fmt::format("[{}]:{}", host(), port());
    default:
        return host();
    }
}

}  // namespace medusa
