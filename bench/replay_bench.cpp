// Whole-program replay figures on one capture file:
//   floor        a plain walk over the memory-mapped file touching each record's source address
//   decode-only  the capture reader + decoder, as `picket replay` runs them, without detectors
//   engine       the full engine as `picket replay` runs it, events discarded
// Each is run several times; the best run is reported (the file is in the page cache by then).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "capture/mapped_file.hpp"
#include "capture/packet_source.hpp"
#include "core/bytes.hpp"
#include "decode/decoder.hpp"
#include "engine/engine.hpp"
#include "output/sinks.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace picket;

struct Figure {
  uint64_t packets = 0;
  double seconds = 0;
  uint64_t checksum = 0;  // keeps the compiler from discarding the work
};

Figure floor_walk(const std::string& path) {
  auto file = capture::MappedFile::open(path);
  if (!file) {
    fmt::print(stderr, "{}\n", file.error().message);
    std::exit(2);
  }
  const auto bytes = file->bytes();
  const auto start = Clock::now();
  Figure f;
  size_t off = 24;
  while (off + 16 <= bytes.size()) {
    const uint32_t caplen = core::load_le32(bytes, off + 8);
    const size_t data = off + 16;
    // Ethernet + IPv4: the source address sits 26 bytes into the frame.
    f.checksum += core::load_be32(bytes, data + 26);
    ++f.packets;
    off = data + caplen;
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return f;
}

Figure decode_only(const std::string& path) {
  auto src = capture::open_capture_file(path, "");
  if (!src) {
    fmt::print(stderr, "{}\n", src.error().message);
    std::exit(2);
  }
  decode::Decoder decoder((*src)->link_type());
  core::PacketMeta meta;
  std::array<core::RawPacket, 256> batch;
  Figure f;
  const auto start = Clock::now();
  while (size_t n = (*src)->read_batch(batch)) {
    for (size_t i = 0; i < n; ++i) {
      decoder.decode(batch[i], meta);
      f.checksum += meta.src_port;
    }
    f.packets += n;
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return f;
}

const config::Config& bench_config() {
  static const config::Config cfg = [] {
    config::Schema schema;
    engine::declare_config(schema);
    return config::defaults(schema, config::Profile::normal);
  }();
  return cfg;
}

class NullSink : public output::EventSink {
 public:
  void emit(const output::Event&) override { ++events; }
  uint64_t events = 0;
};

Figure full_engine(const std::string& path, uint32_t workers) {
  auto src = capture::open_capture_file(path, "");
  if (!src) std::exit(2);
  NullSink sink;
  const auto& cfg = bench_config();
  auto settings = engine::EngineSettings::from_config(cfg);
  settings.workers = workers;
  engine::Engine eng(cfg, settings, (*src)->link_type(), sink);
  const auto start = Clock::now();
  auto r = engine::run(**src, eng);
  Figure f;
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  f.packets = r.totals.packets;
  f.checksum = sink.events;
  return f;
}

template <typename Fn>
Figure best_of(int runs, Fn fn) {
  Figure best;
  for (int i = 0; i < runs; ++i) {
    Figure f = fn();
    if (i == 0 || f.seconds < best.seconds) best = f;
  }
  return best;
}

void report(const char* name, const Figure& f, double floor_mpps) {
  const double mpps = static_cast<double>(f.packets) / f.seconds / 1e6;
  if (floor_mpps > 0) {
    fmt::print("  {:<12} {:>12} packets  {:8.3f} s  {:8.2f} Mpps  ({:.0f}% of floor)\n", name, f.packets,
               f.seconds, mpps, 100.0 * mpps / floor_mpps);
  } else {
    fmt::print("  {:<12} {:>12} packets  {:8.3f} s  {:8.2f} Mpps\n", name, f.packets, f.seconds, mpps);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: replay_bench FILE.pcap [runs]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  fmt::print("replay throughput on {} (best of {}, one core):\n", path, runs);
  const Figure fl = best_of(runs, [&] { return floor_walk(path); });
  const double floor_mpps = static_cast<double>(fl.packets) / fl.seconds / 1e6;
  report("floor", fl, 0);
  report("decode-only", best_of(runs, [&] { return decode_only(path); }), floor_mpps);
  report("engine", best_of(runs, [&] { return full_engine(path, 1); }), floor_mpps);
  report("engine x2", best_of(runs, [&] { return full_engine(path, 2); }), floor_mpps);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  fmt::print("  peak RSS     {:.1f} MiB (the capture is memory-mapped and counts here)\n", ru.ru_maxrss / 1024.0);
  return 0;
}
