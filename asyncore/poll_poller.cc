// poll_poller.cc: see poll_poller.h.
#include "asyncore/poll_poller.h"

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace medusa {

namespace {
// ~fd is negative for every fd >= 0 (even 0), and ~~fd gives it back.
int ignored(int fd) { return ~fd; }
int real_fd(const pollfd& p) { return p.fd < 0 ? ~p.fd : p.fd; }
}  // namespace

void poll_poller::add(int fd) {
    if (fd < 0)
        throw std::system_error(EBADF, std::system_category(), fmt::format("poll: add(fd {})", fd));
    if (index_.size() <= static_cast<size_t>(fd)) index_.resize(fd + 1, -1);
    if (index_[fd] >= 0) return;
    index_[fd] = static_cast<int>(fds_.size());
    fds_.push_back({ignored(fd), 0, 0});
}

void poll_poller::remove(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= index_.size() || index_[fd] < 0) return;
    // Swap the last entry into the hole so the array stays dense.
    int i = index_[fd];
    fds_[i] = fds_.back();
    index_[real_fd(fds_[i])] = i;
    fds_.pop_back();
    index_[fd] = -1;
}

void poll_poller::set_interest(int fd, bool want_read, bool want_write) {
    if (fd < 0 || static_cast<size_t>(fd) >= index_.size() || index_[fd] < 0) return;
    pollfd& p = fds_[index_[fd]];
    p.events = static_cast<short>((want_read ? POLLIN | POLLPRI : 0) | (want_write ? POLLOUT : 0));
    p.fd = p.events ? fd : ignored(fd);
}

void poll_poller::wait(int timeout_ms, std::vector<ready_event>& out) {
    int n = ::poll(fds_.data(), fds_.size(), timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::system_category(),
                                fmt::format("poll(nfds={})", fds_.size()));
    }
    for (const pollfd& p : fds_) {
        if (n == 0) break;
        if (p.fd < 0 || p.revents == 0) continue;
        --n;
        short r = p.revents;
        out.push_back({p.fd, (r & POLLIN) != 0, (r & POLLOUT) != 0, (r & (POLLPRI | POLLERR)) != 0,
                       (r & (POLLHUP | POLLNVAL)) != 0});
    }
}

}  // namespace medusa
