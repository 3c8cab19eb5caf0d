// Every poller backend this machine can run, for the suites parametrized by backend: select,
// poll, epoll, and uring where the kernel (and any seccomp profile) allows io_uring. Where it does
// not, the uring cases are absent and test/asyncore's UringBackend.AvailableHere says why.
#pragma once

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

}  // namespace medusa_test
