// Every poller backend this machine can run, for the suites parametrized by backend: select,
// poll, epoll, and uring where the kernel (and any seccomp profile) allows io_uring. Where it does
// not, the uring cases are absent and test/asyncore's UringBackend.AvailableHere says why.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/poller.h"

namespace medusa_test {

inline std::vector<medusa::backend> every_backend() {
    std::vector<medusa::backend> v{medusa::backend::select, medusa::backend::poll, medusa::backend::epoll};
    if (medusa::backend_available(medusa::backend::uring)) v.push_back(medusa::backend::uring);
    return v;
}

// For INSTANTIATE_TEST_SUITE_P: test names end in /select, /poll, /epoll, /uring.
inline std::string backend_name(const ::testing::TestParamInfo<medusa::backend>& info) {
    return std::string(medusa::to_string(info.param));
}

// connect(2) on a blocking socket, seen through an EINTR: a thread that has made or used an
// io_uring (the uring cases' maps are made on the test's thread) is sent a notice when the ring
// goes away, which interrupts a blocking call in progress. The connection goes on in the
// background; wait for it and return its outcome (0, or -1 with errno), as connect would have.
inline int connect_through_eintr(int fd, const sockaddr* a, socklen_t len) {
    if (::connect(fd, a, len) == 0) return 0;
    if (errno != EINTR) return -1;
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
        r = ::poll(&p, 1, 10000);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
        errno = r == 0 ? ETIMEDOUT : errno;
        return -1;
    }
    int err = 0;
    socklen_t n = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) != 0) return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

}  // namespace medusa_test
