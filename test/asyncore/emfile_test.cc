// accept() when the process is out of descriptors (EMFILE): the listener must back off instead
// of spinning the loop, log once, and recover when descriptors are freed. Once per backend.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {

using medusa::address;
using medusa::backend;
using medusa::make;
using medusa::socket_map;

class counting_listener : public medusa::dispatcher {
public:
    explicit counting_listener(socket_map& m) : dispatcher(m) {
        create_socket(AF_INET);
        set_reuse_addr();
        bind(address::inet("127.0.0.1", 0));
        listen(16);
    }
    void handle_accept() override {
        ++calls;
        if (auto c = accept()) {
            ::close(c->fd);
            if (++accepted == want) map().stop();
        }
    }
    int calls = 0, accepted = 0, want = 0;
};

class emfile_suite : public ::testing::TestWithParam<backend> {};

TEST_P(emfile_suite, accept_backs_off_when_out_of_descriptors_and_recovers) {
    socket_map m(GetParam());
    log_capture logs;
    auto lst = make<counting_listener>(m);
    lst->want = 3;

    // Three connections wait in the listen queue (a loopback connect completes there).
    std::vector<int> clients;
    for (int i = 0; i < 3; ++i) {
        int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(c, 0);
        ASSERT_EQ(::connect(c, lst->addr().sa(), lst->addr().len()), 0);
        clients.push_back(c);
    }

    // Use up every descriptor under a lowered limit.
    nofile_limit lim;
    ASSERT_TRUE(lim.set(256)) << "cannot lower RLIMIT_NOFILE";
    std::vector<int> fillers;
    for (int fd; (fd = ::dup(clients[0])) >= 0;) fillers.push_back(fd);
    ASSERT_EQ(errno, EMFILE);

    // 400 ms out of descriptors: a spinning listener would be called thousands of times; one
    // that backs off for 100 ms at a time, about five.
    auto stop = m.call_later(400ms, [&] { m.stop(); });
    medusa::loop(std::chrono::duration<double>(1.0), std::nullopt, m);
    m.cancel(stop);
    EXPECT_EQ(lst->accepted, 0);
    EXPECT_GE(lst->calls, 1);
    EXPECT_LE(lst->calls, 40) << "the listener spun while out of descriptors";
    EXPECT_EQ(logs.count("pausing accept"), 1) << logs.all();
    EXPECT_EQ(logs.count("Too many open files"), 1) << logs.all();

    // Free the descriptors: the queued connections are accepted on the next retry.
    for (int fd : fillers) ::close(fd);
    ASSERT_TRUE(run_bounded(m, 5000ms)) << "accepted " << lst->accepted << " of 3";
    EXPECT_EQ(lst->accepted, 3);
    EXPECT_EQ(logs.count("descriptors available again"), 1) << logs.all();
    EXPECT_EQ(logs.count("pausing accept"), 1) << logs.all();
    for (int c : clients) ::close(c);
}

INSTANTIATE_TEST_SUITE_P(backends, emfile_suite, all_backends, backend_name);

}  // namespace medusa_test
