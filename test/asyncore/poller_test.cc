// The pollers alone, once per backend: readiness, interest changes, silence without interest,
// hang-ups, and select's FD_SETSIZE check.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/poller.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {

using medusa::backend;
using medusa::ready_event;

class poller_suite : public ::testing::TestWithParam<backend> {
protected:
    std::unique_ptr<medusa::poller> p = medusa::make_poller(GetParam());
    std::vector<ready_event> out;
    const ready_event* find(int fd) {
        auto it = std::find_if(out.begin(), out.end(), [fd](const ready_event& e) { return e.fd == fd; });
        return it == out.end() ? nullptr : &*it;
    }
};

TEST_P(poller_suite, reports_readable_only_when_data_waits) {
    sock_pair s;
    EXPECT_EQ(p->kind(), GetParam());
    p->add(s.a);
    p->set_interest(s.a, true, false);
    p->wait(0, out);
    EXPECT_EQ(find(s.a), nullptr);
    s.put("x");
    p->wait(1000, out);
    auto e = find(s.a);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->readable);
    EXPECT_FALSE(e->writable);
    EXPECT_FALSE(e->expt) << "plain data is not urgent";
    p->remove(s.a);
}

TEST_P(poller_suite, a_connection_waiting_on_a_listener_is_readable_not_urgent) {
    // Watched first, then connected to: the readiness comes from the socket's wake-up (which
    // carries EPOLLPRI among its flags), not from a look at the socket when the watch began.
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(l, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), len), 0);
    ASSERT_EQ(::listen(l, 8), 0);
    ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
    p->add(l);
    p->set_interest(l, true, false);
    p->wait(0, out);
    EXPECT_EQ(find(l), nullptr);
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(connect_through_eintr(c, reinterpret_cast<sockaddr*>(&a), len), 0);
    for (int i = 0; i < 10 && !find(l); ++i) p->wait(100, out);
    auto e = find(l);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->readable);
    EXPECT_FALSE(e->expt) << "a new connection is not urgent data";
    p->remove(l);
    ::close(c);
    ::close(l);
}

TEST_P(poller_suite, interest_changes_take_effect) {
    sock_pair s;
    p->add(s.a);
    p->set_interest(s.a, false, true);
    p->wait(1000, out);
    ASSERT_NE(find(s.a), nullptr);
    EXPECT_TRUE(find(s.a)->writable);
    out.clear();
    p->set_interest(s.a, false, false);
    p->wait(0, out);
    EXPECT_EQ(find(s.a), nullptr);
}

TEST_P(poller_suite, descriptor_without_interest_reports_nothing_even_after_hangup) {
    sock_pair s;
    p->add(s.a);
    s.close_b();
    p->wait(0, out);
    EXPECT_EQ(find(s.a), nullptr);
    p->set_interest(s.a, true, false);
    p->wait(1000, out);
    ASSERT_NE(find(s.a), nullptr);
    EXPECT_TRUE(find(s.a)->readable);  // end of file reads as readable on every backend
}

TEST_P(poller_suite, removed_descriptor_reports_nothing) {
    sock_pair s1, s2;
    p->add(s1.a);
    p->add(s2.a);
    p->set_interest(s1.a, true, true);
    p->set_interest(s2.a, true, true);
    p->remove(s1.a);
    p->wait(1000, out);
    EXPECT_EQ(find(s1.a), nullptr);
    EXPECT_NE(find(s2.a), nullptr);
}

TEST_P(poller_suite, hangup_is_reported_where_the_backend_can) {
    if (GetParam() == backend::select) GTEST_SKIP() << "select has no hang-up report";
    sock_pair s;
    p->add(s.a);
    p->set_interest(s.a, false, true);
    s.close_b();
    p->wait(1000, out);
    ASSERT_NE(find(s.a), nullptr);
    EXPECT_TRUE(find(s.a)->hangup);
}

TEST_P(poller_suite, wait_times_out_with_nothing_ready) {
    sock_pair s;
    p->add(s.a);
    p->set_interest(s.a, true, false);
    p->wait(5, out);
    EXPECT_TRUE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(backends, poller_suite, all_backends, backend_name);

TEST(select_poller, refuses_fd_setsize_and_above_with_a_clear_message) {
    auto p = medusa::make_poller(backend::select);
    try {
        p->add(FD_SETSIZE);
        ADD_FAILURE() << "select accepted fd " << FD_SETSIZE;
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("FD_SETSIZE"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(p->add(FD_SETSIZE - 1));
}

}  // namespace medusa_test
