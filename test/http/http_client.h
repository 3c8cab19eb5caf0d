// A blocking HTTP/1.x client for the server tests: raw bytes out, replies framed back in.
// Every read has a timeout (SO_RCVTIMEO), so a server that never answers fails the test instead
// of hanging it.
#pragma once

#include <cerrno>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request_parser.h"
#include "test/backends.h"

namespace medusa::http::testing {

struct reply {
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string raw_head;  // status line and header block as received
    int code() const { return std::stoi(status_line.substr(9, 3)); }
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& h : headers)
            if (iequals(h.first, name)) return h.second;
        return std::nullopt;
    }
    size_t count(std::string_view name) const {
        size_t n = 0;
        for (const auto& h : headers) n += iequals(h.first, name);
        return n;
    }
};

class client {
public:
    explicit client(uint16_t port, double timeout_s = 5.0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        timeval tv{long(timeout_s), long((timeout_s - long(timeout_s)) * 1e6)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (medusa_test::connect_through_eintr(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect");
    }
    ~client() {
        if (fd_ >= 0) ::close(fd_);
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            data.remove_prefix(size_t(n));
        }
    }

    // Read one reply. For a reply to HEAD (or a 304/204), pass bodyless: no body is read.
    // nullopt on end of file or timeout before a complete head.
    std::optional<reply> read_reply(bool bodyless = false) {
        size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) return std::nullopt;
        reply r;
        r.raw_head = buf_.substr(0, end + 4);
        std::string_view head(buf_.data(), end);
        size_t eol = head.find("\r\n");
        r.status_line = std::string(head.substr(0, eol));
        while (eol != std::string_view::npos) {
            head.remove_prefix(eol + 2);
            eol = head.find("\r\n");
            std::string_view line = head.substr(0, eol);
            size_t colon = line.find(": ");
            if (colon != std::string_view::npos)
                r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
        }
        buf_.erase(0, end + 4);
        int code = r.code();
        if (bodyless || code == 304 || code == 204 || code / 100 == 1) return r;
        if (auto cl = r.header("Content-Length")) {
            size_t n = std::stoul(*cl);
            while (buf_.size() < n)
                if (!fill()) return std::nullopt;
            r.body = buf_.substr(0, n);
            buf_.erase(0, n);
        } else if (r.header("Transfer-Encoding") == "chunked") {
            for (;;) {
                size_t le;
                while ((le = buf_.find("\r\n")) == std::string::npos)
                    if (!fill()) return std::nullopt;
                size_t size = std::stoul(buf_.substr(0, le), nullptr, 16);
                while (buf_.size() < le + 2 + size + 2)
                    if (!fill()) return std::nullopt;
                r.body += buf_.substr(le + 2, size);
                buf_.erase(0, le + 2 + size + 2);
                if (size == 0) break;
            }
        } else {
            while (fill()) {
            }
            r.body = std::move(buf_);
            buf_.clear();
        }
        return r;
    }

    // True when the server has closed the connection (EOF) with nothing more to read.
    bool at_eof() {
        if (!buf_.empty()) return false;
        char c;
        ssize_t n = recv_some(&c, 1);
        if (n == 1) buf_.push_back(c);
        return n == 0;
    }

    // True when nothing arrives within `ms` and the connection is still open.
    bool quiet_for(int ms) {
        timeval tv{0, ms * 1000}, old{};
        socklen_t len = sizeof old;
        ::getsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &old, &len);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char c;
        ssize_t n = recv_some(&c, 1);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &old, sizeof old);
        if (n == 1) buf_.push_back(c);
        return n < 0;
    }

    // Everything until EOF (or timeout).
    std::string read_all() {
        while (fill()) {
        }
        std::string out = std::move(buf_);
        buf_.clear();
        return out;
    }

    int fd() const { return fd_; }

private:
    // recv(2), again when a signal interrupts it: with SO_RCVTIMEO set the kernel does not
    // restart it, and a thread that has used an io_uring is sent such a notice when the ring
    // goes away (the uring backend's maps are made and destroyed on the test's thread).
    ssize_t recv_some(void* buf, size_t n) {
        for (;;) {
            ssize_t r = ::recv(fd_, buf, n, 0);
            if (r >= 0 || errno != EINTR) return r;
        }
    }

    bool fill() {
        char tmp[65536];
        ssize_t n = recv_some(tmp, sizeof tmp);
        if (n <= 0) return false;
        buf_.append(tmp, size_t(n));
        return true;
    }

    int fd_ = -1;
    std::string buf_;
};

// A GET of `path` over HTTP/1.1 with Host: localhost, and `extra` header lines (each ending in
// CRLF) before the blank line.
inline std::string get(std::string_view path, std::string_view extra = "") {
    std::string r = "GET ";
    r.append(path).append(" HTTP/1.1\r\nHost: localhost\r\n").append(extra).append("\r\n");
    return r;
}

}  // namespace medusa::http::testing
