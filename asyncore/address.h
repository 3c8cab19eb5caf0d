// address: a socket address of any family the framework speaks (IPv4, IPv6, Unix-domain).
//
// medusa passes addresses around as Python tuples ('127.0.0.1', 8080) or path strings; here one
// small value type holds any of them, prints itself the way medusa's log lines print a peer
// ("127.0.0.1:8080", "[::1]:8080", "/tmp/sock"), and converts to and from sockaddr.
#pragma once

#include <sys/socket.h>

#include <cstdint>
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

    int family() const { return storage_.ss_family; }
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t len() const { return len_; }
    socklen_t& len() { return len_; }
    bool empty() const { return len_ == 0; }

    // The host part alone: "127.0.0.1", "::1", or the Unix path.
    std::string host() const;
    // The port, 0 for Unix-domain sockets.
    uint16_t port() const;
    // "127.0.0.1:8080", "[::1]:8080", or the Unix path.
    std::string to_string() const;

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

}  // namespace medusa
