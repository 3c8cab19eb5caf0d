// epoll_poller: the poller over epoll(7), the default on Linux.
//
// Level-triggered, like select and poll, so a channel that reads only part of what is waiting
// is told again on the next pass and every backend behaves the same. The kernel keeps the
// interest list, so a wait costs in proportion to the descriptors that are ready, not to those
// registered: 10,000 idle connections cost nothing per pass. epoll_ctl runs only when a
// descriptor's interest changes. A descriptor with no interest is taken out of the kernel's set
// altogether, because epoll reports EPOLLHUP/EPOLLERR even for an empty mask and such a channel
// would otherwise be woken on every pass.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

#include "asyncore/poller.h"

namespace medusa {

class epoll_poller final : public poller {
public:
    epoll_poller();
    ~epoll_poller() override;
    epoll_poller(const epoll_poller&) = delete;
    epoll_poller& operator=(const epoll_poller&) = delete;

    backend kind() const override { return backend::epoll; }
    void add(int fd) override;
    void remove(int fd) override;
    void set_interest(int fd, bool want_read, bool want_write) override;
    void wait(int timeout_ms, std::vector<ready_event>& out) override;

private:
    static constexpr int32_t absent = -1;  // not registered with this poller
    void ctl(int op, int fd, uint32_t events);

    int epfd_ = -1;
    std::vector<int32_t> mask_;  // fd -> events in the kernel's set (0: registered, no interest)
    size_t in_kernel_ = 0;       // descriptors currently in the kernel's set
    std::vector<epoll_event> events_;
};

}  // namespace medusa
