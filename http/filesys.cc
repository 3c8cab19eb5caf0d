// filesys: medusa's os_filesystem, confined by the kernel (see filesys.h).
#include "http/filesys.h"

#include <dirent.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <system_error>

namespace medusa::http {

namespace {

std::atomic<bool> openat2_enabled{true};

// Preserves errno across the close of a descriptor we no longer need.
void close_keep_errno(int fd) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
}

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) parts.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

// The name and, through the result, the directory part of a non-empty relative path.
std::string_view last_component(std::string_view rel, std::string_view& parent) {
    const std::size_t slash = rel.rfind('/');
    if (slash == std::string_view::npos) {
        parent = {};
        return rel;
    }
    parent = rel.substr(0, slash);
    return rel.substr(slash + 1);
}

std::string join(std::string_view dir, std::string_view name) {
    if (dir.empty()) return std::string(name);
    std::string out;
    out.reserve(dir.size() + 1 + name.size());
    out.append(dir).push_back('/');
    out.append(name);
    return out;
}

constexpr const char* month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// medusa's ls_date: "Nov 24 22:32" for the last 180 days, "Nov 24  1995" before.
std::string ls_date(time_t now, time_t t) {
    struct tm g;
    if (!gmtime_r(&t, &g)) {
        const time_t zero = 0;
        gmtime_r(&zero, &g);
    }
    if (now - t > 15600000)  // 86400 * 180 (medusa's figure, rounded up)
        return fmt::format("{} {:2}  {}", month_names[g.tm_mon], g.tm_mday, g.tm_year + 1900);
    return fmt::format("{} {:2} {:02}:{:02}", month_names[g.tm_mon], g.tm_mday, g.tm_hour, g.tm_min);
}

// medusa's unix_longify: "drwxr-xr-x   2 0        0            4096 Nov 24 22:32 sub".
std::string unix_longify(std::string_view name, const struct stat& st, time_t now) {
    static constexpr const char* rwx[8] = {"---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"};
    const unsigned perm = st.st_mode & 0777;
    return fmt::format("{}{}{}{} {:3} {:<8} {:<8} {:8} {} {}", S_ISDIR(st.st_mode) ? 'd' : '-',
                       rwx[(perm >> 6) & 7], rwx[(perm >> 3) & 7], rwx[perm & 7],
                       static_cast<unsigned long>(st.st_nlink), st.st_uid, st.st_gid,
                       static_cast<long long>(st.st_size), ls_date(now, st.st_mtime), name);
}

}  // namespace

void os_filesystem::use_openat2(bool enabled) { openat2_enabled.store(enabled); }

os_filesystem::os_filesystem(std::string root, std::string wd) : root_(std::move(root)), wd_("/") {
    char* real = ::realpath(root_.c_str(), nullptr);
    if (!real)
        throw std::system_error(errno, std::generic_category(), fmt::format("realpath({})", root_));
    real_root_ = real;
    std::free(real);
    root_fd_ = ::open(real_root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), fmt::format("open({})", real_root_));
    auto rel = relative(wd);
    wd_ = "/" + rel.value_or("");
}

os_filesystem::~os_filesystem() {
    if (root_fd_ >= 0) ::close(root_fd_);
}

os_filesystem::os_filesystem(const os_filesystem& other)
    : root_(other.root_), real_root_(other.real_root_), wd_(other.wd_), generation_(other.generation_) {
    root_fd_ = ::fcntl(other.root_fd_, F_DUPFD_CLOEXEC, 0);
    if (root_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), fmt::format("dup({})", real_root_));
}

os_filesystem& os_filesystem::operator=(const os_filesystem& other) {
    if (this != &other) {
        os_filesystem copy(other);
        std::swap(root_, copy.root_);
        std::swap(real_root_, copy.real_root_);
        std::swap(root_fd_, copy.root_fd_);
        std::swap(wd_, copy.wd_);
        std::swap(generation_, copy.generation_);
    }
    return *this;
}

// medusa's normalize(join(wd, path)), minus the leading '/': "a//b/./../c" -> "a/c",
// "/../../x" -> "x". ".." never climbs above the root.
std::optional<std::string> os_filesystem::relative(std::string_view path) const {
    if (path.find('\0') != std::string_view::npos) return std::nullopt;
    std::vector<std::string_view> parts;
    if (path.empty() || path.front() != '/') parts = split(wd_);
    for (std::string_view part : split(path)) {
        if (part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    std::string rel;
    for (std::string_view part : parts) {
        if (!rel.empty()) rel.push_back('/');
        rel.append(part);
    }
    return rel;
}

// realpath() that also works when the tail does not exist yet (a PUT target) and that answers
// relative to the real root, or nullopt when the result is outside it.
std::optional<std::string> os_filesystem::resolve(const std::string& rel) const {
    std::string at = real_root_ == "/" ? std::string() : real_root_;  // absolute, "" is "/"
    std::vector<std::string> pending;                                 // a stack: next is back()
    for (std::string_view part : split(rel)) pending.emplace_back(part);
    std::reverse(pending.begin(), pending.end());
    bool missing = false;  // once a component is missing, the rest cannot be links
    int links = 0;
    char target[PATH_MAX];

    while (!pending.empty()) {
        const std::string part = std::move(pending.back());
        pending.pop_back();
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            at.resize(at.rfind('/') == std::string::npos ? 0 : at.rfind('/'));
            continue;
        }
        std::string next = at + "/" + part;
        struct stat st;
        if (missing || ::lstat(next.c_str(), &st) != 0) {
            missing = true;
            at = std::move(next);
            continue;
        }
        if (!S_ISLNK(st.st_mode)) {
            at = std::move(next);
            continue;
        }
        if (++links > 40) return std::nullopt;  // the kernel's own limit (ELOOP)
        const ssize_t n = ::readlink(next.c_str(), target, sizeof target);
        if (n <= 0 || static_cast<std::size_t>(n) >= sizeof target) return std::nullopt;
        const std::string_view link(target, static_cast<std::size_t>(n));
        if (link.front() == '/') at.clear();
        const auto parts = split(link);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.emplace_back(*it);
    }

    if (real_root_ == "/") return at.empty() ? std::string() : at.substr(1);
    if (at == real_root_) return std::string();
    if (at.size() > real_root_.size() && at.compare(0, real_root_.size(), real_root_) == 0 &&
        at[real_root_.size()] == '/')
        return at.substr(real_root_.size() + 1);
    return std::nullopt;
}

int os_filesystem::walk_nofollow(const std::string& rel, int flags, mode_t mode) const {
    const auto parts = split(rel);
    if (parts.empty()) return ::openat(root_fd_, ".", flags | O_CLOEXEC, mode);
    int dir = root_fd_;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string name(parts[i]);
        const int next = ::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir != root_fd_) close_keep_errno(dir);
        if (next < 0) return -1;
        dir = next;
    }
    const std::string last(parts.back());
    const int fd = ::openat(dir, last.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (dir != root_fd_) close_keep_errno(dir);
    return fd;
}

int os_filesystem::open_relative(const std::string& rel, int flags, mode_t mode) const {
    if (openat2_enabled.load(std::memory_order_relaxed)) {
        struct open_how how {};
        how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        const int fd = static_cast<int>(
            ::syscall(SYS_openat2, root_fd_, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
        if (fd >= 0) return fd;
        if (errno == ENOSYS) {
            openat2_enabled.store(false);
        } else if (errno != EXDEV && errno != ELOOP && errno != EAGAIN) {
            return -1;  // ENOENT, EACCES, ENOTDIR, ...: the answer
        }
        // EXDEV: an absolute link, or one that leaves the root; ELOOP: a magic link or too many;
        // EAGAIN: a concurrent rename. Decide by resolving it ourselves.
    }
    const auto resolved = resolve(rel);
    if (!resolved) {
        errno = EACCES;
        return -1;
    }
    return walk_nofollow(*resolved, flags, mode);
}

int os_filesystem::open_parent(const std::string& rel, std::string& name) const {
    if (rel.empty()) {
        errno = EBUSY;
        return -1;
    }
    std::string_view parent;
    name = std::string(last_component(rel, parent));
    return open_relative(std::string(parent), O_PATH | O_DIRECTORY, 0);
}

std::optional<std::string> os_filesystem::translate(std::string_view path) const {
    const auto rel = relative(path);
    if (!rel || !resolve(*rel)) return std::nullopt;
    std::string_view root = root_;
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    if (rel->empty()) return std::string(root);
    if (root == "/") return "/" + *rel;
    return join(root, *rel);
}

std::optional<struct stat> os_filesystem::stat(std::string_view path) const {
    const auto rel = relative(path);
    if (!rel) return std::nullopt;
    const int fd = open_relative(*rel, O_PATH, 0);
    if (fd < 0) return std::nullopt;
    struct stat st;
    const int rc = ::fstat(fd, &st);
    ::close(fd);
    if (rc != 0) return std::nullopt;
    return st;
}

bool os_filesystem::isfile(std::string_view path) const {
    const auto st = stat(path);
    return st && S_ISREG(st->st_mode);
}

bool os_filesystem::isdir(std::string_view path) const {
    const auto st = stat(path);
    return st && S_ISDIR(st->st_mode);
}

int os_filesystem::open(std::string_view path, int flags, mode_t mode) const {
    const auto rel = relative(path);
    if (!rel) {
        errno = EINVAL;
        return -1;
    }
    if (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) changed();
    return open_relative(*rel, flags, mode);
}

std::vector<std::string> os_filesystem::listdir(std::string_view path, bool long_form) const {
    std::vector<std::string> names;
    const auto rel = relative(path);
    if (!rel) return names;
    const int fd = open_relative(*rel, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return names;
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return names;
    }
    while (const dirent* e = ::readdir(dir)) {
        const std::string_view name = e->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    if (!long_form) return names;

    std::vector<std::string> lines;
    const time_t now = time(nullptr);
    for (const std::string& name : names) {
        const int efd = open_relative(join(*rel, name), O_PATH, 0);  // follows links, confined
        if (efd < 0) continue;
        struct stat st;
        const int rc = ::fstat(efd, &st);
        ::close(efd);
        if (rc == 0) lines.push_back(unix_longify(name, st, now));
    }
    return lines;
}

bool os_filesystem::unlink(std::string_view path) const {
    const auto rel = relative(path);
    if (!rel) return errno = EINVAL, false;
    std::string name;
    const int dir = open_parent(*rel, name);
    if (dir < 0) return false;
    const int rc = ::unlinkat(dir, name.c_str(), 0);
    changed();
    close_keep_errno(dir);
    return rc == 0;
}

bool os_filesystem::rmdir(std::string_view path) const {
    const auto rel = relative(path);
    if (!rel) return errno = EINVAL, false;
    std::string name;
    const int dir = open_parent(*rel, name);
    if (dir < 0) return false;
    const int rc = ::unlinkat(dir, name.c_str(), AT_REMOVEDIR);
    changed();
    close_keep_errno(dir);
    return rc == 0;
}

bool os_filesystem::mkdir(std::string_view path, mode_t mode) const {
    const auto rel = relative(path);
    if (!rel) return errno = EINVAL, false;
    std::string name;
    const int dir = open_parent(*rel, name);
    if (dir < 0) return false;
    const int rc = ::mkdirat(dir, name.c_str(), mode);
    changed();
    close_keep_errno(dir);
    return rc == 0;
}

bool os_filesystem::rename(std::string_view from, std::string_view to) const {
    const auto rel_from = relative(from);
    const auto rel_to = relative(to);
    if (!rel_from || !rel_to) return errno = EINVAL, false;
    std::string from_name, to_name;
    const int from_dir = open_parent(*rel_from, from_name);
    if (from_dir < 0) return false;
    const int to_dir = open_parent(*rel_to, to_name);
    if (to_dir < 0) {
        close_keep_errno(from_dir);
        return false;
    }
    const int rc = ::renameat(from_dir, from_name.c_str(), to_dir, to_name.c_str());
    changed();
    close_keep_errno(from_dir);
    close_keep_errno(to_dir);
    return rc == 0;
}

bool os_filesystem::cwd(std::string_view path) {
    const auto rel = relative(path);
    if (!rel) return false;
    const int fd = open_relative(*rel, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return false;
    // medusa chdir()s there to learn whether it may; looking up "." in it asks the kernel the same
    // question (search permission) without changing the process's directory.
    const int probe = ::openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    if (probe < 0) return false;
    ::close(probe);
    wd_ = "/" + *rel;
    return true;
}

bool os_filesystem::cdup() { return cwd(".."); }

}  // namespace medusa::http
