// file_dispatcher over pipes, once per backend: reading to end of file, writing to a pipe whose
// reader has gone (EPIPE, not SIGPIPE), and its repr.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "asyncore/file_dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {

using medusa::backend;
using medusa::make;
using medusa::socket_map;

class pipe_reader : public medusa::file_dispatcher {
public:
    using file_dispatcher::file_dispatcher;
    bool writable() override { return false; }
    void handle_read() override {
        char buf[3];  // small on purpose: several reads per message
        ssize_t n = read(buf, sizeof buf);
        if (n > 0) data.append(buf, n);
    }
    void handle_close() override {
        ++closes;
        close();
    }
    std::string data;
    int closes = 0;
};

class pipe_writer : public medusa::file_dispatcher {
public:
    using file_dispatcher::file_dispatcher;
    bool readable() override { return false; }
    void handle_write() override { written += write("x", 1); }
    void handle_close() override {
        ++closes;
        close();
    }
    size_t written = 0;
    int closes = 0;
};

class pipe_suite : public ::testing::TestWithParam<backend> {
protected:
    socket_map m{GetParam()};
};

TEST_P(pipe_suite, reads_a_pipe_to_end_of_file) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    auto r = make<pipe_reader>(p[0], m);
    EXPECT_TRUE(r->connected());
    EXPECT_TRUE(::fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ASSERT_EQ(::write(p[1], "hello, pipe\n", 12), 12);
    ::close(p[1]);
    ASSERT_TRUE(run_bounded(m));  // ends when the reader leaves the map at EOF
    EXPECT_EQ(r->data, "hello, pipe\n");
    EXPECT_EQ(r->closes, 1);
}

TEST_P(pipe_suite, writing_to_a_pipe_without_reader_closes_the_channel) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ::close(p[0]);
    auto w = make<pipe_writer>(p[1], m);
    // The first file_dispatcher ignored SIGPIPE for the process, unless a handler was set.
    struct sigaction now {};
    ::sigaction(SIGPIPE, nullptr, &now);
    EXPECT_NE(now.sa_handler, SIG_DFL);
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(w->written, 0u);
    EXPECT_EQ(w->closes, 1);
}

TEST_P(pipe_suite, repr_says_pipe) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    auto f = make<medusa::file_dispatcher>(p[0], m);
    EXPECT_EQ(f->repr(), fmt::format("<medusa::file_dispatcher pipe fd={} at {}>", p[0],
                                     static_cast<const void*>(f.get())));
    EXPECT_NE(f->repr().find(" at 0x"), std::string::npos);
    f->close();
    ::close(p[1]);
}

INSTANTIATE_TEST_SUITE_P(backends, pipe_suite, all_backends, backend_name);

}  // namespace medusa_test
