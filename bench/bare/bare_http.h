// bare_http: the little HTTP the bare loops (bare_epoll.cc, bare_uring.cc) speak, kept in one
// place so that the two differ only in how they talk to the kernel.
//
// A request head is read just far enough to pick the reply: its target (without a query) and
// whether the connection stays open (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
// "Connection: keep-alive"). Replies are built once, at start-up, for each file of the root.
// Plain C++ and the C library: the bare loops share no code with medusa.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace bare {

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The value of header `name` in a request head ("" when absent). Linear scan: heads are short.
inline std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        std::size_t start = pos + 2;
        std::size_t end = head.find("\r\n", start);
        if (end == std::string_view::npos) end = head.size();
        std::string_view line = head.substr(start, end - start);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
            return v;
        }
        pos = end;
    }
    return {};
}

struct request {
    std::string target;  // "/128b.bin", query dropped
    bool keep_alive;
};

// Reads the request line (METHOD SP TARGET SP VERSION) and the Connection header of `head`
// (the bytes before its blank line).
inline request read_request(std::string_view head) {
    std::size_t sp1 = head.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : head.find(' ', sp1 + 1);
    std::size_t eol = head.find("\r\n");
    std::string_view target, version;
    if (sp2 != std::string_view::npos) {
        target = head.substr(sp1 + 1, sp2 - sp1 - 1);
        version = head.substr(sp2 + 1, (eol == std::string_view::npos ? head.size() : eol) - sp2 - 1);
    }
    target = target.substr(0, target.find('?'));
    std::string_view conn = header_value(head, "connection");
    bool keep = version == "HTTP/1.1" ? !iequals(conn, "close") : iequals(conn, "keep-alive");
    return {std::string(target), keep};
}

// The reply for `req` from a map of target -> {keep_alive, close} replies (or not_found).
template <class Map, class Pair>
const auto& pick_reply(const Map& files, const Pair& not_found, const request& req) {
    auto f = files.find(req.target);
    const Pair& r = f != files.end() ? f->second : not_found;
    return req.keep_alive ? r.keep_alive : r.close;
}

// "HTTP/1.1 STATUS" and the headers of a reply of `length` bytes, up to its blank line.
inline std::string reply_head(std::string_view server, std::string_view status, std::size_t length,
                              bool keep_alive) {
    std::string r;
    r.append("HTTP/1.1 ").append(status).append("\r\n");
    r.append("Server: ").append(server).append("\r\n");
    r.append("Content-Type: application/octet-stream\r\n");
    r.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
    r.append("Connection: ").append(keep_alive ? "keep-alive" : "close").append("\r\n\r\n");
    return r;
}

// The command line both loops take: --port PORT [--host 127.0.0.1] --root DIR, and, for
// bare_epoll (`epoll_loop`), [--sendfile-min BYTES] [--touch-pages N] [--spin N]. False on
// anything else.
struct options {
    std::string host = "127.0.0.1";
    int port = -1;
    std::string root;
    std::size_t sendfile_min = 8 * 1024;
    std::size_t touch_pages = 0;  // bare_epoll --touch-pages: see bench/page_cost.sh
    std::size_t spin = 0;         // bare_epoll --spin: see bench/compare.sh (bare-spin)
};
inline bool parse_options(int argc, char** argv, bool epoll_loop, options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) return false;
        if (a == "--host") o.host = argv[++i];
        else if (a == "--port") o.port = std::atoi(argv[++i]);
        else if (a == "--root") o.root = argv[++i];
        else if (a == "--sendfile-min" && epoll_loop) o.sendfile_min = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--touch-pages" && epoll_loop) o.touch_pages = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--spin" && epoll_loop) o.spin = std::strtoull(argv[++i], nullptr, 10);
        else return false;
    }
    return o.port >= 0 && !o.root.empty();
}

[[noreturn]] inline void fail(const std::string& call, int err = errno) {
    throw std::system_error(err, std::generic_category(), call);
}

// A listening TCP socket on host:port (port 0: any free one), made with `type_flags` added to
// SOCK_STREAM (SOCK_NONBLOCK, SOCK_CLOEXEC). Sets `bound` to the port it got.
inline int listen_tcp(const std::string& host, int port, int type_flags, int& bound) {
    std::string where = host + ":" + std::to_string(port);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
        throw std::invalid_argument("not an IPv4 address: " + host);
    int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);
    if (fd < 0) fail("socket(AF_INET)");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fail("setsockopt(SO_REUSEADDR)");
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("bind(" + where + ")");
    if (listen(fd, 4096) < 0) fail("listen(" + where + ")");
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
        fail("getsockname(" + where + ")");
    bound = ntohs(addr.sin_port);
    return fd;
}

// Calls fn("/NAME", body) for every regular file directly inside `root` of at most `max_size`
// bytes.
template <class F>
void for_each_file(const std::filesystem::path& root, std::uintmax_t max_size, F&& fn) {
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
        if (!entry.is_regular_file() || entry.file_size() > max_size) continue;
        std::ifstream f(entry.path(), std::ios::binary);
        if (!f) fail("open(" + entry.path().string() + ")");
        std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        fn("/" + entry.path().filename().string(), body);
    }
}

}  // namespace bare
