// libFuzzer entry point for the transcript harness (test/fuzz/harness_transcript.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_transcript.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::transcript(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
