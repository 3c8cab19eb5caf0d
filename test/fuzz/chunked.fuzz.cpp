// libFuzzer entry point for the chunked harness (test/fuzz/harness_chunked.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_chunked.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::chunked(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
