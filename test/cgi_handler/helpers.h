// Helpers for the CGI handler tests: reading pipes, looking at processes, a small HTTP client.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace medusa::cgi::testing {

// Everything from a (possibly non-blocking) descriptor until end of file; gives up after 10 s.
inline std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            break;
        }
        out.append(buf, size_t(n));
    }
    return out;
}

// One line (without its LF) from a (possibly non-blocking) descriptor; "" after 10 s.
inline std::string read_line(int fd) {
    std::string line;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char c;
        ssize_t n = ::read(fd, &c, 1);
        if (n == 0) break;
        if (n < 0) continue;
        if (c == '\n') return line;
        line += c;
    }
    return line;
}

// The "N -> target" pairs of `ls -l /proc/self/fd/` output.
inline std::vector<std::pair<int, std::string>> listed_descriptors(const std::string& ls) {
    std::vector<std::pair<int, std::string>> fds;
    std::istringstream in(ls);
    std::string line;
    while (std::getline(in, line)) {
        size_t arrow = line.find(" -> ");
        if (arrow == std::string::npos) continue;
        size_t sp = line.rfind(' ', arrow - 1);
        fds.emplace_back(std::stoi(line.substr(sp + 1, arrow - sp - 1)), line.substr(arrow + 4));
    }
    return fds;
}

inline bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// True once `pid` no longer exists (reaped, or reparented and reaped by init).
inline bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (!process_exists(pid)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !process_exists(pid);
}

// The children of this process as (pid, state letter) from /proc (Z for a zombie).
inline std::vector<std::pair<pid_t, char>> children() {
    std::vector<std::pair<pid_t, char>> out;
    pid_t self = ::getpid();
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
        std::string stat;
        if (!std::getline(f, stat)) continue;
        // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
        size_t close = stat.rfind(')');
        if (close == std::string::npos || close + 4 > stat.size()) continue;
        char state = stat[close + 2];
        pid_t ppid = std::atoi(stat.c_str() + close + 4);
        if (ppid == self) out.emplace_back(std::atoi(e->d_name), state);
    }
    ::closedir(d);
    return out;
}

// One HTTP reply as received.
struct reply {
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool closed = false;  // the server closed the connection after it
    int code() const { return status_line.size() >= 12 ? std::stoi(status_line.substr(9, 3)) : 0; }
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& h : headers) {
            if (h.first.size() != name.size()) continue;
            bool eq = true;
            for (size_t i = 0; i < name.size() && eq; ++i)
                eq = std::tolower(static_cast<unsigned char>(h.first[i])) ==
                     std::tolower(static_cast<unsigned char>(name[i]));
            if (eq) return h.second;
        }
        return std::nullopt;
    }
};

// A blocking client with a receive timeout on every read.
class client {
public:
    explicit client(uint16_t port, double timeout_s = 10.0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        timeval tv{long(timeout_s), long((timeout_s - long(timeout_s)) * 1e6)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect");
    }
    ~client() { close(); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd() const { return fd_; }

    void send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send");
            data.remove_prefix(size_t(n));
        }
    }

    // Bytes until the server closes (or the timeout).
    std::string read_to_close() {
        std::string out = std::move(buf_);
        buf_.clear();
        char b[8192];
        for (;;) {
            ssize_t n = recv_some(b, sizeof b);
            if (n <= 0) break;
            out.append(b, size_t(n));
        }
        return out;
    }

    // One reply: framed by Content-Length, chunked coding, or the end of the connection
    // (`head_only` for a reply to HEAD).
    reply read_reply(bool head_only = false) {
        reply r;
        size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) throw std::runtime_error("no reply head: " + buf_);
        }
        std::string head = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        std::istringstream in(head);
        std::string line;
        std::getline(in, line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        r.status_line = line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            r.headers.emplace_back(line.substr(0, colon), value);
        }
        if (head_only || r.code() == 204 || r.code() == 304) return r;
        if (auto te = r.header("Transfer-Encoding"); te && *te == "chunked") {
            for (;;) {
                size_t eol;
                while ((eol = buf_.find("\r\n")) == std::string::npos)
                    if (!fill()) throw std::runtime_error("cut chunk size");
                size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
                buf_.erase(0, eol + 2);
                while (buf_.size() < size + 2)
                    if (!fill()) throw std::runtime_error("cut chunk");
                r.body.append(buf_, 0, size);
                buf_.erase(0, size + 2);
                if (size == 0) break;
            }
        } else if (auto cl = r.header("Content-Length")) {
            size_t size = std::stoul(*cl);
            while (buf_.size() < size)
                if (!fill()) throw std::runtime_error("cut body");
            r.body = buf_.substr(0, size);
            buf_.erase(0, size);
        } else {
            r.body = read_to_close();
            r.closed = true;
        }
        return r;
    }

    // True when the server has closed the connection (end of file within the timeout).
    bool server_closed() {
        if (!buf_.empty()) return false;
        char b;
        return recv_some(&b, 1) == 0;
    }

private:
    // recv(), retried when a signal interrupts it (a child's SIGCHLD can, under a debugger).
    ssize_t recv_some(char* b, size_t n) {
        for (;;) {
            ssize_t r = ::recv(fd_, b, n, 0);
            if (r < 0 && errno == EINTR) continue;
            return r;
        }
    }
    bool fill() {
        char b[8192];
        ssize_t n = recv_some(b, sizeof b);
        if (n <= 0) return false;
        buf_.append(b, size_t(n));
        return true;
    }

    int fd_ = -1;
    std::string buf_;
};

}  // namespace medusa::cgi::testing
