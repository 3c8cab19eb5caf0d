// epoll_poller.cc: see epoll_poller.h.
#include "asyncore/epoll_poller.h"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace medusa {

namespace {
const char* op_name(int op) {
    switch (op) {
    case EPOLL_CTL_ADD: return "EPOLL_CTL_ADD";
    case EPOLL_CTL_MOD: return "EPOLL_CTL_MOD";
    case EPOLL_CTL_DEL: return "EPOLL_CTL_DEL";
    }
    return "?";
}
}  // namespace

epoll_poller::epoll_poller() : events_(64) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1(EPOLL_CLOEXEC)");
}

epoll_poller::~epoll_poller() { ::close(epfd_); }

void epoll_poller::ctl(int op, int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, op, fd, &ev) < 0)
        throw std::system_error(errno, std::system_category(),
                                fmt::format("epoll_ctl({}, fd {})", op_name(op), fd));
}

void epoll_poller::add(int fd) {
    if (fd < 0)
        throw std::system_error(EBADF, std::system_category(), fmt::format("epoll: add(fd {})", fd));
    if (mask_.size() <= static_cast<size_t>(fd)) mask_.resize(fd + 1, absent);
    if (mask_[fd] == absent) mask_[fd] = 0;
}

void epoll_poller::remove(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= mask_.size() || mask_[fd] == absent) return;
    if (mask_[fd] != 0) {
        // The descriptor is still open here (remove comes before close), so DEL succeeds; were
        // it already closed, the kernel has dropped it and ENOENT/EBADF are harmless.
        epoll_event ev{};
        if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) == 0 || errno == ENOENT || errno == EBADF)
            --in_kernel_;
        else
            throw std::system_error(errno, std::system_category(),
                                    fmt::format("epoll_ctl(EPOLL_CTL_DEL, fd {})", fd));
    }
    mask_[fd] = absent;
}

void epoll_poller::set_interest(int fd, bool want_read, bool want_write) {
    if (fd < 0 || static_cast<size_t>(fd) >= mask_.size() || mask_[fd] == absent) return;
    int32_t want = (want_read ? int32_t{EPOLLIN | EPOLLPRI} : 0) | (want_write ? int32_t{EPOLLOUT} : 0);
    int32_t have = mask_[fd];
    if (want == have) return;
    if (have == 0) {
        ctl(EPOLL_CTL_ADD, fd, want);
        ++in_kernel_;
    } else if (want == 0) {
        ctl(EPOLL_CTL_DEL, fd, 0);
        --in_kernel_;
    } else {
        ctl(EPOLL_CTL_MOD, fd, want);
    }
    mask_[fd] = want;
}

void epoll_poller::wait(int timeout_ms, std::vector<ready_event>& out) {
    int n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::system_category(),
                                fmt::format("epoll_wait(epfd {})", epfd_));
    }
    for (int i = 0; i < n; ++i) {
        uint32_t e = events_[i].events;
        out.push_back({events_[i].data.fd, (e & EPOLLIN) != 0, (e & EPOLLOUT) != 0,
                       (e & (EPOLLPRI | EPOLLERR)) != 0, (e & EPOLLHUP) != 0});
    }
    // A full buffer means more may have been ready; they are reported next pass (level-
    // triggered), and a bigger buffer lets a busy server take them in one wait.
    if (static_cast<size_t>(n) == events_.size() && events_.size() < in_kernel_)
        events_.resize(events_.size() * 2);
}

}  // namespace medusa
