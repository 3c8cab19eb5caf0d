// address: a socket address of any family the framework speaks (IPv4, IPv6, Unix-domain).
//
// medusa passes addresses around as Python tuples ('127.0.0.1', 8080) or path strings; here one
// small value type holds any of them, prints itself the way medusa's log lines print a peer
// ("127.0.0.1:8080", "[::1]:8080", "/tmp/sock"), and converts to and from sockaddr.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace medusa {

class address {
public:
    address() = default;

    // A numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "0.0.0.0", "::") and a port.
    // Throws std::invalid_argument when the host is not a numeric address.
    static address inet(std::string_view host, uint16_t port);
    // A Unix-domain socket path. Throws std::invalid_argument when it does not fit sun_path.
    static address unix_path(std::string_view path);
    // The address the kernel reports for a socket (getsockname / getpeername).
    static address local_of(int fd);
    static address peer_of(int fd);

    // Whatever a system call wrote into a sockaddr (accept, getpeername, getaddrinfo). Lengths
    // beyond the family's sockaddr are cut to it.
    static address from_sockaddr(const sockaddr* sa, socklen_t len);

    address(const address& other) { *this = other; }
    address& operator=(const address& other);
    address(address&&) noexcept = default;
    address& operator=(address&&) noexcept = default;

    int family() const { return inet_.sa.sa_family; }
    const sockaddr* sa() const {
        return un_ ? reinterpret_cast<const sockaddr*>(un_.get()) : &inet_.sa;
    }
    socklen_t len() const { return len_; }
    bool empty() const { return len_ == 0; }

    // The host part alone: "127.0.0.1", "::1", or the Unix path.
    std::string host() const;
    // The port, 0 for Unix-domain sockets.
    uint16_t port() const;
    // "127.0.0.1:8080", "[::1]:8080", or the Unix path.
    std::string to_string() const;

private:
    // Small, because every channel holds one (10,000 idle connections hold 10,000): an IP
    // address fits in 28 bytes; a Unix-domain one (110 bytes of sockaddr_un) lives on the heap.
    union inet_storage {
        sockaddr sa;
        sockaddr_in in4;
        sockaddr_in6 in6;
    };
    inet_storage inet_{};  // IPv4 and IPv6; for AF_UNIX only its family field is set
    socklen_t len_ = 0;
    std::unique_ptr<sockaddr_un> un_;
};

}  // namespace medusa
