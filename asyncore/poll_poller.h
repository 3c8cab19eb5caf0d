// poll_poller: the poller over poll(2), asyncore's poll2().
//
// One pollfd per registered descriptor, kept in a dense array so each wait hands the kernel a
// single contiguous block. A descriptor with no interest stays in the array with its fd negated
// (poll skips negative entries), so it reports nothing, not even POLLHUP, as in asyncore where
// such a channel is left out of the poll. The kernel and the result scan both walk every entry:
// cost grows with the number of registered descriptors, busy or idle.
#pragma once

#include <poll.h>

#include <vector>

#include "asyncore/poller.h"

namespace medusa {

class poll_poller final : public poller {
public:
    backend kind() const override { return backend::poll; }
    void add(int fd) override;
    void remove(int fd) override;
    void set_interest(int fd, bool want_read, bool want_write) override;
    void wait(int timeout_ms, std::vector<ready_event>& out) override;

private:
    std::vector<pollfd> fds_;
    std::vector<int> index_;  // fd -> position in fds_, -1 when not registered
};

}  // namespace medusa
