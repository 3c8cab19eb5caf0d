// make_seeds OUTDIR FILE.transcript...: writes the seeds each transcript gives (seeds.h) into
// OUTDIR/TARGET/NAME-N, the corpus `make fuzz` starts from. A transcript that does not parse
// still seeds the transcript parser with its text.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "test/fuzz/seeds.h"

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    if (argc < 2) {
        std::cerr << "usage: make_seeds OUTDIR FILE.transcript...\n";
        return 2;
    }
    fs::path out = argv[1];
    std::map<std::string, size_t> written;
    for (int i = 2; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        if (!in) {
            std::cerr << fmt::format("make_seeds: cannot read {}\n", argv[i]);
            return 1;
        }
        std::ostringstream text;
        text << in.rdbuf();
        std::optional<medusa::transcript::transcript> t;
        try {
            t = medusa::transcript::parse(text.str(), argv[i]);
        } catch (const medusa::transcript::parse_error&) {
        }
        std::string name = medusa::transcript::case_name(argv[i]);
        size_t n = 0;
        for (const auto& s : medusa::fuzz::seeds_from_transcript(text.str(), t ? &*t : nullptr)) {
            fs::create_directories(out / s.target);
            std::ofstream f(out / s.target / fmt::format("{}-{}", name, n++), std::ios::binary);
            f << s.bytes;
            ++written[s.target];
        }
    }
    for (const auto& [target, count] : written) std::cout << fmt::format("seeds: {} {}\n", target, count);
    return 0;
}
