#include "http/default_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <utility>

#include "http/http_date.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/mime.h"

namespace medusa::http {

namespace {

// A path put back into a URL: bytes that cannot appear there literally are %-escaped, so a
// redirect to "a b/" is "a%20b/" and a '?' in a file name is not read as a query.
std::string quote_path(std::string_view path) {
    std::string out;
    for (unsigned char c : path) {
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/-._~!$&'()*+,;=:@").find(char(c)) != std::string_view::npos;
        if (safe) {
            out.push_back(char(c));
        } else {
            fmt::format_to(std::back_inserter(out), "%{:02X}", unsigned(c));
        }
    }
    return out;
}

// Read a small file whole. False on a read error.
bool read_all(int fd, size_t size, std::string& out) {
    out.resize(size);
    size_t got = 0;
    while (got < size) {
        ssize_t n = ::read(fd, out.data() + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += size_t(n);
    }
    return got == size;
}


// A path opened once: its fstat, and the descriptor to serve it from (closed when dropped).
// exists with fd == -1: the path is there but may not be opened for reading (a mode-0 file, a
// directory with search but no read permission); st then comes from an O_PATH stat.
struct opened_path {
    int fd = -1;
    struct stat st {};
    bool exists = false;

    opened_path() = default;
    opened_path(opened_path&& o) noexcept
        : fd(std::exchange(o.fd, -1)), st(o.st), exists(o.exists) {}
    opened_path& operator=(opened_path&& o) noexcept {
        if (this != &o) {
            reset();
            fd = std::exchange(o.fd, -1);
            st = o.st;
            exists = o.exists;
        }
        return *this;
    }
    opened_path(const opened_path&) = delete;
    opened_path& operator=(const opened_path&) = delete;
    ~opened_path() { reset(); }

    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    int release() { return std::exchange(fd, -1); }
};

opened_path open_path(const os_filesystem& fs, const std::string& path) {
    opened_path f;
    // O_NONBLOCK: a FIFO in the docroot must not block the loop in open() until a writer comes
    // (it is then refused as not a regular file); on regular files Linux ignores the flag for
    // read(2) and sendfile(2), so serving is unchanged (nginx opens its files the same way).
    // O_NOCTTY: a terminal device in the docroot never becomes our controlling terminal.
    f.fd = fs.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (f.fd >= 0) {
        if (::fstat(f.fd, &f.st) == 0) {
            f.exists = true;
        } else {
            f.reset();
        }
        return f;
    }
    if (errno == EACCES) {
        // Refused (outside the root) or not readable: only a stat tells which, as before.
        if (auto st = fs.stat(path)) {
            f.st = *st;
            f.exists = true;
        }
    }
    return f;
}
}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::optional<if_modified_since> parse_if_modified_since(std::string_view value) {
    if_modified_since ims;
    size_t semi = value.find(';');
    ims.date = value.substr(0, semi);
    if (ims.date.empty()) return std::nullopt;
    if (semi == std::string_view::npos) return ims;
    std::string_view rest = value.substr(semi);
    constexpr std::string_view prefix = "; length=";
    if (rest.size() <= prefix.size() || !iequals(rest.substr(0, prefix.size()), prefix))
        return std::nullopt;
    std::string_view digits = rest.substr(prefix.size());
    uint64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + uint64_t(c - '0');
    }
    // More digits than fit: a length no real file has.
    ims.length = digits.size() > 18 ? UINT64_MAX : n;
    return ims;
}

default_handler::default_handler(std::shared_ptr<os_filesystem> filesystem)
    : filesystem_(std::move(filesystem)) {}

void default_handler::handle_request(std::shared_ptr<http_request> request) {
    std::string_view command = request->command();
    if (command != "GET" && command != "HEAD") {
        request->error(400);
        return;
    }
    hit_counter.increment();

    std::string path = request->split_uri().path;
    size_t skip = path.find_first_not_of('/');
    path.erase(0, skip == std::string::npos ? path.size() : skip);

    // One confined open and one fstat answer "directory, file or missing" and give the
    // descriptor the file is served from (four lookups before: isdir, isfile, stat, open).
    opened_path target = open_path(*filesystem_, path);
    if (!target.exists) {
        request->error(404);
        return;
    }
    if (S_ISDIR(target.st.st_mode)) {
        target.reset();
        if (!path.empty() && path.back() != '/') {
            std::string host;
            if (auto h = request->get_header("Host"); h && !h->empty()) {
                host = *h;
            } else if (auto* s = request->server()) {
                host = fmt::format("{}:{}", s->server_name, s->port());
            } else {
                host = "localhost";
            }
            request->set("Location", fmt::format("http://{}/{}/", host, quote_path(path)));
            request->error(301);
            return;
        }
        bool found = false;
        for (const auto& name : directory_defaults) {
            std::string p = path + name;
            opened_path index = open_path(*filesystem_, p);
            if (index.exists && S_ISREG(index.st.st_mode)) {
                path = std::move(p);
                target = std::move(index);
                found = true;
                break;
            }
        }
        if (!found) {
            request->error(404);
            return;
        }
    } else if (!S_ISREG(target.st.st_mode)) {
        request->error(404);
        return;
    }

    uint64_t file_length = uint64_t(target.st.st_size);
    time_t mtime = target.st.st_mtime;

    if (auto value = request->get_header("If-Modified-Since")) {
        if (auto ims = parse_if_modified_since(*value)) {
            bool length_match = !ims->length || *ims->length == file_length;
            auto ims_date = parse_http_date(ims->date);
            if (length_match && ims_date && *ims_date != 0 && mtime <= *ims_date) {
                cache_counter.increment();  // before done(): the client may see the reply first
                request->reply_code = 304;
                request->done();
                return;
            }
        }
    }

    // A file that exists but may not be read (mode 0): 404, as when the open failed before.
    int fd = target.release();
    if (fd < 0) {
        request->error(404);
        return;
    }
    char date[http_date_size];
    format_http_date(mtime, date);
    request->set("Last-Modified", std::string_view(date, http_date_size));
    request->set("Content-Length", file_length);
    request->set("Content-Type", content_type_for(path));

    if (command == "GET") {
        if (file_length <= small_file_size) {
            std::string body;
            bool ok = read_all(fd, size_t(file_length), body);
            ::close(fd);
            if (!ok) {
                // Shorter than its stat said (truncated meanwhile): the Content-Length would lie.
                request->remove("Last-Modified");
                request->remove("Content-Type");
                request->error(500);
                return;
            }
            request->push(std::move(body));
        } else {
            request->push(std::make_unique<file_producer>(fd, 0, int64_t(file_length)));
        }
    } else {
        ::close(fd);
    }
    file_counter.increment();
    request->done();
}

std::string default_handler::status() {
    std::string repr = fmt::format("<Default HTTP Request Handler ({} hits) at {:x}>",
                                   hit_counter.as_long(), reinterpret_cast<uintptr_t>(this));
    return fmt::format(
        "<li>{}<ul>  <li><b>Total Hits:</b> {}  <li><b>Files Delivered:</b> {}  <li><b>Cache "
        "Hits:</b> {}</ul>",
        html_escape(repr), hit_counter.as_long(), file_counter.as_long(),
        cache_counter.as_long());
}

}  // namespace medusa::http
