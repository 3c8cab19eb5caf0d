// libFuzzer entry point for the request_parser harness (test/fuzz/harness_request_parser.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::request_parser(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
