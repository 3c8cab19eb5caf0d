// medusa-attack: hostile clients for a running HTTP server on loopback (the attack suite that
// test/attack/run.sh drives against medusa-demo).
//
//   medusa-attack ATTACK --port PORT [--pid PID] [--root DIR] [options]
//
// Each attack plays one kind of abuse, measures what it is told to, prints one "figures:" line and
// "PASS" or "FAIL: why", and exits 0 or 1. The server's state after the attack (still alive, still
// serving, memory and descriptors back) is checked by the script with `probe` and /proc.
//
//   probe      GET --path (default /index.html) once; the body must equal --expect-file
//   slowloris  --conns N connections each dribble a header line; a normal GET is served meanwhile
//              and the server closes the slow ones (its header timeout) within --reclaim SECONDS
//   noread     --conns N connections each pipeline --pipeline K requests for --path, never read;
//              the server's VmRSS (--pid) stays under --rss-bound MiB above the start
//   reset      --count N times: request --path, read part of it, close with SO_LINGER 0 (RST)
//   cgireset   --count N times: request /cgi-bin/flood or /cgi-bin/drip, read part of the script's
//              output, RST; within --reclaim SECONDS the server (--pid) has no child left
//   fdexhaust  open --conns N connections at a server short of descriptors, each with a GET; its
//              CPU time over 2 s (--pid) stays under --cpu-bound ms; every GET is answered (with
//              the body of --expect-file), while short or once the answered ones close, or is
//              refused cleanly and served on a retry: none lost
//   smuggle    request smuggling shapes as GET, HEAD and POST, each behind a normal GET and followed
//              by a GET for --path: 200, then 400 and the close; the GET after never answered
//   traverse   escapes from the docroot; each must be 400/403/404 without --marker in the reply
//   cgi        the inject-* scripts of test/attack/cgi-bin (--count times each, --expect-file the
//              index) and Proxy header spellings against /cgi-bin/env and /cgi/env
//   pipeline   --count N requests in one write; every reply answered, in order
//   churn      --conns N clients connect, GET, close as fast as they can for --seconds S
//
// Plain sockets and poll(2); every wait has a deadline; loopback only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

struct options {
    std::string attack;
    uint16_t port = 0;
    int pid = 0;
    std::string root;
    std::string path = "/index.html";
    std::string expect_file;
    std::string marker;
    int conns = 0;
    int count = 0;
    int pipeline = 0;
    double seconds = 0;
    double reclaim = 0;
    double rss_bound = 0;   // MiB
    double cpu_bound = 0;   // ms
    double latency_bound = 0;  // ms
};

[[noreturn]] void fail_sys(std::string_view what) {
    throw std::system_error(errno, std::generic_category(), std::string(what));
}

double since_ms(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// --- /proc readings ---------------------------------------------------------------------------

long rss_kib(int pid) {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

// utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat, after the "(comm)").
long cpu_ticks(int pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = s.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
}

double ticks_to_ms(long ticks) { return double(ticks) * 1000.0 / double(::sysconf(_SC_CLK_TCK)); }

// --- sockets ----------------------------------------------------------------------------------

void raise_fd_limit() {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

sockaddr_in loopback(uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

// A non-blocking socket with connect() started; -1 (errno set) when socket() or connect() fails.
// rcvbuf > 0 sets SO_RCVBUF first (it must precede connect to shrink the advertised window).
int connect_nb(uint16_t port, int rcvbuf = 0) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in sa = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool wait_fd(int fd, short events, clock_type::time_point deadline) {
    for (;;) {
        int left = int(std::chrono::duration_cast<ms>(deadline - clock_type::now()).count());
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, left);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) fail_sys("poll");
    }
}

// Connected (non-blocking) socket within the deadline, or -1.
int connect_wait(uint16_t port, clock_type::time_point deadline) {
    int fd = connect_nb(port);
    if (fd < 0) return -1;
    if (!wait_fd(fd, POLLOUT, deadline)) {
        ::close(fd);
        return -1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Write all of `data` before the deadline (reading and keeping any reply meanwhile, so a server
// that answers while we still write cannot deadlock us). False on error or timeout.
bool send_all(int fd, std::string_view data, clock_type::time_point deadline,
              std::string* got = nullptr) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += size_t(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        short ev = POLLOUT | (got ? POLLIN : 0);
        int left = int(std::chrono::duration_cast<ms>(deadline - clock_type::now()).count());
        if (left <= 0) return false;
        pollfd p{fd, ev, 0};
        if (::poll(&p, 1, left) < 0 && errno != EINTR) fail_sys("poll");
        if (got && (p.revents & POLLIN)) {
            char buf[65536];
            ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            if (r > 0) got->append(buf, size_t(r));
            if (r == 0) return false;
        }
    }
    return true;
}

enum class read_end { eof, reset, timeout, enough };

// Read into `out` until EOF, error, the deadline, or `enough(out)` is true.
template <class Enough>
read_end read_until(int fd, std::string& out, clock_type::time_point deadline, Enough enough) {
    char buf[65536];
    for (;;) {
        if (enough(out)) return read_end::enough;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            out.append(buf, size_t(n));
            continue;
        }
        if (n == 0) return read_end::eof;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return read_end::reset;
        if (!wait_fd(fd, POLLIN, deadline)) return read_end::timeout;
    }
}

std::string_view end_name(read_end e) {
    switch (e) {
    case read_end::eof: return "closed";
    case read_end::reset: return "reset";
    case read_end::timeout: return "open(timeout)";
    case read_end::enough: return "open";
    }
    return "?";
}

// --- responses --------------------------------------------------------------------------------

struct response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Parse one response at buf[pos...]. Returns the response and advances pos, or nullopt when more
// bytes are needed. A reply with neither Content-Length nor chunking runs to EOF: `at_eof` says
// whether the connection has ended. `bodyless`: a reply to HEAD (headers only). Throws
// std::runtime_error on bytes that are not a response.
std::optional<response> parse_response(const std::string& buf, size_t& pos, bool at_eof,
                                       bool bodyless = false) {
    size_t head_end = buf.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return std::nullopt;
    std::string_view head(buf.data() + pos, head_end - pos);
    if (head.rfind("HTTP/", 0) != 0)
        throw std::runtime_error(fmt::format("not a status line: '{}'", head.substr(0, 40)));
    response r;
    size_t sp = head.find(' ');
    r.status = std::atoi(std::string(head.substr(sp + 1, 3)).c_str());
    size_t line = head.find("\r\n");
    while (line != std::string_view::npos) {
        size_t next = head.find("\r\n", line + 2);
        std::string_view h = head.substr(line + 2, next == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : next - line - 2);
        size_t colon = h.find(':');
        if (colon != std::string_view::npos) {
            std::string_view v = h.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            r.headers[lower(std::string(h.substr(0, colon)))] = std::string(v);
        }
        line = next;
    }
    size_t body = head_end + 4;
    if (bodyless) {
        pos = body;
        return r;
    }
    if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
        size_t n = std::stoull(cl->second);
        if (buf.size() - body < n) return std::nullopt;
        r.body = buf.substr(body, n);
        pos = body + n;
        return r;
    }
    if (auto te = r.headers.find("transfer-encoding");
        te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
        size_t p = body;
        for (;;) {
            size_t eol = buf.find("\r\n", p);
            if (eol == std::string::npos) return std::nullopt;
            size_t n = std::stoull(buf.substr(p, eol - p), nullptr, 16);
            if (n == 0) {
                size_t end = buf.find("\r\n\r\n", eol);  // trailers end
                if (end == std::string::npos) return std::nullopt;
                pos = end + 4;
                return r;
            }
            if (buf.size() < eol + 2 + n + 2) return std::nullopt;
            r.body.append(buf, eol + 2, n);
            p = eol + 2 + n + 2;
        }
    }
    if (!at_eof) return std::nullopt;
    r.body = buf.substr(body);
    pos = buf.size();
    return r;
}

// Every complete response in buf (the last one may run to EOF).
std::vector<response> parse_all(const std::string& buf, bool at_eof) {
    std::vector<response> out;
    size_t pos = 0;
    while (pos < buf.size()) {
        auto r = parse_response(buf, pos, at_eof);
        if (!r) break;
        out.push_back(std::move(*r));
    }
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read {}", path));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string get_request(std::string_view path, bool close = false) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n{}\r\n", path,
                       close ? "Connection: close\r\n" : "");
}

// One GET on a fresh connection: the response, or nullopt (with `why`) on timeout or error.
std::optional<response> fetch(uint16_t port, std::string_view path, double timeout_ms,
                              std::string& why) {
    auto deadline = clock_type::now() + ms(long(timeout_ms));
    int fd = connect_wait(port, deadline);
    if (fd < 0) {
        why = "connect failed or timed out";
        return std::nullopt;
    }
    std::string got;
    if (!send_all(fd, get_request(path, true), deadline)) {
        ::close(fd);
        why = "send failed";
        return std::nullopt;
    }
    std::optional<response> r;
    read_end e = read_until(fd, got, deadline, [&](const std::string& b) {
        size_t pos = 0;
        try {
            r = parse_response(b, pos, false);
        } catch (const std::exception&) {
        }
        return bool(r);
    });
    ::close(fd);
    if (!r && e == read_end::eof) {
        size_t pos = 0;
        try {
            r = parse_response(got, pos, true);
        } catch (const std::exception& ex) {
            why = ex.what();
            return std::nullopt;
        }
    }
    if (!r) why = fmt::format("no complete response ({}, {} bytes)", end_name(e), got.size());
    return r;
}

// --- the attacks ------------------------------------------------------------------------------

struct verdict {
    bool pass = true;
    std::string why;
    void fail(std::string w) {
        if (pass) why = std::move(w);
        else why += "; " + w;
        pass = false;
    }
};

verdict probe(const options& o) {
    verdict v;
    std::string why;
    auto t0 = clock_type::now();
    auto r = fetch(o.port, o.path, o.latency_bound > 0 ? o.latency_bound : 5000, why);
    fmt::print("figures: probe {} in {:.1f} ms\n", r ? r->status : 0, since_ms(t0));
    if (!r) v.fail(why);
    else if (r->status != 200) v.fail(fmt::format("status {}", r->status));
    else if (!o.expect_file.empty() && r->body != slurp(o.expect_file))
        v.fail(fmt::format("body of {} bytes differs from {}", r->body.size(), o.expect_file));
    return v;
}

// Connections each send a request line and a header line they never finish, one byte at a time.
verdict slowloris(const options& o) {
    verdict v;
    const std::string head = "GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    std::vector<int> fds;
    auto t0 = clock_type::now();
    int refused = 0;
    for (int i = 0; i < o.conns; ++i) {
        int fd = connect_nb(o.port);
        if (fd < 0) ++refused;
        else fds.push_back(fd);
    }
    // Wait for the connects, then send the opening bytes.
    auto deadline = clock_type::now() + ms(10000);
    size_t started = 0;
    std::vector<bool> open(fds.size(), true);
    for (size_t i = 0; i < fds.size(); ++i) {
        if (!send_all(fds[i], head, deadline)) open[i] = false;
        else ++started;
    }
    fmt::print("slowloris: {} connections started in {:.0f} ms ({} failed to connect)\n", started,
               since_ms(t0), refused + int(fds.size() - started));
    // Dribble one byte per connection per second; meanwhile a normal client is served, and the
    // server closes the slow ones once its header timeout passes.
    double probe_ms = -1;
    int probe_status = 0;
    bool probed = false;
    auto attack_end = t0 + ms(long(o.reclaim * 1000));
    auto next_dribble = clock_type::now();
    size_t closed_by_server = 0;
    double last_close_ms = 0;
    std::vector<pollfd> pfds;
    while (clock_type::now() < attack_end && closed_by_server < started) {
        if (clock_type::now() >= next_dribble) {
            for (size_t i = 0; i < fds.size(); ++i)
                if (open[i]) ::send(fds[i], "a", 1, MSG_NOSIGNAL);
            next_dribble += ms(1000);
        }
        if (!probed && since_ms(t0) > 1000) {
            probed = true;
            std::string why;
            auto p0 = clock_type::now();
            auto r = fetch(o.port, "/index.html", o.latency_bound, why);
            probe_ms = since_ms(p0);
            probe_status = r ? r->status : 0;
            if (!r) v.fail(fmt::format("GET during the attack: {}", why));
            else if (r->status != 200) v.fail(fmt::format("GET during the attack: {}", r->status));
        }
        pfds.clear();
        std::vector<size_t> idx;
        for (size_t i = 0; i < fds.size(); ++i)
            if (open[i]) {
                pfds.push_back({fds[i], POLLIN, 0});
                idx.push_back(i);
            }
        if (::poll(pfds.data(), pfds.size(), 200) < 0 && errno != EINTR) fail_sys("poll");
        for (size_t k = 0; k < pfds.size(); ++k) {
            if (!pfds[k].revents) continue;
            char buf[4096];
            ssize_t n = ::recv(pfds[k].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) continue;  // a reply (e.g. 408) before the close
            if (n < 0 && errno == EAGAIN) continue;
            open[idx[k]] = false;
            ++closed_by_server;
            last_close_ms = since_ms(t0);
        }
    }
    for (int fd : fds) ::close(fd);
    fmt::print("figures: slowloris conns={} closed_by_server={} last_close_at={:.0f}ms "
               "probe_status={} probe_latency={:.1f}ms\n",
               started, closed_by_server, last_close_ms, probe_status, probe_ms);
    if (started < size_t(o.conns) * 9 / 10)
        v.fail(fmt::format("only {} of {} connections opened", started, o.conns));
    if (closed_by_server < started)
        v.fail(fmt::format("{} slow connections still open after {} s", started - closed_by_server,
                           o.reclaim));
    if (!probed) v.fail("no GET was tried during the attack");
    else if (probe_ms > o.latency_bound) v.fail(fmt::format("GET took {:.0f} ms", probe_ms));
    return v;
}

// Connections that ask for a large file many times over and never read a byte.
verdict noread_round(const options& o, int round, long& peak_out) {
    verdict v;
    long base = rss_kib(o.pid);
    std::string reqs;
    for (int i = 0; i < o.pipeline; ++i) reqs += get_request(o.path);
    std::vector<int> fds;
    for (int i = 0; i < o.conns; ++i) {
        // A small receive window, so the server's side fills sooner.
        int fd = connect_nb(o.port, 4096);
        if (fd >= 0) fds.push_back(fd);
    }
    auto deadline = clock_type::now() + ms(10000);
    int sent = 0;
    for (int fd : fds) {
        if (!wait_fd(fd, POLLOUT, deadline)) continue;
        // The requests are small; if the server stops reading (its output is full), the rest
        // waits in our send buffer: that is the point.
        ssize_t n = ::send(fd, reqs.data(), reqs.size(), MSG_NOSIGNAL);
        if (n > 0) ++sent;
    }
    // Let the server do what it will for a while, sampling its memory.
    long peak = base;
    auto until = clock_type::now() + ms(long(o.seconds * 1000));
    while (clock_type::now() < until) {
        long r = rss_kib(o.pid);
        if (r > peak) peak = r;
        if (r < 0) {
            v.fail("server process gone");
            break;
        }
        ::usleep(100 * 1000);
    }
    size_t still_open = 0;
    for (int fd : fds) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 0);
        if (!(p.revents & (POLLHUP | POLLERR))) ++still_open;
        ::close(fd);  // unread data: the kernel sends RST
    }
    double grown = double(peak - base) / 1024.0;
    fmt::print("figures: noread round={} conns={} requests_each={} rss_base={}KiB rss_peak={}KiB "
               "growth={:.1f}MiB ({:.1f}KiB/conn) still_open={}\n",
               round, sent, o.pipeline, base, peak, grown,
               double(peak - base) / std::max(sent, 1), still_open);
    peak_out = peak;
    if (sent < o.conns * 9 / 10) v.fail(fmt::format("only {} of {} connections sent", sent, o.conns));
    if (grown > o.rss_bound)
        v.fail(fmt::format("RSS grew {:.1f} MiB (bound {} MiB)", grown, o.rss_bound));
    return v;
}

// Two rounds: the first shows the cost per connection, the second that it is not a leak (the
// heap the first round grew is reused, so the second peak is no higher).
verdict noread(const options& o) {
    long peak1 = 0, peak2 = 0;
    verdict v = noread_round(o, 1, peak1);
    ::usleep(1000 * 1000);  // the server notices the resets and frees the channels
    verdict v2 = noread_round(o, 2, peak2);
    if (!v2.pass) v.fail(v2.why);
    if (peak2 > peak1 + 4096)
        v.fail(fmt::format("second round peaked {} KiB above the first", peak2 - peak1));
    return v;
}

// Abort a large reply halfway with an RST.
verdict reset(const options& o) {
    verdict v;
    int done = 0, failed = 0;
    auto t0 = clock_type::now();
    for (int i = 0; i < o.count; ++i) {
        auto deadline = clock_type::now() + ms(5000);
        int fd = connect_wait(o.port, deadline);
        if (fd < 0) {
            ++failed;
            continue;
        }
        std::string got;
        bool ok = send_all(fd, get_request(o.path), deadline);
        // Read somewhere between 16 KiB and 512 KiB of the reply, then reset.
        size_t want = 16384 + size_t(i) * 7919 % (512 * 1024);
        read_end e = ok ? read_until(fd, got, deadline, [&](const std::string& b) {
            return b.size() >= want;
        }) : read_end::reset;
        if (e == read_end::enough && got.rfind("HTTP/1.1 200", 0) == 0) ++done;
        else ++failed;
        struct linger lg {1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(fd);
    }
    fmt::print("figures: reset count={} reset_mid_reply={} failed={} in {:.0f} ms\n", o.count,
               done, failed, since_ms(t0));
    if (failed) v.fail(fmt::format("{} of {} requests got no partial reply", failed, o.count));
    return v;
}

// Children of `pid` (by the parent field of /proc/N/stat), and how many of them are zombies.
struct children_count {
    int all = 0;
    int zombies = 0;
};

children_count children_of(int pid) {
    children_count c;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        size_t close = s.rfind(')');
        if (close == std::string::npos || close + 2 >= s.size()) continue;  // it just exited
        std::istringstream rest(s.substr(close + 2));
        char state = 0;
        int ppid = 0;
        if (!(rest >> state >> ppid) || ppid != pid) continue;
        ++c.all;
        if (state == 'Z') ++c.zombies;
    }
    return c;
}

// Abort a CGI script's output halfway with an RST: /cgi-bin/flood (writes 16 MiB as fast as it
// can; reset after 64-512 KiB) and /cgi-bin/drip (a line every 0.1 s for 10 s; reset after the
// first line), alternately. Afterwards every script must be gone (no child of the server left,
// zombie or alive, within --reclaim seconds) and a CGI request must still be answered.
verdict cgireset(const options& o) {
    verdict v;
    int done = 0, failed = 0, peak_children = 0;
    auto t0 = clock_type::now();
    for (int i = 0; i < o.count; ++i) {
        bool flood = i % 2 == 0;
        auto deadline = clock_type::now() + ms(5000);
        int fd = connect_wait(o.port, deadline);
        if (fd < 0) {
            ++failed;
            continue;
        }
        std::string got;
        bool ok = send_all(fd, get_request(flood ? "/cgi-bin/flood" : "/cgi-bin/drip"), deadline);
        size_t want = 65536 + size_t(i) * 7919 % (448 * 1024);
        read_end e = ok ? read_until(fd, got, deadline, [&](const std::string& b) {
            return flood ? b.size() >= want : b.find("drip line 1\n") != std::string::npos;
        }) : read_end::reset;
        if (e == read_end::enough && got.rfind("HTTP/1.1 200", 0) == 0) ++done;
        else ++failed;
        if (o.pid) peak_children = std::max(peak_children, children_of(o.pid).all);
        struct linger lg {1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(fd);
    }
    double attack_ms = since_ms(t0);
    // Every script stopped and reaped: no child of the server left.
    children_count left;
    auto r0 = clock_type::now();
    if (o.pid) {
        double bound = (o.reclaim > 0 ? o.reclaim : 10) * 1000;
        for (;;) {
            left = children_of(o.pid);
            if (left.all == 0 || since_ms(r0) > bound) break;
            ::usleep(50 * 1000);
        }
    }
    double reap_ms = since_ms(r0);
    // And a CGI request is still answered in full.
    std::string why;
    auto after = fetch(o.port, "/cgi-bin/env", 5000, why);
    bool after_ok = after && after->status == 200 && after->body.find("GATEWAY_INTERFACE=") !=
                                                         std::string::npos;
    fmt::print("figures: cgireset count={} reset_mid_output={} failed={} in {:.0f} ms; server "
               "children peak={} left={} (zombies {}) {:.0f} ms after; /cgi-bin/env after: {}\n",
               o.count, done, failed, attack_ms, peak_children, left.all, left.zombies, reap_ms,
               after ? after->status : 0);
    if (failed) v.fail(fmt::format("{} of {} requests got no partial output", failed, o.count));
    if (left.all)
        v.fail(fmt::format("{} script processes left ({} zombies)", left.all, left.zombies));
    if (!after_ok) v.fail(fmt::format("/cgi-bin/env not answered after the attack: {}",
                                      after ? fmt::format("status {}", after->status) : why));
    return v;
}

// A server out of descriptors must not spin on a listener it cannot accept from, and must lose
// no request: every connection is answered while the server is short, or once the answered ones
// close (the rest wait in the listen queue), or is refused cleanly (a close or a 503 without a
// reply) and then served on a retry. A connection that ends with nothing of that is lost.
verdict fdexhaust(const options& o) {
    verdict v;
    struct conn {
        int fd = -1;
        bool sent = false;
        std::string got;
        int status = 0;        // of the complete reply, once there is one
        bool refused = false;  // closed, reset or 503 without a 200
    };
    std::vector<conn> conns;
    for (int i = 0; i < o.conns; ++i) {
        int fd = connect_nb(o.port);
        if (fd < 0) continue;
        conns.emplace_back();
        conns.back().fd = fd;
    }
    const std::string expect = o.expect_file.empty() ? std::string() : slurp(o.expect_file);
    const std::string req = get_request("/index.html");
    // One pass of non-blocking I/O on a connection: send once connected, read what is there.
    auto step = [&](conn& c) {
        if (c.fd < 0 || c.status || c.refused) return;
        if (!c.sent) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                c.refused = true;
                return;
            }
            ssize_t n = ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
            if (n == ssize_t(req.size())) c.sent = true;
            else if (n < 0 && errno != EAGAIN && errno != ENOTCONN) c.refused = true;
            return;
        }
        char buf[16384];
        bool eof = false;
        for (;;) {
            ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                c.got.append(buf, size_t(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            eof = n == 0 || errno != EAGAIN;
            break;
        }
        size_t pos = 0;
        std::optional<response> r;
        try {
            r = parse_response(c.got, pos, eof);
        } catch (const std::exception&) {
            c.refused = true;
            return;
        }
        if (r && r->status == 200 && (expect.empty() || r->body == expect)) c.status = 200;
        else if (r || eof) c.refused = true;  // a 503, another status, or a close without reply
    };
    auto pump = [&](clock_type::time_point deadline) {
        while (clock_type::now() < deadline) {
            std::vector<pollfd> p;
            std::vector<conn*> who;
            for (auto& c : conns)
                if (c.fd >= 0 && !c.status && !c.refused) {
                    p.push_back({c.fd, short(c.sent ? POLLIN : POLLOUT), 0});
                    who.push_back(&c);
                }
            if (p.empty()) return;
            if (::poll(p.data(), p.size(), 100) < 0 && errno != EINTR) fail_sys("poll");
            for (size_t i = 0; i < p.size(); ++i)
                if (p[i].revents) step(*who[i]);
        }
    };
    pump(clock_type::now() + ms(500));  // send, and let the server hit the limit
    long c0 = cpu_ticks(o.pid);
    auto t0 = clock_type::now();
    pump(t0 + ms(2000));
    std::this_thread::sleep_until(t0 + ms(2000));  // the whole 2 s, even if all were answered
    long c1 = cpu_ticks(o.pid);
    double wall = since_ms(t0);
    double cpu = ticks_to_ms(c1 - c0);
    // Answered while the server was short of descriptors; closing those frees its descriptors,
    // and the connections waiting in its listen queue must then be served.
    int answered_short = 0;
    for (auto& c : conns)
        if (c.status == 200) {
            ++answered_short;
            ::close(c.fd);
            c.fd = -1;
        }
    auto r0 = clock_type::now();
    pump(clock_type::now() + ms(15000));
    int answered_after = 0, refused = 0, stuck = 0;
    for (auto& c : conns) {
        if (c.fd < 0) continue;
        if (c.status == 200) ++answered_after;
        else if (c.refused) ++refused;
        else ++stuck;
        ::close(c.fd);
        c.fd = -1;
    }
    double resume_ms = since_ms(r0);
    // The refused ones ask again, now that the server has its descriptors back.
    int retried_ok = 0;
    std::string why;
    for (int i = 0; i < refused; ++i) {
        std::optional<response> r;
        for (int tries = 0; tries < 10 && !(r && r->status == 200); ++tries) {
            r = fetch(o.port, "/index.html", 2000, why);
            if (!(r && r->status == 200)) ::usleep(200 * 1000);
        }
        if (r && r->status == 200 && (expect.empty() || r->body == expect)) ++retried_ok;
    }
    int lost = int(conns.size()) - answered_short - answered_after - retried_ok;
    fmt::print("figures: fdexhaust conns={} answered_while_short={} server_cpu={:.0f}ms over "
               "{:.0f}ms; after release: answered={} in {:.0f}ms, refused={} (retried ok={}), "
               "no reply={}; lost={} (of {} attempted)\n",
               conns.size(), answered_short, cpu, wall, answered_after, resume_ms, refused,
               retried_ok, stuck, lost + (o.conns - int(conns.size())), o.conns);
    if (cpu > o.cpu_bound) v.fail(fmt::format("server used {:.0f} ms CPU in 2 s (spinning)", cpu));
    if (int(conns.size()) != o.conns)
        v.fail(fmt::format("{} connections could not be opened", o.conns - int(conns.size())));
    if (lost) v.fail(fmt::format("{} requests lost ({} never answered)", lost, stuck));
    return v;
}

// Request smuggling: each shape is sent behind a normal GET for /index.html and followed, on the
// same connection, by a GET for o.path. The framing of every shape is one two servers could read
// differently, so the server must answer the first GET, then 400, then close: the request after
// the shape is never answered (a desynchronised stream would answer it, or show o.marker). Each
// shape goes as GET, HEAD and POST (the check must not depend on the method). Well-framed
// controls with the same headers must be served with the connection kept, the next GET answered.
verdict smuggle(const options& o) {
    verdict v;
    struct shape {
        std::string name;
        std::string version;  // of the request line
        std::string rest;     // the header lines and what follows the head
    };
    const std::string h = "Host: localhost\r\n";
    const std::string te = "Transfer-Encoding: chunked\r\n";
    // The request after each shape (it closes, so a kept connection does not wait for a timeout).
    const std::string after = get_request(o.path, true);
    const std::vector<shape> shapes = {
        {"cl-te", "1.1", h + "Content-Length: 5\r\n" + te + "\r\n0\r\n\r\n"},
        {"te-cl", "1.1", h + te + "Content-Length: 5\r\n\r\n0\r\n\r\n"},
        {"two-cl", "1.1", h + "Content-Length: 0\r\nContent-Length: 5\r\n\r\n"},
        {"cl-list", "1.1", h + "Content-Length: 0, 5\r\n\r\n"},
        {"cl-negative", "1.1", h + "Content-Length: -1\r\n\r\n"},
        {"cl-overflow", "1.1", h + "Content-Length: 18446744073709551621\r\n\r\n"},
        {"cl-plus", "1.1", h + "Content-Length: +0\r\n\r\n"},
        {"cl-hex", "1.1", h + "Content-Length: 0x0\r\n\r\n"},
        {"cl-empty", "1.1", h + "Content-Length:\r\n\r\n"},
        {"chunk-size-bad", "1.1", h + te + "\r\nzz\r\nhello\r\n0\r\n\r\n"},
        {"chunk-size-overflow", "1.1", h + te + "\r\n10000000000000001\r\nA\r\n0\r\n\r\n"},
        {"chunk-size-negative", "1.1", h + te + "\r\n-1\r\nA\r\n0\r\n\r\n"},
        {"chunk-size-0x", "1.1", h + te + "\r\n0x5\r\nhello\r\n0\r\n\r\n"},
        {"te-not-final", "1.1",
         h + "Transfer-Encoding: chunked, identity\r\nContent-Length: 0\r\n\r\n0\r\n\r\n"},
        {"te-chunked-twice", "1.1", h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
        {"te-unknown", "1.1", h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
        {"te-two-lines", "1.1", h + te + "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
        {"te-space-before-colon", "1.1", h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"},
        {"te-name-vtab", "1.1", h + "Transfer-Encoding\x0b: chunked\r\n\r\n0\r\n\r\n"},
        {"te-obs-fold", "1.1", h + "Transfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n"},
        // The folded length covers the GET that follows: a server that unfolds would read that
        // GET as the body; one that drops the folded line would answer it.
        {"cl-obs-fold", "1.1",
         h + fmt::format("Content-Length:\r\n {}\r\n\r\n", after.size())},
        {"fold-first-header", "1.1", " Content-Length: 0\r\n" + h + "\r\n"},
        {"te-http10", "1.0", h + te + "Connection: keep-alive\r\n\r\n0\r\n\r\n"},
        {"bare-cr-in-value", "1.1", h + "X-A: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"bare-cr-line-end", "1.1",
         "Host: localhost\rContent-Length: " + std::to_string(after.size()) +
             "\r\n\r\n"},
        {"nul-in-value", "1.1", h + std::string("X-A: a\0b\r\n\r\n", 12)},
    };
    // The same headers, well framed: served, connection kept.
    const std::vector<shape> controls = {
        {"content-length", "1.1", h + "Content-Length: 5\r\n\r\nhello"},
        {"same-cl-twice", "1.1", h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
        {"chunked", "1.1", h + te + "\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n"},
        {"folded-other-header", "1.1", h + "X-Fold: a\r\n b\r\n\r\n"},
    };
    const char* const methods[] = {"GET", "HEAD", "POST"};
    const std::string marker = o.marker;

    // Sends `first` (if any), the request, then `after`; reads to the close or 2 s.
    struct outcome {
        std::vector<response> replies;
        read_end end = read_end::timeout;
        bool marker_seen = false;
        std::string error;
    };
    auto attempt = [&](const std::string& first, const std::string& request, bool head) {
        outcome out;
        auto deadline = clock_type::now() + ms(3000);
        int fd = connect_wait(o.port, deadline);
        if (fd < 0) {
            out.error = "cannot connect";
            return out;
        }
        std::string got;
        send_all(fd, first + request + after, deadline, &got);
        out.end = read_until(fd, got, clock_type::now() + ms(2000),
                             [](const std::string&) { return false; });
        ::close(fd);
        out.marker_seen = got.find(marker) != std::string::npos;
        try {
            size_t pos = 0;
            bool at_eof = out.end != read_end::timeout;
            // The reply to the shape itself has no body when the shape is a HEAD.
            int index = 0;
            while (pos < got.size()) {
                bool bodyless = head && index == (first.empty() ? 0 : 1);
                auto r = parse_response(got, pos, at_eof, bodyless);
                if (!r) break;
                out.replies.push_back(std::move(*r));
                ++index;
            }
        } catch (const std::exception& ex) {
            out.error = ex.what();
        }
        return out;
    };
    auto statuses = [](const outcome& out) {
        std::string s;
        for (const auto& r : out.replies) s += fmt::format("{}{}", s.empty() ? "" : ",", r.status);
        return s.empty() ? std::string("none") : s;
    };

    const std::string normal = get_request("/index.html");
    int tried = 0, refused = 0, desync = 0;
    for (const auto& s : shapes) {
        std::string line;
        for (const char* m : methods) {
            ++tried;
            std::string req = fmt::format("{} /index.html HTTP/{}\r\n{}", m, s.version, s.rest);
            bool head = std::string_view(m) == "HEAD";
            outcome out = attempt(normal, req, head);
            bool second = out.marker_seen || out.replies.size() > 2;
            bool ok = out.error.empty() && out.replies.size() == 2 &&
                      out.replies[0].status == 200 && out.replies[1].status == 400 &&
                      out.replies[1].headers["connection"] == "close" && out.end == read_end::eof &&
                      !second;
            if (second) ++desync;
            if (ok) ++refused;
            line += fmt::format(" {}=[{}]{}{}", m, statuses(out), end_name(out.end),
                                second ? "+DESYNC" : "");
            if (!ok)
                v.fail(fmt::format("{} {}: replies [{}] {}{}{}", m, s.name, statuses(out),
                                   end_name(out.end), second ? ", second request answered" : "",
                                   out.error.empty() ? "" : ", " + out.error));
        }
        fmt::print("smuggle {:<22}{}\n", s.name, line);
    }
    int controls_ok = 0, control_tries = 0;
    for (const auto& s : controls) {
        std::string line;
        for (const char* m : methods) {
            ++control_tries;
            std::string req = fmt::format("{} /index.html HTTP/{}\r\n{}", m, s.version, s.rest);
            outcome out = attempt("", req, std::string_view(m) == "HEAD");
            // GET and HEAD: 200; POST: the file handler's 400 for a method it does not serve. In
            // every case the connection is kept and the GET after it answered.
            int want = std::string_view(m) == "POST" ? 400 : 200;
            bool ok = out.replies.size() == 2 && out.replies[0].status == want &&
                      !out.replies[0].headers.count("connection") && out.replies[1].status == 200 &&
                      out.marker_seen;
            if (ok) ++controls_ok;
            else v.fail(fmt::format("control {} {}: replies [{}]", m, s.name, statuses(out)));
            line += fmt::format(" {}=[{}]", m, statuses(out));
        }
        fmt::print("control {:<22}{}\n", s.name, line);
    }
    fmt::print("figures: smuggle shapes={} methods=3 tried={} answered_400_and_closed={} "
               "desync={} controls={} controls_served_and_kept={}\n",
               shapes.size(), tried, refused, desync, control_tries, controls_ok);
    return v;
}

// Escapes from the docroot. `marker` is in a file outside the root.
verdict traverse(const options& o) {
    verdict v;
    const std::vector<std::string> targets = {
        "/../secret.txt",
        "/./../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..\\secret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/index.html%00/../../secret.txt",
        "/%00/../secret.txt",
        "/..%00/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt",
        // ';' params: "..;" is a segment name, not ".." with params (split_uri takes params from
        // the last segment only); medusa read "/..;/x" as "/.." and redirected to the root.
        "/..;/secret.txt",
        "/..;/..;/secret.txt",
        "/%2e%2e;/secret.txt",
        "/.%2e;/secret.txt",
        "/..%3b/secret.txt",
        "/..;x=1/secret.txt",
        "/sub/..;/..;/secret.txt",
        "/;/../secret.txt",
        "/;/../../secret.txt",
        "/sub;/../../secret.txt",
        "/..\\..\\secret.txt",
        "/..;/escape.txt",
        "/escape.txt",
        "/escape-dir/secret.txt",
        "//secret.txt",
        "/../../../../../../../../../../../etc/passwd",
        "../secret.txt",
        "http://localhost/../secret.txt",
    };
    int safe = 0;
    for (const auto& t : targets) {
        std::string why;
        auto deadline = clock_type::now() + ms(3000);
        int fd = connect_wait(o.port, deadline);
        if (fd < 0) {
            v.fail(fmt::format("{}: cannot connect", t));
            continue;
        }
        std::string got;
        send_all(fd, get_request(t, true), deadline, &got);
        read_end e = read_until(fd, got, deadline, [](const std::string&) { return false; });
        ::close(fd);
        std::vector<response> rs;
        try {
            rs = parse_all(got, e != read_end::timeout);
        } catch (const std::exception&) {
        }
        int status = rs.empty() ? 0 : rs[0].status;
        bool leaked = got.find(o.marker) != std::string::npos || got.find("root:x:0:0") != std::string::npos;
        bool ok = !leaked && (status == 400 || status == 403 || status == 404);
        std::string note = leaked ? "LEAKED the outside file"
                           : !ok  ? fmt::format("unexpected status (Location: {})",
                                                rs.empty() ? "" : rs[0].headers["location"])
                                  : "ok";
        fmt::print("traverse {:<44} {} {}\n", t, status, note);
        if (ok) ++safe;
        else v.fail(fmt::format("{} -> {}{}", t, status, leaked ? " LEAKED" : ""));
    }
    fmt::print("figures: traverse paths={} refused={}\n", targets.size(), safe);
    return v;
}

// Header injection through a CGI script's output, and HTTP_PROXY through a Proxy request header.
// Each inject-* script of test/attack/cgi-bin tries to get a header of its own ("Set-Cookie:
// injected=1") or a second response past the server. Each is requested --count times, each time
// with a GET for /index.html pipelined behind it: no reply may carry the injected header, the
// first reply must have the expected status (502 for control characters and conflicting lengths;
// the injected text inside a 200's body otherwise), and the GET behind it must get the index
// (or, for a script whose body falls short of its own Content-Length, nothing: the connection
// closes). A script's hop-by-hop headers (Connection, Keep-Alive) never reach the client. Then /cgi-bin/env (RFC 3875 style) and /cgi/env (medusa's thread handler) are asked
// --count times with each spelling of a Proxy header; HTTP_PROXY (or the server's own
// http_proxy) must never be in the environment they print.
verdict cgi_attack(const options& o) {
    verdict v;
    const std::string index = slurp(o.expect_file);
    enum class expect { bad_gateway, body, hop_by_hop, short_length, long_length };
    struct script {
        std::string name;
        expect what;
    };
    const std::vector<script> scripts = {
        {"inject-bare-cr", expect::bad_gateway},
        {"inject-cr-cr-lf", expect::bad_gateway},
        {"inject-nul", expect::bad_gateway},
        {"inject-esc", expect::bad_gateway},
        {"inject-two-lengths", expect::bad_gateway},
        {"inject-response", expect::body},
        {"inject-status-line", expect::body},
        {"inject-transfer-encoding", expect::body},
        {"inject-fold", expect::body},
        {"inject-connection", expect::hop_by_hop},
        {"inject-short-length", expect::short_length},
        {"inject-long-length", expect::long_length},
    };
    auto injected = [](const response& r) {
        if (r.headers.count("set-cookie") || r.headers.count("keep-alive")) return true;
        auto c = r.headers.find("connection");
        return c != r.headers.end() && lower(c->second).find("set-cookie") != std::string::npos;
    };
    int total = 0, total_ok = 0, total_injected = 0;
    for (const auto& s : scripts) {
        int ok = 0, inj = 0;
        std::map<std::string, int> seen;  // "502+index", "200+index", ...
        for (int i = 0; i < o.count; ++i) {
            ++total;
            auto deadline = clock_type::now() + ms(5000);
            int fd = connect_wait(o.port, deadline);
            if (fd < 0) {
                v.fail(fmt::format("{}: cannot connect", s.name));
                continue;
            }
            std::string got;
            send_all(fd, get_request("/cgi-bin/" + s.name) + get_request("/index.html", true),
                     deadline, &got);
            read_end e = read_until(fd, got, deadline, [](const std::string&) { return false; });
            ::close(fd);
            std::vector<response> rs;
            std::string error;
            try {
                rs = parse_all(got, e != read_end::timeout);
            } catch (const std::exception& ex) {
                error = ex.what();
            }
            bool any_injected = false;
            for (const auto& r : rs) any_injected = any_injected || injected(r);
            std::string shape;
            for (const auto& r : rs) {
                bool is_index = r.status == 200 && r.body == index;
                shape += fmt::format("{}{}", shape.empty() ? "" : "+", is_index ? "index" : std::to_string(r.status));
            }
            if (shape.empty()) shape = e == read_end::eof ? "closed" : std::string(end_name(e));
            ++seen[shape];
            bool good = false;
            switch (s.what) {
            case expect::bad_gateway:
                good = rs.size() == 2 && rs[0].status == 502 && rs[1].body == index;
                break;
            case expect::body:
                good = rs.size() == 2 && rs[0].status == 200 &&
                       rs[0].body.find("injected=1") != std::string::npos && rs[1].body == index;
                break;
            case expect::hop_by_hop:
                // The script's Connection and Keep-Alive are dropped (injected() looks for them).
                good = rs.size() == 2 && rs[0].status == 200 && rs[0].body == "body\n" &&
                       rs[1].body == index;
                break;
            case expect::short_length:
                good = rs.size() == 2 && rs[0].status == 200 && rs[0].body == "hello" &&
                       rs[1].body == index;
                break;
            case expect::long_length:
                // The reply's head and "short\n", then the close: its body falls short, and the
                // GET behind it is not answered (it would be read as the rest of this body).
                good = rs.empty() && e == read_end::eof && got.rfind("HTTP/1.1 200", 0) == 0 &&
                       got.find("short\n") != std::string::npos &&
                       got.find("HTTP/1.1", 1) == std::string::npos;
                break;
            }
            if (any_injected) {
                ++inj;
                good = false;
            }
            if (good && error.empty()) ++ok;
        }
        std::string shapes;
        for (const auto& [k, n] : seen) shapes += fmt::format(" {}x{}", k, n);
        fmt::print("cgi {:<26} tries={} as_expected={} injected={} replies:{}\n", s.name, o.count,
                   ok, inj, shapes);
        total_ok += ok;
        total_injected += inj;
        if (ok != o.count) v.fail(fmt::format("{}: {} of {} as expected", s.name, ok, o.count));
    }

    // HTTP_PROXY ("httpoxy"): spellings of a Proxy header, each sent to both environment styles.
    struct spelling {
        std::string name;
        std::string headers;
        int status;  // 200: the script runs; 400: the request is refused before it
    };
    const std::string evil = "http://evil.invalid:8080";
    const std::vector<spelling> spellings = {
        {"Proxy:", "Proxy: " + evil + "\r\n", 200},
        {"proxy:", "proxy: " + evil + "\r\n", 200},
        {"PROXY:", "PROXY: " + evil + "\r\n", 200},
        {"pRoXy:", "pRoXy: " + evil + "\r\n", 200},
        {"Proxy:(no space)", "Proxy:" + evil + "\r\n", 200},
        {"Proxy: twice", "Proxy: " + evil + "\r\nProxy: " + evil + "\r\n", 200},
        {"Proxy folded into X-A", "X-A: 1\r\n Proxy: " + evil + "\r\n", 200},
        {"HTTP_PROXY:", "HTTP_PROXY: " + evil + "\r\n", 200},
        {"Http-Proxy:", "Http-Proxy: " + evil + "\r\n", 200},
        {"PROXY :", "PROXY : " + evil + "\r\n", 400},
        {"Proxy\\t:", "Proxy\t: " + evil + "\r\n", 400},
    };
    int env_tries = 0, env_ok = 0, env_leaks = 0;
    for (const char* path : {"/cgi-bin/env", "/cgi/env"}) {
        for (const auto& sp : spellings) {
            int ok = 0, leaks = 0;
            for (int i = 0; i < o.count; ++i) {
                ++env_tries;
                std::string why;
                auto deadline = clock_type::now() + ms(5000);
                int fd = connect_wait(o.port, deadline);
                if (fd < 0) {
                    v.fail(fmt::format("{} {}: cannot connect", path, sp.name));
                    continue;
                }
                std::string got;
                send_all(fd,
                         fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n{}Connection: close\r\n\r\n",
                                     path, sp.headers),
                         deadline, &got);
                read_end e = read_until(fd, got, deadline, [](const std::string&) { return false; });
                ::close(fd);
                std::vector<response> rs;
                try {
                    rs = parse_all(got, e != read_end::timeout);
                } catch (const std::exception&) {
                }
                // A line "HTTP_PROXY=..." (or the server's own http_proxy) anywhere in the reply.
                bool leak = got.find("\nHTTP_PROXY=") != std::string::npos ||
                            got.find("\nhttp_proxy=") != std::string::npos ||
                            got.find("\nHTTPS_PROXY=") != std::string::npos;
                bool printed = !rs.empty() && rs[0].body.find("GATEWAY_INTERFACE=CGI/1.1") != std::string::npos;
                bool good = !rs.empty() && rs[0].status == sp.status && !leak &&
                            (sp.status != 200 || printed);
                if (leak) ++leaks;
                if (good) ++ok;
            }
            fmt::print("httpoxy {:<13} {:<24} tries={} status_{}={} HTTP_PROXY_seen={}\n", path,
                       sp.name, o.count, sp.status, ok, leaks);
            env_ok += ok;
            env_leaks += leaks;
            if (ok != o.count)
                v.fail(fmt::format("{} {}: {} of {} as expected", path, sp.name, ok, o.count));
        }
    }
    fmt::print("figures: cgi scripts={} tries={} as_expected={} injected={}; httpoxy spellings={} "
               "x 2 styles tries={} as_expected={} HTTP_PROXY_seen={}\n",
               scripts.size(), total, total_ok, total_injected, spellings.size(), env_tries, env_ok,
               env_leaks);
    return v;
}

// N requests in one write, cycling over files p1.txt .. p7.txt whose bodies differ.
verdict pipeline(const options& o) {
    verdict v;
    std::vector<std::string> bodies;
    for (int k = 1; k <= 7; ++k) bodies.push_back(slurp(fmt::format("{}/p{}.txt", o.root, k)));
    std::string all;
    for (int i = 0; i < o.count; ++i)
        all += get_request(fmt::format("/p{}.txt", i % 7 + 1), i == o.count - 1);
    auto t0 = clock_type::now();
    auto deadline = t0 + ms(60000);
    int fd = connect_wait(o.port, deadline);
    if (fd < 0) {
        v.fail("cannot connect");
        return v;
    }
    std::string got;
    ssize_t first = ::send(fd, all.data(), all.size(), MSG_NOSIGNAL);  // the one write
    bool sent = first >= 0 &&
                send_all(fd, std::string_view(all).substr(size_t(first)), deadline, &got);
    read_end e = read_until(fd, got, deadline, [](const std::string&) { return false; });
    ::close(fd);
    std::vector<response> rs;
    try {
        rs = parse_all(got, true);
    } catch (const std::exception& ex) {
        v.fail(ex.what());
    }
    int in_order = 0;
    for (size_t i = 0; i < rs.size(); ++i) {
        if (rs[i].status == 200 && rs[i].body == bodies[i % 7]) ++in_order;
        else {
            v.fail(fmt::format("reply {} is {} with {} bytes, want p{}.txt", i, rs[i].status,
                               rs[i].body.size(), i % 7 + 1));
            break;
        }
    }
    fmt::print("figures: pipeline requests={} bytes_sent={} replies={} in_order={} end={} in {:.0f} ms\n",
               o.count, all.size(), rs.size(), in_order, end_name(e), since_ms(t0));
    if (!sent) v.fail("could not send every request");
    if (int(rs.size()) != o.count) v.fail(fmt::format("{} replies for {} requests", rs.size(), o.count));
    return v;
}

// Many clients each connect, GET, read to the close and close again, as fast as they can.
verdict churn(const options& o) {
    verdict v;
    struct slot {
        int fd = -1;
        bool sent = false;
        std::string got;
    };
    std::vector<slot> slots(size_t(o.conns));
    const std::string req = get_request(o.path, true);
    long ok = 0, bad = 0, connect_fail = 0;
    auto t0 = clock_type::now();
    auto end = t0 + ms(long(o.seconds * 1000));
    std::vector<pollfd> pfds(slots.size());
    // RSS at the half-way mark and at the end: whatever the server keeps per connection for a
    // while (its lingering close) has reached its plateau by then; growth after it is a leak.
    auto half = t0 + ms(long(o.seconds * 500));
    long rss_half = -1, ok_half = 0;
    long rss_start = o.pid ? rss_kib(o.pid) : -1;
    while (clock_type::now() < end) {
        if (o.pid && rss_half < 0 && clock_type::now() >= half) {
            rss_half = rss_kib(o.pid);
            ok_half = ok;
        }
        for (size_t i = 0; i < slots.size(); ++i) {
            auto& s = slots[i];
            if (s.fd < 0) {
                s.fd = connect_nb(o.port);
                s.sent = false;
                s.got.clear();
                if (s.fd < 0) ++connect_fail;
            }
            pfds[i] = {s.fd, short(s.fd < 0 ? 0 : s.sent ? POLLIN : POLLOUT), 0};
        }
        if (::poll(pfds.data(), pfds.size(), 100) < 0 && errno != EINTR) fail_sys("poll");
        for (size_t i = 0; i < slots.size(); ++i) {
            auto& s = slots[i];
            if (s.fd < 0 || !pfds[i].revents) continue;
            if (!s.sent) {
                ssize_t n = ::send(s.fd, req.data(), req.size(), MSG_NOSIGNAL);
                if (n == ssize_t(req.size())) {
                    s.sent = true;
                    continue;
                }
                ++bad;
                ::close(s.fd);
                s.fd = -1;
                continue;
            }
            char buf[16384];
            ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                s.got.append(buf, size_t(n));
                continue;
            }
            if (n < 0 && errno == EAGAIN) continue;
            if (n == 0 && s.got.rfind("HTTP/1.1 200", 0) == 0) ++ok;
            else ++bad;
            ::close(s.fd);
            s.fd = -1;
        }
    }
    for (auto& s : slots)
        if (s.fd >= 0) ::close(s.fd);
    long rss_end = o.pid ? rss_kib(o.pid) : -1;
    double secs = since_ms(t0) / 1000.0;
    fmt::print("figures: churn clients={} requests_ok={} ({:.0f}/s) bad={} connect_fail={} in "
               "{:.1f} s; rss start={}KiB half={}KiB (after {} requests) end={}KiB\n",
               o.conns, ok, double(ok) / secs, bad, connect_fail, secs, rss_start, rss_half,
               ok_half, rss_end);
    if (o.pid && rss_end - rss_half > long(o.rss_bound * 1024))
        v.fail(fmt::format("RSS grew {} KiB over the second half ({} requests): a leak",
                           rss_end - rss_half, ok - ok_half));
    if (ok == 0) v.fail("no request completed");
    // A few failures are the client's own (ephemeral ports); many mean the server dropped work.
    if (bad > ok / 100 + 10) v.fail(fmt::format("{} requests failed", bad));
    return v;
}

void usage(FILE* out) {
    fmt::print(out,
               "usage: medusa-attack ATTACK --port PORT [--pid PID] [--root DIR] [--path P]\n"
               "         [--expect-file F] [--marker S] [--conns N] [--count N] [--pipeline N]\n"
               "         [--seconds S] [--reclaim S] [--rss-bound MIB] [--cpu-bound MS]\n"
               "         [--latency-bound MS]\n"
               "attacks: probe slowloris noread reset cgireset fdexhaust smuggle traverse cgi pipeline churn\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    options o;
    try {
        if (argc < 2) {
            usage(stderr);
            return 2;
        }
        o.attack = argv[1];
        if (o.attack == "--help" || o.attack == "-h") {
            usage(stdout);
            return 0;
        }
        for (int i = 2; i < argc; ++i) {
            std::string_view a = argv[i];
            if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", a));
            std::string val = argv[++i];
            if (a == "--port") o.port = uint16_t(std::stoul(val));
            else if (a == "--pid") o.pid = std::stoi(val);
            else if (a == "--root") o.root = val;
            else if (a == "--path") o.path = val;
            else if (a == "--expect-file") o.expect_file = val;
            else if (a == "--marker") o.marker = val;
            else if (a == "--conns") o.conns = std::stoi(val);
            else if (a == "--count") o.count = std::stoi(val);
            else if (a == "--pipeline") o.pipeline = std::stoi(val);
            else if (a == "--seconds") o.seconds = std::stod(val);
            else if (a == "--reclaim") o.reclaim = std::stod(val);
            else if (a == "--rss-bound") o.rss_bound = std::stod(val);
            else if (a == "--cpu-bound") o.cpu_bound = std::stod(val);
            else if (a == "--latency-bound") o.latency_bound = std::stod(val);
            else throw std::invalid_argument(fmt::format("unknown option '{}'", a));
        }
        if (o.port == 0) throw std::invalid_argument("--port is required");
        raise_fd_limit();
        verdict v;
        if (o.attack == "probe") v = probe(o);
        else if (o.attack == "slowloris") v = slowloris(o);
        else if (o.attack == "noread") v = noread(o);
        else if (o.attack == "reset") v = reset(o);
        else if (o.attack == "cgireset") v = cgireset(o);
        else if (o.attack == "fdexhaust") v = fdexhaust(o);
        else if (o.attack == "smuggle") v = smuggle(o);
        else if (o.attack == "traverse") v = traverse(o);
        else if (o.attack == "cgi") v = cgi_attack(o);
        else if (o.attack == "pipeline") v = pipeline(o);
        else if (o.attack == "churn") v = churn(o);
        else throw std::invalid_argument(fmt::format("unknown attack '{}'", o.attack));
        if (v.pass) fmt::print("PASS\n");
        else fmt::print("FAIL: {}\n", v.why);
        return v.pass ? 0 : 1;
    } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "medusa-attack: {}\n", e.what());
        usage(stderr);
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "medusa-attack: {}\n", e.what());
        return 1;
    }
}
