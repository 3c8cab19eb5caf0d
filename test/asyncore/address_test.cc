// address: parsing and printing the way medusa's log lines show a peer.
#include "asyncore/address.h"

#include <sys/un.h>

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "asyncore/poller.h"

using medusa::address;

TEST(address, ipv4_prints_host_colon_port) {
    auto a = address::inet("127.0.0.1", 8080);
    EXPECT_EQ(a.family(), AF_INET);
    EXPECT_EQ(a.host(), "127.0.0.1");
    EXPECT_EQ(a.port(), 8080);
    EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
}

TEST(address, ipv6_prints_in_brackets) {
    auto a = address::inet("::1", 443);
    EXPECT_EQ(a.family(), AF_INET6);
    EXPECT_EQ(a.host(), "::1");
    EXPECT_EQ(a.to_string(), "[::1]:443");
    EXPECT_EQ(address::inet("[::1]", 443).to_string(), "[::1]:443");
}

TEST(address, host_name_is_refused) {
    EXPECT_THROW(address::inet("localhost", 80), std::invalid_argument);
    EXPECT_THROW(address::inet("", 80), std::invalid_argument);
}

TEST(address, unix_path_round_trips) {
    auto a = address::unix_path("/tmp/medusa.sock");
    EXPECT_EQ(a.family(), AF_UNIX);
    EXPECT_EQ(a.to_string(), "/tmp/medusa.sock");
    EXPECT_EQ(a.port(), 0);
}

TEST(address, unix_path_too_long_is_refused) {
    EXPECT_THROW(address::unix_path(std::string(sizeof(sockaddr_un::sun_path), 'x')),
                 std::invalid_argument);
    EXPECT_THROW(address::unix_path(""), std::invalid_argument);
}

TEST(address, empty_by_default) {
    address a;
    EXPECT_TRUE(a.empty());
}

TEST(backend, names_round_trip) {
    for (auto b : {medusa::backend::select, medusa::backend::poll, medusa::backend::epoll,
                   medusa::backend::uring})
        EXPECT_EQ(medusa::backend_from_string(medusa::to_string(b)), b);
    EXPECT_THROW(medusa::backend_from_string("kqueue"), std::invalid_argument);
    EXPECT_EQ(medusa::default_backend(), medusa::backend::epoll);
}
