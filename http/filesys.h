// filesys: a directory tree served under a "false root" (medusa's filesys.py, os_filesystem).
//
// Every path a client names is read relative to the root and can never leave it:
//   - Lexically, as medusa: runs of '/' are one, "." is dropped, ".." removes the previous
//     component and is clamped at the root ("/../../x" is "/x", "a/../../.." is "/"). A path that
//     starts with '/' is taken from the root; any other from the working directory (wd, "/" for
//     the HTTP server). The path given here is already percent-decoded, once, by the caller:
//     "%2e%2e" is a file named "%2e%2e". A backslash is an ordinary character. A NUL byte is
//     refused (it would cut the path short in the kernel).
//   - Through symbolic links (medusa does not check them at all): a link inside the root may
//     point anywhere inside it, but a path whose resolution ends outside the root is refused, and
//     so is every open, stat or listing through such a link.
//
// How the check is made race-free: the root is resolved (realpath) and opened once, in the
// constructor. open(), stat(), isfile(), isdir() and listdir() then use openat2(2) with
// RESOLVE_BENEATH relative to that root descriptor, so the kernel itself refuses to step outside
// while it walks the path, even if links change meanwhile. RESOLVE_BENEATH also refuses absolute
// links and links that pass outside on their way back in; for those, and on kernels without
// openat2 (before Linux 5.6, or behind a seccomp filter that answers ENOSYS), the path is resolved
// here, component by component with readlink(), checked to end under the root, and the resolved
// path is then opened one component at a time with O_NOFOLLOW from the root descriptor, so a link
// swapped in after the check makes the open fail instead of escape.
//
// A refused path behaves as a missing one for isfile/isdir/stat/translate, and open() and the
// modifying calls fail with errno EACCES (EINVAL for a NUL byte).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::http {

class os_filesystem {
public:
    // Throws std::system_error "realpath(ROOT)" or "open(ROOT)" when the root is not a readable
    // directory. wd is the starting working directory, a path under the root.
    explicit os_filesystem(std::string root, std::string wd = "/");
    ~os_filesystem();
    os_filesystem(const os_filesystem& other);
    os_filesystem& operator=(const os_filesystem& other);

    // The root as given to the constructor (medusa's .root).
    const std::string& root() const { return root_; }

    // medusa's translate(): the path on this machine that `path` names (the root as given, then
    // the normalised path), or nullopt if it contains a NUL or resolves outside the root. For
    // display and for exec; to read or write, use open(), which cannot be raced.
    std::optional<std::string> translate(std::string_view path) const;

    // Following links (inside the root). False when missing or refused.
    bool isfile(std::string_view path) const;
    bool isdir(std::string_view path) const;
    std::optional<struct stat> stat(std::string_view path) const;

    // A new descriptor (always O_CLOEXEC) for `path`, or -1 with errno. mode is used with O_CREAT.
    int open(std::string_view path, int flags = O_RDONLY, mode_t mode = 0644) const;

    // The names in a directory, sorted, without "." and ".." (medusa's listdir gives readdir
    // order). With long_form, one "ls -l" line per entry as medusa's unix_longify writes them,
    // e.g. "-rw-r--r--   1 0        0             115 Nov 24 22:32 index.html" (times in GMT; the
    // year instead of the time for files older than 180 days); entries that cannot be stat'ed
    // (dangling links, links leading outside) are left out, as medusa's safe_stat does. Empty
    // when the directory cannot be read.
    std::vector<std::string> listdir(std::string_view path, bool long_form = false) const;

    // For the PUT handler: the same confinement; the last component itself is never followed (a
    // link is removed or renamed, not its target). False with errno on failure; the root itself
    // cannot be removed or renamed (EBUSY).
    bool unlink(std::string_view path) const;
    bool mkdir(std::string_view path, mode_t mode = 0755) const;
    bool rmdir(std::string_view path) const;
    bool rename(std::string_view from, std::string_view to) const;

    // A count of the changes made through this filesystem (or any copy of it): every open for
    // writing, unlink, mkdir, rmdir and rename adds one, and so does changed(), which a writer
    // calls when it has finished writing a file it opened. Caches of the tree (file_cache) compare
    // it to know that what they hold may be stale.
    uint64_t generation() const { return generation_->load(std::memory_order_acquire); }
    void changed() const { generation_->fetch_add(1, std::memory_order_acq_rel); }

    // medusa's working directory: cwd() is its current value (e.g. "/sub"), cwd(path) changes to
    // a directory (relative to the wd, or absolute from the root) if it exists under the root and
    // may be entered, cdup() goes to the parent. False, with the wd unchanged, otherwise.
    std::string cwd() const { return wd_; }
    bool cwd(std::string_view path);
    bool cdup();

    // Use openat2 when the kernel has it (the default), or always the fallback walk. For tests of
    // the fallback and for kernels that answer openat2 wrongly.
    static void use_openat2(bool enabled);

private:
    // The normalised path below the root: components joined by '/', "" for the root itself;
    // nullopt for a NUL byte.
    std::optional<std::string> relative(std::string_view path) const;
    // Where `rel` ends up after following links, relative to the real root, or nullopt if that is
    // outside it (or there are too many links). Components that do not exist are kept as written.
    std::optional<std::string> resolve(const std::string& rel) const;
    // The confined open of a relative path: openat2, else resolve() + a no-follow walk.
    int open_relative(const std::string& rel, int flags, mode_t mode) const;
    int walk_nofollow(const std::string& rel, int flags, mode_t mode) const;
    // The directory holding `rel`'s last component, opened (O_PATH) within the root, and the name.
    int open_parent(const std::string& rel, std::string& name) const;

    std::string root_;       // as given
    std::string real_root_;  // realpath(root), no trailing '/' unless it is "/"
    int root_fd_ = -1;       // O_PATH descriptor of real_root_
    std::string wd_;
    // Shared by copies: a change through one is a change of the same tree.
    std::shared_ptr<std::atomic<uint64_t>> generation_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace medusa::http
