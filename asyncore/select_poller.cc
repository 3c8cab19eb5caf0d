// select_poller.cc: see select_poller.h.
#include "asyncore/select_poller.h"

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace medusa {

select_poller::select_poller() {
    FD_ZERO(&read_);
    FD_ZERO(&write_);
    FD_ZERO(&except_);
}

void select_poller::add(int fd) {
    if (fd < 0 || fd >= FD_SETSIZE)
        throw std::system_error(
            EINVAL, std::system_category(),
            fmt::format("select backend: fd {} is not below FD_SETSIZE ({}); use the poll or "
                        "epoll backend for this many descriptors",
                        fd, FD_SETSIZE));
    if (registered_.size() <= static_cast<size_t>(fd)) registered_.resize(fd + 1, false);
    registered_[fd] = true;
}

void select_poller::remove(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= registered_.size() || !registered_[fd]) return;
    set_interest(fd, false, false);
    registered_[fd] = false;
}

void select_poller::set_interest(int fd, bool want_read, bool want_write) {
    if (fd < 0 || static_cast<size_t>(fd) >= registered_.size() || !registered_[fd]) return;
    if (want_read) FD_SET(fd, &read_); else FD_CLR(fd, &read_);
    if (want_write) FD_SET(fd, &write_); else FD_CLR(fd, &write_);
    if (want_read || want_write) {
        FD_SET(fd, &except_);
        if (fd > max_fd_) max_fd_ = fd;
    } else {
        FD_CLR(fd, &except_);
        while (max_fd_ >= 0 && !FD_ISSET(max_fd_, &except_)) --max_fd_;
    }
}

void select_poller::wait(int timeout_ms, std::vector<ready_event>& out) {
    // select() overwrites its sets with the result, so it works on copies.
    fd_set r = read_, w = write_, e = except_;
    timeval tv{};
    timeval* tvp = nullptr;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    int n = ::select(max_fd_ + 1, &r, &w, &e, tvp);
    if (n < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::system_category(),
                                fmt::format("select(nfds={})", max_fd_ + 1));
    }
    for (int fd = 0; fd <= max_fd_ && n > 0; ++fd) {
        bool rd = FD_ISSET(fd, &r), wr = FD_ISSET(fd, &w), ex = FD_ISSET(fd, &e);
        if (!(rd || wr || ex)) continue;
        // select has no hang-up report: a closed peer shows as readable (recv returns 0) or
        // writable (send fails with EPIPE), and the channel learns of it there.
        out.push_back({fd, rd, wr, ex, false});
        n -= rd + wr + ex;
    }
}

}  // namespace medusa
