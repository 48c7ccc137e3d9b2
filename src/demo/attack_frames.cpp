#include "demo/attack_frames.hpp"

#include <fmt/format.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/bytes.hpp"
#include "sim/scenario.hpp"

namespace picket::demo {

namespace {

// The frame's IP source, if it has one (Ethernet II, no VLAN: what the simulator writes).
core::IpAddress frame_source(std::span<const uint8_t> f) noexcept {
  const uint16_t ether = core::load_be16(f, 12);
  if (ether == 0x0800 && core::fits(f, 14 + 12, 4)) return core::IpAddress::v4_bytes(f.data() + 14 + 12);
  if (ether == 0x86dd && core::fits(f, 14 + 8, 16)) return core::IpAddress::v6_bytes(f.data() + 14 + 8);
  return {};
}

class AttackerSink : public sim::FrameSink {
 public:
  AttackerSink(core::IpAddress attacker, uint64_t max_frames) : attacker_(attacker), max_(max_frames) {}
  void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) override {
    if (frames_.size() >= max_ || bytes.size() < wire_len) return;  // never replay a cut frame
    if (frame_source(bytes) != attacker_) return;
    if (frames_.empty()) first_ = ts;
    frames_.push_back({ts - first_, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  }
  std::vector<TimedFrame> take() { return std::move(frames_); }

 private:
  core::IpAddress attacker_;
  uint64_t max_;
  core::Timestamp first_;
  std::vector<TimedFrame> frames_;
};

}  // namespace

void squeeze_timing(std::vector<TimedFrame>& frames, core::Duration max_span) noexcept {
  if (frames.empty() || max_span.ns <= 0) return;
  const int64_t span = frames.back().at.ns;
  if (span <= max_span.ns) return;
  const double k = static_cast<double>(max_span.ns) / static_cast<double>(span);
  for (auto& f : frames) f.at.ns = static_cast<int64_t>(static_cast<double>(f.at.ns) * k);
}

core::Result<std::vector<TimedFrame>> attacker_frames(std::string_view scenario, const core::IpAddress& attacker,
                                                      const AttackShape& shape) {
  AttackerSink sink(attacker, shape.max_frames);
  sim::ScenarioOptions opts;
  opts.ipv6 = attacker.is_v6();
  auto summary = sim::generate(scenario, opts, sink);
  if (!summary) return summary.error();
  std::vector<TimedFrame> frames = sink.take();
  if (frames.empty()) {
    return core::make_error(fmt::format("scenario {} has no frames from {}", scenario, attacker.to_string()));
  }
  squeeze_timing(frames, shape.max_span);
  return frames;
}

core::Result<core::UniqueFd> open_packet_socket(const std::string& netns, const std::string& ifname) {
  return in_netns(netns, [&]() -> core::Result<core::UniqueFd> {
    // Protocol 0: this socket only sends, it never receives a copy of the link's traffic.
    core::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return core::make_error(fmt::format("packet socket: {}", std::strerror(errno)));
    unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) return core::make_error(fmt::format("interface {} in {}: {}", ifname, netns, std::strerror(errno)));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(idx);
    sll.sll_protocol = 0;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
      return core::make_error(fmt::format("bind packet socket to {}: {}", ifname, std::strerror(errno)));
    }
    return fd;
  });
}

SendStats send_frames(int fd, std::vector<TimedFrame>& frames, const FrameRewriter& rw, const StopFlag& stop) {
  SendStats st;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& f : frames) {
    if (stop.load()) break;
    auto when = t0 + std::chrono::nanoseconds(f.at.ns);
    // Sleep in short steps so a stop request is seen quickly even in a sparse attack.
    while (!stop.load() && std::chrono::steady_clock::now() < when) {
      std::this_thread::sleep_until(std::min(when, std::chrono::steady_clock::now() + milliseconds(50)));
    }
    RewriteStatus s = rw.rewrite(f.bytes);
    if (s != RewriteStatus::ok) {
      ++st.rewrite_errors;
      continue;
    }
    if (send(fd, f.bytes.data(), f.bytes.size(), 0) < 0) {
      if (st.first_errno == 0) st.first_errno = errno;
      ++st.send_errors;
      continue;
    }
    ++st.sent;
  }
  return st;
}

}  // namespace picket::demo
