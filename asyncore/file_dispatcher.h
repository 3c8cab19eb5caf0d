// file_dispatcher: a dispatcher over a pipe or any other non-socket descriptor
// (Python's asyncore.file_dispatcher). send()/recv() become write()/read(); the descriptor is
// made non-blocking; the channel counts as connected from the start.
//
// Used by the select trigger (thread/), thread_channel, and the CGI handler, which reads a
// script's stdout through one.
#pragma once

#include "asyncore/dispatcher.h"

namespace medusa {

class file_dispatcher : public dispatcher {
public:
    // Takes ownership of fd (closed with the channel).
    explicit file_dispatcher(int fd, socket_map& map = default_map());

    // read(2)/write(2) with the same contract as dispatcher::recv/send: 0 on EAGAIN; EOF and
    // EPIPE call handle_close().
    ssize_t read(void* buf, size_t n) { return recv(buf, n); }
    ssize_t write(const void* data, size_t n) { return send(data, n); }

    std::string repr() const override;
};

}  // namespace medusa
