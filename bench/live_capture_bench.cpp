// Live capture throughput: reads one interface for a fixed time (one thread per ring) and prints
// packets seen, kernel drops and the readers' CPU time. Driven by bench/live_capture_bench.sh,
// which makes the namespaces and the traffic (trafgen); usable by hand on any interface as root:
//   live_capture_bench IFACE [--method afpacket|pcap] [--rings N] [--ring-mb M] [--snaplen S] [--seconds T]
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "capture/live_source.hpp"

int main(int argc, char** argv) {
  using namespace picket;
  capture::LiveOptions o;
  int seconds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--method") {
      o.method = next() == "pcap" ? capture::LiveMethod::pcap : capture::LiveMethod::afpacket;
    } else if (a == "--rings") {
      o.rings_per_interface = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--ring-mb") {
      o.ring_mb = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--snaplen") {
      o.snaplen = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--seconds") {
      seconds = std::stoi(next());
    } else {
      o.interfaces.push_back(a);
    }
  }
  auto shards = capture::open_live_shards(o);
  if (!shards) {
    fmt::print(stderr, "{}\n", shards.error().message);
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sink{0};  // keeps the frame reads from being optimised away
  std::vector<double> cpu(shards->size(), 0);
  std::vector<std::thread> readers;
  for (size_t s = 0; s < shards->size(); ++s) {
    readers.emplace_back([&, s] {
      capture::LiveSource& src = *(*shards)[s];
      std::vector<core::RawPacket> batch(256);
      uint64_t bytes = 0;
      while (!stop.load(std::memory_order_relaxed) && !src.finished()) {
        const size_t n = src.read_batch(batch);
        for (size_t i = 0; i < n; ++i) bytes += batch[i].data[0];  // touch the frame like a decoder would
      }
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      cpu[s] = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
      sink.fetch_add(bytes, std::memory_order_relaxed);
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& s : *shards) s->interrupt();
  for (auto& t : readers) t.join();
  uint64_t packets = 0, drops = 0, freeze = 0;
  double cpu_total = 0;
  for (size_t s = 0; s < shards->size(); ++s) {
    const capture::LiveStats st = (*shards)[s]->stats();
    packets += st.packets;
    drops += st.kernel_drops;
    freeze += st.kernel_freeze_q;
    cpu_total += cpu[s];
    fmt::print("ring {}: {} packets, {} drops, cpu {:.2f} s\n", s, st.packets, st.kernel_drops, cpu[s]);
  }
  fmt::print("total: {} packets ({:.0f}/s), {} kernel drops, {} freezes, reader cpu {:.2f} s of {} s ({:.0f}%)\n",
             packets, static_cast<double>(packets) / seconds, drops, freeze, cpu_total, seconds,
             100.0 * cpu_total / seconds);
  return 0;
}
