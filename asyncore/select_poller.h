// select_poller: the poller over select(2), asyncore's original loop.
//
// It can only watch descriptors below FD_SETSIZE (1024 on Linux): an fd_set is a fixed bit array
// and FD_SET beyond it writes past the end. add() therefore refuses such a descriptor up front,
// so the caller learns at once (and can log and close) instead of corrupting memory later.
// Each wait copies the sets and the kernel scans every bit up to the highest descriptor: cost
// grows with the highest fd, not with the number of busy ones.
#pragma once

#include <sys/select.h>

#include <vector>

#include "asyncore/poller.h"

namespace medusa {

class select_poller final : public poller {
public:
    select_poller();
    backend kind() const override { return backend::select; }
    void add(int fd) override;
    void remove(int fd) override;
    void set_interest(int fd, bool want_read, bool want_write) override;
    void wait(int timeout_ms, std::vector<ready_event>& out) override;

private:
    fd_set read_{};
    fd_set write_{};
    fd_set except_{};  // every descriptor with any interest, as asyncore does
    std::vector<bool> registered_;
    int max_fd_ = -1;  // the highest descriptor with any interest
};

}  // namespace medusa
